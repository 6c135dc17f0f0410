"""The one way records get into the store: reader results -> mapping -> store.

The CLI, the server's write API and the harvester all hand :class:`Loader` the results of
a reader, and delete records through it too; it writes through the one
graph.catalogue.Catalogue, which keeps the graphs, the search index and the change log
in step. Each record is hashed first; a record whose hash matches the stored one is left
alone (``unchanged``), others are mapped and their graph replaced. A record that cannot be
read or mapped is reported as a rejection with its place and reason, and the load goes on:
whatever goes wrong while one record is hashed, placed or mapped — even a fault no check
foresaw — is that record's rejection (:func:`_rejected`), never the end of the load.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass, field

from studygraph.mappings.canonical import canonical_json
from studygraph.mappings.identity import LOCAL, Identity, disambiguated, record_identity
from studygraph.mappings.profile import MappedRecord, RecordError, content_hash, map_record, record_slug
from studygraph.mappings.record_graph import Description, Warning_
from studygraph.mappings.records import Origin, ReadResult, Rejection, SourceRecord
from studygraph.mappings.urls import Urls
from studygraph.mappings.validation import Gate, Result, gate

from .backend import GraphWrite, StoredRecord
from .catalogue import Catalogue, Location, now
from .descriptions import canonical
from .fresh_register import FreshRegister
from .gathered_descriptions import GatheredDescriptions
from .ordered_pool import OrderedPool
from .search import IndexEntry

#: How many records are looked up and written together on the transactional path.
BATCH_SIZE = 256

#: Size of the N-Quads chunks handed to the bulk loader: big enough to amortise a bulk
#: load's fixed cost, small enough to keep memory flat (about 100k quads).
BULK_CHUNK_BYTES = 24 * 1024 * 1024

#: N-Triples written on the transactional path between two flushes of the store. The
#: store keeps what is written in in-memory write buffers (RocksDB memtables, sized by
#: Oxigraph for a server: 128 MiB per index, several per index) until they fill, so
#: without flushing a load's memory grew with what it had written (2.1 GiB at 20k
#: records); flushing this often keeps a load of any size under 600 MiB.
FLUSH_BYTES = 32 * 1024 * 1024

#: N-Triples written since each store's last flush, by store: counted across loaders, as
#: a server makes one loader per request, all writing to one store.
_UNFLUSHED: weakref.WeakKeyDictionary[object, int] = weakref.WeakKeyDictionary()

#: Provenance a reader may attach to a record that the catalogue record keeps.
PROVENANCE_KEYS = ("url", "harvest_source", "harvested")

OUTCOMES = ("new", "replaced", "unchanged", "rejected")


@dataclass
class LoadEvent:
    """What happened to one record, for progress display and warnings."""

    outcome: str
    origin: str
    slug: str | None = None
    #: What was repaired or dropped while mapping the record.
    warnings: Sequence[Warning_] = ()
    rejection: Rejection | None = None
    #: The profile's findings (None when the record was not validated).
    findings: tuple[Result, ...] | None = None


@dataclass
class LoadReport:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    rejections: list[Rejection] = field(default_factory=list)
    warnings: int = 0

    def add(self, event: LoadEvent) -> None:
        self.counts[event.outcome] += 1
        if event.rejection is not None:
            self.rejections.append(event.rejection)
        self.warnings += len(event.warnings)

    @property
    def ok(self) -> bool:
        return not self.rejections

    def summary(self) -> str:
        return ", ".join(f"{self.counts[k]} {k}" for k in OUTCOMES) + f" ({self.warnings} warnings)"


Listener = Callable[[LoadEvent], None]


class SlugRegister:
    """Which record holds each slug: the store's records and this load's own claims.

    A record is published at the slug it wants unless another identity holds it; then
    at that slug with a suffix made from its own identity (mappings.identity), so the
    choice is the same on every run and a record keeps its URL once it has one.
    """

    #: Suffixed slugs tried before a record is rejected (each suffix a digit longer).
    ATTEMPTS = 8

    def __init__(self, urls: Urls, store: Catalogue | None = None, claims: MutableMapping[str, Identity] | None = None) -> None:
        self.urls = urls
        self.store = store
        #: Slug -> the identity that claimed it in this load (a fresh load's register
        #: keeps them on disk: graph.fresh_register).
        self.claims: MutableMapping[str, Identity] = claims if claims is not None else {}

    def place(self, identity: Identity, wanted: str) -> tuple[str, str | None]:
        """The slug for a record new to the store, and a note if it could not have the
        one it wanted. Raises RecordError when every suffix is taken."""
        first_holder: str | None = None
        for attempt in range(self.ATTEMPTS):
            slug = disambiguated(wanted, identity, attempt)
            taken, holder = self._holder(slug)
            if not taken or holder == identity or (holder is None and identity.source == LOCAL):
                self.claims[slug] = identity
                if attempt == 0:
                    return slug, None
                return slug, f"/items/{wanted} is another record's ({first_holder}); this one is published at /items/{slug}"
            if attempt == 0:
                first_holder = str(holder) if holder is not None else "a record loaded earlier"
        raise RecordError("slug", f"/items/{wanted} and {self.ATTEMPTS - 1} suffixed forms of it are taken")

    def keep(self, identity: Identity, slug: str) -> None:
        """Note that *identity* holds *slug* (a record already stored, or bulk-loaded)."""
        self.claims[slug] = identity

    def written(self) -> None:
        """The claims made so far are in the store now, which answers for them: they
        are let go, so a transactional load holds one batch's claims, not every record's."""
        if self.store is not None:
            self.claims.clear()

    def _holder(self, slug: str) -> tuple[bool, Identity | None]:
        if slug in self.claims:
            return True, self.claims[slug]
        if self.store is None:
            return False, None
        state = self.store.record_states([self.urls.item(slug)]).get(self.urls.item(slug))
        return (state is not None), (state.identity if state is not None else None)


@dataclass
class _Pending:
    """A record read and hashed, waiting in a batch for its slug and its write."""

    record: SourceRecord
    digest: str
    identity: Identity
    wanted: str


class Loader:
    """Loads reader results into a catalogue, one transaction per record, and deletes
    records from it: every write of records goes through here.

    *store* is None for a catalogue that does not exist yet: a dry run, or a harvest
    that fills a fresh store with :func:`load_fresh`; such a loader writes nothing.
    """

    def __init__(self, store: Catalogue | None, urls: Urls, *, dry_run: bool = False, validate: str | Gate = "warn") -> None:
        self.store = store
        self.urls = urls
        self.dry_run = dry_run
        #: ``--validate``: findings kept with each record; under ``error`` violations refused.
        self.gate = gate(validate, urls.base) if isinstance(validate, str) else validate
        self.slugs = SlugRegister(urls, store)

    def _catalogue(self) -> Catalogue:
        if self.store is None:
            raise RuntimeError("no catalogue to write to (it does not exist yet)")
        return self.store

    def load(self, items: Iterable[ReadResult], listener: Listener | None = None) -> LoadReport:
        if not self.dry_run:
            recover(self._catalogue(), self.urls)  # a write that failed earlier in this process
        report = LoadReport()
        batch: dict[Identity, _Pending] = {}

        def emit(event: LoadEvent) -> None:
            report.add(event)
            if listener:
                listener(event)

        for item in _accepted(items, emit):
            try:
                pending = _pending(item)
            except Exception as error:  # noqa: BLE001 - contained per record
                emit(_rejected(item, error))
                continue
            if pending.identity in batch:
                self._flush(batch, emit)
            batch[pending.identity] = pending
            if len(batch) >= BATCH_SIZE:
                self._flush(batch, emit)
        self._flush(batch, emit)
        return report

    def _flush(self, batch: dict[Identity, _Pending], emit: Listener) -> None:
        if not batch:
            return
        stored = self.store.find_records(batch) if self.store is not None else {}
        placed: list[tuple[_Pending, str, str | None]] = []
        events: list[LoadEvent] = []
        for identity, pending in batch.items():
            if identity in stored:
                slug = stored[identity].rsplit("/", 1)[1]
                self.slugs.keep(identity, slug)
                placed.append((pending, slug, None))
                continue
            try:
                placed.append((pending, *self.slugs.place(identity, pending.wanted)))
            except Exception as error:  # noqa: BLE001 - contained per record
                events.append(_rejected(pending.record, error))
        states = self.store.record_states(self.urls.item(slug) for _, slug, _ in placed) if self.store is not None else {}
        writes: list[GraphWrite] = []
        stamp = now()
        for pending, slug, clash in placed:
            state = states.get(self.urls.item(slug))
            if state is not None and state.content_hash == pending.digest and state.identity == pending.identity:
                events.append(LoadEvent("unchanged", str(pending.record.origin), slug))
                continue
            try:
                mapped = _map(pending.record, self.urls, issued=(state and state.issued) or stamp, modified=stamp,
                              slug=slug, identity=pending.identity)
                entry = indexed(mapped, stamp, self.gate)
                write = _write(mapped, entry, "replaced" if state else "created")
            except Exception as error:  # noqa: BLE001 - contained per record
                events.append(_rejected(pending.record, error))
                continue
            if clash:
                mapped.graph.warn("slug", clash)
            writes.append(write)
            events.append(LoadEvent("replaced" if state else "new", str(pending.record.origin), slug, mapped.warnings, findings=entry.findings))
        if not self.dry_run:
            self._catalogue().replace(writes)
            self.slugs.written()
            self._count_written(writes)
        batch.clear()
        for event in events:
            emit(event)

    def delete(self, name: str) -> bool:
        """Delete a record (its graph, its index entry; the feed is told); False if
        there was none."""
        return self._catalogue().delete(name)

    def _count_written(self, writes: list[GraphWrite]) -> None:
        """Count what was written; past :data:`FLUSH_BYTES`, flush the store, so the
        memory a load (or a server) holds does not grow with the records written."""
        written = _UNFLUSHED.get(self._catalogue().quads, 0) + sum(len(w.ntriples) + sum(len(d.ntriples) for d in w.descriptions) for w in writes)
        if written >= FLUSH_BYTES:
            self._catalogue().flush()
            written = 0
        _UNFLUSHED[self._catalogue().quads] = written

    def remap(self, listener: Listener | None = None) -> LoadReport:
        """Map every stored record again from its kept original, keeping its dates, its
        slug and its identity; the shared descriptions are written anew."""
        report = LoadReport()
        store = self._catalogue()
        # The names first (small), each record then read on its own: memory stays flat
        # whatever the store's size, and the writes never run under an open query.
        names = sorted(store.record_hashes())
        if not self.dry_run:
            store.drop_descriptions()
        for name in names:
            stored = store.stored_record(name)
            if stored is None:
                continue
            event = self._remap_one(stored)
            report.add(event)
            if listener:
                listener(event)
        return report

    def _remap_one(self, stored: StoredRecord) -> LoadEvent:
        try:
            mapped = map_stored(stored, self.urls)
        except Exception as error:  # noqa: BLE001 - contained per record
            return _rejected(SourceRecord({}, origin=Origin(stored.name), format=stored.source_format or ""), error)
        try:
            entry = indexed(mapped, stored.modified, self.gate)
        except Exception as error:  # noqa: BLE001 - contained per record (a violation under --validate=error)
            return _rejected(SourceRecord({}, origin=Origin(stored.name), format=stored.source_format or ""), error)
        if not self.dry_run:
            write = _write(mapped, entry)
            self._catalogue().replace([write])
            self._count_written([write])
        return LoadEvent("replaced", stored.name, mapped.slug, mapped.warnings, findings=entry.findings)


def recover(store: Catalogue, urls: Urls) -> int:
    """Settle the writes a crash or a failure left pending (see graph.changes), from the
    graph, which is the truth: a study whose graph is there is indexed from its kept
    original (and the feed told of its change); one whose graph is not is taken out of
    the index (and the feed told of its deletion, if that was the write). Returns how
    many were settled. Runs whenever a store is opened for writing."""
    if store.changes is None:
        return 0
    pending = store.changes.pending()
    for slug, kind in pending:
        stored = store.stored_record(urls.item(slug))
        if stored is None:
            if store.index is not None:
                store.index.delete(slug)
            if kind == "deleted":
                store.changes.record([(slug, kind, now())])
            else:
                store.changes.settle([slug])
            continue
        try:
            mapped = map_stored(stored, urls)
        except Exception:  # noqa: BLE001 - a kept record that no longer maps stays unindexed
            store.changes.settle([slug])
            continue
        if store.index is not None:
            store.index.replace([indexed(mapped, stored.modified, gate("warn", urls.base))])
        if kind == "deleted":
            store.changes.settle([slug])  # the deletion never reached the graph
        else:
            store.changes.record([(slug, kind, stored.modified)])
    return len(pending)


def indexed(mapped: MappedRecord, modified: str, checks: Gate) -> IndexEntry:
    """A mapped record's index entry with its findings under *checks*; raises
    ProfileViolation (a RecordError: the record's rejection) under ``--validate=error``."""
    findings = checks.inspect(mapped)
    return IndexEntry.of(mapped, modified, findings, checks.links(findings))


def map_stored(stored: StoredRecord, urls: Urls) -> MappedRecord:
    """A stored record mapped again from its kept original, keeping its dates, its slug
    and its identity. Raises RecordError as map_record does."""
    record = SourceRecord(json.loads(stored.source_json), origin=Origin(stored.name), format=stored.source_format or "")
    slug = stored.name.rsplit("/", 1)[1]
    identity = stored.identity or record_identity(record.data, stored.provenance, slug)
    return _map(record, urls, issued=stored.issued, modified=stored.modified, source_name=stored.source_name,
                provenance=stored.provenance, slug=slug, identity=identity)


def _accepted(items: Iterable[ReadResult], emit: Listener) -> Iterator[SourceRecord]:
    """The records of *items*; each rejection (the reader's, or a reader's error) is
    emitted as the load event it is."""
    for item in _records_or_rejections(items):
        if isinstance(item, LoadEvent):
            emit(item)
            continue
        yield item


def _records_or_rejections(items: Iterable[ReadResult]) -> Iterator[SourceRecord | LoadEvent]:
    """The records of *items*, and each rejection (the reader's, or a reader's error) as
    the load event it is, in input order."""
    for item in _contained(items):
        yield LoadEvent("rejected", str(item.origin), rejection=item) if isinstance(item, Rejection) else item


def _contained(items: Iterable[ReadResult]) -> Iterator[ReadResult]:
    """The reader's results, and an error a reader raises (which ends its input) as one
    last rejection: what was read before it is still written, and a fresh store is still
    built, rather than the whole load lost."""
    iterator = iter(items)
    where = "input"
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except Exception as error:  # noqa: BLE001 - contained: the load goes on without the rest of this input
            yield Rejection(Origin(where), f"reading stopped ({type(error).__name__}: {str(error)[:300]})")
            return
        where = item.origin.source
        yield item


def _pending(record: SourceRecord) -> _Pending:
    """A record's hash, identity and wanted slug; RecordError if it has no usable key.

    The hash comes first: it is made from the record's canonical JSON, which refuses a
    record holding a value no JSON text can (mappings.canonical), naming that value."""
    if not isinstance(record.data, dict):
        raise RecordError("record", "record is not a JSON object")
    digest = content_hash(record.data)
    provenance = _provenance(record)
    canonical_json(provenance, root="_provenance")
    wanted, _ = record_slug(record.data)
    return _Pending(record, digest, record_identity(record.data, provenance, wanted), wanted)


def _write(mapped: MappedRecord, entry: IndexEntry, change: str = "replaced") -> GraphWrite:
    return GraphWrite(mapped.name, mapped.graph.own_ntriples(), entry, change, tuple(mapped.graph.descriptions()))


def load_fresh(location: Location, items: Iterable[ReadResult], urls: Urls, listener: Listener | None = None,
               validate: str = "warn", processes: int = 1) -> LoadReport:
    """Fill a fresh catalogue at *location* with the bulk loader (all or nothing).

    A record met twice (the same identity) keeps the last version, as on the
    transactional path: the first is bulk-loaded and later versions replace it once the
    store is in place. Shared descriptions are gathered (the one that sorts first wins,
    as on the transactional path) and bulk-loaded after the records.

    Records are mapped and checked by *processes* processes (graph.ordered_pool); every
    decision that depends on their order (slugs, which version wins) is made here, in
    input order, so the store is the same whatever *processes* is.
    """
    report = LoadReport()
    #: The slug placed for each identity, and the content hash of the version of it loaded.
    register = FreshRegister()
    later: list[GraphWrite] = []
    described = GatheredDescriptions()
    slugs = SlugRegister(urls, claims=register)
    stamp = now()
    load = uuid.uuid4().hex
    _gate(validate, urls.base)  # a wrong mode is refused before anything is read (and the gate kept for mapping here)

    def emit(event: LoadEvent) -> None:
        report.add(event)
        if listener:
            listener(event)

    def jobs() -> Iterator[_FreshJob | LoadEvent]:
        """Each record with its slug, placed in input order; rejections as they come."""
        for item in _records_or_rejections(items):
            if isinstance(item, LoadEvent):
                yield item
                continue
            try:
                pending = _pending(item)
                placed = register.slug_of(pending.identity)
                slug, clash = (placed, None) if placed is not None else slugs.place(pending.identity, pending.wanted)
            except Exception as error:  # noqa: BLE001 - contained per record
                yield _rejected(item, error)
                continue
            yield _FreshJob(item, pending.identity, slug, clash, stamp, urls, validate, load)

    def records() -> Iterator[tuple[bytes, IndexEntry | None]]:
        pool: OrderedPool[_FreshJob | LoadEvent, _FreshMapped | LoadEvent] = OrderedPool(
            map_fresh, processes, preload=[__name__])
        for done in pool.map(jobs()):
            if isinstance(done, LoadEvent):
                emit(done)
                continue
            previous = register.loaded(done.identity)
            if previous is None:
                register.set_loaded(done.identity, done.content_hash)
                emit(LoadEvent("new", done.origin, done.slug, done.warnings, findings=done.entry.findings))
                described.offer(done.descriptions)  # the one that sorts first wins, as on the transactional path
                yield done.quads, done.entry
            elif previous == done.content_hash:
                emit(LoadEvent("unchanged", done.origin, done.slug))
            else:
                register.set_loaded(done.identity, done.content_hash)
                later.append(done.write())
                emit(LoadEvent("replaced", done.origin, done.slug, done.warnings, findings=done.entry.findings))
        for graph, text in described:
            yield _in_graph(text, graph), None

    try:
        location.create(_chunks(records()), urls.base)
    finally:
        described.close()
        register.close()
    if later:
        store = location.open()
        try:
            store.replace(later)
        finally:
            store.close()
    return report


@dataclass
class _FreshJob:
    """A record to map for a fresh store, with what was decided for it in input order."""

    record: SourceRecord
    identity: Identity
    slug: str
    #: The note for a record that could not have the slug it wanted.
    clash: str | None
    stamp: str
    urls: Urls
    validate: str
    #: Which load this is (see :data:`_SENT`).
    load: str


@dataclass
class _FreshMapped:
    """A record mapped for a fresh store, as little as the loader needs of it (it crosses
    from a worker process): its graph as N-Quads, its index entry, its warnings, and its
    descriptions of shared things: (subject, graph, canonical text)."""

    identity: Identity
    origin: str
    name: str
    slug: str
    content_hash: str
    warnings: list[Warning_]
    entry: IndexEntry
    quads: bytes
    descriptions: list[tuple[str, str, str]]

    def write(self) -> GraphWrite:
        """The record as a write that replaces its bulk-loaded earlier version."""
        suffix = f" <{self.name}> .\n"
        own = "".join(line.removesuffix(suffix) + " .\n" for line in self.quads.decode().splitlines(keepends=True))
        return GraphWrite(self.name, own, self.entry, "replaced", tuple(Description(subject, graph, text + "\n") for subject, graph, text in self.descriptions))


def map_fresh(job: _FreshJob | LoadEvent) -> _FreshMapped | LoadEvent:
    """Map and check one record for a fresh store (run in a worker of the load's pool);
    a record that fails is its rejection. An event decided before mapping passes through."""
    if isinstance(job, LoadEvent):
        return job
    try:
        mapped = _map(job.record, job.urls, issued=job.stamp, modified=job.stamp, slug=job.slug, identity=job.identity)
        entry = indexed(mapped, job.stamp, _gate(job.validate, job.urls.base))
    except Exception as error:  # noqa: BLE001 - contained per record
        return _rejected(job.record, error)
    if job.clash:
        mapped.graph.warn("slug", job.clash)
    global _SENT
    if _SENT[0] != job.load or len(_SENT[1]) > _SENT_LIMIT:
        _SENT = (job.load, set())  # forgetting only means sending again
    descriptions = []
    for description in mapped.graph.descriptions():
        # Most come as an earlier record made them, in the same order: known by their
        # text as made, they need not be put in canonical order to be left out.
        made = _digest(description.subject, description.ntriples)
        if made in _SENT[1]:
            continue
        text = canonical(description.ntriples)
        if (sent := _digest(description.subject, text)) in _SENT[1]:
            continue
        _SENT[1].update((made, sent))
        # Kept in canonical order (the same statements): one copy of the text crosses.
        descriptions.append((description.subject, description.graph, text))
    return _FreshMapped(job.identity, str(job.record.origin), mapped.name, mapped.slug, mapped.content_hash, mapped.warnings,
                        entry, mapped.graph.own_nquads().encode(), descriptions)


#: The descriptions (subject and canonical text, hashed) this process has already handed
#: the loader in this load, which it leaves out of later records: the loader has kept
#: each (or one that sorts before it, which wins anyway). Records come to a process in
#: input order, so the record a description was first sent with is earlier than any it
#: is left out of, and that one was loaded, or repeats an earlier one that was, or will
#: be written in full after the bulk load. Most of a record's descriptions (its
#: keywords, sponsors, countries) are ones earlier records gave: without this, they
#: were most of what crossed from the workers.
_SENT: tuple[str, set[bytes]] = ("", set())
#: Digests kept at most (~12 MB): a million records name some two million things.
_SENT_LIMIT = 1 << 17


def _digest(subject: str, text: str) -> bytes:
    return hashlib.blake2b(f"{subject}\n{text}".encode(), digest_size=16).digest()


@functools.lru_cache(maxsize=4)
def _gate(mode: str, base_url: str) -> Gate:
    """The gate of a mode, made once in each process that maps (it reads the profile)."""
    return gate(mode, base_url)


def _in_graph(ntriples: str, graph: str) -> bytes:
    """N-Triples lines (one statement each) as N-Quads lines in *graph*."""
    suffix = f" <{graph}> .\n"
    return "".join(line[:-2] + suffix for line in ntriples.splitlines() if line).encode()


def _chunks(pieces: Iterator[tuple[bytes, IndexEntry | None]], size: int = BULK_CHUNK_BYTES) -> Iterator[tuple[bytes, list[IndexEntry]]]:
    """Join N-Quads into chunks of about *size* bytes, with their records' index entries."""
    buffer: list[bytes] = []
    entries: list[IndexEntry] = []
    held = 0
    for piece, entry in pieces:
        buffer.append(piece)
        if entry is not None:
            entries.append(entry)
        held += len(piece)
        if held >= size:
            yield b"".join(buffer), entries
            buffer, entries, held = [], [], 0
    if buffer:
        yield b"".join(buffer), entries


def _provenance(record: SourceRecord) -> dict[str, str]:
    """The provenance a record's catalogue record keeps (and its identity is made of)."""
    return {k: v for k, v in record.provenance.items() if k in PROVENANCE_KEYS and isinstance(v, str)}


def _map(
    record: SourceRecord, urls: Urls, *, issued: str, modified: str, source_name: str | None = None,
    provenance: dict[str, str] | None = None, slug: str | None = None, identity: Identity | None = None,
) -> MappedRecord:
    if provenance is None:
        provenance = _provenance(record)
    return map_record(
        record.data,
        urls,
        issued=issued,
        modified=modified,
        source_name=source_name or os.path.basename(record.origin.source),
        source_format=record.format or None,
        provenance=provenance,
        slug=slug,
        identity=identity,
    )


def _rejected(record: SourceRecord, error: Exception) -> LoadEvent:
    """A record-level failure as that record's rejection: a RecordError names the field
    and the reason; any other error is a fault no check foresaw, reported with its type
    so that it can be fixed, while the load goes on with the next record."""
    if isinstance(error, RecordError):
        rejection = Rejection(record.origin, error.reason, error.field)
    else:
        rejection = Rejection(record.origin, f"could not be mapped ({type(error).__name__}: {str(error)[:300]})")
    return LoadEvent("rejected", str(record.origin), rejection=rejection)
