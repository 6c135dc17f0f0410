"""The embedded backend: a pyoxigraph store on disk, owned by this process.

A store is a directory: ``graph/`` holds the Oxigraph (RocksDB) database (this
module's :class:`EmbeddedStore`, a graph.backend.QuadStore), ``search.sqlite`` the search
index kept in step with it (graph.search), ``changes.sqlite`` the change log
(graph.changes), ``state.sqlite`` named values its processes share (what harvests
remember: graph.keyvalue), and ``settings.json`` what the store was created with (its
base URL).
:func:`open_catalogue` opens the three as one graph.catalogue.Catalogue, which orders
every write across them; the graph is the truth.

Each record's graph is replaced by one SPARQL update (``DROP GRAPH`` then ``INSERT
DATA``, with the shared descriptions it adds or leaves unneeded: graph.descriptions),
which Oxigraph applies as one transaction, so a reader or a killed load never sees half a
record. A fresh store is filled by :func:`bulk_create` instead: pyoxigraph's
bulk loader is much faster but not transactional, so it writes into a new directory that
is moved into place only once the load is complete.
"""

from __future__ import annotations

import datetime
import errno
import gc
import json
import os
import queue
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Variable

from studygraph import queries
from studygraph.mappings.formats import RDF_FORMATS, WITH_PREFIXES
from studygraph.mappings.identity import Identity, source_of
from studygraph.mappings.namespaces import DCT, PREFIXES, PROV, vocab_namespace
from studygraph.mappings.terms import term_value
from studygraph.mappings.urls import Urls

from . import database_directory, descriptions
from .backend import EXPORT_FORMATS, GraphWrite, QueryResult, RecordState, Stats, StoredRecord
from .catalogue import Catalogue
from .changes import ChangeLog
from .disk import is_disk_full
from .graph_store import graph_store_update
from .index_place import CHANGES_FILE, INDEX_FILE, IndexDirectory
from .search import IndexEntry, SearchIndex

PROV_DERIVED = PROV + "wasDerivedFrom"
SETTINGS_FILE = "settings.json"


class StoreError(RuntimeError):
    """The store cannot be opened or used as asked (locked, wrong base URL, ...)."""


class StoreFull(OSError):
    """No room on the disk to write; the store is as it was before the write."""

    def __init__(self, path: Path, free: int, needed: int) -> None:
        super().__init__(errno.ENOSPC, f"no room to write to the store at {path}: {free:,} bytes free, "
                         f"{needed:,} kept free (STUDYGRAPH_MIN_FREE_BYTES); nothing was written")


class _Reopening:
    """Stands in for the database while it is being opened again."""

    def __getattr__(self, name: str) -> object:
        raise OSError(errno.EAGAIN, "the store is being reopened after a full disk; try again")


def is_fresh(path: str | os.PathLike[str]) -> bool:
    """Whether *path* holds no store yet (missing or an empty directory)."""
    directory = Path(path)
    return not directory.exists() or (directory.is_dir() and not any(directory.iterdir()))


class EmbeddedStore:
    """A :class:`graph.backend.QuadStore` over a pyoxigraph store directory."""

    def __init__(
        self, path: str | os.PathLike[str], *, read_only: bool = False, min_free_bytes: int = 0,
        roll_bytes: int = database_directory.ROLL_BYTES,
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        #: MANIFEST size past which the database moves to a fresh copy (see graph.database_directory).
        self.roll_bytes = roll_bytes
        #: Held by every write and by a roll, which must not miss a write.
        self._writing = threading.RLock()
        #: Free disk space below which writes are refused (see check_room).
        self.min_free_bytes = min_free_bytes
        self._failed: OSError | None = None
        #: Descriptions read lately; only a store that owns its directory (the only
        #: writer, which tells the cache of every change) keeps one.
        self._described = descriptions.DescriptionCache() if not read_only else None
        settings = read_settings(self.path)
        database = self.database = database_directory.current(self.path, settings)
        if (read_only or database.name != database_directory.FIRST) and not database.is_dir():
            raise StoreError(f"no store at {self.path}" + (f" (its database {database.name} is missing)" if database.name != database_directory.FIRST else ""))
        try:
            if read_only:
                self._store = pyoxigraph.Store.read_only(str(database))
            else:
                database.mkdir(parents=True, exist_ok=True)
                self._store = pyoxigraph.Store(str(database))
                database_directory.remove_retired(self.path, keep={database})
        except OSError as error:
            raise StoreError(f"cannot open the store at {self.path}: {error}") from None
        self.base_url = settings.get("base_url")
        self.direct_writes: int = int(settings.get("direct_writes", 0))
        self.last_direct_write: str | None = settings.get("last_direct_write")

    # -- settings

    def direct_write_stamp(self) -> tuple[int, str | None]:
        return self.direct_writes, self.last_direct_write

    def set_base_url(self, base_url: str) -> None:
        self._save_settings(base_url=base_url)
        self.base_url = base_url

    @property
    def urls(self) -> Urls:
        if not self.base_url:
            raise StoreError(f"the store at {self.path} has no base URL yet")
        return Urls(self.base_url)

    def _save_settings(self, **values: Any) -> None:
        write_settings(self.path, {**read_settings(self.path), **values})

    def _count_direct_write(self) -> None:
        """Count a write that bypassed the loader (kept in settings.json across restarts);
        such a write may change any description, so the cache of them starts afresh."""
        if self._described is not None:
            self._described.clear()
        self.direct_writes += 1
        self.last_direct_write = _now()
        self._save_settings(direct_writes=self.direct_writes, last_direct_write=self.last_direct_write)

    # -- room to write

    def check_room(self) -> None:
        """Refuse a write (StoreFull, nothing touched) when the disk has less than
        ``min_free_bytes`` free, and bring the database back if an earlier write failed
        for lack of room and there is room again.

        RocksDB that runs out of space mid-write stops taking writes until it is opened
        again; refusing before that point keeps it writable, so writes resume by
        themselves once room is made, with no restart."""
        free = shutil.disk_usage(self.path).free
        if free < self.min_free_bytes:
            raise StoreFull(self.path, free, self.min_free_bytes)
        if self._failed is not None:
            self._reopen()

    def _write(self, update: str, base_iri: str | None = None) -> None:
        """Run one update (one transaction); a write the disk had no room for is a StoreFull."""
        with self._writing:
            try:
                self._store.update(update, base_iri=base_iri)
            except OSError as error:
                if not is_disk_full(error):
                    raise
                self._failed = error
                raise StoreFull(self.path, shutil.disk_usage(self.path).free, self.min_free_bytes) from None
            if database_directory.manifest_bytes(self.database) > self.roll_bytes:
                self.roll()

    def roll(self) -> None:
        """Move the database to a fresh copy of itself, whose MANIFEST is small (see
        graph.database_directory); readers carry on throughout."""
        with self._writing:
            self._store, self.database = database_directory.roll(
                self._store, self.path, self.database, lambda name: self._save_settings(**{database_directory.SETTING: name}))

    def _reopen(self) -> None:
        """Open the database again after a failed write (RocksDB refuses writes until
        then). The old handle must be gone first: it is dropped, and readers that come
        in the meantime get an OSError rather than a stale handle."""
        # The stand-in answers every use as a store would fail to, with an OSError.
        old, self._store = self._store, cast(pyoxigraph.Store, _Reopening())
        del old
        gc.collect()
        try:
            self._store = pyoxigraph.Store(str(self.database))
        except OSError as error:
            self._store = pyoxigraph.Store.read_only(str(self.database))
            raise StoreFull(self.path, shutil.disk_usage(self.path).free, self.min_free_bytes) from error
        self._failed = None

    def _vocab(self, term: str) -> NamedNode:
        return NamedNode(f"{self.base_url}/vocab#{term}")

    # -- records

    def harvested_from(self, source: str) -> list[str]:
        """The records (graph names) a harvest of *source* wrote, for ``harvest --prune``."""
        rows = queries.solutions(self._store.query(
            queries.load("harvested_from"),
            substitutions={Variable("harvestSource"): self._vocab("harvestSource"), Variable("source"): NamedNode(source)},
        ))
        return [row["g"].value for row in rows]

    def record_states(self, names: Iterable[str]) -> dict[str, RecordState]:
        found: dict[str, RecordState] = {}
        content_hash, source, identifier, harvest = (
            self._vocab(t) for t in ("contentHash", "recordSource", "recordIdentifier", "harvestSource")
        )
        wanted = (content_hash, NamedNode(DCT + "issued"), NamedNode(DCT + "modified"), source, identifier, harvest, NamedNode(PROV_DERIVED))
        for name in names:
            graph = NamedNode(name)
            values = {}
            for predicate in wanted:
                for quad in self._store.quads_for_pattern(graph, predicate, None, graph):
                    values[predicate.value] = term_value(quad.object)
            if values:
                found[name] = RecordState(
                    values.get(content_hash.value), values.get(DCT + "issued"), values.get(DCT + "modified"),
                    _identity(values.get(source.value), values.get(identifier.value), values.get(harvest.value), values.get(PROV_DERIVED)),
                )
        return found

    def find_records(self, identities: Iterable[Identity]) -> dict[Identity, str]:
        found: dict[Identity, str] = {}
        source, identifier = self._vocab("recordSource"), self._vocab("recordIdentifier")
        for identity in identities:
            for quad in self._store.quads_for_pattern(None, identifier, pyoxigraph.Literal(identity.identifier), None):
                record = quad.subject
                if isinstance(record, NamedNode | BlankNode) and quad.graph_name == record and any(
                    term_value(q.object) == identity.source for q in self._store.quads_for_pattern(record, source, None, record)
                ):
                    found[identity] = record.value
                    break
        return found

    def contains(self, name: str) -> bool:
        return self._store.contains_named_graph(NamedNode(name))

    def replace(self, writes: Iterable[GraphWrite]) -> None:
        """Write each record's graph, one transaction each (the search index and the
        change log are the catalogue's: graph.catalogue.Catalogue.replace)."""
        known: dict[str, str] = {}
        rewritten = 0
        for write in writes:
            update, replaced = self._replacement(write, known)
            self._write(update)
            rewritten += replaced
        if rewritten:
            # Other studies' documents changed without their records: a new version for all.
            self._count_direct_write()

    def _replacement(self, write: GraphWrite, known: dict[str, str]) -> tuple[str, int]:
        """The update that replaces one record graph (graph.descriptions.replacement)."""
        made = descriptions.replacement(self._store, self.urls, write.name, write.ntriples, write.descriptions, known)
        if self._described is not None:
            self._described.forget(made.touched)
        return made.update, made.rewritten

    def delete(self, name: str) -> bool:
        """Drop a record's graph and the descriptions only it needed (the index and the
        feed are the catalogue's: graph.catalogue.Catalogue.delete)."""
        graph = NamedNode(name)
        if not self._store.contains_named_graph(graph):
            return False
        before = descriptions.named_things(self._store.quads_for_pattern(None, None, None, graph), name)
        orphaned = descriptions.orphans(self._store, self.urls, before, graph, set()) if self.base_url else []
        self._write(f"DROP SILENT GRAPH {graph} ;\n{descriptions.removal(self._store, orphaned)}")
        if self._described is not None:
            self._described.forget(o.subject.value for o in orphaned)
        return True

    def drop_descriptions(self) -> int:
        """Drop every shared description (``remap`` writes them again); returns how many
        graphs went. Counted as a direct write: documents change without their records."""
        urls = self.urls
        dropped = [g for g in self._store.named_graphs() if isinstance(g, NamedNode) and urls.is_description_graph(g.value)]
        for graph in dropped:
            self._write(f"DROP SILENT GRAPH {graph}")
        if dropped:
            self._count_direct_write()
        return len(dropped)

    def record_hashes(self) -> dict[str, str]:
        """Every record graph's name and content hash (a full scan: for ``check``)."""
        rows = queries.solutions(self._store.query(queries.load("record_hashes"), substitutions={Variable("contentHash"): self._vocab("contentHash")}))
        return {row["g"].value: row["hash"].value for row in rows}

    def stored_record(self, name: str) -> StoredRecord | None:
        """One record with its original source (None if there is no such record)."""
        return next(self._stored({Variable("g"): NamedNode(name)}), None)

    def stored_records(self) -> Iterator[StoredRecord]:
        return self._stored({})

    def _stored(self, bound: dict[Variable, NamedNode]) -> Iterator[StoredRecord]:
        bindings = {
            Variable("sourceRecord"): self._vocab("sourceRecord"),
            Variable("sourceName"): self._vocab("sourceName"),
            Variable("sourceFormat"): self._vocab("sourceFormat"),
            Variable("harvestSource"): self._vocab("harvestSource"),
            Variable("harvestedAt"): self._vocab("harvestedAt"),
            Variable("recordSource"): self._vocab("recordSource"),
            Variable("recordIdentifier"): self._vocab("recordIdentifier"),
        }
        for row in queries.solutions(self._store.query(queries.load("stored_records"), substitutions={**bindings, **bound})):
            yield StoredRecord(
                name=row["g"].value,
                source_json=row["json"].value,
                issued=row["issued"].value,
                modified=row["modified"].value,
                source_name=row["name"].value if row["name"] is not None else None,
                source_format=row["format"].value if row["format"] is not None else None,
                provenance={
                    key: row[column].value
                    for key, column in (("url", "derived"), ("harvest_source", "harvest"), ("harvested", "harvested"))
                    if row[column] is not None
                },
                identity=_identity(*(row[c].value if row[c] is not None else None for c in ("source", "identifier", "harvest", "derived"))),
            )

    # -- reading

    def graph_triples(self, name: str) -> list[pyoxigraph.Triple]:
        """Everything in one record's graph (empty if there is no such record)."""
        return [quad.triple for quad in self._store.quads_for_pattern(None, None, None, NamedNode(name))]

    def objects_of(self, name: str, subject: str, predicate: str) -> list[str]:
        """The values of one property of one subject in one record graph (a direct lookup)."""
        return [term_value(q.object) for q in self._store.quads_for_pattern(NamedNode(subject), NamedNode(predicate), None, NamedNode(name))]

    def document_triples(self, name: str) -> list[pyoxigraph.Triple]:
        """A study's document: its record graph and the descriptions of what it names."""
        return descriptions.document_triples(self._store, self.urls, NamedNode(name), cache=self._described)

    def languages_of(self, name: str, subject: str, predicates: Iterable[str]) -> list[str]:
        """The language tags of some properties' literals (direct lookups, as above)."""
        tags: dict[str, None] = {}
        for predicate in predicates:
            for quad in self._store.quads_for_pattern(NamedNode(subject), NamedNode(predicate), None, NamedNode(name)):
                if isinstance(quad.object, Literal):
                    tags[quad.object.language or ""] = None
        return list(tags)

    def document_bytes(self, name: str, format: str, prefixes: dict[str, str] | None = None) -> bytes:
        """A study's document serialised by Oxigraph. A document is triples: in a quad
        format they are in the default graph (graph names are for exports and dumps)."""
        chosen = prefixes if prefixes and format in WITH_PREFIXES else None
        # With no output given, serialize returns the bytes (its stub says bytes | None for both cases).
        return pyoxigraph.serialize(self.document_triples(name), format=RDF_FORMATS[format], prefixes=chosen)  # type: ignore[return-value]

    def description_triples(self, iri: str) -> list[pyoxigraph.Triple]:
        """A shared thing's description and the descriptions of what it names."""
        return descriptions.document_triples(self._store, self.urls, None, [NamedNode(iri)], cache=self._described)

    def links_to(self, iri: str, names: Iterable[str] | None = None) -> list[pyoxigraph.Triple]:
        """The statements of record graphs (those *names*, or all) that point at *iri*."""
        thing = NamedNode(iri)
        if names is not None:
            return [q.triple for name in names for q in self._store.quads_for_pattern(None, None, thing, NamedNode(name))]
        records = f"{self.base_url}/items/"
        return [q.triple for q in self._store.quads_for_pattern(None, None, thing, None)
                if q.subject != thing and isinstance(q.graph_name, NamedNode) and q.graph_name.value.startswith(records)]

    def query(self, sparql: str, substitutions: Mapping[str, NamedNode | BlankNode | Literal] | None = None) -> QueryResult:
        bindings: dict[Variable, NamedNode | BlankNode | Literal | pyoxigraph.Triple] = {Variable(k): v for k, v in (substitutions or {}).items()}
        return self._store.query(sparql, substitutions=bindings, use_default_graph_as_union=True)

    def export(self, out: BinaryIO, format: str) -> None:
        """Stream the graphs; triple formats get their union (a set: see graph.descriptions)."""
        if format not in EXPORT_FORMATS:
            raise StoreError(f"unknown export format {format!r}; use one of {', '.join(EXPORT_FORMATS)}")
        rdf_format = RDF_FORMATS[format]
        prefixes = self._prefixes() if format in WITH_PREFIXES else None
        if EXPORT_FORMATS[format][1]:
            self._store.dump(out, rdf_format, prefixes=prefixes)
        else:
            triples = (quad.triple for quad in self._store.quads_for_pattern(None, None, None))
            pyoxigraph.serialize(triples, out, rdf_format, prefixes=prefixes)

    def _prefixes(self) -> dict[str, str]:
        prefixes = dict(PREFIXES)
        if self.base_url:
            prefixes["sg"] = vocab_namespace(self.base_url)
        return prefixes

    def stats(self) -> Stats:
        records = next(iter(queries.solutions(self._store.query(queries.load("count_records")))))["records"]
        nodes: dict[str, int] = {}
        if self.base_url:
            rows = queries.solutions(self._store.query(
                queries.load("count_nodes"), substitutions={Variable("base"): pyoxigraph.Literal(self.base_url + "/")}
            ))
            nodes = {row["kind"].value: int(row["count"].value) for row in rows}
        return Stats(records=int(records.value), quads=len(self._store), nodes=nodes)

    # -- SPARQL services

    def checkpoint(self, target: Path) -> None:
        """A read-only copy of the graph as it is now (hard links: cheap), for the query process."""
        store = self._store  # one handle throughout, should a roll swap it meanwhile
        store.backup(str(target))

    def update(self, update: str, base_iri: str | None = None) -> None:
        """Run an authenticated SPARQL update (one transaction). The search index is not
        touched: records changed this way are re-indexed by their next load or remap."""
        self._write(update, base_iri=base_iri)
        self._count_direct_write()

    def graph_store_get(self, graph: NamedNode | None) -> list[pyoxigraph.Triple] | None:
        """Graph Store Protocol GET: a named graph (None if absent), or the default graph."""
        if graph is not None and not self._store.contains_named_graph(graph):
            return None
        target = graph if graph is not None else pyoxigraph.DefaultGraph()
        return [quad.triple for quad in self._store.quads_for_pattern(None, None, None, target)]

    def graph_store_delete(self, graph: NamedNode | None) -> bool:
        if graph is None:
            self._write("CLEAR SILENT DEFAULT")
        elif self._store.contains_named_graph(graph):
            self._write(f"DROP SILENT GRAPH {graph}")
        else:
            return False
        self._count_direct_write()
        return True

    def graph_store_write(self, graph: NamedNode | None, data: bytes, media_type: str, *, replace: bool) -> bool:
        """Graph Store Protocol PUT (replace) or POST (add), in one transaction.

        Returns whether the graph was created. Raises SyntaxError for a body that does
        not parse, ValueError for a media type we cannot read.
        """
        update = graph_store_update(graph, data, media_type, replace=replace)
        created = graph is not None and not self._store.contains_named_graph(graph)
        self._write(update)
        self._count_direct_write()
        return created

    def flush(self) -> None:
        self._store.flush()

    def close(self) -> None:
        if not self.read_only:
            self._store.flush()
        del self._store


def open_catalogue(
    path: str | os.PathLike[str], *, read_only: bool = False, min_free_bytes: int = 0,
    roll_bytes: int = database_directory.ROLL_BYTES,
) -> Catalogue:
    """The catalogue of a store directory: its quads, its search index and its change log.
    Opened read-only, a store without an index or a change log (an old one) has none."""
    directory = Path(path)
    quads = EmbeddedStore(directory, read_only=read_only, min_free_bytes=min_free_bytes, roll_bytes=roll_bytes)
    index, changes, state = IndexDirectory(directory).open(read_only=read_only)
    return Catalogue(quads, index, changes, state)


@dataclass(frozen=True)
class EmbeddedLocation:
    """A store directory as a graph.catalogue.Location: filled by :func:`bulk_create`
    when fresh, opened by :func:`open_catalogue`."""

    path: Path
    min_free_bytes: int = 0

    def is_fresh(self) -> bool:
        return is_fresh(self.path)

    def create(self, chunks: Iterable[tuple[bytes, list[IndexEntry]]], base_url: str) -> None:
        bulk_create(self.path, chunks, base_url)

    def open(self, *, read_only: bool = False) -> Catalogue:
        return open_catalogue(self.path, read_only=read_only, min_free_bytes=self.min_free_bytes)


def bulk_create(path: str | os.PathLike[str], chunks: Iterable[tuple[bytes, list[IndexEntry]]], base_url: str) -> None:
    """Create a fresh store at *path* from chunks of N-Quads (and their records' index
    entries) with the bulk loader, all or nothing.

    The store is built in a sibling directory and renamed into place when complete; an
    interrupted load leaves only that directory, which the next load removes. Each chunk
    is bulk-loaded on its own (memory stays flat: one bulk load of a whole large input
    grows to several GiB) by a thread, while the caller indexes it and produces the next
    chunk (the bulk loader releases the GIL, so mapping and loading use both cores).
    """
    target = Path(path)
    if not is_fresh(target):
        raise StoreError(f"{target} already holds a store; bulk creation needs a fresh one")
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(target)
    building = target.with_name(f".{target.name}.loading-{uuid.uuid4().hex[:8]}")
    building.mkdir()
    store = pyoxigraph.Store(str(building / database_directory.FIRST))
    index = SearchIndex(building / INDEX_FILE)
    changes = ChangeLog(building / CHANGES_FILE)
    pending: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def consume(store: pyoxigraph.Store) -> None:
        while (quads := pending.get()) is not None:
            if not failure:
                try:
                    # Our own output, every term already made by pyoxigraph: no need to
                    # validate it again.
                    store.bulk_load(quads, RdfFormat.N_QUADS, lenient=True)
                except BaseException as error:  # reported to the producer below
                    failure.append(error)

    worker = threading.Thread(target=consume, args=(store,), name="bulk-load", daemon=True)
    worker.start()
    try:
        try:
            for quads, entries in chunks:
                if failure:
                    break
                pending.put(quads)
                # The bulk loader is the slowest stage: the index and the change log are
                # written here, while it works, rather than after it on its thread.
                index.replace(entries)
                changes.record((e.summary.slug, "created", e.modified) for e in entries)
        finally:
            pending.put(None)
            worker.join()
        if failure:
            raise StoreError(f"bulk load failed: {failure[0]}")
    except BaseException:
        # Nothing half-built stays behind (it may be what filled the disk).
        index.close()
        changes.close()
        del store
        shutil.rmtree(building, ignore_errors=True)
        raise
    store.flush()
    del store
    index.optimize()
    index.close()
    changes.close()
    write_settings(building, {"base_url": base_url})
    if target.exists():
        target.rmdir()
    os.replace(building, target)


def remove_stale_builds(target: Path) -> None:
    """Remove directories left by bulk loads that were killed before they finished."""
    for stale in target.parent.glob(f".{target.name}.loading-*"):
        shutil.rmtree(stale, ignore_errors=True)


def read_settings(path: Path) -> dict[str, Any]:
    try:
        return json.loads((path / SETTINGS_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as error:
        raise StoreError(f"{path / SETTINGS_FILE} is damaged: {error}") from None


def write_settings(path: Path, settings: dict[str, Any]) -> None:
    """Replace the settings file atomically (write a temporary file, then rename)."""
    path.mkdir(parents=True, exist_ok=True)
    temporary = path / f".{SETTINGS_FILE}.tmp"
    temporary.write_text(json.dumps(settings, indent=1), encoding="utf-8")
    os.replace(temporary, path / SETTINGS_FILE)


def _identity(source: str | None, identifier: str | None, harvest_source: str | None, derived: str | None) -> Identity | None:
    """A stored record's identity; for one stored before identities were kept, the one it
    would have been given (harvested: its source and IRI there; local: None, any local
    record wanting its slug)."""
    if source is not None and identifier is not None:
        return Identity(source, identifier)
    if harvest_source is not None and derived is not None:
        return Identity(source_of(harvest_source), derived)
    return None


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
