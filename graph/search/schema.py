"""The search index's tables, its schema version and facet definitions, and their migration.

An index of another schema version is refused (it is rebuilt by loading again), but for
the versions :data:`MIGRATIONS` brings up to date in place when it is opened for writing;
one written under other facet definitions has its memberships recomputed when next opened
for writing.
"""

from __future__ import annotations

import json
import sqlite3
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from studygraph.mappings.nodes import Link
from studygraph.mappings.validation import QUALITY_KIND, RULE_KIND

from ..sqlite_files import transaction
from .model import SearchIndexError
from .text import link_tokens

#: Facet name -> (link kind, the link roles that count, or None for any role).
#: The definitions are stored in the index; an index written under other definitions
#: has its facets recomputed when next opened for writing.
FACETS: dict[str, tuple[str, frozenset[str] | None]] = {
    "keyword": ("keyword", None),
    "sponsor": ("organization", frozenset({"sponsor", "funder"})),
    "catalogue": ("catalogue", None),
    "source": ("source", None),
    "country": ("country", None),
    "study-design": ("study-design", None),
    # A record's findings under the studygraph profile (mappings.validation): the rules
    # it breaks (role: the severity) and whether it has violations or warnings at all.
    RULE_KIND: (RULE_KIND, None),
    QUALITY_KIND: (QUALITY_KIND, None),
}

#: Bump when the tables change; an index of another version must be rebuilt, unless
#: :data:`MIGRATIONS` takes it here.
SCHEMA_VERSION = 4

#: The row of the ``state`` table: a generation every write bumps and the records
#: count, both written in the write's own transaction, so a reader's snapshot sees the
#: ones of its own state (what is kept per state of the index is keyed by the first).
STATE_TABLE = """
CREATE TABLE IF NOT EXISTS state(
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL,
    records INTEGER NOT NULL
);
INSERT OR IGNORE INTO state(id, generation, records) SELECT 1, 0, count(*) FROM records;
"""

#: From a version to the next, in place (run when an index is opened for writing).
#: 2 -> 3: each record's DOI and languages (graph.search.model.RecordHead); NULL in the
#: rows written before, which the server then reads from the graph until they are rewritten.
#: 3 -> 4: the state row (generation and records count).
MIGRATIONS: dict[int, str] = {
    2: "ALTER TABLE records ADD COLUMN doi TEXT; ALTER TABLE records ADD COLUMN languages TEXT;",
    3: STATE_TABLE,
}

#: Versions an index opened read-only may have: a version-3 index (no state row) is
#: read with its records counted and nothing kept per state.
READABLE_VERSIONS = frozenset({3, SCHEMA_VERSION})

#: Packed facet membership: node id in the high bits, facet id in the low ones.
FACET_BITS = 8

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS records(
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    start_year INTEGER,
    end_year INTEGER,
    modified TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    doi TEXT,
    languages TEXT
);
CREATE INDEX IF NOT EXISTS records_by_title ON records(sort_key, slug);
CREATE TABLE IF NOT EXISTS record_facets(id INTEGER PRIMARY KEY, facets BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS record_links(id INTEGER PRIMARY KEY, links TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS texts USING fts5(
    title, description, keywords, links, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS nodes(
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    refs INTEGER NOT NULL,
    UNIQUE(kind, key)
);
CREATE TABLE IF NOT EXISTS facets(
    id INTEGER PRIMARY KEY CHECK (id > 0 AND id < {1 << FACET_BITS}),
    name TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS facet_counts(
    facet INTEGER NOT NULL,
    node INTEGER NOT NULL,
    count INTEGER NOT NULL CHECK (count > 0),
    PRIMARY KEY(facet, node)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS facet_counts_by_count ON facet_counts(facet, count);
CREATE TABLE IF NOT EXISTS findings(id INTEGER PRIMARY KEY, report TEXT NOT NULL);
{STATE_TABLE}"""

TABLES = ("records", "record_facets", "record_links", "nodes", "facet_counts", "findings")


def facet_definition(kind: str, roles: frozenset[str] | None) -> str:
    return json.dumps([kind, sorted(roles) if roles is not None else None])


@dataclass(frozen=True)
class Facet:
    id: int
    name: str
    kind: str
    roles: frozenset[str] | None

    def takes(self, kind: str, role: str) -> bool:
        return kind == self.kind and (self.roles is None or role in self.roles)



def facet_memberships(
    links: Iterable[Link], node_ids: dict[tuple[str, str], int], facets_of_kind: dict[str, list[Facet]]
) -> tuple[list[tuple[int, str]], set[tuple[int, int]], set[tuple[int, int]]]:
    """What a record's links make of it in either index: its (node id, role) pairs, its
    facet memberships (facet id, node id), and those of facets restricted to some roles
    (which the text index also tokenises, to filter by role)."""
    resolved = [(node_ids[(link.kind, link.key)], link) for link in links]
    pairs = list(dict.fromkeys((node, link.role) for node, link in resolved))
    memberships: set[tuple[int, int]] = set()
    restricted: set[tuple[int, int]] = set()
    for node, link in resolved:
        for facet in facets_of_kind.get(link.kind, ()):
            if facet.roles is None:
                memberships.add((facet.id, node))
            elif link.role in facet.roles:
                memberships.add((facet.id, node))
                restricted.add((facet.id, node))
    return pairs, memberships, restricted


def pack_facets(pairs: Iterable[tuple[int, int]]) -> bytes:
    """Facet memberships (facet id, node id) as an int64 blob (see _count_matching)."""
    return array("q", [(node << FACET_BITS) | facet for facet, node in pairs]).tobytes()


def unpack_facets(blob: bytes) -> list[tuple[int, int]]:
    mask = (1 << FACET_BITS) - 1
    return [(value & mask, value >> FACET_BITS) for value in array("q", blob)]



def create(db: sqlite3.Connection, path: Path) -> None:
    """Create the tables (an empty file) and bring the facets up to :data:`FACETS`;
    the caller holds the write lock."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    while version in MIGRATIONS:
        db.executescript(f"BEGIN IMMEDIATE; {MIGRATIONS[version]} PRAGMA user_version={version + 1}; COMMIT;")
        version += 1
    check_version(db, path, fresh_ok=True)
    db.executescript(f"BEGIN IMMEDIATE; {SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
    sync_facets(db)


def check_version(connection: sqlite3.Connection, path: Path, fresh_ok: bool = False, read_only: bool = False) -> None:
    """Refuse an index of another schema version: its tables cannot be read as ours."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    readable = version in READABLE_VERSIONS if read_only else version == SCHEMA_VERSION
    if not readable and not (fresh_ok and version == 0):
        raise SearchIndexError(
            f"{path} is a search index of schema version {version}, not {SCHEMA_VERSION}: "
            "delete it and load the records again"
        )


def stored_facets(rows: Iterable[tuple[int, str, str]]) -> dict[str, Facet]:
    """The facets of :data:`FACETS` as stored (id, name, definition rows). A facet whose
    stored definition differs is left out rather than miscounted (a read-only index)."""
    stored = {name: (id_, definition) for id_, name, definition in rows}
    return {
        name: Facet(stored[name][0], name, kind, roles)
        for name, (kind, roles) in FACETS.items()
        if name in stored and stored[name][1] == facet_definition(kind, roles)
    }


def sync_facets(db: sqlite3.Connection) -> None:
    """Make the stored facets those of :data:`FACETS`, recomputing memberships if they differ."""
    with transaction(db):
        stored = {name: (id_, definition) for id_, name, definition in db.execute("SELECT id, name, definition FROM facets")}
        wanted = {name: facet_definition(kind, roles) for name, (kind, roles) in FACETS.items()}
        if {name: d for name, (_, d) in stored.items()} == wanted:
            return
        for name in stored.keys() - wanted.keys():
            db.execute("DELETE FROM facets WHERE name = ?", (name,))
        used = {stored[name][0] for name in stored.keys() & wanted.keys()}
        free = (i for i in range(1, 1 << FACET_BITS) if i not in used)
        for name, definition in wanted.items():
            if name in stored:
                db.execute("UPDATE facets SET definition = ? WHERE name = ?", (definition, name))
            else:
                db.execute("INSERT INTO facets(id, name, definition) VALUES (?, ?, ?)", (next(free), name, definition))
        recompute_facets(db)
        bump_state(db)


def bump_state(db: sqlite3.Connection, records: int = 0) -> None:
    """In a write's transaction: a new generation, and *records* more (or fewer) records."""
    db.execute("UPDATE state SET generation = generation + 1, records = records + ?", (records,))


def recompute_facets(db: sqlite3.Connection) -> None:
    """Facet memberships, tokens and counts of every record again, from ``record_links``."""
    facets = [Facet(id_, name, *FACETS[name]) for id_, name in db.execute("SELECT id, name FROM facets")]
    kinds = dict(db.execute("SELECT id, kind FROM nodes"))
    counts: Counter[tuple[int, int]] = Counter()
    db.execute("DELETE FROM facet_counts")
    for id_, links in db.execute("SELECT id, links FROM record_links").fetchall():
        pairs = [(node, role) for node, role in json.loads(links)]
        memberships = {(f.id, node) for node, role in pairs for f in facets if f.takes(kinds[node], role)}
        counts.update(memberships)
        db.execute("UPDATE record_facets SET facets = ? WHERE id = ?", (pack_facets(memberships), id_))
        restricted = {(f.id, node) for node, role in pairs for f in facets if f.roles is not None and f.takes(kinds[node], role)}
        db.execute("UPDATE texts SET links = ? WHERE rowid = ?", (link_tokens(pairs, restricted), id_))
    db.executemany("INSERT INTO facet_counts(facet, node, count) VALUES (?, ?, ?)", ((f, n, c) for (f, n), c in counts.items()))
