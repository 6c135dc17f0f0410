"""What a fresh load remembers of every record it has placed: the slug each identity
holds, the identity holding each slug, and the content hash of the version loaded.

Held in dicts, that was ~340 bytes a record (an Identity, its slug and hash, three dict
entries): 340 MB of a load's memory at a million records, the part that still grew with
the load once the shared descriptions had moved to disk (graph.gathered_descriptions).
Here it is one row a record in a temporary SQLite database (a private on-disk file,
removed when closed; SQLite's default page cache of about 2 MB), looked up by identity
and by slug: a few microseconds a lookup, against the milliseconds a record's mapping
takes.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

from studygraph.mappings.identity import Identity

from .sqlite_files import scratch_database


class FreshRegister(MutableMapping[str, Identity]):
    """Slug -> identity (the claims graph.loader.SlugRegister checks a slug against),
    with each identity's slug and loaded content hash beside it. An identity holds one
    slug: claiming another moves it."""

    def __init__(self) -> None:
        self._db = scratch_database()
        self._db.execute(
            "CREATE TABLE placed(source TEXT NOT NULL, identifier TEXT NOT NULL, slug TEXT NOT NULL UNIQUE, loaded TEXT,"
            " PRIMARY KEY(source, identifier)) WITHOUT ROWID"
        )

    # -- by identity

    def slug_of(self, identity: Identity) -> str | None:
        """The slug *identity* was placed at (None: not placed yet)."""
        row = self._db.execute("SELECT slug FROM placed WHERE source = ? AND identifier = ?", (identity.source, identity.identifier)).fetchone()
        return row[0] if row else None

    def loaded(self, identity: Identity) -> str | None:
        """The content hash of the version of *identity* loaded (None: none yet)."""
        row = self._db.execute("SELECT loaded FROM placed WHERE source = ? AND identifier = ?", (identity.source, identity.identifier)).fetchone()
        return row[0] if row else None

    def set_loaded(self, identity: Identity, content_hash: str) -> None:
        """Note the version of a placed *identity* that was loaded."""
        self._db.execute("UPDATE placed SET loaded = ? WHERE source = ? AND identifier = ?", (content_hash, identity.source, identity.identifier))

    # -- by slug (the claims)

    def __getitem__(self, slug: str) -> Identity:
        row = self._db.execute("SELECT source, identifier FROM placed WHERE slug = ?", (slug,)).fetchone()
        if row is None:
            raise KeyError(slug)
        return Identity(*row)

    def __setitem__(self, slug: str, identity: Identity) -> None:
        self._db.execute(
            "INSERT INTO placed(source, identifier, slug) VALUES (?, ?, ?)"
            " ON CONFLICT(source, identifier) DO UPDATE SET slug = excluded.slug",
            (identity.source, identity.identifier, slug),
        )

    def __delitem__(self, slug: str) -> None:
        if self._db.execute("DELETE FROM placed WHERE slug = ?", (slug,)).rowcount == 0:
            raise KeyError(slug)

    def __contains__(self, slug: object) -> bool:
        return isinstance(slug, str) and self._db.execute("SELECT 1 FROM placed WHERE slug = ?", (slug,)).fetchone() is not None

    def __iter__(self) -> Iterator[str]:
        return (row[0] for row in self._db.execute("SELECT slug FROM placed ORDER BY slug").fetchall())

    def __len__(self) -> int:
        return self._db.execute("SELECT count(*) FROM placed").fetchone()[0]

    def close(self) -> None:
        self._db.close()
