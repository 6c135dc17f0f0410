"""Named values (base URL, direct-write count, harvest state) in PostgreSQL, shared by
every worker of a catalogue: graph.keyvalue.KeyValue."""

from __future__ import annotations

from . import schema
from .database import Database, Place


class PostgresKeyValue:
    """A :class:`graph.keyvalue.KeyValue` in one PostgreSQL schema's ``settings`` table."""

    def __init__(self, place: Place | str, *, read_only: bool = False) -> None:
        self.place = Place.parse(place) if isinstance(place, str) else place
        self.read_only = read_only
        self.db = Database(self.place)
        if read_only:
            schema.read_facets(self.db)
        else:
            schema.create(self.db)

    def get(self, key: str) -> str | None:
        with self.db.pool.connection() as c:
            row = c.execute(self.db.q("SELECT value FROM {s}.settings WHERE key = %s"), (key,)).fetchone()
        return row[0] if row else None

    def get_many(self, keys: list[str]) -> dict[str, str]:
        with self.db.pool.connection() as c:
            return dict(c.execute(self.db.q("SELECT key, value FROM {s}.settings WHERE key = ANY(%s)"), (keys,)).fetchall())

    def put(self, key: str, value: str) -> None:
        with self.db.pool.connection() as c:
            c.execute(
                self.db.q("INSERT INTO {s}.settings(key, value) VALUES (%s, %s) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
                (key, value),
            )

    def add(self, key: str, amount: int = 1) -> int:
        """One upsert: atomic across processes (the row lock serialises concurrent adds)."""
        with self.db.pool.connection() as c:
            row = c.execute(
                self.db.q(
                    "INSERT INTO {s}.settings AS t(key, value) VALUES (%s, %s::bigint::text)"
                    " ON CONFLICT(key) DO UPDATE SET value = (t.value::bigint + %s::bigint)::text RETURNING value"
                ),
                (key, amount, amount),
            ).fetchone()
        assert row is not None
        return int(row[0])

    def close(self) -> None:
        """Nothing to release: the process's pool serves every user of the database."""
