"""The quad-store interface every backend implements, and the values it returns.

A backend keeps quads only: the search index and the change log are components of their
own, and :class:`graph.catalogue.Catalogue` composes the three, so a SPARQL
1.1-over-HTTP backend (Oxigraph server, Virtuoso, Fuseki) can stand in for the embedded
pyoxigraph store by implementing this protocol alone. A record lives in one named graph
whose name is its document URL; everything a backend needs to know about a record is in
that graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol

from pyoxigraph import BlankNode, Literal, NamedNode, QueryBoolean, QuerySolutions, QueryTriples, Triple

from studygraph.mappings.formats import EXPORT_ORDER, SYNTAX_BY_NAME
from studygraph.mappings.identity import Identity
from studygraph.mappings.record_graph import Description

from .search.model import IndexEntry


@dataclass(frozen=True)
class RecordState:
    """What the store holds about a record: enough to tell unchanged from replaced."""

    content_hash: str | None
    issued: str | None
    modified: str | None
    #: Whose record it is. None for a record loaded before identities were kept and not
    #: harvested: it is taken to be the local record that wants its slug.
    identity: Identity | None = None


@dataclass(frozen=True)
class StoredRecord:
    """A record as kept in the store, with the original record for re-mapping."""

    name: str
    source_json: str
    issued: str
    modified: str
    source_name: str | None = None
    source_format: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)
    identity: Identity | None = None


@dataclass(frozen=True)
class GraphWrite:
    """The new content of one record's graph, as N-Triples text, its descriptions of the
    shared things it names, and its index entry (which the backend leaves to the
    catalogue's search index)."""

    name: str
    ntriples: str
    entry: IndexEntry | None = None
    #: What the change log records: "created" or "replaced".
    change: str = "replaced"
    descriptions: tuple[Description, ...] = ()


@dataclass
class Stats:
    records: int
    quads: int
    nodes: dict[str, int] = field(default_factory=dict)


#: Export formats: name -> (media type, whether the format keeps graph names).
EXPORT_FORMATS: dict[str, tuple[str, bool]] = {
    name: (SYNTAX_BY_NAME[name].media_type, SYNTAX_BY_NAME[name].quads) for name in EXPORT_ORDER
}


#: What a read query answers: solutions (SELECT), a boolean (ASK) or triples (CONSTRUCT).
QueryResult = QuerySolutions | QueryTriples | QueryBoolean


class QuadStore(Protocol):
    """A quad store holding one named graph per record: quads only (no index, no feed)."""

    base_url: str | None
    #: Writes so far that bypassed the loader (SPARQL Update, Graph Store Protocol). Such a
    #: write may change any record graph without its content hash, so the count is part
    #: of every study's version (its ETag).
    direct_writes: int
    #: When the last of them happened (``xsd:dateTime``), or None: a study's modification
    #: time is never earlier, so If-Modified-Since cannot answer 304 after one.
    last_direct_write: str | None

    def direct_write_stamp(self) -> tuple[int, str | None]:
        """(:attr:`direct_writes`, :attr:`last_direct_write`), read together: what every
        study's validators take from the store."""

    def check_room(self) -> None:
        """Refuse a write before anything is touched (an OSError) when there is no room."""

    def contains(self, name: str) -> bool:
        """Whether the named graph exists."""

    def harvested_from(self, source: str) -> list[str]:
        """The record graphs a harvest of *source* wrote, for ``harvest --prune``."""

    def record_states(self, names: Iterable[str]) -> dict[str, RecordState]:
        """The state of each named record that exists (absent names are left out)."""

    def find_records(self, identities: Iterable[Identity]) -> dict[Identity, str]:
        """The record graph kept under each identity that has one."""

    def replace(self, writes: Iterable[GraphWrite]) -> None:
        """Replace each record's graph (quads only); each graph in one transaction."""

    def flush(self) -> None:
        """Write what the store buffers in memory to disk: the loader calls it every so
        many bytes written, so a long run of writes holds bounded memory."""

    def delete(self, name: str) -> bool:
        """Drop a record's graph (quads only); False if there was none."""

    def drop_descriptions(self) -> int:
        """Drop every shared description, for ``remap`` to write them anew."""

    def record_hashes(self) -> dict[str, str]:
        """Every record graph's name and content hash (a full scan: for ``check``)."""

    def stored_record(self, name: str) -> StoredRecord | None:
        """One record with its original source (None if there is no such record)."""

    def stored_records(self) -> Iterator[StoredRecord]:
        """Every record with its original source, for re-mapping."""

    def graph_triples(self, name: str) -> list[Triple]:
        """Everything in one record's graph (empty if there is no such record)."""

    def objects_of(self, name: str, subject: str, predicate: str) -> list[str]:
        """The values of one property of one subject in one record graph."""

    def document_triples(self, name: str) -> list[Triple]:
        """A study's document: its record graph and the descriptions of what it names."""

    def languages_of(self, name: str, subject: str, predicates: Iterable[str]) -> list[str]:
        """The language tags of the literals of some properties of one subject in one
        record graph, each once ("" for a literal without one): what a page in the
        reader's language can be chosen from, without reading the whole graph."""


    def document_bytes(self, name: str, format: str, prefixes: dict[str, str] | None = None) -> bytes:
        """A study's document serialised by Oxigraph, as triples (quad formats: the default graph)."""

    def description_triples(self, iri: str) -> list[Triple]:
        """A shared thing's description and the descriptions of what it names (empty if none)."""

    def links_to(self, iri: str, names: Iterable[str] | None = None) -> list[Triple]:
        """The statements of record graphs (those *names*, or all) that point at *iri*."""

    def query(self, sparql: str, substitutions: Mapping[str, NamedNode | BlankNode | Literal] | None = None) -> QueryResult:
        """Run a read query over the union of the record graphs."""

    def export(self, out: BinaryIO, format: str) -> None:
        """Write the whole dataset to *out* in one of :data:`EXPORT_FORMATS`."""

    def stats(self) -> Stats: ...

    def checkpoint(self, target: Path) -> None:
        """A read-only copy of the quads as they are now, for the SPARQL query processes."""

    def update(self, update: str, base_iri: str | None = None) -> None:
        """Run an authenticated SPARQL Update (one transaction), counted as a direct write."""

    def graph_store_get(self, graph: NamedNode | None) -> list[Triple] | None:
        """Graph Store Protocol GET: a named graph (None if absent), or the default graph."""

    def graph_store_write(self, graph: NamedNode | None, data: bytes, media_type: str, *, replace: bool) -> bool:
        """Graph Store Protocol PUT (*replace*) or POST; whether the graph was created."""

    def graph_store_delete(self, graph: NamedNode | None) -> bool:
        """Graph Store Protocol DELETE; False if there was no such graph."""

    def set_base_url(self, base_url: str) -> None:
        """Record the base URL the store's IRIs were minted under."""

    def close(self) -> None: ...
