"""The store's SQLite files (search index, change log): opening them for reading, and
the transactions both write and read in.

Readers open a file read-only (``mode=ro``), which in WAL mode still needs to create the
``-shm`` file beside it. On a read-only filesystem (a store published on a read-only
mount, a backup) that fails, so the file is opened as immutable instead: SQLite then
neither locks nor reads the write-ahead log, which is right for a file nobody can be
writing. Commands that only read (``stats``, ``export``, ``serve`` of a read-only store)
thus work on read-only stores.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def scratch_database() -> sqlite3.Connection:
    """A private temporary database on disk (in ``SQLITE_TMPDIR`` or ``TMPDIR``, removed
    when closed), without journal or syncs: room for what a long load would otherwise
    hold in memory (graph.gathered_descriptions, graph.fresh_register)."""
    db = sqlite3.connect("", isolation_level=None)  # "": a private temporary file
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    return db


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to the SQLite file at *path* (see the module docstring)."""
    uri = path.resolve().as_uri()
    connection = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, check_same_thread=False, timeout=30)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return connection
    except sqlite3.OperationalError:
        connection.close()
        if os.access(path.parent, os.W_OK):
            raise
    return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None, check_same_thread=False)


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@contextmanager
def snapshot(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One read transaction: every statement inside sees the same snapshot."""
    connection.execute("BEGIN")
    try:
        yield connection
    finally:
        connection.execute("COMMIT")
