"""One catalogue's PostgreSQL schema: where it is (the URL), the process's connection
pool, and the transactions every reader and writer runs in.

The URL is libpq's, plus one parameter of ours: ``postgresql://user@host:5432/db?schema=name``
names the PostgreSQL schema that holds this catalogue's tables (default ``studygraph``),
so several catalogues, and the tests, share one database. ``schema`` is taken out of the
URL before libpq sees it; every other parameter (``sslmode``, ``connect_timeout`` …) is
passed through. The schema name is checked against :data:`SCHEMA_NAME` and always
quoted as an identifier; user values only ever travel as statement parameters.

One pool per process and server (libpq connection string): every index, change log
and key-value store of that process shares it. A forked worker opens its own pool (a
pool inherited through ``fork`` is never used: its sockets belong to the parent).
"""

from __future__ import annotations

import os
import re
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

#: Schema names we accept: a plain lower-case identifier (no quoting surprises).
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
DEFAULT_SCHEMA = "studygraph"
#: Connections per process: the web tier bounds its own concurrency; this caps the rest.
POOL_SIZE = 8


class DatabaseError(RuntimeError):
    """The database URL is malformed, or the schema is missing or of another version."""


@dataclass(frozen=True)
class Place:
    """Where a catalogue's tables are: a libpq connection string and a schema name."""

    conninfo: str
    schema: str

    @classmethod
    def parse(cls, url: str) -> Place:
        """Split ``?schema=`` off a ``postgresql://`` URL (see the module docstring)."""
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise DatabaseError("a PostgreSQL index URL starts with postgresql://")
        query = parse_qsl(parts.query, keep_blank_values=True)
        schemas = [value for key, value in query if key == "schema"]
        schema = schemas[-1] if schemas else DEFAULT_SCHEMA
        if not SCHEMA_NAME.fullmatch(schema):
            raise DatabaseError(f"schema must match {SCHEMA_NAME.pattern}, not {schema!r}")
        rest = urlencode([(key, value) for key, value in query if key != "schema"])
        return cls(urlunsplit(parts._replace(query=rest)), schema)

    def with_schema(self, schema: str) -> Place:
        if not SCHEMA_NAME.fullmatch(schema):
            raise DatabaseError(f"schema must match {SCHEMA_NAME.pattern}, not {schema!r}")
        return Place(self.conninfo, schema)


_pools: dict[tuple[int, str], ConnectionPool] = {}
_pools_lock = threading.Lock()


def pool(conninfo: str) -> ConnectionPool:
    """This process's pool for *conninfo* (opened on first use)."""
    key = (os.getpid(), conninfo)
    with _pools_lock:
        found = _pools.get(key)
        if found is None:
            found = ConnectionPool(
                conninfo, min_size=1, max_size=POOL_SIZE, kwargs={"autocommit": True}, open=True, name="studygraph-index"
            )
            found.wait(timeout=30)
            _pools[key] = found
        return found


def close_pools() -> None:
    """Close this process's pools (tests, and a command's end)."""
    with _pools_lock:
        for (pid, _), opened in list(_pools.items()):
            if pid == os.getpid():
                opened.close()
        _pools.clear()


class Database:
    """One catalogue's schema: statements with its name quoted in, and transactions.

    SQL is written with ``{s}`` where the schema goes (:meth:`q`); values are always
    ``%s`` parameters.
    """

    def __init__(self, place: Place) -> None:
        self.place = place
        self.pool = pool(place.conninfo)
        self._schema = sql.Identifier(place.schema)
        self._statements: dict[str, sql.Composed] = {}
        #: Writers of this schema serialise on this advisory lock (ids, counts, the feed's order).
        self.lock_key = zlib.crc32(f"studygraph:{place.schema}".encode()) - (1 << 31)

    def q(self, text: str) -> sql.Composed:
        """*text* with ``{s}`` replaced by the quoted schema name (cached)."""
        found = self._statements.get(text)
        if found is None:
            found = self._statements[text] = sql.SQL(text).format(s=self._schema)  # type: ignore[arg-type]
        return found

    @contextmanager
    def read(self) -> Iterator[psycopg.Connection]:
        """One REPEATABLE READ, read-only transaction: every statement sees one snapshot."""
        with self.pool.connection() as connection, connection.transaction():
            connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield connection

    @contextmanager
    def write(self, lock: int = 0) -> Iterator[psycopg.Connection]:
        """One transaction holding this schema's writer lock (*lock* picks one of several)."""
        with self.pool.connection() as connection, connection.transaction():
            connection.execute("SELECT pg_advisory_xact_lock(%s, %s)", (self.lock_key, lock))
            yield connection


def drop_schema(place: Place) -> None:
    """Remove a catalogue's schema and everything in it (a bulk load into a fresh
    catalogue that failed: the next one starts from nothing)."""
    with pool(place.conninfo).connection() as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(place.schema)))
