"""Quad-pattern lookups over SPARQL: what the embedded store reads with
``quads_for_pattern``, asked of a remote store as one SELECT each, so the rules of
graph.descriptions run unchanged on it.

A pattern without a graph matches the named graphs only (every record and description
lives in one; a store's default graph is not ours to read: Virtuoso's is the union).
"""

from __future__ import annotations

from collections.abc import Iterator

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Triple

from studygraph.mappings.formats import RDF_MEDIA_TYPES

from .client import RESULTS_JSON, RemoteStoreError, SparqlClient, read_all
from .results import Row, canonical_triples, read_boolean, read_solutions
from .terms import sparql

#: Things whose descriptions one query reads (a VALUES block of that many rows).
PAIRS_PER_QUERY = 200
#: What a CONSTRUCT is answered in: N-Triples, read by pyoxigraph's parser (Turtle, the
#: one syntax every SPARQL store writes, where N-Triples is not offered).
TRIPLES_ACCEPT = "application/n-triples, text/turtle;q=0.9"


class RemotePatterns:
    """A graph.descriptions.QuadSource over a store's SPARQL query endpoint."""

    def __init__(self, client: SparqlClient) -> None:
        self.client = client

    def select(self, query: str, *, union: bool = False) -> list[Row]:
        """The solutions of a SELECT (read whole, then parsed: graph.remote.results)."""
        return read_solutions(read_all(self.client.query(query, RESULTS_JSON, union=union)))

    def triples_of_subjects(self, pairs: list[tuple[NamedNode, NamedNode]]) -> Iterator[Triple]:
        """The triples of each (subject, graph) pair, :data:`PAIRS_PER_QUERY` pairs a query:
        a document's descriptions in one round trip per depth, not one per thing."""
        for start in range(0, len(pairs), PAIRS_PER_QUERY):
            rows = " ".join(f"({sparql(s)} {sparql(g)})" for s, g in pairs[start : start + PAIRS_PER_QUERY])
            yield from self.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES (?s ?g) {{ {rows} }} GRAPH ?g {{ ?s ?p ?o }} }}")

    def graph_triples(self, graph: NamedNode) -> list[Triple]:
        """Every triple of one named graph."""
        return self.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {sparql(graph)} {{ ?s ?p ?o }} }}")

    def construct(self, query: str) -> list[Triple]:
        """The triples of a CONSTRUCT, which the store writes as N-Triples (or Turtle, or
        any RDF syntax pyoxigraph reads; anything else is a RemoteStoreError).

        A record graph is ~140 triples: read as JSON solutions, each of its ~420 terms was
        made in Python (1.5-2 ms of a cold page's ~10); pyoxigraph parses them in a
        fraction of that. A store's own lexical forms are brought back to ours
        (results.canonical_triple) only in an answer that has such a datatype at all."""
        response = self.client.query(query, TRIPLES_ACCEPT)
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        body = read_all(response)
        if media_type not in RDF_MEDIA_TYPES:
            raise RemoteStoreError(f"the store answered a CONSTRUCT as {media_type or 'no media type'}, not in an RDF syntax")
        return canonical_triples(body, list(pyoxigraph.parse(body, format=RDF_MEDIA_TYPES[media_type])))

    def ask(self, query: str) -> bool:
        return read_boolean(read_all(self.client.query(query, RESULTS_JSON)))

    def quads_for_pattern(
        self, subject: NamedNode | BlankNode | None, predicate: NamedNode | None,
        object: NamedNode | BlankNode | Literal | None, graph_name: NamedNode | None,
    ) -> Iterator[Quad]:
        """The quads matching a pattern (None: any), as pyoxigraph's Store answers."""
        if isinstance(subject, BlankNode) or isinstance(object, BlankNode):
            return iter(())  # a blank node of ours is not a name the store shares
        if subject is None and predicate is None and object is None and graph_name is not None:
            return iter([Quad(t.subject, t.predicate, t.object, graph_name) for t in self.graph_triples(graph_name)])
        parts = [sparql(term) if term is not None else f"?{name}" for term, name in
                 ((subject, "s"), (predicate, "p"), (object, "o"), (graph_name, "g"))]
        s, p, o, g = parts
        rows = self.select(f"SELECT * WHERE {{ GRAPH {g} {{ {s} {p} {o} }} }}")
        return iter([
            Quad(subject or row["s"], predicate or row["p"], object or row["o"], graph_name or row["g"])  # type: ignore[arg-type]
            for row in rows
        ])
