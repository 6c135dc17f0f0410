"""Telling a full disk from other failures, whichever layer reported it.

RocksDB (under pyoxigraph) reports its I/O errors as text in an OSError, SQLite as an
``sqlite3.Error`` with its own code, the operating system as ``ENOSPC``; a layer above may
have raised its own error from one of these. The store refuses writes when room runs
short (graph.embedded.StoreFull), the CLI ends with one line and the server answers
507: all ask this one question.
"""

from __future__ import annotations

import errno
import sqlite3

#: SQLite's primary result code for "database or disk is full".
SQLITE_FULL = 13


def is_disk_full(error: BaseException) -> bool:
    """Whether *error*, or any exception it was raised from, says the disk is full."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno == errno.ENOSPC:
            return True
        if isinstance(current, sqlite3.Error) and (
            (getattr(current, "sqlite_errorcode", 0) or 0) & 0xFF == SQLITE_FULL or "database or disk is full" in str(current)
        ):
            return True
        # RocksDB (under pyoxigraph) reports its I/O errors as text.
        if "No space left on device" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False
