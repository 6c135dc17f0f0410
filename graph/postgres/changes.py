"""The change log in PostgreSQL: graph.changes.ChangeLog's feed and pending writes,
shared by every worker of a catalogue.

Entries are appended under the schema's feed lock (graph.postgres.database), so their
sequence numbers commit in order: a follower that has read up to *n* never later finds
an entry below *n* it did not see (a sequence from ``bigserial`` alone could commit out
of order between two writers).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from studygraph.graph.changes import Change

from . import schema
from .database import Database, Place

#: The advisory lock (second key) appends to the feed take.
FEED_LOCK = 1


class PostgresChangeLog:
    """A :class:`graph.changes.ChangeFeed` in one PostgreSQL schema."""

    def __init__(self, place: Place | str, *, read_only: bool = False) -> None:
        self.place = Place.parse(place) if isinstance(place, str) else place
        self.read_only = read_only
        self.db = Database(self.place)
        if read_only:
            schema.read_facets(self.db)  # refuses a missing or other-version schema
        else:
            schema.create(self.db)

    def intend(self, changes: Iterable[tuple[str, str]]) -> None:
        rows = list(changes)
        if rows:
            with self.db.write(FEED_LOCK) as c, c.cursor() as cursor:
                cursor.executemany(
                    self.db.q("INSERT INTO {s}.pending(slug, kind) VALUES (%s, %s) ON CONFLICT(slug) DO UPDATE SET kind = excluded.kind"), rows
                )

    def record(self, changes: Iterable[tuple[str, str, str]]) -> None:
        rows = list(changes)
        if not rows:
            return
        with self.db.write(FEED_LOCK) as c, c.cursor() as cursor:
            cursor.executemany(self.db.q("INSERT INTO {s}.changes(slug, kind, time) VALUES (%s, %s, %s)"), rows)
            cursor.execute(self.db.q("DELETE FROM {s}.pending WHERE slug = ANY(%s)"), ([slug for slug, _, _ in rows],))

    def settle(self, slugs: Iterable[str]) -> None:
        wanted = list(slugs)
        if wanted:
            with self.db.write(FEED_LOCK) as c:
                c.execute(self.db.q("DELETE FROM {s}.pending WHERE slug = ANY(%s)"), (wanted,))

    def pending(self) -> list[tuple[str, str]]:
        with self.db.read() as c:
            return [tuple(r) for r in c.execute(self.db.q("SELECT slug, kind FROM {s}.pending ORDER BY slug"))]

    def since(self, *, after: int = 0, time: str | None = None, limit: int = 1000) -> list[Change]:
        sql = "SELECT sequence, slug, kind, time FROM {s}.changes WHERE sequence > %s"
        params: list[Any] = [after]
        if time:
            sql += " AND time >= %s"
            params.append(time)
        sql += " ORDER BY sequence LIMIT %s"
        params.append(limit)
        with self.db.read() as c:
            return [Change(*row) for row in c.execute(self.db.q(sql), params)]

    def latest(self) -> int:
        with self.db.read() as c:
            row = c.execute(self.db.q("SELECT coalesce(max(sequence), 0) FROM {s}.changes")).fetchone()
            return int(row[0]) if row else 0

    def deleted(self, slug: str) -> Change | None:
        """As graph.changes.ChangeLog.deleted: a deletion under way counts (sequence 0, now)."""
        with self.db.read() as c:
            row = c.execute(
                self.db.q(
                    "SELECT 0::bigint, slug, kind, to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                    " FROM {s}.pending WHERE slug = %s AND kind = 'deleted'"
                    " UNION ALL (SELECT sequence, slug, kind, time FROM {s}.changes WHERE slug = %s ORDER BY sequence DESC LIMIT 1)"
                ),
                (slug, slug),
            ).fetchone()
        return Change(*row) if row and row[2] == "deleted" else None

    def last_kinds(self) -> dict[str, str]:
        """As graph.changes.ChangeLog.last_kinds."""
        with self.db.read() as c:
            rows = c.execute(self.db.q("SELECT DISTINCT ON (slug) slug, kind FROM {s}.changes ORDER BY slug, sequence DESC")).fetchall()
        return {slug: kind for slug, kind in rows}

    def close(self) -> None:
        """Nothing to release: the process's pool serves every user of the database."""
