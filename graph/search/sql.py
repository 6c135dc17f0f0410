"""How the search index writes its SQL: placeholders and batch size (transactions and
snapshots: graph.sqlite_files)."""

from __future__ import annotations

#: Rows per SQL statement on the write path (well under SQLite's variable limit).
CHUNK = 400


def marks(n: int) -> str:
    return ", ".join("?" * n)
