"""Shared descriptions: each kept once, in its own graph, while any record names its thing.

A record graph holds the record's own statements; what records say about the shared things
they name (keywords, organisations, countries, licence pages) is kept once per thing, in
the graph :meth:`mappings.urls.Urls.description_graph` names, so the union of all graphs
is a set (Oxigraph's union default graph does not remove a triple repeated in two graphs).

The rules, applied inside each record's write transaction:

- **one description per thing, the same whatever the order of loading**: the first record
  that names a thing writes its description; a later record describing it differently
  replaces it only if its description sorts first (:func:`changes`), so two stores loaded
  with the same records in another order hold the same descriptions. Such a replacement
  changes the documents of other studies without their records changing, so the store
  counts it as a direct write (part of every study's ETag). A description stays while
  any record names its thing, even if the record that wrote it is gone; ``studygraph
  remap`` writes every description anew from the records as they are.
- **kept while named**: when a record is replaced or deleted, each thing it named and no
  longer names loses its description once nothing else names it — no other graph has a
  statement pointing at it (its own description and its own document aside); things that
  description named are checked in turn (a catalogue's publisher, a keyword's scheme).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, Triple

from studygraph.mappings.namespaces import RDF
from studygraph.mappings.record_graph import Description
from studygraph.mappings.urls import Urls

from .insert_data import insert_data

_TYPE = NamedNode(RDF + "type")
#: How far a document follows the things it names for their descriptions: the things a
#: record names, and the things their descriptions name (a catalogue's publisher, a
#: keyword's scheme) — enough for every linked object to be typed and labelled.
DOCUMENT_DEPTH = 2


class QuadSource(Protocol):
    """Where descriptions are read from: a pyoxigraph Store, or a remote store's
    pattern lookups (graph.remote.patterns)."""

    def quads_for_pattern(
        self, subject: NamedNode | BlankNode | None, predicate: NamedNode | None,
        object: NamedNode | BlankNode | Literal | None, graph_name: NamedNode | None,
    ) -> Iterator[Quad]: ...


@dataclass(frozen=True)
class Orphan:
    """A description that no record needs any more."""

    subject: NamedNode
    graph: NamedNode


def named_things(triples: Iterable[Triple | Quad], document: str) -> set[NamedNode]:
    """The IRIs a record's statements point at outside its own document (classes aside)."""
    inside = document + "#"
    return {
        t.object
        for t in triples
        if isinstance(t.object, NamedNode)
        and t.predicate != _TYPE
        and t.object.value != document
        and not t.object.value.startswith(inside)
    }


def canonical(ntriples: str) -> str:
    """A description's statements in one order: what :func:`changes` compares."""
    return "\n".join(sorted(line for line in ntriples.splitlines() if line))


def stored(store: QuadSource, subject: str, graph: str) -> str:
    """The canonical text of a thing's stored description ("" if it has none)."""
    return canonical("".join(f"{q.subject} {q.predicate} {q.object} .\n" for q in store.quads_for_pattern(NamedNode(subject), None, None, NamedNode(graph))))


def changes(store: QuadSource, descriptions: Iterable[Description], known: dict[str, str]) -> tuple[list[Description], list[Description]]:
    """The descriptions to write: (new ones, ones that replace a stored description).

    Of two records describing one thing differently (``King's`` and ``King’s``), the
    description that sorts first wins, so the store holds the same descriptions whatever
    the order records were loaded in (a harvest copies a catalogue exactly). *known*
    holds the canonical text of the descriptions looked up or written so far in this
    batch, so a keyword named by every record of a batch is read once."""
    added, replacing = [], []
    for description in descriptions:
        current = known.get(description.subject)
        if current is None:
            current = stored(store, description.subject, description.graph)
        proposed = canonical(description.ntriples)
        if not current:
            added.append(description)
        elif proposed < current:
            replacing.append(description)
        else:
            known[description.subject] = current
            continue
        known[description.subject] = proposed
    return added, replacing


def orphans(store: QuadSource, urls: Urls, candidates: Iterable[NamedNode], replaced: NamedNode, kept: set[str]) -> list[Orphan]:
    """The descriptions to drop once the graph *replaced* is rewritten (or dropped).

    *candidates* are the things the graph named before; *kept* the subjects the new
    content names or describes, which stay whatever else happens."""
    going: dict[NamedNode, NamedNode] = {}
    pending = [c for c in candidates if c.value not in kept]
    while pending:
        thing = pending.pop()
        if thing in going or thing.value in kept:
            continue
        graph = NamedNode(urls.description_graph(thing.value))
        description = [q.triple for q in store.quads_for_pattern(thing, None, None, graph)]
        if not description or _named_elsewhere(store, thing, replaced, going):
            continue
        going[thing] = graph
        pending.extend(named_things(description, thing.value.partition("#")[0]))
    return [Orphan(subject, graph) for subject, graph in going.items()]


def _named_elsewhere(store: QuadSource, thing: NamedNode, replaced: NamedNode, going: dict[NamedNode, NamedNode]) -> bool:
    """Whether a statement outside *replaced*, the descriptions *going*, and the thing's
    own description and document points at *thing*."""
    document = NamedNode(thing.value.partition("#")[0])
    for quad in store.quads_for_pattern(None, None, thing, None):
        graph = quad.graph_name
        if quad.subject == thing or graph == replaced or graph == document or (isinstance(quad.subject, NamedNode) and going.get(quad.subject) == graph):
            continue
        return True
    return False


class DescriptionCache:
    """The descriptions of shared things read lately, for the process that owns the
    store (its only writer), which tells the cache of every change: a keyword named by
    thousands of studies is read from the store once, not once per study document.

    Reading a statement out of Oxigraph costs about as much per term as a small
    serialisation; a study's document is half descriptions, most of them shared."""

    def __init__(self, size: int = 200_000) -> None:
        self.size = size
        self._entries: dict[NamedNode, tuple[Triple, ...]] = {}

    def get(self, thing: NamedNode) -> tuple[Triple, ...] | None:
        return self._entries.get(thing)

    def put(self, thing: NamedNode, description: tuple[Triple, ...]) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[thing] = description

    def forget(self, things: Iterable[str]) -> None:
        for thing in things:
            self._entries.pop(NamedNode(thing), None)

    def clear(self) -> None:
        self._entries.clear()


@runtime_checkable
class BatchedQuadSource(QuadSource, Protocol):
    """A source that reads a whole graph, or many things' descriptions, in one request
    (a store server: graph.remote.patterns), where one request per thing would cost a
    round trip each, and one quad made per statement the time of a parse."""

    def triples_of_subjects(self, pairs: list[tuple[NamedNode, NamedNode]]) -> Iterator[Triple]:
        """The triples of each (subject, graph) pair."""

    def graph_triples(self, graph: NamedNode) -> list[Triple]:
        """Every triple of one named graph."""


def descriptions_of(store: QuadSource, urls: Urls, things: list[NamedNode], cache: DescriptionCache | None) -> dict[NamedNode, tuple[Triple, ...]]:
    """The stored descriptions of *things* (empty for one with none): from the cache,
    the rest read at once from a batched source, else one by one."""
    found: dict[NamedNode, tuple[Triple, ...]] = {}
    read: dict[NamedNode, list[Triple]] = {}
    for thing in things:
        cached = cache.get(thing) if cache is not None else None
        if cached is None:
            read[thing] = []
        else:
            found[thing] = cached
    pairs = [(thing, NamedNode(urls.description_graph(thing.value))) for thing in read]
    if isinstance(store, BatchedQuadSource):
        triples: Iterable[Triple] = store.triples_of_subjects(pairs) if pairs else ()
    else:
        triples = (quad.triple for thing, graph in pairs for quad in store.quads_for_pattern(thing, None, None, graph))
    for triple in triples:
        read[triple.subject].append(triple)  # type: ignore[index]
    for thing, triples in read.items():
        found[thing] = tuple(triples)
        if cache is not None:
            cache.put(thing, found[thing])
    return found


def document_triples(
    store: QuadSource, urls: Urls, graph: NamedNode | None, things: Iterable[NamedNode] = (), cache: DescriptionCache | None = None,
) -> list[Triple]:
    """A document's statements: a record graph's (if *graph*) and the descriptions of
    what it names, followed :data:`DOCUMENT_DEPTH` deep; or, with *things* and no graph,
    those things' own descriptions and what they name (a node's document). Each depth's
    descriptions are read together (one request to a store server)."""
    triples: list[Triple] = []
    frontier: list[NamedNode] = list(things)
    if graph is not None:
        triples = store.graph_triples(graph) if isinstance(store, BatchedQuadSource) else [
            q.triple for q in store.quads_for_pattern(None, None, None, graph)]
        frontier += named_things(triples, graph.value)
    seen: set[NamedNode] = set()
    for _ in range(DOCUMENT_DEPTH + (0 if graph is not None else 1)):
        following: list[NamedNode] = []
        level = [thing for thing in dict.fromkeys(frontier) if thing not in seen]
        seen.update(level)
        described = descriptions_of(store, urls, level, cache)
        for thing in level:
            for triple in described[thing]:
                triples.append(triple)
                if isinstance(triple.object, NamedNode) and triple.predicate != _TYPE:
                    following.append(triple.object)
        frontier = following
    return triples


def removal(store: QuadSource, orphaned: list[Orphan]) -> str:
    """SPARQL Update text removing the orphaned descriptions (empty if none): a graph
    left with nothing is dropped, so no empty graph stays listed."""
    by_graph: dict[NamedNode, set[NamedNode]] = {}
    for orphan in orphaned:
        by_graph.setdefault(orphan.graph, set()).add(orphan.subject)
    dropped = [g for g, going in by_graph.items() if all(q.subject in going for q in store.quads_for_pattern(None, None, None, g))]
    update = "".join(f"DROP SILENT GRAPH {graph} ;\n" for graph in dropped)
    rows = " ".join(f"({subject} {graph})" for graph, going in by_graph.items() if graph not in dropped for subject in going)
    if rows:
        update += f"DELETE {{ GRAPH ?g {{ ?s ?p ?o }} }} WHERE {{ VALUES (?s ?g) {{ {rows} }} GRAPH ?g {{ ?s ?p ?o }} }} ;\n"
    return update


def replacing_update(descriptions: list[Description]) -> str:
    """SPARQL Update text clearing the descriptions about to be written anew."""
    if not descriptions:
        return ""
    rows = " ".join(f"(<{d.subject}> <{d.graph}>)" for d in descriptions)
    return f"DELETE {{ GRAPH ?g {{ ?s ?p ?o }} }} WHERE {{ VALUES (?s ?g) {{ {rows} }} GRAPH ?g {{ ?s ?p ?o }} }} ;\n"


@dataclass(frozen=True)
class Replacement:
    """The update that replaces one record graph, and what it does to descriptions."""

    update: str
    #: Descriptions it rewrites (other studies' documents change: a direct write).
    rewritten: int
    #: Things whose descriptions it drops or writes (for a cache to forget).
    touched: list[str]


def replacement(store: QuadSource, urls: Urls, name: str, ntriples: str, described: Iterable[Description], known: dict[str, str]) -> Replacement:
    """The update that replaces one record graph: drop it, drop the descriptions only it
    needed, insert its new content and the descriptions nobody gave yet (one request:
    one transaction on the store)."""
    described = list(described)
    graph = NamedNode(name)
    before = named_things(store.quads_for_pattern(None, None, None, graph), name)
    after = named_things(pyoxigraph.parse(ntriples, format=RdfFormat.N_TRIPLES), name) if before else set()
    kept = {thing.value for thing in after} | {d.subject for d in described}
    orphaned = orphans(store, urls, before, graph, kept) if before else []
    for orphan in orphaned:
        known.pop(orphan.subject.value, None)
    added, replacing = changes(store, described, known)
    update = (
        f"DROP SILENT GRAPH {graph} ;\n{removal(store, orphaned)}"
        f"{replacing_update(replacing)}"
        + insert_data([(str(graph), ntriples), *((f"<{d.graph}>", d.ntriples) for d in added + replacing)])
    )
    return Replacement(update, len(replacing), [o.subject.value for o in orphaned] + [d.subject for d in added + replacing])
