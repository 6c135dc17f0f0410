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
from typing import Any, BinaryIO, Iterable, Iterator
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
        return _WRITERS[format](variables, result, out, max_rows)
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


#: Rows written per batch: each batch is encoded by one call into C (json, csv) and
#: written once, so the per-row cost is building the row, not a write and an encode.
BATCH_ROWS = 512


def _batches(rows: Iterable[Any], cap: int, state: dict[str, Any]) -> Iterator[list[Any]]:
    """Lists of at most BATCH_ROWS rows, *cap* rows in all; sets state["count"] and
    state["cut"] (more rows than the cap)."""
    rows = iter(rows)
    state["count"], state["cut"] = 0, False
    while True:
        room = cap - state["count"]
        batch = list(itertools.islice(rows, min(BATCH_ROWS, room + 1)))
        if len(batch) > room:
            batch = batch[:room]
            state["cut"] = True
        state["count"] += len(batch)
        if batch:
            yield batch
        if state["cut"] or len(batch) < min(BATCH_ROWS, room) or not batch:
            return


def _json_term(term: Any) -> dict[str, str]:
    kind = type(term)
    if kind is NamedNode:
        return {"type": "uri", "value": term.value}
    if kind is Literal:
        if term.language:
            return {"type": "literal", "value": term.value, "xml:lang": term.language}
        datatype = term.datatype.value
        if datatype != XSD_STRING:
            return {"type": "literal", "value": term.value, "datatype": datatype}
        return {"type": "literal", "value": term.value}
    if kind is BlankNode:
        return {"type": "bnode", "value": term.value}
    return {"type": "triple", "value": str(term)}


_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)


def _write_json(variables: list[str], rows, out: BinaryIO, cap: int) -> tuple[int, bool]:
    out.write(b'{"head":{"vars":' + json.dumps(variables).encode() + b'},"results":{"bindings":[\n')
    state: dict[str, Any] = {}
    for number, batch in enumerate(_batches(rows, cap, state)):
        bindings = [{name: _json_term(term) for name, term in zip(variables, row) if term is not None} for row in batch]
        out.write((b",\n" if number else b"") + _JSON.encode(bindings)[1:-1].encode())
    out.write(b"\n]}}\n")
    return state["count"], state["cut"]


def _xml_term(term: Any) -> str:
    kind = type(term)
    if kind is NamedNode:
        return f"<uri>{escape(term.value)}</uri>"
    if kind is Literal:
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    if kind is BlankNode:
        return f"<bnode>{escape(term.value)}</bnode>"
    return f"<literal>{escape(str(term))}</literal>"


def _write_xml(variables: list[str], rows, out: BinaryIO, cap: int) -> tuple[int, bool]:
    head = "".join(f"<variable name={quoteattr(v)}/>" for v in variables)
    out.write(f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>{head}</head><results>\n'.encode())
    opening = [f"<binding name={quoteattr(v)}>" for v in variables]
    state: dict[str, Any] = {}
    for batch in _batches(rows, cap, state):
        out.write("".join(
            "<result>" + "".join(o + _xml_term(term) + "</binding>" for o, term in zip(opening, row) if term is not None) + "</result>\n"
            for row in batch
        ).encode())
    out.write(b"</results></sparql>\n")
    return state["count"], state["cut"]


def _csv_value(term: Any) -> str:
    if term is None:
        return ""
    if type(term) is BlankNode:
        return f"_:{term.value}"
    return term.value if isinstance(term, (NamedNode, Literal)) else str(term)


def _write_csv(variables: list[str], rows, out: BinaryIO, cap: int) -> tuple[int, bool]:
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(variables)
    state: dict[str, Any] = {}
    for batch in _batches(rows, cap, state):
        writer.writerows([_csv_value(term) for term in row] for row in batch)
        out.write(text.getvalue().encode())
        text.seek(0)
        text.truncate()
    out.write(text.getvalue().encode())
    return state["count"], state["cut"]


def _write_tsv(variables: list[str], rows, out: BinaryIO, cap: int) -> tuple[int, bool]:
    out.write(("\t".join(f"?{v}" for v in variables) + "\n").encode())
    state: dict[str, Any] = {}
    for batch in _batches(rows, cap, state):
        out.write("".join("\t".join("" if term is None else str(term) for term in row) + "\n" for row in batch).encode())
    return state["count"], state["cut"]


_WRITERS = {"json": _write_json, "xml": _write_xml, "csv": _write_csv, "tsv": _write_tsv}
