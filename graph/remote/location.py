"""A catalogue whose quads live in a SPARQL store and whose search index, change log and
settings live in a local directory (SQLite; a shared database replaces them in a
deployment of many hosts): a graph.catalogue.Location.

A fresh catalogue is filled in batches streamed to the store: Oxigraph server takes
each chunk of N-Quads as it is (``POST /store``, one request a chunk); other stores get
``INSERT DATA`` requests of at most :data:`UPDATE_BYTES` each. The load is all or
nothing as far as the catalogue goes: the base URL, which marks a catalogue as made, is
written last, and a failed load drops the graphs it wrote and removes the local files.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
from pyoxigraph import NamedNode, RdfFormat

from ..catalogue import Catalogue
from ..changes import ChangeLog
from ..embedded import CHANGES_FILE, INDEX_FILE, StoreError
from ..keyvalue import SqliteKeyValue
from ..search import IndexEntry, SearchIndex
from .endpoints import RemoteEndpoints
from .store import BASE_URL, RemoteStore
from .terms import sparql

SETTINGS_FILE = "settings.sqlite"
#: Largest INSERT DATA request a bulk load sends to a store without a quads endpoint.
UPDATE_BYTES = 1 << 20


@dataclass(frozen=True)
class RemoteLocation:
    """A remote store plus the local directory of its index, change log and settings."""

    endpoints: RemoteEndpoints
    directory: Path

    def _settings(self, read_only: bool = False) -> SqliteKeyValue:
        self.directory.mkdir(parents=True, exist_ok=True)
        return SqliteKeyValue(self.directory / SETTINGS_FILE, read_only=read_only and (self.directory / SETTINGS_FILE).is_file())

    def is_fresh(self) -> bool:
        """No catalogue made here yet (no base URL) and no graph in the store."""
        settings = self._settings()
        try:
            if settings.get(BASE_URL):
                return False
        finally:
            settings.close()
        store = RemoteStore(self.endpoints, self._settings())
        try:
            return not store._graphs()
        finally:
            store.close()

    def create(self, chunks: Iterable[tuple[bytes, list[IndexEntry]]], base_url: str) -> None:
        if not self.is_fresh():
            raise StoreError(f"{self.endpoints.query_url} already holds a catalogue; bulk creation needs a fresh one")
        store = RemoteStore(self.endpoints, self._settings())
        index = SearchIndex(self.directory / INDEX_FILE)
        changes = ChangeLog(self.directory / CHANGES_FILE)
        written: set[str] = set()
        try:
            for quads, entries in chunks:
                self._send(store, quads, written)
                index.replace(entries)
                changes.record((e.summary.slug, "created", e.modified) for e in entries)
        except BaseException:
            index.close()
            changes.close()
            if written:
                store.client.update("".join(f"DROP SILENT GRAPH {sparql(NamedNode(g))} ;\n" for g in sorted(written)))
            store.close()
            for name in (INDEX_FILE, CHANGES_FILE, SETTINGS_FILE):
                for leftover in self.directory.glob(name + "*"):
                    leftover.unlink()
            raise
        index.optimize()
        index.close()
        changes.close()
        store.set_base_url(base_url)
        store.close()

    def _send(self, store: RemoteStore, quads: bytes, written: set[str]) -> None:
        """One chunk of N-Quads to the store, noting the graphs it writes."""
        parsed = list(pyoxigraph.parse(quads, format=RdfFormat.N_QUADS))
        written.update(q.graph_name.value for q in parsed if isinstance(q.graph_name, NamedNode))
        if self.endpoints.dialect == "oxigraph" and self.endpoints.graph_store_url is not None:
            store.client.graph_store("POST", self.endpoints.graph_store_url, body=quads, media_type="application/n-quads")
            return
        for update in _insert_requests(parsed):
            store.client.update(update)

    def open(self, *, read_only: bool = False) -> Catalogue:
        quads = RemoteStore(self.endpoints, self._settings(read_only), read_only=read_only)
        index_path, changes_path = self.directory / INDEX_FILE, self.directory / CHANGES_FILE
        index = SearchIndex(index_path, read_only=read_only) if not read_only or index_path.is_file() else None
        changes = ChangeLog(changes_path, read_only=read_only) if not read_only or changes_path.is_file() else None
        return Catalogue(quads, index, changes)

    def remove_local(self) -> None:
        """Remove the local directory (tests, and a catalogue being made anew)."""
        shutil.rmtree(self.directory, ignore_errors=True)


def _insert_requests(quads: list[pyoxigraph.Quad]) -> Iterator[str]:
    """``INSERT DATA`` requests of at most about UPDATE_BYTES, graph by graph."""
    by_graph: dict[str, list[str]] = {}
    for quad in quads:
        if not isinstance(quad.graph_name, NamedNode):
            raise StoreError("a bulk load writes named graphs only")
        by_graph.setdefault(str(quad.graph_name), []).append(f"{quad.triple} .\n")
    parts: list[str] = []
    size = 0
    for graph, lines in by_graph.items():
        block = f"GRAPH {graph} {{\n{''.join(lines)}}}\n"
        if parts and size + len(block) > UPDATE_BYTES:
            yield "INSERT DATA {\n" + "".join(parts) + "}"
            parts, size = [], 0
        parts.append(block)
        size += len(block)
    if parts:
        yield "INSERT DATA {\n" + "".join(parts) + "}"
