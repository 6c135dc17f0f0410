"""A graph.backend.QuadStore over a SPARQL 1.1 store: Oxigraph server, Virtuoso 7, or
any store with Query, Update and (for exports and bulk loads) the Graph Store Protocol.

It gives the embedded store's answers (the abstract suite, tests/catalogue, proves it)
with these differences, each forced by the remote store:

- **A record's write is one SPARQL Update request**: ``DROP SILENT GRAPH`` of the
  record, the removal of the shared descriptions only it needed, ``INSERT DATA`` of
  its graph and the descriptions it adds (graph.descriptions), as the embedded store
  writes it. Oxigraph server runs one update request as one transaction. Virtuoso runs
  one SPARQL request as one SQL statement, inside one transaction in its default log
  mode (``log_enable(1)``); a reader never sees half of it.
- **The settings** (base URL, direct-write count, last direct write) live in a
  graph.keyvalue.KeyValue shared by every worker, and are read from it at each use, so
  every worker computes the same ETag after another one's direct write.
- **No description cache**: other processes write the same store, and only the writer
  could tell a cache of a change.
- **No checkpoint**: public SPARQL on a remote store is answered by the store itself
  (under its own timeout), not by query processes over a copy.
- **check_room and flush do nothing**: the store's disk is the store's to watch.
- **Virtuoso** keeps system graphs of its own (``virtrdf#``, ``ldp#``,
  ``http://localuriqaserver/sparql``); they are left out of counts and exports, and its
  default graph (the union of all graphs) cannot be read or written on its own through
  graph_store_get/write/delete: those act on named graphs only there.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, Triple

from studygraph import queries
from studygraph.mappings.formats import RDF_FORMATS, RDF_MEDIA_TYPES, WITH_PREFIXES
from studygraph.mappings.identity import Identity
from studygraph.mappings.namespaces import DCT, PREFIXES, vocab_namespace
from studygraph.mappings.terms import term_value
from studygraph.mappings.urls import Urls

from .. import descriptions
from ..backend import EXPORT_FORMATS, GraphWrite, QueryResult, RecordState, Stats, StoredRecord
from ..catalogue import now
from ..embedded import PROV_DERIVED, StoreError, _identity
from ..graph_store import graph_store_update
from ..keyvalue import KeyValue
from .client import SparqlClient, chunks, read_all
from .endpoints import RemoteEndpoints
from .patterns import RemotePatterns
from .terms import bind, sparql, values

#: Graphs a fresh Virtuoso holds for itself: never ours to count, export or drop.
VIRTUOSO_SYSTEM_GRAPHS = ("http://www.openlinksw.com/schemas/virtrdf#", "http://www.w3.org/ns/ldp#", "http://localuriqaserver/sparql")
#: Accepted answers of a read query: solutions or a boolean (JSON: see client.RESULTS_JSON), or triples.
_QUERY_ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9, text/turtle;q=0.8"
#: Settings keys in the KeyValue.
BASE_URL, DIRECT_WRITES, LAST_DIRECT_WRITE = "base_url", "direct_writes", "last_direct_write"
#: Bumped after every write that adds, replaces or drops a shared description: what tells
#: each worker's description cache that it is stale.
DESCRIPTIONS = "descriptions"


class RemoteStore:
    """A :class:`graph.backend.QuadStore` over one SPARQL store's HTTP endpoints."""

    def __init__(self, endpoints: RemoteEndpoints, settings: KeyValue, *, read_only: bool = False) -> None:
        self.endpoints = endpoints
        self.settings = settings
        self.read_only = read_only
        self.client = SparqlClient(endpoints)
        self.patterns = RemotePatterns(self.client)
        self._base_url: str | None = None
        #: Descriptions of shared things read lately, valid while the shared values under
        #: DESCRIPTIONS and DIRECT_WRITES are those it was filled under (any worker on any
        #: host may write): a keyword named by thousands of studies is read once, not per page.
        self._described = descriptions.DescriptionCache()
        self._described_under: tuple[str | None, str | None] | None = None

    # -- settings (shared by every worker: read at each use, but for the base URL, which
    # never changes once a catalogue has one)

    @property
    def base_url(self) -> str | None:
        if self._base_url is None:
            self._base_url = self.settings.get(BASE_URL)
        return self._base_url

    @base_url.setter
    def base_url(self, value: str | None) -> None:
        if value is not None:
            self.settings.put(BASE_URL, value)

    @property
    def direct_writes(self) -> int:
        return int(self.settings.get(DIRECT_WRITES) or 0)

    @direct_writes.setter
    def direct_writes(self, value: int) -> None:
        self.settings.put(DIRECT_WRITES, str(value))

    @property
    def last_direct_write(self) -> str | None:
        return self.settings.get(LAST_DIRECT_WRITE)

    @last_direct_write.setter
    def last_direct_write(self, value: str | None) -> None:
        if value is not None:
            self.settings.put(LAST_DIRECT_WRITE, value)

    def direct_write_stamp(self) -> tuple[int, str | None]:
        found = self.settings.get_many([DIRECT_WRITES, LAST_DIRECT_WRITE])
        return int(found.get(DIRECT_WRITES) or 0), found.get(LAST_DIRECT_WRITE)

    def set_base_url(self, base_url: str) -> None:
        self.settings.put(BASE_URL, base_url)

    @property
    def urls(self) -> Urls:
        if not self.base_url:
            raise StoreError(f"the store at {self.endpoints.query_url} has no base URL yet")
        return Urls(self.base_url)

    def _count_direct_write(self) -> None:
        """Count a write that bypassed the loader, atomically across workers."""
        self.settings.add(DIRECT_WRITES)
        self.settings.put(LAST_DIRECT_WRITE, now())

    def _vocab(self, term: str) -> NamedNode:
        return NamedNode(f"{self.base_url}/vocab#{term}")

    def _write(self, update: str) -> None:
        if self.read_only:
            raise StoreError(f"the store at {self.endpoints.update_url} was opened read-only")
        self.client.update(update)

    def check_room(self) -> None:
        """Nothing to check here: the store's disk is the store's to watch."""

    def flush(self) -> None:
        """Nothing is buffered here: every write is a finished request."""

    # -- records

    def contains(self, name: str) -> bool:
        return self.patterns.ask(f"ASK {{ GRAPH {sparql(NamedNode(name))} {{ ?s ?p ?o }} }}")

    def harvested_from(self, source: str) -> list[str]:
        query = bind(queries.load("harvested_from"), {"harvestSource": self._vocab("harvestSource"), "source": NamedNode(source)})
        return [term_value(row["g"]) for row in self.patterns.select(query)]

    def record_states(self, names: Iterable[str]) -> dict[str, RecordState]:
        graphs = [NamedNode(name) for name in names]
        if not graphs:
            return {}
        content_hash, source, identifier, harvest = (self._vocab(t).value for t in ("contentHash", "recordSource", "recordIdentifier", "harvestSource"))
        wanted = [NamedNode(p) for p in (content_hash, DCT + "issued", DCT + "modified", source, identifier, harvest, PROV_DERIVED)]
        query = (f"SELECT ?g ?p ?o WHERE {{ {values(['g'], [[g] for g in graphs])} {values(['p'], [[p] for p in wanted])} "
                 "GRAPH ?g { ?g ?p ?o } }")
        found: dict[str, dict[str, str]] = {}
        for row in self.patterns.select(query):
            found.setdefault(term_value(row["g"]), {})[term_value(row["p"])] = term_value(row["o"])
        return {
            name: RecordState(v.get(content_hash), v.get(DCT + "issued"), v.get(DCT + "modified"),
                              _identity(v.get(source), v.get(identifier), v.get(harvest), v.get(PROV_DERIVED)))
            for name, v in found.items()
        }

    def find_records(self, identities: Iterable[Identity]) -> dict[Identity, str]:
        wanted = list(identities)
        if not wanted:
            return {}
        query = (f"SELECT ?record ?id ?source WHERE {{ {values(['id'], [[Literal(i)] for i in sorted({w.identifier for w in wanted})])} "
                 f"GRAPH ?record {{ ?record {sparql(self._vocab('recordIdentifier'))} ?id ; {sparql(self._vocab('recordSource'))} ?source }} }}")
        by_key = {(w.source, w.identifier): w for w in wanted}
        found: dict[Identity, str] = {}
        for row in self.patterns.select(query):
            identity = by_key.get((term_value(row["source"]), term_value(row["id"])))
            if identity is not None and identity not in found and isinstance(row["record"], NamedNode):
                found[identity] = row["record"].value
        return found

    def replace(self, writes: Iterable[GraphWrite]) -> None:
        """Write each record's graph, one update request each (see the module's note)."""
        known: dict[str, str] = {}
        rewritten = 0
        touched = False
        try:
            for write in writes:
                made = descriptions.replacement(self.patterns, self.urls, write.name, write.ntriples, write.descriptions, known)
                self._write(made.update)
                rewritten += made.rewritten
                touched = touched or bool(made.touched)
        finally:
            if touched:
                self.descriptions_changed()
        if rewritten:
            self._count_direct_write()

    def descriptions_changed(self) -> None:
        """Tell every worker's description cache that it is stale (after the write: a
        worker reading in between refills from the new state at its next look)."""
        self.settings.add(DESCRIPTIONS)

    def _descriptions(self) -> descriptions.DescriptionCache:
        """This process's description cache, emptied first if descriptions changed or a
        direct write happened since it was filled (one read of the shared values)."""
        found = self.settings.get_many([DESCRIPTIONS, DIRECT_WRITES])
        under = (found.get(DESCRIPTIONS), found.get(DIRECT_WRITES))
        if under != self._described_under:
            self._described.clear()
            self._described_under = under
        return self._described

    def delete(self, name: str) -> bool:
        graph = NamedNode(name)
        if not self.contains(name):
            return False
        before = descriptions.named_things(self.patterns.quads_for_pattern(None, None, None, graph), name)
        orphaned = descriptions.orphans(self.patterns, self.urls, before, graph, set()) if self.base_url else []
        self._write(f"DROP SILENT GRAPH {sparql(graph)} ;\n{descriptions.removal(self.patterns, orphaned)}")
        if orphaned:
            self.descriptions_changed()
        return True

    def drop_descriptions(self) -> int:
        urls = self.urls
        dropped = [g for g in self._graphs() if urls.is_description_graph(g.value)]
        if dropped:
            self._write("".join(f"DROP SILENT GRAPH {sparql(g)} ;\n" for g in dropped))
            self._count_direct_write()
        return len(dropped)

    def is_empty(self) -> bool:
        """Whether no graph of ours is in the store (a fresh load may fill it)."""
        return not self._graphs()

    def _graphs(self) -> list[NamedNode]:
        """Every named graph of ours (a Virtuoso's own graphs left out)."""
        rows = self.patterns.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return [g for row in rows if isinstance(g := row["g"], NamedNode) and not self._system(g.value)]

    def _system(self, graph: str) -> bool:
        return self.endpoints.dialect == "virtuoso" and graph.startswith(VIRTUOSO_SYSTEM_GRAPHS)

    def record_hashes(self) -> dict[str, str]:
        rows = self.patterns.select(bind(queries.load("record_hashes"), {"contentHash": self._vocab("contentHash")}))
        return {term_value(row["g"]): term_value(row["hash"]) for row in rows}

    def stored_record(self, name: str) -> StoredRecord | None:
        return next(self._stored({"g": NamedNode(name)}), None)

    def stored_records(self) -> Iterator[StoredRecord]:
        return self._stored({})

    def _stored(self, bound: dict[str, NamedNode]) -> Iterator[StoredRecord]:
        names = ("sourceRecord", "sourceName", "sourceFormat", "harvestSource", "harvestedAt", "recordSource", "recordIdentifier")
        query = bind(queries.load("stored_records"), {**{n: self._vocab(n) for n in names}, **bound})
        for row in self.patterns.select(query):
            def text(column: str) -> str | None:
                term = row.get(column)
                return term_value(term) if term is not None else None
            yield StoredRecord(
                name=term_value(row["g"]), source_json=term_value(row["json"]), issued=term_value(row["issued"]),
                modified=term_value(row["modified"]), source_name=text("name"), source_format=text("format"),
                provenance={key: value for key, column in (("url", "derived"), ("harvest_source", "harvest"), ("harvested", "harvested"))
                            if (value := text(column)) is not None},
                identity=_identity(text("source"), text("identifier"), text("harvest"), text("derived")),
            )

    # -- reading

    def graph_triples(self, name: str) -> list[Triple]:
        return [q.triple for q in self.patterns.quads_for_pattern(None, None, None, NamedNode(name))]

    def objects_of(self, name: str, subject: str, predicate: str) -> list[str]:
        return [term_value(q.object) for q in self.patterns.quads_for_pattern(NamedNode(subject), NamedNode(predicate), None, NamedNode(name))]

    def document_triples(self, name: str) -> list[Triple]:
        return descriptions.document_triples(self.patterns, self.urls, NamedNode(name), cache=self._descriptions())

    def languages_of(self, name: str, subject: str, predicates: Iterable[str]) -> list[str]:
        tags: dict[str, None] = {}
        query = (f"SELECT ?o WHERE {{ {values(['p'], [[NamedNode(p)] for p in predicates])} "
                 f"GRAPH {sparql(NamedNode(name))} {{ {sparql(NamedNode(subject))} ?p ?o }} }}")
        for row in self.patterns.select(query):
            if isinstance(row["o"], Literal):
                tags[row["o"].language or ""] = None
        return list(tags)

    def document_bytes(self, name: str, format: str, prefixes: dict[str, str] | None = None) -> bytes:
        """A study's document, serialised here by pyoxigraph (as the embedded store does)."""
        chosen = prefixes if prefixes and format in WITH_PREFIXES else None
        return pyoxigraph.serialize(self.document_triples(name), format=RDF_FORMATS[format], prefixes=chosen)  # type: ignore[return-value]

    def description_triples(self, iri: str) -> list[Triple]:
        return descriptions.document_triples(self.patterns, self.urls, None, [NamedNode(iri)], cache=self._descriptions())

    def links_to(self, iri: str, names: Iterable[str] | None = None) -> list[Triple]:
        thing = NamedNode(iri)
        if names is not None:
            return [q.triple for name in names for q in self.patterns.quads_for_pattern(None, None, thing, NamedNode(name))]
        records = f"{self.base_url}/items/"
        return [q.triple for q in self.patterns.quads_for_pattern(None, None, thing, None)
                if q.subject != thing and isinstance(q.graph_name, NamedNode) and q.graph_name.value.startswith(records)]

    def query(self, sparql_text: str, substitutions: Mapping[str, NamedNode | BlankNode | Literal] | None = None) -> QueryResult:
        """A read query over the union of the graphs, answered by the store."""
        response = self.client.query(bind(sparql_text, substitutions), _QUERY_ACCEPT, union=True)
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        body = read_all(response)
        if media_type in RDF_MEDIA_TYPES:
            return _as_query_triples(pyoxigraph.parse(body, format=RDF_MEDIA_TYPES[media_type]))
        return pyoxigraph.parse_query_results(body, format=pyoxigraph.QueryResultsFormat.JSON)

    def export(self, out: BinaryIO, format: str) -> None:
        """Stream the dataset: Oxigraph server's own N-Quads dump (copied as it comes for
        N-Quads, re-serialised for other formats); elsewhere graph by graph (CONSTRUCT)."""
        if format not in EXPORT_FORMATS:
            raise StoreError(f"unknown export format {format!r}; use one of {', '.join(EXPORT_FORMATS)}")
        keeps_graphs = EXPORT_FORMATS[format][1]
        if self.endpoints.dialect == "oxigraph" and self.endpoints.graph_store_url is not None:
            response = self.client.graph_store("GET", self.endpoints.graph_store_url, accept="application/n-quads")
            if format == "nq":
                for piece in chunks(response):
                    out.write(piece)
                return
            quads: Iterable[Quad] = pyoxigraph.parse(io.BufferedReader(_Stream(chunks(response))), format=RdfFormat.N_QUADS)
        else:
            quads = self._quads_by_graph()
        prefixes = self._prefixes() if format in WITH_PREFIXES else None
        if keeps_graphs:
            pyoxigraph.serialize(quads, out, RDF_FORMATS[format], prefixes=prefixes)
        else:
            pyoxigraph.serialize((q.triple for q in quads), out, RDF_FORMATS[format], prefixes=prefixes)

    def _quads_by_graph(self) -> Iterator[Quad]:
        for graph in self._graphs():
            yield from self.patterns.quads_for_pattern(None, None, None, graph)

    def _prefixes(self) -> dict[str, str]:
        prefixes = dict(PREFIXES)
        if self.base_url:
            prefixes["sg"] = vocab_namespace(self.base_url)
        return prefixes

    def stats(self) -> Stats:
        records = next(iter(self.patterns.select(queries.load("count_records"))))["records"]
        nodes: dict[str, int] = {}
        if self.base_url:
            rows = self.patterns.select(bind(queries.load("count_nodes"), {"base": Literal(self.base_url + "/")}))
            nodes = {term_value(row["kind"]): int(term_value(row["count"])) for row in rows}
        return Stats(records=int(term_value(records)), quads=self._quad_count(), nodes=nodes)

    def _quad_count(self) -> int:
        """Every quad of ours: the named graphs (Virtuoso's own left out) and, where the
        default graph is a graph of its own (not Virtuoso), that one."""
        if self.endpoints.dialect == "virtuoso":
            graphs = self._graphs()
            if not graphs:
                return 0
            query = f"SELECT (COUNT(*) AS ?n) WHERE {{ {values(['g'], [[g] for g in graphs])} GRAPH ?g {{ ?s ?p ?o }} }}"
        else:
            query = "SELECT (COUNT(*) AS ?n) WHERE { { GRAPH ?g { ?s ?p ?o } } UNION { ?s ?p ?o } }"
        return int(term_value(next(iter(self.patterns.select(query)))["n"]))

    # -- SPARQL services

    def checkpoint(self, target: Path) -> None:
        raise StoreError(f"a remote store ({self.endpoints.query_url}) has no checkpoint: its public SPARQL is answered by the store itself")

    def update(self, update: str, base_iri: str | None = None) -> None:
        """An authenticated SPARQL Update, sent as it is (one request, one transaction)."""
        self._write(f"BASE {sparql(NamedNode(base_iri))}\n{update}" if base_iri else update)
        self._count_direct_write()

    def graph_store_get(self, graph: NamedNode | None) -> list[Triple] | None:
        if graph is not None:
            triples = self.graph_triples(graph.value)
            return triples if triples or self.contains(graph.value) else None
        if self.endpoints.dialect == "virtuoso":
            return []
        return [t for row in self.patterns.select("SELECT ?s ?p ?o WHERE { ?s ?p ?o }")
                if isinstance(t := Triple(row["s"], row["p"], row["o"]), Triple)]  # type: ignore[arg-type]

    def graph_store_delete(self, graph: NamedNode | None) -> bool:
        if graph is None:
            self._write("CLEAR SILENT DEFAULT")
        elif self.contains(graph.value):
            self._write(f"DROP SILENT GRAPH {sparql(graph)}")
        else:
            return False
        self._count_direct_write()
        return True

    def graph_store_write(self, graph: NamedNode | None, data: bytes, media_type: str, *, replace: bool) -> bool:
        """PUT (*replace*) or POST, as one update request: the body is parsed here (the
        same errors as the embedded store) and sent as ``INSERT DATA``."""
        update = graph_store_update(graph, data, media_type, replace=replace)
        created = graph is not None and not self.contains(graph.value)
        self._write(update)
        self._count_direct_write()
        return created

    def close(self) -> None:
        self.client.close()
        self.settings.close()


def _as_query_triples(triples: Iterable[Quad | Triple]) -> pyoxigraph.QueryTriples:
    """Triples a store answered a CONSTRUCT with, as pyoxigraph's QueryTriples (which
    only a query makes: one over an in-memory store holding them)."""
    holder = pyoxigraph.Store()
    holder.extend(Quad(t.subject, t.predicate, t.object) for t in triples)
    result = holder.query("CONSTRUCT WHERE { ?s ?p ?o }")
    assert isinstance(result, pyoxigraph.QueryTriples)
    return result


class _Stream(io.RawIOBase):
    """Pieces of bytes as a readable file, for pyoxigraph's streaming parser."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._left:
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._left = piece
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size


