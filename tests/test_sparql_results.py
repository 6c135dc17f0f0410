"""The capped SELECT writers (graph.sparql_results) against pyoxigraph's own serialisers.

Each writer must say the same as Oxigraph's serialiser of the same solutions (parsed back
with pyoxigraph, so layout may differ), stop at the cap exactly, and say whether it cut,
including at and around the batch boundary.
"""

from __future__ import annotations

import csv
import io

import pyoxigraph
import pytest
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, QueryResultsFormat

from studygraph.graph.sparql_results import BATCH_ROWS, write_results

ROWS = BATCH_ROWS * 2 + 7
FORMATS = {"json": QueryResultsFormat.JSON, "xml": QueryResultsFormat.XML, "csv": QueryResultsFormat.CSV, "tsv": QueryResultsFormat.TSV}
QUERY = "SELECT ?s ?o ?missing WHERE { ?s <http://example.org/p> ?o OPTIONAL { ?s <http://example.org/none> ?missing } } ORDER BY ?s ?o"


def tricky(n: int) -> Literal | NamedNode | BlankNode:
    """Objects of every kind, with text that breaks naive writers."""
    kind = n % 5
    if kind == 0:
        return Literal(f'quote " comma , brace }},{{ newline \n tab \t <result> & é {n}')
    if kind == 1:
        return Literal(f"{n}", datatype=NamedNode("http://www.w3.org/2001/XMLSchema#integer"))
    if kind == 2:
        return Literal(f"label {n}", language="en")
    if kind == 3:
        return NamedNode(f"http://example.org/thing/{n}?a=1&b=%3C2%3E")
    return BlankNode(f"b{n}")


@pytest.fixture(scope="module")
def store() -> pyoxigraph.Store:
    store = pyoxigraph.Store()
    for n in range(ROWS):
        store.add(Quad(NamedNode(f"http://example.org/s/{n:05d}"), NamedNode("http://example.org/p"), tricky(n)))
    return store


def parsed(data: bytes, format: QueryResultsFormat) -> list[tuple]:
    """The solutions as comparable tuples (blank nodes as "_": their labels are the
    writer's to choose). CSV cannot be parsed back to terms: its cells are compared."""
    if format == QueryResultsFormat.CSV:
        return [tuple(row) for row in csv.reader(io.StringIO(data.decode("utf-8"), newline=""))][1:]
    solutions = pyoxigraph.parse_query_results(data, format)
    variables = [v.value for v in solutions.variables]
    return [tuple(str(row[v]) if row[v] is not None and type(row[v]) is not BlankNode else ("_" if row[v] is not None else None) for v in variables) for row in solutions]


@pytest.mark.parametrize("format", sorted(FORMATS))
@pytest.mark.parametrize("cap", [0, 1, BATCH_ROWS - 1, BATCH_ROWS, BATCH_ROWS + 1, ROWS - 1, ROWS, ROWS + 1, 10**6])
def test_writer_matches_oxigraph_up_to_the_cap(store: pyoxigraph.Store, format: str, cap: int) -> None:
    ours = io.BytesIO()
    written, cut = write_results(store.query(QUERY), ours, format, cap)
    reference = store.query(QUERY).serialize(format=FORMATS[format])
    expected = parsed(reference, FORMATS[format])
    assert len(expected) == ROWS
    assert written == min(cap, ROWS)
    assert cut == (cap < ROWS)
    assert parsed(ours.getvalue(), FORMATS[format]) == expected[:written]


def test_ask_and_empty_results(store: pyoxigraph.Store) -> None:
    for format in FORMATS:
        out = io.BytesIO()
        assert write_results(store.query("SELECT ?x WHERE { ?x <http://example.org/nothing> ?y }"), out, format, 10) == (0, False)
        assert parsed(out.getvalue(), FORMATS[format]) == []
        out = io.BytesIO()
        assert write_results(store.query("ASK { ?s ?p ?o }"), out, format, 10) == (1, False)
        if format == "csv":  # CSV has no boolean form: the word is written
            assert out.getvalue() == b"true\n"
        else:
            assert bool(pyoxigraph.parse_query_results(out.getvalue(), FORMATS[format])) is True


@pytest.mark.parametrize("format", sorted(FORMATS))
def test_results_within_the_cap_are_written_by_oxigraph(store: pyoxigraph.Store, format: str) -> None:
    query = QUERY + " LIMIT 30"
    out = io.BytesIO()
    assert write_results(store.query(query), out, format, 30, within_cap=True) == (None, False)
    assert out.getvalue() == store.query(query).serialize(format=FORMATS[format])


class _Chunked:
    """N-Triples Oxigraph wrote, handed on in chunks cut at given offsets (a serialiser
    flushes where its buffer fills, not where a line ends)."""

    def __init__(self, text: bytes, cuts: tuple[int, ...]) -> None:
        self.text, self.cuts = text, cuts

    def serialize(self, out, format) -> None:  # noqa: A002 (pyoxigraph's argument name)
        assert format == pyoxigraph.RdfFormat.N_TRIPLES
        starts = (0, *self.cuts)
        for start, end in zip(starts, (*self.cuts, len(self.text))):
            out.write(self.text[start:end])


def test_line_formats_are_cut_at_a_line_end_wherever_the_chunks_end() -> None:
    triples = [pyoxigraph.Triple(NamedNode(f"http://example.org/s{i}"), NamedNode("http://example.org/p"), tricky(i)) for i in range(4)]
    text = pyoxigraph.serialize(triples, format=pyoxigraph.RdfFormat.N_TRIPLES)
    lines = text.splitlines(keepends=True)
    for cap in range(len(lines) + 1):
        for first in range(1, len(text)):
            for second in (first + 1, len(text) - 1):
                out = io.BytesIO()
                rows, cut = write_results(_Chunked(text, tuple(sorted({first, second} - {len(text)}))), out, "nt", cap)
                assert out.getvalue() == b"".join(lines[:cap]), (cap, first, second)
                assert (rows, cut) == (min(cap, len(lines)), cap < len(lines)), (cap, first, second)
