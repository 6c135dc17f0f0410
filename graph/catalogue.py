"""The catalogue: one object every caller speaks to, composing a quad store, the search
index and the change log.

The loader, the CLI, the server and the harvester hold a :class:`Catalogue`, never a
backend, so none of them knows which backend runs (graph.backend.QuadStore) or where
the index and the feed are kept. The catalogue owns the order of a write across the
three, which is what keeps them consistent through a crash:

- a record written: noted as pending in the change log, then its graph (the truth),
  then the index, then the feed entry (which settles the pending note): a listing never
  links a study whose graph is not there, and the feed announces only what can be read;
- a record deleted: noted as pending, then the index, then the graph, then the feed.

A write killed midway leaves its records pending; graph.loader.recover settles them from
the graphs at the next opening for writing. Only the loader writes records (its
``load``, ``remap`` and ``delete`` call :meth:`Catalogue.replace` and
:meth:`Catalogue.delete`); the server's SPARQL Update and Graph Store Protocol write
quads directly and are counted as direct writes.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, Protocol

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from studygraph.mappings.identifiers import DOI_RESOLVER
from studygraph.mappings.identity import Identity
from studygraph.mappings.namespaces import SCHEMA
from studygraph.mappings.profile import PAGE_TEXTS

from .backend import GraphWrite, QuadStore, QueryResult, RecordState, Stats, StoredRecord
from .changes import ChangeFeed
from .keyvalue import KeyValue
from .search import CatalogueIndex, IndexEntry, RecordHead


class Catalogue:
    """A quad store, its search index and its change log, written in step."""

    def __init__(
        self, quads: QuadStore, index: CatalogueIndex | None = None, changes: ChangeFeed | None = None,
        state: KeyValue | None = None,
    ) -> None:
        self.quads = quads
        #: The search index kept in step with the graphs (None: a store opened read-only
        #: that has none).
        self.index = index
        #: The change log behind /changes, with the writes in flight (None: as above).
        self.changes = changes
        #: Named values every process of this catalogue shares: what harvests remember
        #: between runs (None: as above).
        self.state = state

    # -- settings

    @property
    def base_url(self) -> str | None:
        """The base URL the store's IRIs were minted under (None before the first load)."""
        return self.quads.base_url

    def set_base_url(self, base_url: str) -> None:
        self.quads.set_base_url(base_url)

    @property
    def direct_writes(self) -> int:
        """Writes that bypassed the loader (part of every study's version)."""
        return self.quads.direct_writes

    @property
    def last_direct_write(self) -> str | None:
        return self.quads.last_direct_write

    def direct_write_stamp(self) -> tuple[int, str | None]:
        """(direct writes, the last one's time), read together."""
        return self.quads.direct_write_stamp()

    # -- writes (the loader's)

    def replace(self, writes: Iterable[GraphWrite]) -> None:
        """Write each record's graph (one transaction each), then the search index (one
        transaction for the batch), then the change log; the batch is noted as pending
        first, so a write killed midway is settled at the next opening."""
        self.quads.check_room()
        writes = list(writes)
        records = [(slug, write) for write in writes if (slug := self._slug(write.name)) is not None]
        if self.changes is not None:
            self.changes.intend((slug, write.change) for slug, write in records)
        self.quads.replace(writes)
        entries = [write.entry for write in writes if write.entry is not None]
        if entries and self.index is not None:
            self.index.replace(entries)
        if self.changes is not None:
            stamp = now()
            self.changes.record((slug, write.change, write.entry.modified if write.entry else stamp) for slug, write in records)

    def delete(self, name: str) -> bool:
        """Drop a record: the index first (a listing never links a study that is gone),
        then the graph and the descriptions only it needed, then the feed. False if
        there was no such record."""
        if not self.quads.contains(name):
            return False
        self.quads.check_room()
        slug = self._slug(name)
        if slug is not None and self.changes is not None:
            self.changes.intend([(slug, "deleted")])
        if slug is not None and self.index is not None:
            self.index.delete(slug)
        self.quads.delete(name)
        if slug is not None and self.changes is not None:
            self.changes.record([(slug, "deleted", now())])
        return True

    def drop_descriptions(self) -> int:
        """Drop every shared description, for ``remap`` to write them anew."""
        return self.quads.drop_descriptions()

    def flush(self) -> None:
        self.quads.flush()

    def _slug(self, name: str) -> str | None:
        """The slug of a record graph's name (None for other graphs)."""
        prefix = f"{self.base_url}/items/"
        return name[len(prefix):] if self.base_url and name.startswith(prefix) else None

    # -- records

    def record_states(self, names: Iterable[str]) -> dict[str, RecordState]:
        return self.quads.record_states(names)

    def head(self, name: str) -> RecordHead | None:
        """What a study's URL answers with before its body (None: no such record): one
        read of the index, which the loader writes with the graph (``studygraph check
        --repair`` mends a crash between the two). A head is unknown there when the
        graph was written otherwise since (SPARQL Update, the Graph Store Protocol: they
        forget the heads they may change, :meth:`update`) or the row predates heads;
        then it is read from the graph: three reads of the store."""
        slug = self._slug(name)
        if self.index is not None and slug is not None:
            indexed = self.index.head(slug)
            if indexed is not None:
                return indexed
        state = self.quads.record_states([name]).get(name)
        if state is None:
            return None
        thing = name + "#id"
        dois = [d for d in self.quads.objects_of(name, thing, SCHEMA + "sameAs") if d.startswith(DOI_RESOLVER)]
        languages = self.quads.languages_of(name, thing, PAGE_TEXTS)
        return RecordHead(state.content_hash or "", state.modified or "", min(dois, default=None), tuple(sorted(set(languages))))

    def find_records(self, identities: Iterable[Identity]) -> dict[Identity, str]:
        return self.quads.find_records(identities)

    def harvested_from(self, source: str) -> list[str]:
        return self.quads.harvested_from(source)

    def record_hashes(self) -> dict[str, str]:
        return self.quads.record_hashes()

    def stored_record(self, name: str) -> StoredRecord | None:
        return self.quads.stored_record(name)

    def stored_records(self) -> Iterator[StoredRecord]:
        return self.quads.stored_records()

    # -- reading documents

    def graph_triples(self, name: str) -> list[Triple]:
        return self.quads.graph_triples(name)

    def objects_of(self, name: str, subject: str, predicate: str) -> list[str]:
        return self.quads.objects_of(name, subject, predicate)

    def document_triples(self, name: str) -> list[Triple]:
        """A study's document, in one order whatever the backend (:func:`in_order`)."""
        return in_order(self.quads.document_triples(name))

    def languages_of(self, name: str, subject: str, predicates: Iterable[str]) -> list[str]:
        return self.quads.languages_of(name, subject, predicates)

    def document_bytes(self, name: str, format: str, prefixes: dict[str, str] | None = None) -> bytes:
        return self.quads.document_bytes(name, format, prefixes)

    def description_triples(self, iri: str) -> list[Triple]:
        return in_order(self.quads.description_triples(iri))

    def links_to(self, iri: str, names: Iterable[str] | None = None) -> list[Triple]:
        return in_order(self.quads.links_to(iri, names))

    def query(self, sparql: str, substitutions: Mapping[str, NamedNode | BlankNode | Literal] | None = None) -> QueryResult:
        return self.quads.query(sparql, substitutions)

    def export(self, out: BinaryIO, format: str) -> None:
        self.quads.export(out, format)

    def stats(self) -> Stats:
        return self.quads.stats()

    # -- SPARQL services (the server's endpoint: direct writes, not the loader's)

    def checkpoint(self, target: Path) -> None:
        self.quads.checkpoint(target)

    def update(self, update: str, base_iri: str | None = None) -> None:
        """An authenticated SPARQL Update: quads only; the records it changes are
        re-indexed by their next load or remap. It may change any record, so every
        record's head is forgotten first (:meth:`head`): a failure after that costs
        speed, never a stale header."""
        if self.index is not None:
            self.index.forget_heads()
        self.quads.update(update, base_iri)

    def graph_store_get(self, graph: NamedNode | None) -> list[Triple] | None:
        return self.quads.graph_store_get(graph)

    def graph_store_write(self, graph: NamedNode | None, data: bytes, media_type: str, *, replace: bool) -> bool:
        self._forget_head(graph)
        return self.quads.graph_store_write(graph, data, media_type, replace=replace)

    def graph_store_delete(self, graph: NamedNode | None) -> bool:
        self._forget_head(graph)
        return self.quads.graph_store_delete(graph)

    def _forget_head(self, graph: NamedNode | None) -> None:
        """Before a Graph Store Protocol write: the head of the record it writes, if any."""
        slug = self._slug(graph.value) if graph is not None else None
        if slug is not None and self.index is not None:
            self.index.forget_heads([slug])

    def close(self) -> None:
        if self.index is not None:
            self.index.close()
        if self.changes is not None:
            self.changes.close()
        if self.state is not None:
            self.state.close()
        self.quads.close()


class Location(Protocol):
    """Where a catalogue lives before it is opened: a fresh one is filled in bulk (all or
    nothing) rather than record by record, and an existing one is opened."""

    def is_fresh(self) -> bool:
        """Whether nothing is stored here yet."""

    def create(self, chunks: Iterable[tuple[bytes, list[IndexEntry]]], base_url: str) -> None:
        """Fill a fresh catalogue from chunks of N-Quads and their records' index
        entries, all or nothing."""

    def open(self, *, read_only: bool = False) -> Catalogue:
        """The catalogue stored here."""


def in_order(triples: list[Triple]) -> list[Triple]:
    """*triples* in the order of their N-Triples text. A store hands a document's triples
    over in an order of its own (Oxigraph by its internal ids, Virtuoso by its indexes),
    and a page lists values in the order it gets them: sorted, every backend renders a
    document the same, byte for byte."""
    return sorted(triples, key=str)


def now() -> str:
    """The current time as an ``xsd:dateTime`` in UTC, to the second."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
