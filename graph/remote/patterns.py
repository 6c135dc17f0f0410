"""Quad-pattern lookups over SPARQL: what the embedded store reads with
``quads_for_pattern``, asked of a remote store as one SELECT each, so the rules of
graph.descriptions run unchanged on it.

A pattern without a graph matches the named graphs only (every record and description
lives in one; a store's default graph is not ours to read: Virtuoso's is the union).
"""

from __future__ import annotations

from collections.abc import Iterator

from pyoxigraph import BlankNode, Literal, NamedNode, Quad

from .client import RESULTS_JSON, SparqlClient, read_all
from .results import Row, read_boolean, read_solutions
from .terms import sparql

#: Things whose descriptions one query reads (a VALUES block of that many rows).
PAIRS_PER_QUERY = 200


class RemotePatterns:
    """A graph.descriptions.QuadSource over a store's SPARQL query endpoint."""

    def __init__(self, client: SparqlClient) -> None:
        self.client = client

    def select(self, query: str, *, union: bool = False) -> list[Row]:
        """The solutions of a SELECT (read whole, then parsed: graph.remote.results)."""
        return read_solutions(read_all(self.client.query(query, RESULTS_JSON, union=union)))

    def quads_of_subjects(self, pairs: list[tuple[NamedNode, NamedNode]]) -> Iterator[Quad]:
        """The quads of each (subject, graph) pair, :data:`PAIRS_PER_QUERY` pairs a query:
        a document's descriptions in one round trip per depth, not one per thing."""
        for start in range(0, len(pairs), PAIRS_PER_QUERY):
            rows = " ".join(f"({sparql(s)} {sparql(g)})" for s, g in pairs[start : start + PAIRS_PER_QUERY])
            for row in self.select(f"SELECT * WHERE {{ VALUES (?s ?g) {{ {rows} }} GRAPH ?g {{ ?s ?p ?o }} }}"):
                yield Quad(row["s"], row["p"], row["o"], row["g"])  # type: ignore[arg-type]

    def ask(self, query: str) -> bool:
        return read_boolean(read_all(self.client.query(query, RESULTS_JSON)))

    def quads_for_pattern(
        self, subject: NamedNode | BlankNode | None, predicate: NamedNode | None,
        object: NamedNode | BlankNode | Literal | None, graph_name: NamedNode | None,
    ) -> Iterator[Quad]:
        """The quads matching a pattern (None: any), as pyoxigraph's Store answers."""
        if isinstance(subject, BlankNode) or isinstance(object, BlankNode):
            return iter(())  # a blank node of ours is not a name the store shares
        parts = [sparql(term) if term is not None else f"?{name}" for term, name in
                 ((subject, "s"), (predicate, "p"), (object, "o"), (graph_name, "g"))]
        s, p, o, g = parts
        rows = self.select(f"SELECT * WHERE {{ GRAPH {g} {{ {s} {p} {o} }} }}")
        return iter([
            Quad(subject or row["s"], predicate or row["p"], object or row["o"], graph_name or row["g"])  # type: ignore[arg-type]
            for row in rows
        ])
