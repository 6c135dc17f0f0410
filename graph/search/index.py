"""The search index object: one SQLite file, one writer, any number of reader threads."""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path

from ..sqlite_files import connect_read_only, transaction
from . import schema
from .generations import PerGeneration
from .member_sets import BitsetCache
from .model import IndexEntry, SearchIndexError
from .reader import SearchReader
from .sql import CHUNK, marks
from .writer import BatchWriter, latest_batches


class SearchIndex(SearchReader):
    """A search index in one SQLite file: one writer, any number of reader threads.

    Reads use one connection per thread, opened read-only (``mode=ro``); writes use one
    connection behind a lock. WAL mode lets readers go on, each on its snapshot, while a
    batch is written, and every read method runs in one read transaction, so a total,
    its page and its facet counts always describe the same state of the index.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._local = threading.local()
        self._lock = threading.RLock()
        self._kept = PerGeneration()
        self._bitsets = BitsetCache()
        self._readers: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        self._writer: sqlite3.Connection | None = None
        self._closed = False
        if read_only:
            if not self.path.is_file():
                raise SearchIndexError(f"no search index at {self.path}")
            schema.check_version(self._reader(), self.path, read_only=True)
            rows = self._reader().execute("SELECT id, name, definition FROM facets").fetchall()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._writer.execute("PRAGMA journal_mode=WAL")
            # The index is rebuilt from the graph if need be: a power cut may lose the last
            # batches (WAL + NORMAL) but never corrupts the file.
            self._writer.execute("PRAGMA synchronous=NORMAL")
            self._writer.execute("PRAGMA cache_size=-65536")
            self._writer.execute("PRAGMA temp_store=MEMORY")
            with self._lock:
                schema.create(self._writer, self.path)
            rows = self._writer.execute("SELECT id, name, definition FROM facets").fetchall()
        self._facets = schema.stored_facets(rows)

    # -- connections

    def _reader(self) -> sqlite3.Connection:
        """This thread's read-only connection (opened on first use)."""
        if self._closed:
            raise SearchIndexError("the search index is closed")
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # Shared with other threads only so that close() may close it from any thread;
            # only its own thread uses it.
            connection = connect_read_only(self.path)
            connection.execute("PRAGMA temp_store=MEMORY")
            connection.execute("PRAGMA mmap_size=268435456")
            connection.execute("CREATE TEMP TABLE IF NOT EXISTS matching(id INTEGER PRIMARY KEY, score REAL NOT NULL)")
            self._local.connection = connection
            with self._lock:
                # Close the connections of threads that have ended (a server that starts a
                # thread per request would otherwise keep one open file per request).
                alive = []
                for thread, other in self._readers:
                    owner = thread()
                    if owner is None or not owner.is_alive():
                        other.close()
                    else:
                        alive.append((thread, other))
                alive.append((weakref.ref(threading.current_thread()), connection))
                self._readers = alive
        return connection

    def _write(self) -> sqlite3.Connection:
        if self._closed:
            raise SearchIndexError("the search index is closed")
        if self._writer is None:
            raise SearchIndexError("the search index was opened read-only")
        return self._writer

    def close(self) -> None:
        """Close every connection, the readers of all threads included."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for _, connection in self._readers:
                connection.close()
            self._readers.clear()
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing

    def replace(self, entries: Iterable[IndexEntry]) -> None:
        """Insert or replace each entry's record, in one transaction for the whole batch.

        Readers see the batch all at once or not at all. An entry whose content hash and
        modified stamp equal the stored ones is skipped (the graph did not change either).
        A slug given twice keeps its last entry. Facet counts and node references move
        by the net change of the batch: one upsert per affected node, not per link.
        """
        db = self._write()
        with self._lock, transaction(db):
            writer = BatchWriter(db, self._facets)
            for batch in latest_batches(entries):
                writer.write(batch)
            writer.finish()

    def delete(self, slug: str) -> bool:
        """Remove a record; its nodes' counts drop, and nodes no study links any more go."""
        db = self._write()
        with self._lock, transaction(db):
            row = db.execute("SELECT id FROM records WHERE slug = ?", (slug,)).fetchone()
            if row is None:
                return False
            writer = BatchWriter(db, self._facets)
            writer.remove([row[0]])
            for table in ("records", "record_facets", "record_links", "findings"):
                db.execute(f"DELETE FROM {table} WHERE id = ?", row)  # constant table names
            writer.added -= 1
            writer.finish()
            return True

    def forget_heads(self, slugs: Iterable[str] | None = None) -> None:
        """Mark the heads of *slugs* (of every record: None) unknown, before a write the
        loader does not make changes their graphs: their URLs read them from the graph
        until the loader writes them again."""
        db = self._write()
        with self._lock, transaction(db):
            if slugs is None:
                db.execute("UPDATE records SET languages = NULL")
                return
            wanted = list(slugs)
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                db.execute(f"UPDATE records SET languages = NULL WHERE slug IN ({marks(len(chunk))})", chunk)

    def clear(self) -> None:
        """Empty the index (before a full rebuild from the graph)."""
        db = self._write()
        with self._lock, transaction(db):
            for table in (*schema.TABLES, "texts"):
                db.execute(f"DELETE FROM {table}")  # constant table names
            db.execute("UPDATE state SET generation = generation + 1, records = 0")

    def optimize(self) -> None:
        """Merge the FTS5 segments into one (after a bulk load: smaller file, faster queries)."""
        db = self._write()
        with self._lock:
            db.execute("INSERT INTO texts(texts) VALUES ('optimize')")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

