"""Small named values a catalogue keeps beside its quads: the base URL its IRIs were
minted under, the count of direct writes (part of every study's ETag), harvest state.

The embedded store keeps them in its folder; a deployment of many web workers over a
remote store keeps them where every worker reads the same ones (the shared index
database), so that every worker computes the same ETag for the same study. The
:class:`KeyValue` protocol is that seam; :class:`SqliteKeyValue` is the embedded one.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Protocol

from .search.sql import marks
from .sqlite_files import connect_read_only, transaction


class KeyValue(Protocol):
    """Named text values, shared by every process of one catalogue."""

    def get(self, key: str) -> str | None:
        """The value stored under *key*, or None."""

    def get_many(self, keys: list[str]) -> dict[str, str]:
        """The values stored under *keys* (those that have one), read together."""

    def put(self, key: str, value: str) -> None:
        """Store *value* under *key* (replacing any)."""

    def add(self, key: str, amount: int = 1) -> int:
        """Add *amount* to the integer under *key* (0 if absent), atomically across
        processes; the new value."""

    def close(self) -> None: ...


class SqliteKeyValue:
    """A :class:`KeyValue` in one SQLite file (WAL: readers never wait for the writer)."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.Lock()
        if read_only:
            self._db = connect_read_only(self.path)
        else:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def get_many(self, keys: list[str]) -> dict[str, str]:
        with self._lock:
            return dict(self._db.execute(f"SELECT key, value FROM settings WHERE key IN ({marks(len(keys))})", keys).fetchall())

    def put(self, key: str, value: str) -> None:
        with self._lock, transaction(self._db):
            self._db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def add(self, key: str, amount: int = 1) -> int:
        with self._lock, transaction(self._db):
            row = self._db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
            value = (int(row[0]) if row else 0) + amount
            self._db.execute(
                "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, str(value)),
            )
        return value

    def close(self) -> None:
        with self._lock:
            self._db.close()
