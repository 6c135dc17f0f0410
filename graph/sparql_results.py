"""SPARQL results written out as they are read, with a cap on rows.

pyoxigraph serialises a whole result set or nothing; a public endpoint needs to stop at
a row limit and say so, so SELECT and ASK results are written here in the four W3C
formats (JSON, XML, CSV, TSV), one solution at a time, straight to a file.
CONSTRUCT/DESCRIBE triples go through pyoxigraph's RDF serialisers, cut at the same cap.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from typing import Any, BinaryIO, Iterable
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, QueryBoolean, QuerySolutions, Triple

from mappings.formats import RDF_FORMATS, WITH_PREFIXES

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

#: Result formats: name -> media type.
RESULT_FORMATS = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}


def write_results(result: Any, out: BinaryIO, format: str, max_rows: int, prefixes: dict[str, str] | None = None) -> tuple[int, bool]:
    """Write a query result; returns (rows or triples written, whether the cap cut it)."""
    if isinstance(result, QueryBoolean):
        _write_boolean(bool(result), out, format)
        return 1, False
    if isinstance(result, QuerySolutions):
        variables = [v.value for v in result.variables]
        rows = itertools.islice(result, max_rows + 1)
        return _WRITERS[format](variables, rows, out, max_rows)
    if format in ("nt", "nq"):
        # Line formats (one triple a line; N-Quads of the default graph is N-Triples):
        # Oxigraph writes them without a Python object per triple, cut at the cap's line.
        return _write_lines(result, out, max_rows)
    triples, counter = _capped(result, max_rows)
    rdf_format = RDF_FORMATS[format]
    if format in ("nq", "trig"):
        triples = (pyoxigraph.Quad(t.subject, t.predicate, t.object) for t in triples)
    options = {"prefixes": prefixes} if prefixes and format in WITH_PREFIXES else {}
    pyoxigraph.serialize(triples, out, rdf_format, **options)
    return counter["n"], counter["cut"]


class _CapReached(Exception):
    pass


class _LineCap:
    """A writer passing at most *cap* lines on to *out*; past them it stops the serialiser."""

    def __init__(self, out: BinaryIO, cap: int) -> None:
        self.out = out
        self.cap = cap
        self.lines = 0
        self.cut = False

    def write(self, data: bytes) -> int:
        count = data.count(b"\n")
        if self.lines + count <= self.cap:
            self.out.write(data)
            self.lines += count
            return len(data)
        end = -1
        for _ in range(self.cap - self.lines):
            end = data.index(b"\n", end + 1)
        self.out.write(data[: end + 1])
        self.lines, self.cut = self.cap, True
        raise _CapReached

    def flush(self) -> None:
        pass


def _write_lines(result: Any, out: BinaryIO, cap: int) -> tuple[int, bool]:
    writer = _LineCap(out, cap)
    try:
        result.serialize(writer, pyoxigraph.RdfFormat.N_TRIPLES)
    except Exception:
        if not writer.cut:
            raise
    return writer.lines, writer.cut


def _capped(triples: Iterable[Triple], cap: int):
    counter = {"n": 0, "cut": False}

    def generate():
        for triple in triples:
            if counter["n"] >= cap:
                counter["cut"] = True
                return
            counter["n"] += 1
            yield triple

    return generate(), counter


def _write_boolean(value: bool, out: BinaryIO, format: str) -> None:
    if format == "json":
        out.write(json.dumps({"head": {}, "boolean": value}).encode())
    elif format == "xml":
        out.write(
            b'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/>'
            + f"<boolean>{'true' if value else 'false'}</boolean></sparql>\n".encode()
        )
    else:
        out.write(b"true\n" if value else b"false\n")


def _json_term(term: Any) -> dict[str, str]:
    if isinstance(term, NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, Literal):
        value: dict[str, str] = {"type": "literal", "value": term.value}
        if term.language:
            value["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            value["datatype"] = term.datatype.value
        return value
    return {"type": "triple", "value": str(term)}


def _write_json(variables: list[str], rows, out: BinaryIO, cap: int) -> tuple[int, bool]:
    out.write(b'{"head":{"vars":' + json.dumps(variables).encode() + b'},"results":{"bindings":[\n')
    count, cut = 0, False
    for row in rows:
        if count == cap:
            cut = True
            break
        binding = {name: _json_term(row[name]) for name in variables if row[name] is not None}
        out.write((b",\n" if count else b"") + json.dumps(binding, ensure_ascii=False).encode())
        count += 1
    out.write(b"\n]}}\n")
    return count, cut


def _xml_term(term: Any) -> str:
    if isinstance(term, NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    return f"<literal>{escape(str(term))}</literal>"


def _write_xml(variables: list[str], rows, out: BinaryIO, cap: int) -> tuple[int, bool]:
    head = "".join(f"<variable name={quoteattr(v)}/>" for v in variables)
    out.write(f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>{head}</head><results>\n'.encode())
    count, cut = 0, False
    for row in rows:
        if count == cap:
            cut = True
            break
        cells = "".join(f"<binding name={quoteattr(v)}>{_xml_term(row[v])}</binding>" for v in variables if row[v] is not None)
        out.write(f"<result>{cells}</result>\n".encode())
        count += 1
    out.write(b"</results></sparql>\n")
    return count, cut


def _csv_value(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, BlankNode):
        return f"_:{term.value}"
    return term.value if isinstance(term, (NamedNode, Literal)) else str(term)


def _write_csv(variables: list[str], rows, out: BinaryIO, cap: int) -> tuple[int, bool]:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(variables)
    count, cut = 0, False
    for row in rows:
        if count == cap:
            cut = True
            break
        writer.writerow([_csv_value(row[v]) for v in variables])
        count += 1
    text.detach()
    return count, cut


def _write_tsv(variables: list[str], rows, out: BinaryIO, cap: int) -> tuple[int, bool]:
    out.write(("\t".join(f"?{v}" for v in variables) + "\n").encode())
    count, cut = 0, False
    for row in rows:
        if count == cap:
            cut = True
            break
        out.write(("\t".join("" if row[v] is None else str(row[v]) for v in variables) + "\n").encode())
        count += 1
    return count, cut


_WRITERS = {"json": _write_json, "xml": _write_xml, "csv": _write_csv, "tsv": _write_tsv}
