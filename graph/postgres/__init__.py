"""A catalogue's index, change log and settings in PostgreSQL, shared by every web
worker and host: the same answers as the embedded SQLite files.

``postgresql://user@host:5432/db?schema=name``: libpq's URL, plus ``schema`` (default
``studygraph``), the PostgreSQL schema that holds this catalogue's tables (created on
first open for writing, refused if of another version). See :mod:`.database`.
"""

from __future__ import annotations

from .changes import PostgresChangeLog
from .database import DEFAULT_SCHEMA, DatabaseError, Place, close_pools, drop_schema
from .index import PostgresSearchIndex
from .keyvalue import PostgresKeyValue


def open_postgres_index(url: str, *, read_only: bool = False) -> tuple[PostgresSearchIndex, PostgresChangeLog, PostgresKeyValue]:
    """The index, change log and key-value store of the catalogue at *url*."""
    place = Place.parse(url)
    return (
        PostgresSearchIndex(place, read_only=read_only),
        PostgresChangeLog(place, read_only=read_only),
        PostgresKeyValue(place, read_only=read_only),
    )


__all__ = [
    "DEFAULT_SCHEMA", "DatabaseError", "Place", "PostgresChangeLog", "PostgresKeyValue", "PostgresSearchIndex", "close_pools", "drop_schema",
    "open_postgres_index",
]
