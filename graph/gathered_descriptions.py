"""The shared descriptions a fresh load gathers, written to the store after the records.

A fresh load keeps one description per thing, the one whose canonical text sorts first
(graph.descriptions: the same rule as record by record). Held in memory, they were what
a load's memory grew with — synthetic records name about two things no earlier record
named, ~1.9 kB a record with their texts: 190 MB at 100,000 records, ~2 GB at a million.
Here they wait in a temporary SQLite database instead (a private on-disk file, in
``SQLITE_TMPDIR`` or ``TMPDIR``, removed when closed), so memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .sqlite_files import scratch_database

#: Rows read back at once when the descriptions are written out.
_FETCH = 1000


class GatheredDescriptions:
    """For each thing, the description that sorts first of those offered."""

    def __init__(self) -> None:
        self._db = scratch_database()
        self._db.execute("CREATE TABLE kept(subject TEXT PRIMARY KEY, graph TEXT NOT NULL, text TEXT NOT NULL) WITHOUT ROWID")

    def offer(self, descriptions: Iterable[tuple[str, str, str]]) -> None:
        """Keep each (subject, graph, canonical text) unless its thing has one that sorts
        before it."""
        self._db.executemany(
            "INSERT INTO kept(subject, graph, text) VALUES (?, ?, ?) ON CONFLICT(subject) DO UPDATE"
            " SET graph = excluded.graph, text = excluded.text WHERE excluded.text < kept.text",
            descriptions,
        )

    def __iter__(self) -> Iterator[tuple[str, str]]:
        """(graph, canonical text) of every thing kept."""
        cursor = self._db.execute("SELECT graph, text FROM kept")
        while rows := cursor.fetchmany(_FETCH):
            yield from rows

    def close(self) -> None:
        self._db.close()
