"""How the search index talks to SQLite: transactions, snapshots, placeholders, batch size."""

from __future__ import annotations

import sqlite3

#: Rows per SQL statement on the write path (well under SQLite's variable limit).
CHUNK = 400


class transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, *exc: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


class snapshot:
    """One read transaction: every statement inside sees the same snapshot."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN")
        return self.connection

    def __exit__(self, *exc: object) -> None:
        self.connection.execute("COMMIT")


def marks(n: int) -> str:
    return ", ".join("?" * n)
