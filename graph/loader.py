"""The one way records get into the store: reader results -> mapping -> store.

The CLI, the server's write API and the harvester all hand :class:`Loader` the results of
a reader. Each record is hashed first; a record whose hash matches the stored one is left
alone (``unchanged``), others are mapped and their graph replaced. A record that cannot be
read or mapped is reported as a rejection with its place and reason, and the load goes on.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from mappings.profile import MappedRecord, RecordError, content_hash, map_record, record_slug
from mappings.records import Origin, ReadResult, Rejection, SourceRecord
from mappings.urls import Urls

from .backend import GraphStore, GraphWrite, StoredRecord
from .embedded import EmbeddedStore, bulk_create
from .search import IndexEntry

#: How many records are looked up and written together on the transactional path.
BATCH_SIZE = 256

#: Size of the N-Quads chunks handed to the bulk loader: big enough to amortise a bulk
#: load's fixed cost, small enough to keep memory flat (about 100k quads).
BULK_CHUNK_BYTES = 24 * 1024 * 1024

#: Provenance a reader may attach to a record that the catalogue record keeps.
PROVENANCE_KEYS = ("url", "harvest_source", "harvested")

OUTCOMES = ("new", "replaced", "unchanged", "rejected")


@dataclass
class LoadEvent:
    """What happened to one record, for progress display and warnings."""

    outcome: str
    origin: str
    slug: str | None = None
    mapped: MappedRecord | None = None
    rejection: Rejection | None = None


@dataclass
class LoadReport:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    rejections: list[Rejection] = field(default_factory=list)
    warnings: int = 0

    def add(self, event: LoadEvent) -> None:
        self.counts[event.outcome] += 1
        if event.rejection is not None:
            self.rejections.append(event.rejection)
        if event.mapped is not None:
            self.warnings += len(event.mapped.warnings)

    @property
    def ok(self) -> bool:
        return not self.rejections

    def summary(self) -> str:
        return ", ".join(f"{self.counts[k]} {k}" for k in OUTCOMES) + f" ({self.warnings} warnings)"


Listener = Callable[[LoadEvent], None]


def now() -> str:
    """The current time as an ``xsd:dateTime`` in UTC, to the second."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Loader:
    """Loads reader results into a store, one transaction per record."""

    def __init__(self, store: GraphStore, urls: Urls, *, dry_run: bool = False) -> None:
        self.store = store
        self.urls = urls
        self.dry_run = dry_run

    def load(self, items: Iterable[ReadResult], listener: Listener | None = None) -> LoadReport:
        report = LoadReport()
        batch: dict[str, tuple[SourceRecord, str]] = {}

        def emit(event: LoadEvent) -> None:
            report.add(event)
            if listener:
                listener(event)

        for item in items:
            if isinstance(item, Rejection):
                emit(LoadEvent("rejected", str(item.origin), rejection=item))
                continue
            try:
                slug, _ = record_slug(item.data) if isinstance(item.data, dict) else (None, None)
                if slug is None:
                    raise RecordError("record", "record is not a JSON object")
            except RecordError as error:
                emit(_rejected(item, error))
                continue
            if slug in batch:
                self._flush(batch, emit)
            batch[slug] = (item, content_hash(item.data))
            if len(batch) >= BATCH_SIZE:
                self._flush(batch, emit)
        self._flush(batch, emit)
        return report

    def _flush(self, batch: dict[str, tuple[SourceRecord, str]], emit: Listener) -> None:
        if not batch:
            return
        names = {slug: self.urls.item(slug) for slug in batch}
        states = self.store.record_states(names.values())
        writes: list[GraphWrite] = []
        events: list[LoadEvent] = []
        stamp = now()
        for slug, (record, digest) in batch.items():
            state = states.get(names[slug])
            if state is not None and state.content_hash == digest:
                events.append(LoadEvent("unchanged", str(record.origin), slug))
                continue
            try:
                mapped = _map(record, self.urls, issued=(state and state.issued) or stamp, modified=stamp)
            except RecordError as error:
                events.append(_rejected(record, error))
                continue
            writes.append(GraphWrite(mapped.name, mapped.graph.ntriples(), IndexEntry.of(mapped, stamp), "replaced" if state else "created"))
            events.append(LoadEvent("replaced" if state else "new", str(record.origin), slug, mapped))
        if not self.dry_run:
            self.store.replace(writes)
        batch.clear()
        for event in events:
            emit(event)

    def remap(self, listener: Listener | None = None) -> LoadReport:
        """Map every stored record again from its kept original, keeping its dates."""
        report = LoadReport()
        for stored in list(self.store.stored_records()):
            event = self._remap_one(stored)
            report.add(event)
            if listener:
                listener(event)
        return report

    def _remap_one(self, stored: StoredRecord) -> LoadEvent:
        record = SourceRecord(json.loads(stored.source_json), origin=Origin(stored.name), format=stored.source_format or "")
        try:
            mapped = _map(record, self.urls, issued=stored.issued, modified=stored.modified, source_name=stored.source_name, provenance=stored.provenance)
        except RecordError as error:
            return _rejected(record, error)
        if mapped.name != stored.name:
            # The slug rules changed: the record moves to its new URL.
            if not self.dry_run:
                self.store.delete(stored.name)
        if not self.dry_run:
            self.store.replace([GraphWrite(mapped.name, mapped.graph.ntriples(), IndexEntry.of(mapped, stored.modified))])
        return LoadEvent("replaced", stored.name, mapped.slug, mapped)


def load_fresh(path: str | os.PathLike[str], items: Iterable[ReadResult], urls: Urls, listener: Listener | None = None) -> LoadReport:
    """Fill a fresh embedded store with the bulk loader (all or nothing).

    A slug met twice keeps the last version, as on the transactional path: the first is
    bulk-loaded and later versions replace it once the store is in place.
    """
    report = LoadReport()
    seen: dict[str, str] = {}
    later: list[MappedRecord] = []
    stamp = now()

    def emit(event: LoadEvent) -> None:
        report.add(event)
        if listener:
            listener(event)

    def records() -> Iterator[tuple[bytes, IndexEntry]]:
        for item in items:
            if isinstance(item, Rejection):
                emit(LoadEvent("rejected", str(item.origin), rejection=item))
                continue
            try:
                mapped = _map(item, urls, issued=stamp, modified=stamp)
            except RecordError as error:
                emit(_rejected(item, error))
                continue
            previous = seen.get(mapped.slug)
            if previous is None:
                seen[mapped.slug] = mapped.content_hash
                emit(LoadEvent("new", str(item.origin), mapped.slug, mapped))
                yield mapped.graph.nquads().encode(), IndexEntry.of(mapped, stamp)
            elif previous == mapped.content_hash:
                emit(LoadEvent("unchanged", str(item.origin), mapped.slug))
            else:
                seen[mapped.slug] = mapped.content_hash
                later.append(mapped)
                emit(LoadEvent("replaced", str(item.origin), mapped.slug, mapped))

    bulk_create(path, _chunks(records()), urls.base)
    if later:
        store = EmbeddedStore(path)
        try:
            store.replace(GraphWrite(m.name, m.graph.ntriples(), IndexEntry.of(m, stamp)) for m in later)
        finally:
            store.close()
    return report


def _chunks(pieces: Iterator[tuple[bytes, IndexEntry]], size: int = BULK_CHUNK_BYTES) -> Iterator[tuple[bytes, list[IndexEntry]]]:
    """Join records' N-Quads into chunks of about *size* bytes, with their index entries."""
    buffer: list[bytes] = []
    entries: list[IndexEntry] = []
    held = 0
    for piece, entry in pieces:
        buffer.append(piece)
        entries.append(entry)
        held += len(piece)
        if held >= size:
            yield b"".join(buffer), entries
            buffer, entries, held = [], [], 0
    if buffer:
        yield b"".join(buffer), entries


def _map(
    record: SourceRecord, urls: Urls, *, issued: str, modified: str, source_name: str | None = None,
    provenance: dict[str, str] | None = None,
) -> MappedRecord:
    if provenance is None:
        provenance = {k: v for k, v in record.provenance.items() if k in PROVENANCE_KEYS and isinstance(v, str)}
    return map_record(
        record.data,
        urls,
        issued=issued,
        modified=modified,
        source_name=source_name or os.path.basename(record.origin.source),
        source_format=record.format or None,
        provenance=provenance,
    )


def _rejected(record: SourceRecord, error: RecordError) -> LoadEvent:
    rejection = Rejection(record.origin, error.reason, error.field)
    return LoadEvent("rejected", str(record.origin), rejection=rejection)
