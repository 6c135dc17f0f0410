"""SPARQL results written out as they are read, with a cap on rows.

pyoxigraph serialises a whole result set or nothing; a public endpoint needs to stop at
a row limit and say so, so SELECT and ASK results are written here in the four W3C
formats (JSON, XML, CSV, TSV), one solution at a time, straight to a file.
CONSTRUCT/DESCRIBE triples go through pyoxigraph's RDF serialisers, cut at the same cap.

The query page's results (``html``) are written here too, in the query process and cut at
the same cap: a table of the solutions, or the triples as Turtle in a ``<pre>``. The web
process only streams them into its page, so a large answer never sits whole in it. In
that table only ``http:`` and ``https:`` IRIs become links: a result can be any IRI
(``IRI("javascript:...")``), and a link is a thing a person clicks.
"""

from __future__ import annotations

import codecs
import csv
import html
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, Protocol
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, QueryBoolean, QuerySolutions

from studygraph.mappings.formats import RDF_FORMATS, RESULT_SYNTAXES, WITH_PREFIXES
from studygraph.mappings.namespaces import XSD

XSD_STRING = XSD + "string"

#: SELECT result formats Oxigraph writes itself.
_NATIVE_SOLUTIONS = {r.name: r.results_format for r in RESULT_SYNTAXES}


class Writer(Protocol):
    """Where results are written: a binary file, a buffer, or any object that takes bytes."""

    def write(self, data: bytes, /) -> int: ...


def write_results(
    result: Any, out: Writer, format: str, max_rows: int, prefixes: dict[str, str] | None = None, *, within_cap: bool = False,
) -> tuple[int | None, bool]:
    """Write a query result; returns (rows or triples written, whether the cap cut it).

    *within_cap* says the query's own LIMIT keeps its solutions within *max_rows*: no cut
    can happen, so Oxigraph writes them itself, as fast as it can (the rows are then not
    counted: None)."""
    if isinstance(result, QueryBoolean):
        _write_boolean(bool(result), out, format)
        return 1, False
    if format == "html" and not isinstance(result, QuerySolutions):
        return _write_graph_html(result, out, max_rows, prefixes or {})
    if isinstance(result, QuerySolutions):
        if within_cap:
            # The stub asks for an IO[bytes]; Oxigraph only calls write (and flush) on the output.
            result.serialize(out, _NATIVE_SOLUTIONS[format])  # type: ignore[arg-type]
            return None, False
        variables = [v.value for v in result.variables]
        return _WRITERS[format](variables, result, out, max_rows)
    if format in ("nt", "nq"):
        # Line formats (one triple a line; N-Quads of the default graph is N-Triples):
        # Oxigraph writes them without a Python object per triple, cut at the cap's line.
        return _write_lines(result, out, max_rows)
    capped = _Capped(result, max_rows)
    triples = itertools.chain.from_iterable(capped.batches())
    rdf_format = RDF_FORMATS[format]
    statements: Iterable[pyoxigraph.Triple] | Iterable[pyoxigraph.Quad] = triples
    if format in ("nq", "trig"):
        statements = (pyoxigraph.Quad(t.subject, t.predicate, t.object) for t in triples)
    # The stub asks for an IO[bytes]; Oxigraph only calls write (and flush) on the output.
    pyoxigraph.serialize(statements, out, rdf_format, prefixes=prefixes if prefixes and format in WITH_PREFIXES else None)  # type: ignore[arg-type]
    return capped.count, capped.cut


class _CapReached(Exception):
    pass


class _LineCap:
    """A writer passing at most *cap* lines on to *out*; past them it stops the serialiser."""

    def __init__(self, out: Writer, cap: int) -> None:
        self.out = out
        self.cap = cap
        self.lines = 0
        self.cut = False

    def write(self, data: bytes) -> int:
        count = data.count(b"\n")
        # Chunks need not end at a line's end: one ending inside the line after the cap's
        # is cut too, or that line's start would be written without its end.
        if self.lines + count < self.cap or (self.lines + count == self.cap and data.endswith(b"\n")):
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


def _write_lines(result: Any, out: Writer, cap: int) -> tuple[int, bool]:
    writer = _LineCap(out, cap)
    try:
        result.serialize(writer, pyoxigraph.RdfFormat.N_TRIPLES)
    except Exception:
        if not writer.cut:
            raise
    return writer.lines, writer.cut


def _write_boolean(value: bool, out: Writer, format: str) -> None:
    if format == "json":
        out.write(json.dumps({"head": {}, "boolean": value}).encode())
    elif format == "xml":
        out.write(
            b'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/>'
            + f"<boolean>{'true' if value else 'false'}</boolean></sparql>\n".encode()
        )
    elif format == "html":
        out.write(f'<p class="boolean">{"true" if value else "false"}</p>\n'.encode())
    else:
        out.write(b"true\n" if value else b"false\n")


#: Rows written per batch: each batch is encoded by one call into C (json, csv) and
#: written once, so the per-row cost is building the row, not a write and an encode.
BATCH_ROWS = 512


class _Capped:
    """Rows (or triples) in lists of at most BATCH_ROWS, *cap* in all; afterwards
    :attr:`count` says how many were given and :attr:`cut` whether more were left."""

    def __init__(self, rows: Iterable[Any], cap: int) -> None:
        self.rows = iter(rows)
        self.cap = cap
        self.count = 0
        self.cut = False

    def batches(self) -> Iterator[list[Any]]:
        while True:
            room = self.cap - self.count
            wanted = min(BATCH_ROWS, room + 1)
            batch = list(itertools.islice(self.rows, wanted))
            exhausted = len(batch) < wanted
            if len(batch) > room:
                del batch[room:]
                self.cut = True
            self.count += len(batch)
            if batch:
                yield batch
            if exhausted or self.cut:
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


def _write_json(variables: list[str], rows, out: Writer, cap: int) -> tuple[int, bool]:
    out.write(b'{"head":{"vars":' + json.dumps(variables).encode() + b'},"results":{"bindings":[\n')
    capped = _Capped(rows, cap)
    for number, batch in enumerate(capped.batches()):
        bindings = [{name: _json_term(term) for name, term in zip(variables, row) if term is not None} for row in batch]
        out.write((b",\n" if number else b"") + _JSON.encode(bindings)[1:-1].encode())
    out.write(b"\n]}}\n")
    return capped.count, capped.cut


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


def _write_xml(variables: list[str], rows, out: Writer, cap: int) -> tuple[int, bool]:
    head = "".join(f"<variable name={quoteattr(v)}/>" for v in variables)
    out.write(f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>{head}</head><results>\n'.encode())
    opening = [f"<binding name={quoteattr(v)}>" for v in variables]
    capped = _Capped(rows, cap)
    for batch in capped.batches():
        out.write("".join(
            "<result>" + "".join(o + _xml_term(term) + "</binding>" for o, term in zip(opening, row) if term is not None) + "</result>\n"
            for row in batch
        ).encode())
    out.write(b"</results></sparql>\n")
    return capped.count, capped.cut


def _csv_value(term: Any) -> str:
    if term is None:
        return ""
    if type(term) is BlankNode:
        return f"_:{term.value}"
    return term.value if isinstance(term, (NamedNode, Literal)) else str(term)


def _write_csv(variables: list[str], rows, out: Writer, cap: int) -> tuple[int, bool]:
    text = io.StringIO(newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(variables)
    capped = _Capped(rows, cap)
    for batch in capped.batches():
        writer.writerows([_csv_value(term) for term in row] for row in batch)
        out.write(text.getvalue().encode())
        text.seek(0)
        text.truncate()
    out.write(text.getvalue().encode())
    return capped.count, capped.cut


def _write_tsv(variables: list[str], rows, out: Writer, cap: int) -> tuple[int, bool]:
    out.write(("\t".join(f"?{v}" for v in variables) + "\n").encode())
    capped = _Capped(rows, cap)
    for batch in capped.batches():
        out.write("".join("\t".join("" if term is None else str(term) for term in row) + "\n" for row in batch).encode())
    return capped.count, capped.cut


_LINKABLE = re.compile(r"https?://", re.IGNORECASE)


def _html_term(term: Any) -> str:
    """A cell of the results table: http(s) IRIs as links, everything else as text."""
    if term is None:
        return ""
    kind = type(term)
    if kind is NamedNode:
        text = html.escape(term.value)
        return f'<a href="{text}">{text}</a>' if _LINKABLE.match(term.value) else text
    if kind is BlankNode:
        return html.escape(f"_:{term.value}")
    if kind is Literal:
        return html.escape(term.value)
    return html.escape(str(term))


def _write_html(variables: list[str], rows, out: Writer, cap: int) -> tuple[int, bool]:
    head = "".join(f"<th>{html.escape(v)}</th>" for v in variables)
    out.write(f"<table><thead><tr>{head}</tr></thead><tbody>\n".encode())
    capped = _Capped(rows, cap)
    for batch in capped.batches():
        out.write("".join("<tr>" + "".join(f"<td>{_html_term(term)}</td>" for term in row) + "</tr>\n" for row in batch).encode())
    out.write(b"</tbody></table>\n")
    return capped.count, capped.cut


class _HtmlEscaping:
    """A writer that passes what an RDF serialiser writes on to *out* as HTML text
    (decoded incrementally: a chunk may end inside a character)."""

    def __init__(self, out: Writer) -> None:
        self.out = out
        self.decoder = codecs.getincrementaldecoder("utf-8")()

    def write(self, data: bytes) -> int:
        self.out.write(html.escape(self.decoder.decode(data), quote=False).encode())
        return len(data)

    def flush(self) -> None:
        pass

    def finish(self) -> None:
        self.out.write(html.escape(self.decoder.decode(b"", final=True), quote=False).encode())


def _write_graph_html(result: Any, out: Writer, cap: int, prefixes: dict[str, str]) -> tuple[int, bool]:
    """Triples as Turtle, HTML-escaped in a ``<pre>``, cut at *cap*."""
    capped = _Capped(result, cap)
    escaping = _HtmlEscaping(out)
    out.write(b'<pre class="graph">')
    triples = itertools.chain.from_iterable(capped.batches())
    # The stub asks for an IO[bytes]; Oxigraph only calls write (and flush) on the output.
    pyoxigraph.serialize(triples, escaping, pyoxigraph.RdfFormat.TURTLE, prefixes=prefixes or None)  # type: ignore[arg-type]
    escaping.finish()
    out.write(b"</pre>\n")
    return capped.count, capped.cut


_WRITERS = {"json": _write_json, "xml": _write_xml, "csv": _write_csv, "tsv": _write_tsv, "html": _write_html}
