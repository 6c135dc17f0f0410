"""The PostgreSQL index's tables, created on first open and checked by version.

One schema per catalogue (graph.postgres.database). ``records`` holds one row per
study: the listing columns, the description (for snippets), the text as a ``tsvector``
(graph.postgres.tokens) with its FTS5 token count (``size``, for bm25) and each token's
occurrences by column (``freqs``, JSON: a one-word phrase's bm25 frequency without
unnesting the tsvector), its facet
memberships packed as in the SQLite index (``node << 8 | facet``), its linked node ids
and its (node, role) pairs as JSON. ``facet_counts`` and ``nodes.refs`` are maintained
at write time, and ``totals`` holds the row and token counts bm25 needs, and a
generation bumped by every write. Text columns compare by code point (``COLLATE "C"``),
as SQLite's BINARY collation does.
"""

from __future__ import annotations

import json
from collections import Counter

import psycopg

from studygraph.graph.search import schema as search_schema
from studygraph.graph.search.schema import FACET_BITS, Facet, facet_definition, stored_facets

from .database import Database, DatabaseError

#: Bump when the tables change; a schema of another version must be rebuilt, unless
#: :data:`MIGRATIONS` takes it here.
SCHEMA_VERSION = 2

#: From a version to the next, in place (when the index is opened for writing): 1 -> 2,
#: each record's DOI and languages (graph.search.model.RecordHead; NULL in older rows,
#: which the server then reads from the graph until they are rewritten) and its token
#: frequencies, counted from its tsvector (about 0.5 ms a row, once).
#: A row's word counts by column (``freqs``) read back from its tsvector ``r.document``:
#: what the migration fills older rows with, and what the writer's own counts must equal.
FREQS_OF_DOCUMENT = """coalesce((
    SELECT jsonb_object_agg(u.lexeme, jsonb_build_array(
        (SELECT count(*) FROM unnest(u.weights) w WHERE w = 'A'),
        (SELECT count(*) FROM unnest(u.weights) w WHERE w = 'B'),
        (SELECT count(*) FROM unnest(u.weights) w WHERE w = 'C')))
    FROM unnest(r.document) u), '{}'::jsonb)"""
MIGRATIONS: dict[int, str] = {
    1: """
ALTER TABLE {s}.records ADD COLUMN IF NOT EXISTS doi text, ADD COLUMN IF NOT EXISTS languages text,
    ADD COLUMN IF NOT EXISTS freqs jsonb;
UPDATE {s}.records r SET freqs = """ + FREQS_OF_DOCUMENT.replace("{}", "{{}}") + """;
ALTER TABLE {s}.records ALTER COLUMN freqs SET NOT NULL;
CREATE TABLE IF NOT EXISTS {s}.lexemes(token text COLLATE "C" PRIMARY KEY);
INSERT INTO {s}.lexemes SELECT DISTINCT u.lexeme FROM {s}.records r, unnest(r.document) u ON CONFLICT DO NOTHING""",
}

DDL = f"""
CREATE SCHEMA IF NOT EXISTS {{s}};
CREATE TABLE IF NOT EXISTS {{s}}.meta(key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS {{s}}.records(
    id bigint PRIMARY KEY,
    slug text COLLATE "C" NOT NULL UNIQUE,
    title text NOT NULL,
    sort_key text COLLATE "C" NOT NULL,
    start_year integer,
    end_year integer,
    modified text COLLATE "C" NOT NULL,
    content_hash text NOT NULL,
    description text NOT NULL,
    document tsvector NOT NULL,
    text_size integer NOT NULL,
    size integer NOT NULL,
    memberships bigint[] NOT NULL,
    links bigint[] NOT NULL,
    pairs text NOT NULL,
    doi text,
    languages text,
    freqs jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_title ON {{s}}.records(sort_key, slug);
CREATE INDEX IF NOT EXISTS records_by_modified ON {{s}}.records(modified);
CREATE INDEX IF NOT EXISTS records_text ON {{s}}.records USING gin(document);
CREATE INDEX IF NOT EXISTS records_memberships ON {{s}}.records USING gin(memberships);
CREATE INDEX IF NOT EXISTS records_links ON {{s}}.records USING gin(links);
CREATE TABLE IF NOT EXISTS {{s}}.nodes(
    id bigint PRIMARY KEY,
    kind text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    label text COLLATE "C" NOT NULL,
    refs integer NOT NULL,
    UNIQUE(kind, key)
);
CREATE TABLE IF NOT EXISTS {{s}}.facets(
    id integer PRIMARY KEY CHECK (id > 0 AND id < {1 << FACET_BITS}),
    name text COLLATE "C" NOT NULL UNIQUE,
    definition text NOT NULL
);
CREATE TABLE IF NOT EXISTS {{s}}.facet_counts(
    facet integer NOT NULL,
    node bigint NOT NULL,
    count integer NOT NULL CHECK (count > 0),
    PRIMARY KEY(facet, node)
);
CREATE INDEX IF NOT EXISTS facet_counts_by_count ON {{s}}.facet_counts(facet, count);
CREATE TABLE IF NOT EXISTS {{s}}.findings(id bigint PRIMARY KEY, report text NOT NULL);
-- Every token a record was indexed with (never pruned: a token no record has any more
-- costs a lookup that finds nothing): the words a prefix stands for in a ranked search.
CREATE TABLE IF NOT EXISTS {{s}}.lexemes(token text COLLATE "C" PRIMARY KEY);
CREATE TABLE IF NOT EXISTS {{s}}.totals(
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    rows bigint NOT NULL,
    tokens bigint NOT NULL,
    generation bigint NOT NULL
);
INSERT INTO {{s}}.totals(rows, tokens, generation) VALUES (0, 0, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS {{s}}.changes(
    sequence bigserial PRIMARY KEY,
    slug text COLLATE "C" NOT NULL,
    kind text NOT NULL,
    time text COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_slug ON {{s}}.changes(slug, sequence);
CREATE INDEX IF NOT EXISTS changes_by_time ON {{s}}.changes(time, sequence);
CREATE TABLE IF NOT EXISTS {{s}}.pending(slug text COLLATE "C" PRIMARY KEY, kind text NOT NULL);
CREATE TABLE IF NOT EXISTS {{s}}.settings(key text COLLATE "C" PRIMARY KEY, value text NOT NULL);
-- How often a phrase of FTS5 tokens occurs in a document, each occurrence weighted by
-- its column (the f(q, D) of FTS5's bm25): positions p of the first token such that the
-- k-th token is at p + k - 1; the last token may be a prefix.
CREATE OR REPLACE FUNCTION {{s}}.phrase_freq(doc tsvector, tokens text[], prefix boolean, wa float8, wb float8, wc float8)
RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  WITH hits AS MATERIALIZED (
    SELECT k, p.pos - k AS start, p.w
    FROM generate_subscripts(tokens, 1) AS k
    JOIN LATERAL unnest(doc) AS u
      ON u.lexeme = tokens[k] OR (prefix AND k = cardinality(tokens) AND starts_with(u.lexeme, tokens[k]))
    CROSS JOIN LATERAL unnest(u.positions, u.weights) AS p(pos, w)
  )
  SELECT coalesce(sum(CASE h.w WHEN 'A' THEN wa WHEN 'B' THEN wb ELSE wc END), 0.0::float8)
  FROM hits h
  WHERE h.k = 1 AND (SELECT count(*) FROM hits o WHERE o.start = h.start) = cardinality(tokens)
$$;
"""

#: Tables emptied by clear() (the change log and settings are not the index's).
INDEX_TABLES = ("records", "nodes", "facet_counts", "findings", "lexemes")


def create(db: Database) -> dict[str, Facet]:
    """Create the tables if missing (under the writer lock, so two processes opening a
    fresh schema do not race), refuse another version, sync the facets; the facets."""
    with db.write() as connection:
        exists = connection.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'meta'", (db.place.schema,)
        ).fetchone()
        if exists:
            _migrate(db, connection)
            _check_version(db, connection)
        connection.execute(db.q(DDL))
        connection.execute(db.q("INSERT INTO {s}.meta(key, value) VALUES ('schema_version', %s) ON CONFLICT DO NOTHING"), (str(SCHEMA_VERSION),))
        _sync_facets(db, connection)
    return read_facets(db)


def read_facets(db: Database) -> dict[str, Facet]:
    """The stored facets (a read-only open); refuses a missing or other-version schema."""
    with db.read() as connection:
        exists = connection.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'meta'", (db.place.schema,)
        ).fetchone()
        if not exists:
            raise DatabaseError(f"no catalogue index in schema {db.place.schema!r}")
        _check_version(db, connection)
        return stored_facets(connection.execute(db.q("SELECT id, name, definition FROM {s}.facets")).fetchall())


def _migrate(db: Database, connection: psycopg.Connection) -> None:
    row = connection.execute(db.q("SELECT value FROM {s}.meta WHERE key = 'schema_version'")).fetchone()
    version = int(row[0]) if row is not None and row[0].isdigit() else None
    while version in MIGRATIONS:
        connection.execute(db.q(MIGRATIONS[version]))
        version += 1
        connection.execute(db.q("UPDATE {s}.meta SET value = %s WHERE key = 'schema_version'"), (str(version),))


def _check_version(db: Database, connection: psycopg.Connection) -> None:
    row = connection.execute(db.q("SELECT value FROM {s}.meta WHERE key = 'schema_version'")).fetchone()
    if row is None or row[0] != str(SCHEMA_VERSION):
        raise DatabaseError(
            f"schema {db.place.schema!r} holds an index of version {row[0] if row else None}, not {SCHEMA_VERSION}: "
            "drop it and load the records again"
        )


def _sync_facets(db: Database, connection: psycopg.Connection) -> None:
    """Make the stored facets those of FACETS, recomputing memberships if they differ
    (as graph.search.schema.sync_facets; read through the module, where tests change them)."""
    stored = {name: (id_, d) for id_, name, d in connection.execute(db.q("SELECT id, name, definition FROM {s}.facets"))}
    wanted = {name: facet_definition(kind, roles) for name, (kind, roles) in search_schema.FACETS.items()}
    if {name: d for name, (_, d) in stored.items()} == wanted:
        return
    for name in stored.keys() - wanted.keys():
        connection.execute(db.q("DELETE FROM {s}.facets WHERE name = %s"), (name,))
    used = {stored[name][0] for name in stored.keys() & wanted.keys()}
    free = (i for i in range(1, 1 << FACET_BITS) if i not in used)
    for name, definition in wanted.items():
        if name in stored:
            connection.execute(db.q("UPDATE {s}.facets SET definition = %s WHERE name = %s"), (definition, name))
        else:
            connection.execute(db.q("INSERT INTO {s}.facets(id, name, definition) VALUES (%s, %s, %s)"), (next(free), name, definition))
    _recompute(db, connection)


def _recompute(db: Database, connection: psycopg.Connection) -> None:
    """Memberships, sizes and counts of every record again, from its stored pairs."""
    facets = [Facet(id_, name, *search_schema.FACETS[name]) for id_, name in connection.execute(db.q("SELECT id, name FROM {s}.facets"))]
    kinds: dict[int, str] = dict(connection.execute(db.q("SELECT id, kind FROM {s}.nodes")).fetchall())
    counts: Counter[tuple[int, int]] = Counter()
    rows = []
    for id_, pairs, text_size in connection.execute(db.q("SELECT id, pairs, text_size FROM {s}.records")).fetchall():
        pairs = [(node, role) for node, role in json.loads(pairs)]
        memberships = {(f.id, node) for node, role in pairs for f in facets if f.takes(kinds[node], role)}
        restricted = {(f.id, node) for node, role in pairs for f in facets if f.roles is not None and f.takes(kinds[node], role)}
        counts.update(memberships)
        size = text_size + len({node for node, _ in pairs}) + len(restricted)
        rows.append(([(n << FACET_BITS) | f for f, n in memberships], size, id_))
    connection.execute(db.q("DELETE FROM {s}.facet_counts"))
    with connection.cursor() as cursor:
        cursor.executemany(db.q("UPDATE {s}.records SET memberships = %s, size = %s WHERE id = %s"), rows)
        cursor.executemany(db.q("INSERT INTO {s}.facet_counts(facet, node, count) VALUES (%s, %s, %s)"), [(f, n, c) for (f, n), c in counts.items()])
    connection.execute(db.q("UPDATE {s}.totals SET tokens = (SELECT coalesce(sum(size), 0) FROM {s}.records), generation = generation + 1"))
