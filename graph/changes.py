"""The change log: which records were created, replaced or deleted, in order.

Harvesters keep in step by asking for the changes since the last one they saw (a
sequence number, the token of ``/changes``) or since a time, and learn of deletions
without downloading everything. The log is a small SQLite file beside the graph, written
*after* the graph and the search index, so a client following the feed never hears of a
change it cannot see yet.

The same file keeps the writes in flight (``pending``): a write notes its records there
before it touches the graph and clears them, in one transaction with their feed
entries, once graph and index are both written. A write killed in between leaves its
records pending, and the next read-write opening of the store settles them from the
graph, which is the truth (graph.loader.Loader.recover): the index made to agree, the
feed given the entry it missed.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .sqlite_files import connect_read_only, transaction


@dataclass(frozen=True)
class Change:
    sequence: int
    slug: str
    kind: str
    time: str


class ChangeFeed(Protocol):
    """What the catalogue, the loader and the server use of a change log, whatever keeps
    it: :class:`ChangeLog` (SQLite, embedded) or ``graph.postgres.PostgresChangeLog``."""

    def intend(self, changes: Iterable[tuple[str, str]]) -> None:
        """Note (slug, kind) of records about to be written."""

    def record(self, changes: Iterable[tuple[str, str, str]]) -> None:
        """Append (slug, kind, time) entries and settle their pending writes, atomically."""

    def settle(self, slugs: Iterable[str]) -> None:
        """Clear pending writes that changed nothing."""

    def pending(self) -> list[tuple[str, str]]:
        """(slug, kind) of writes started and not finished, by slug."""

    def since(self, *, after: int = 0, time: str | None = None, limit: int = 1000) -> list[Change]:
        """Changes after sequence *after* (and at or after *time*), oldest first."""

    def latest(self) -> int:
        """The last sequence number (0: none)."""

    def deleted(self, slug: str) -> Change | None:
        """The deletion of *slug*, if its last change was one or one is under way."""

    def last_kinds(self) -> dict[str, str]:
        """Every slug the feed has told of, and the kind of its last change (a full scan)."""

    def close(self) -> None: ...


class ChangeLog:
    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._local = threading.local()
        self.read_only = read_only
        if not read_only:
            self._writer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._writer.execute("PRAGMA journal_mode=WAL")
            self._writer.execute("PRAGMA synchronous=NORMAL")
            self._writer.execute(
                "CREATE TABLE IF NOT EXISTS changes (sequence INTEGER PRIMARY KEY AUTOINCREMENT,"
                " slug TEXT NOT NULL, kind TEXT NOT NULL, time TEXT NOT NULL)"
            )
            self._writer.execute("CREATE INDEX IF NOT EXISTS changes_by_slug ON changes(slug, sequence)")
            self._writer.execute("CREATE INDEX IF NOT EXISTS changes_by_time ON changes(time, sequence)")
            self._writer.execute("CREATE TABLE IF NOT EXISTS pending (slug TEXT PRIMARY KEY, kind TEXT NOT NULL)")

    def _reader(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = connect_read_only(self.path)
            self._local.connection = connection
        return connection

    def intend(self, changes: Iterable[tuple[str, str]]) -> None:
        """Note (slug, kind) of records about to be written, before the graph is touched."""
        rows = list(changes)
        if rows:
            with self._lock, transaction(self._writer) as db:
                db.executemany("INSERT OR REPLACE INTO pending (slug, kind) VALUES (?, ?)", rows)

    def record(self, changes: Iterable[tuple[str, str, str]]) -> None:
        """Append (slug, kind, time) entries and settle those records' pending writes, in
        one transaction."""
        rows = list(changes)
        if not rows:
            return
        with self._lock, transaction(self._writer) as db:
            db.executemany("INSERT INTO changes (slug, kind, time) VALUES (?, ?, ?)", rows)
            db.executemany("DELETE FROM pending WHERE slug = ?", ((slug,) for slug, _, _ in rows))

    def settle(self, slugs: Iterable[str]) -> None:
        """Clear pending writes that changed nothing (so the feed has nothing to say)."""
        rows = [(slug,) for slug in slugs]
        if rows:
            with self._lock, transaction(self._writer) as db:
                db.executemany("DELETE FROM pending WHERE slug = ?", rows)

    def pending(self) -> list[tuple[str, str]]:
        """(slug, kind) of the writes that were started and not finished."""
        return self._reader().execute("SELECT slug, kind FROM pending ORDER BY slug").fetchall()

    def since(self, *, after: int = 0, time: str | None = None, limit: int = 1000) -> list[Change]:
        """Changes after sequence *after* (and at or after *time*), oldest first."""
        sql = "SELECT sequence, slug, kind, time FROM changes WHERE sequence > ?"
        params: list = [after]
        if time:
            sql += " AND time >= ?"
            params.append(time)
        sql += " ORDER BY sequence LIMIT ?"
        params.append(limit)
        return [Change(*row) for row in self._reader().execute(sql, params)]

    def latest(self) -> int:
        row = self._reader().execute("SELECT COALESCE(MAX(sequence), 0) FROM changes").fetchone()
        return int(row[0])

    def deleted(self, slug: str) -> Change | None:
        """The deletion of *slug*, if its last change was one or one is under way (for 410
        Gone). A delete notes its intent here before it drops the graph and writes the feed
        entry after: in between, the record is already gone, and says so (sequence 0, the
        time of asking), rather than 404 to a client the feed told it was created."""
        row = self._reader().execute(
            "SELECT 0, slug, kind, strftime('%Y-%m-%dT%H:%M:%SZ', 'now') FROM pending WHERE slug = ? AND kind = 'deleted' "
            "UNION ALL SELECT * FROM (SELECT sequence, slug, kind, time FROM changes WHERE slug = ? ORDER BY sequence DESC LIMIT 1)",
            (slug, slug),
        ).fetchone()
        return Change(*row) if row and row[2] == "deleted" else None

    def last_kinds(self) -> dict[str, str]:
        """Every slug the feed has told of, and the kind of its last change (a full scan:
        for ``studygraph check``)."""
        return dict(self._reader().execute(
            "SELECT slug, kind FROM changes WHERE sequence IN (SELECT MAX(sequence) FROM changes GROUP BY slug)"
        ).fetchall())

    def close(self) -> None:
        if not self.read_only:
            self._writer.close()
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
