"""Where a catalogue beside a remote quad store keeps its search index, change log and
shared named values: SQLite files in a local directory (one host), or a PostgreSQL
schema every web worker and host shares (``postgresql://…?schema=name``).

The embedded store keeps its own SQLite files in its folder (graph.embedded); a remote
store has no folder, so its location is given one of these.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .changes import ChangeFeed, ChangeLog
from .keyvalue import KeyValue, SqliteKeyValue
from .search import CatalogueIndex, SearchIndex

#: File names in an index directory (the same as in an embedded store's folder).
INDEX_FILE = "search.sqlite"
CHANGES_FILE = "changes.sqlite"
STATE_FILE = "state.sqlite"


class IndexComponents(Protocol):
    """What a catalogue keeps beside its quads, opened together."""

    def open(self, *, read_only: bool = False) -> tuple[CatalogueIndex | None, ChangeFeed | None, KeyValue | None]:
        """The index, the change log and the named values (None: absent, read-only)."""

    def remove(self) -> None:
        """Remove all of it (a bulk load that failed, so the next one starts clean)."""

    def describe(self) -> str:
        """Where it is, for messages (no password)."""


@dataclass(frozen=True)
class IndexDirectory:
    """SQLite files in a local directory."""

    directory: Path

    def open(self, *, read_only: bool = False) -> tuple[CatalogueIndex | None, ChangeFeed | None, KeyValue | None]:
        if not read_only:
            self.directory.mkdir(parents=True, exist_ok=True)
        index_path, changes_path, state_path = (self.directory / name for name in (INDEX_FILE, CHANGES_FILE, STATE_FILE))
        return (
            SearchIndex(index_path, read_only=read_only) if not read_only or index_path.is_file() else None,
            ChangeLog(changes_path, read_only=read_only) if not read_only or changes_path.is_file() else None,
            SqliteKeyValue(state_path, read_only=read_only) if not read_only or state_path.is_file() else None,
        )

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def describe(self) -> str:
        return str(self.directory)


@dataclass(frozen=True)
class IndexDatabase:
    """A schema of a PostgreSQL database (graph.postgres)."""

    url: str

    def open(self, *, read_only: bool = False) -> tuple[CatalogueIndex | None, ChangeFeed | None, KeyValue | None]:
        from .postgres import open_postgres_index

        return open_postgres_index(self.url, read_only=read_only)

    def remove(self) -> None:
        from .postgres import Place, drop_schema

        drop_schema(Place.parse(self.url))

    def describe(self) -> str:
        from .postgres import Place

        place = Place.parse(self.url)
        return f"PostgreSQL schema {place.schema}"


def index_components(where: str) -> IndexComponents:
    """A ``postgresql://`` URL or a directory."""
    if where.startswith(("postgresql://", "postgres://")):
        return IndexDatabase(where)
    return IndexDirectory(Path(where))
