"""A catalogue whose quads live in a SPARQL store and whose search index, change log and
shared values live in a local directory (SQLite) or in PostgreSQL, which every worker
and host of a deployment shares (graph.index_place): a graph.catalogue.Location.

A fresh catalogue is filled in batches streamed to the store (each written by a thread
while the next is mapped): Oxigraph server takes
each chunk of N-Quads as it is (``POST /store?no_transaction``, one request a chunk:
written as it is parsed, outside a transaction, 2.4x faster than a transactional
``POST`` on the same chunks — nothing reads a catalogue before its base URL is written);
other stores get ``INSERT DATA`` requests of at most :data:`UPDATE_BYTES` each. The
load is all or nothing as far as the catalogue goes: the base URL, which marks a
catalogue as made, is written last, and a failed load drops the graphs it wrote (on
Oxigraph server every named graph: the store had none when the load began) and removes
the local files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pyoxigraph
from pyoxigraph import NamedNode, RdfFormat

from ..catalogue import Catalogue
from ..embedded import StoreError
from ..index_place import IndexComponents
from ..insert_data import insert_data
from ..search import IndexEntry
from .endpoints import RemoteEndpoints
from .store import RemoteStore
from .terms import sparql

#: Largest INSERT DATA request a bulk load sends to a store without a quads endpoint.
#: (Virtuoso's 400 to an update of about 230 kB, once read as a size limit, was its SP031:
#: too much SQL for one operation, which graph.insert_data now avoids; the requests are
#: kept at the size the tests and benchmarks ran with.)
UPDATE_BYTES = 96 * 1024


@dataclass(frozen=True)
class RemoteLocation:
    """A remote store plus where its index, change log and shared values are kept
    (graph.index_place: a local directory, or a PostgreSQL schema)."""

    endpoints: RemoteEndpoints
    index: IndexComponents

    def is_fresh(self) -> bool:
        """No catalogue made here yet (no base URL) and no graph in the store."""
        _, _, values = self.index.open()
        assert values is not None
        store = RemoteStore(self.endpoints, values)
        try:
            return not store.base_url and store.is_empty()
        finally:
            store.close()

    def create(self, chunks: Iterable[tuple[bytes, list[IndexEntry]]], base_url: str) -> None:
        if not self.is_fresh():
            raise StoreError(f"{self.endpoints.query_url} already holds a catalogue; bulk creation needs a fresh one")
        index, changes, values = self.index.open()
        assert index is not None and changes is not None and values is not None
        store = RemoteStore(self.endpoints, values)
        written: set[str] = set()

        def write(quads: bytes, entries: list[IndexEntry]) -> None:
            self._send(store, quads, written)
            index.replace(entries)
            changes.record((e.summary.slug, "created", e.modified) for e in entries)

        try:
            # While one chunk is written (the store and PostgreSQL working, this process
            # mostly waiting on them), the next is mapped: one chunk in flight at most.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="studygraph-load") as writer:
                in_flight: Future[None] | None = None
                for quads, entries in chunks:
                    if in_flight is not None:
                        in_flight.result()
                    in_flight = writer.submit(write, quads, entries)
                if in_flight is not None:
                    in_flight.result()
        except BaseException:
            index.close()
            changes.close()
            if self._takes_quads():
                store.client.update("DROP SILENT NAMED")
            elif written:
                store.client.update("".join(f"DROP SILENT GRAPH {sparql(NamedNode(g))} ;\n" for g in sorted(written)))
            store.close()
            self.index.remove()
            raise
        index.optimize()
        index.close()
        changes.close()
        store.set_base_url(base_url)
        store.descriptions_changed()  # a server already running on the empty store read none
        store.close()

    def _takes_quads(self) -> bool:
        """Whether the store takes N-Quads as they are (Oxigraph server's ``/store``)."""
        return self.endpoints.dialect == "oxigraph" and self.endpoints.graph_store_url is not None

    def _send(self, store: RemoteStore, quads: bytes, written: set[str]) -> None:
        """One chunk of N-Quads to the store; with INSERT DATA, noting the graphs it writes."""
        if self._takes_quads():
            assert self.endpoints.graph_store_url is not None
            url = self.endpoints.graph_store_url
            store.client.graph_store("POST", url + ("&" if "?" in url else "?") + "no_transaction", body=quads,
                                     media_type="application/n-quads")
            return
        parsed = list(pyoxigraph.parse(quads, format=RdfFormat.N_QUADS))
        written.update(q.graph_name.value for q in parsed if isinstance(q.graph_name, NamedNode))
        for update in _insert_requests(parsed):
            store.client.update(update)

    def open(self, *, read_only: bool = False) -> Catalogue:
        index, changes, values = self.index.open(read_only=read_only)
        if values is None:
            raise StoreError(f"no catalogue at {self.index.describe()} (load some records first)")
        return Catalogue(RemoteStore(self.endpoints, values, read_only=read_only), index, changes, values)


def _insert_requests(quads: list[pyoxigraph.Quad]) -> Iterator[str]:
    """``INSERT DATA`` requests of at most about UPDATE_BYTES, graph by graph."""
    by_graph: dict[str, list[str]] = {}
    for quad in quads:
        if not isinstance(quad.graph_name, NamedNode):
            raise StoreError("a bulk load writes named graphs only")
        by_graph.setdefault(str(quad.graph_name), []).append(f"{quad.triple} .\n")
    blocks: list[tuple[str, str]] = []
    size = 0
    for graph, lines in by_graph.items():
        block = "".join(lines)
        if blocks and size + len(block) > UPDATE_BYTES:
            yield insert_data(blocks)
            blocks, size = [], 0
        blocks.append((graph, block))
        size += len(block)
    if blocks:
        yield insert_data(blocks)
