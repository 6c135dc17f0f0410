"""The search index beside the graph: full-text search, facets and node listings in SQLite.

Why not SPARQL: listing 20 of 100k studies with six facet counts means grouping every
link of every matching study, and text search means scanning every description; the
store can do both, but not in the tens of milliseconds a listing page needs. So every
write to the graph also writes the record's :class:`~mappings.profile.RecordSummary`
here, and the web server answers search, facets, paging and "studies linked to this
keyword/organisation" from this file alone.

Layout (one SQLite file, WAL mode, so the server's reader threads never wait for the
writer and never see half a batch):

- ``records``: one narrow row per study (slug, title, sort key, years, modified, hash) and
  ``facets``, the study's facet memberships packed into a blob of int64 (see
  :func:`_pack`): counting facets over a large matching set reads one blob per study
  instead of twenty index rows (see :meth:`SearchIndex._count_matching`).
- ``texts``: the FTS5 table (title, description, keywords; ``unicode61`` with diacritics
  removed), rowid = ``records.id``. It keeps its own copy of the text, so the description
  is stored once, here, and deleting a study is a plain ``DELETE``.
- ``nodes``: linked nodes (kind, key, label); ``links``: study -> node with its role, for
  :meth:`SearchIndex.linked`; ``facet_links``: study -> node per facet, deduplicated (a
  funder that is also the sponsor counts once), for filtering.
- ``facet_counts``: how many studies each node has in each facet, **maintained by the
  write code** (per-batch deltas), so the unfiltered facets of the home listing are read,
  never computed.

User text never reaches SQL or the FTS5 query language as syntax: SQL takes ``?``
parameters only, and :func:`fts_query` turns text into quoted FTS5 strings.
"""

from __future__ import annotations

import heapq
import json
import re
import sqlite3
import threading
import unicodedata
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Sequence

from mappings.profile import RecordSummary

if TYPE_CHECKING:
    from mappings.profile import MappedRecord

#: Facet name -> (link kind, the link roles that count, or None for any role).
#: Stored in the index with its definition; an index written under another definition
#: has its facet tables rebuilt from ``links`` when next opened for writing.
FACETS: dict[str, tuple[str, frozenset[str] | None]] = {
    "keyword": ("keyword", None),
    "sponsor": ("organization", frozenset({"sponsor", "funder"})),
    "catalogue": ("catalogue", None),
    "source": ("source", None),
    "country": ("country", None),
    "study-design": ("study-design", None),
}

#: Bump when the tables change; an older index must be rebuilt (``clear`` + load again).
SCHEMA_VERSION = 1

#: bm25 column weights (title, description, keywords): a title match outranks the same
#: word in a keyword, which outranks it in the description.
BM25_WEIGHTS = (10.0, 1.0, 4.0)

MAX_PAGE_SIZE = 200
MAX_FACET_LIMIT = 1000
#: Words of user text that make it into a query; the rest is ignored (bounded work).
MAX_QUERY_WORDS = 16
SNIPPET_CHARS = 200

#: Rows per SQL statement on the write path (well under SQLite's variable limit).
_CHUNK = 400
#: Packed facet membership: node id in the high bits, facet id in the low ones.
_FACET_BITS = 8

_WORD_PART = re.compile(r"[^\W_]+")
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,500}>")
_SPACE = re.compile(r"\s+")


class SearchIndexError(RuntimeError):
    """The index file is missing, from another schema version, or closed."""


# ------------------------------------------------------------------------------ values


@dataclass(frozen=True)
class IndexEntry:
    """What one record contributes to the index: its summary and its catalogue-record stamps."""

    summary: RecordSummary
    modified: str
    content_hash: str

    @classmethod
    def of(cls, mapped: MappedRecord, modified: str) -> IndexEntry:
        """The entry of a freshly mapped record (the loader knows *modified*, the mapping does not)."""
        return cls(mapped.summary, modified, mapped.content_hash)


@dataclass(frozen=True)
class Hit:
    """One study in a result page: what a listing shows without reading the graph."""

    slug: str
    title: str
    snippet: str
    start_year: int | None
    end_year: int | None
    modified: str


@dataclass(frozen=True)
class FacetCount:
    key: str
    label: str
    count: int


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetCount]]
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


# ------------------------------------------------------------------------------- text


def fts_query(text: str | None, *, prefix: bool = True) -> str | None:
    """A safe FTS5 query for user text, or None when it holds no searchable word.

    Each whitespace-separated word becomes a quoted FTS5 string of its letter/digit runs
    (``covid-19`` -> ``"covid 19"``, a phrase, as the tokenizer indexed it), so quotes,
    parentheses, ``AND``/``OR``/``NOT``/``NEAR``, ``column:`` filters and ``*`` in the input
    are plain text, never syntax. The strings are ANDed; the last one is a prefix match
    (``"heal"*``) while the user is still typing it (no trailing space), unless it is a
    single letter, whose prefix would expand to a large share of the vocabulary.
    """
    if not text:
        return None
    words = [parts for parts in (_WORD_PART.findall(word) for word in text.split()) if parts]
    if not words:
        return None
    truncated = len(words) > MAX_QUERY_WORDS
    words = words[:MAX_QUERY_WORDS]
    phrases = ['"' + " ".join(parts) + '"' for parts in words]
    typing = _WORD_PART.findall(text.split()[-1]) if not text[-1].isspace() else []
    if prefix and typing and not truncated and len(typing[-1]) >= 2:
        phrases[-1] += "*"
    return " ".join(phrases)


def plain_text(text: str) -> str:
    """Text as indexed and shown in snippets: HTML tags dropped, whitespace collapsed."""
    return _SPACE.sub(" ", _TAG.sub(" ", text)).strip()


def sort_key(title: str) -> str:
    """The key titles are ordered by: case and diacritics ignored (``Étude`` next to ``Etude``)."""
    decomposed = unicodedata.normalize("NFKD", title.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def snippet(description: str, limit: int = SNIPPET_CHARS) -> str:
    """The first *limit* characters of the (plain) description, cut at a word boundary."""
    text = plain_text(description)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def _pack(pairs: Iterable[tuple[int, int]]) -> bytes:
    """Facet memberships (facet id, node id) as an int64 blob, for counting (see _count_matching)."""
    return array("q", sorted((node << _FACET_BITS) | facet for facet, node in pairs)).tobytes()


def _unpack(blob: bytes) -> list[tuple[int, int]]:
    mask = (1 << _FACET_BITS) - 1
    return [(value & mask, value >> _FACET_BITS) for value in array("q", blob)]


# ------------------------------------------------------------------------------ schema

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records(
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    start_year INTEGER,
    end_year INTEGER,
    modified TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    facets BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS records_by_title ON records(sort_key, slug);
CREATE VIRTUAL TABLE IF NOT EXISTS texts USING fts5(
    title, description, keywords, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS nodes(
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    UNIQUE(kind, key)
);
CREATE TABLE IF NOT EXISTS links(
    node INTEGER NOT NULL,
    record INTEGER NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY(node, record, role)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS links_by_record ON links(record);
CREATE TABLE IF NOT EXISTS facets(
    id INTEGER PRIMARY KEY CHECK (id < {1 << _FACET_BITS}),
    name TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS facet_links(
    facet INTEGER NOT NULL,
    node INTEGER NOT NULL,
    record INTEGER NOT NULL,
    PRIMARY KEY(facet, node, record)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS facet_links_by_record ON facet_links(record);
CREATE TABLE IF NOT EXISTS facet_counts(
    facet INTEGER NOT NULL,
    node INTEGER NOT NULL,
    count INTEGER NOT NULL CHECK (count > 0),
    PRIMARY KEY(facet, node)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS facet_counts_by_count ON facet_counts(facet, count);
"""


def _definition(kind: str, roles: frozenset[str] | None) -> str:
    return json.dumps([kind, sorted(roles) if roles is not None else None])


@dataclass
class _Facet:
    id: int
    name: str
    kind: str
    roles: frozenset[str] | None


# ------------------------------------------------------------------------------- index


class SearchIndex:
    """A search index in one SQLite file: one writer, any number of reader threads.

    Reads use one connection per thread (opened read-only, ``mode=ro``), writes one
    connection guarded by a lock; WAL mode lets readers go on, on their own snapshot,
    while a batch is written. Every read method runs in one read transaction, so a total,
    its page and its facet counts always describe the same state.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._local = threading.local()
        self._lock = threading.RLock()
        self._readers: list[sqlite3.Connection] = []
        self._writer: sqlite3.Connection | None = None
        self._closed = False
        if read_only:
            if not self.path.is_file():
                raise SearchIndexError(f"no search index at {self.path}")
            connection = self._reader()
            self._check_version(connection)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._writer.execute("PRAGMA journal_mode=WAL")
            # The index can be rebuilt from the graph: a power cut may lose the last
            # batches but never corrupts the file (WAL + NORMAL).
            self._writer.execute("PRAGMA synchronous=NORMAL")
            self._writer.execute("PRAGMA cache_size=-65536")
            self._writer.execute("PRAGMA temp_store=MEMORY")
            self._create_schema()
        self._facets = self._load_facets()

    # -- connections

    def _reader(self) -> sqlite3.Connection:
        """This thread's read-only connection (opened on first use)."""
        if self._closed:
            raise SearchIndexError("the search index is closed")
        connection = getattr(self._local, "connection", None)
        if connection is None:
            uri = self.path.resolve().as_uri() + "?mode=ro"
            # check_same_thread=False only so that close() can close it from any thread;
            # it is used by its own thread only.
            connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=30)
            connection.execute("PRAGMA temp_store=MEMORY")
            connection.execute("PRAGMA mmap_size=268435456")
            connection.execute("CREATE TEMP TABLE IF NOT EXISTS matching(id INTEGER PRIMARY KEY, score REAL NOT NULL)")
            self._local.connection = connection
            with self._lock:
                self._readers.append(connection)
        return connection

    def _write(self) -> sqlite3.Connection:
        if self._closed:
            raise SearchIndexError("the search index is closed")
        if self._writer is None:
            raise SearchIndexError("the search index was opened read-only")
        return self._writer

    def close(self) -> None:
        """Close every connection, the readers of all threads included."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for connection in self._readers:
                connection.close()
            self._readers.clear()
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema

    def _create_schema(self) -> None:
        db = self._write()
        with self._lock:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise SearchIndexError(
                    f"{self.path} is a search index of schema {version}, not {SCHEMA_VERSION}: delete it and load again"
                )
            if version == 0:
                db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
            self._sync_facets(db)

    def _check_version(self, connection: sqlite3.Connection) -> None:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise SearchIndexError(f"{self.path} is not a search index of schema {SCHEMA_VERSION} (found {version})")

    def _sync_facets(self, db: sqlite3.Connection) -> None:
        """Make the stored facet definitions those of :data:`FACETS`, rebuilding if they differ."""
        db.execute("BEGIN IMMEDIATE")
        try:
            stored = {name: (id_, definition) for id_, name, definition in db.execute("SELECT id, name, definition FROM facets")}
            wanted = {name: _definition(kind, roles) for name, (kind, roles) in FACETS.items()}
            changed = [name for name, definition in wanted.items() if stored.get(name, (None, None))[1] != definition]
            dropped = [name for name in stored if name not in wanted]
            if changed or dropped:
                for name in dropped:
                    db.execute("DELETE FROM facets WHERE name = ?", (name,))
                used = {id_ for name, (id_, _) in stored.items() if name in wanted}
                free = (i for i in range(1, 1 << _FACET_BITS) if i not in used)
                for name in changed:
                    if name in stored:
                        db.execute("UPDATE facets SET definition = ? WHERE name = ?", (wanted[name], name))
                    else:
                        db.execute("INSERT INTO facets(id, name, definition) VALUES (?, ?, ?)", (next(free), name, wanted[name]))
                self._rebuild_facets(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _load_facets(self) -> dict[str, _Facet]:
        if self._writer is not None:
            with self._lock:
                rows = self._writer.execute("SELECT id, name FROM facets").fetchall()
        else:
            rows = self._reader().execute("SELECT id, name FROM facets").fetchall()
        ids = dict((name, id_) for id_, name in rows)
        return {name: _Facet(ids[name], name, *FACETS[name]) for name in FACETS if name in ids}

    def _rebuild_facets(self, db: sqlite3.Connection) -> None:
        """Recompute facet_links, facet_counts and the packed memberships from ``links``."""
        facets = {name: _Facet(id_, name, *FACETS[name]) for id_, name in db.execute("SELECT id, name FROM facets")}
        db.execute("DELETE FROM facet_links")
        db.execute("DELETE FROM facet_counts")
        for facet in facets.values():
            roles = sorted(facet.roles) if facet.roles is not None else None
            db.execute(
                "INSERT OR IGNORE INTO facet_links(facet, node, record) "
                "SELECT ?, l.node, l.record FROM links l JOIN nodes n ON n.id = l.node "
                "WHERE n.kind = ? AND (? IS NULL OR l.role IN (SELECT value FROM json_each(?)))",
                (facet.id, facet.kind, None if roles is None else 1, json.dumps(roles)),
            )
        db.execute("INSERT INTO facet_counts(facet, node, count) SELECT facet, node, count(*) FROM facet_links GROUP BY facet, node")
        memberships: dict[int, list[tuple[int, int]]] = {}
        for facet, node, record in db.execute("SELECT facet, node, record FROM facet_links"):
            memberships.setdefault(record, []).append((facet, node))
        db.execute("UPDATE records SET facets = X''")
        db.executemany("UPDATE records SET facets = ? WHERE id = ?", ((_pack(p), r) for r, p in memberships.items()))

    # -- writing

    def replace(self, entries: Iterable[IndexEntry]) -> None:
        """Insert or replace each entry's record, in one transaction for the whole batch.

        Readers see the batch all at once or not at all. An entry whose content hash and
        modified stamp equal the stored ones is skipped (the graph did not change either).
        A slug given twice keeps its last entry. Facet counts are adjusted by the net
        change of the batch, one upsert per affected node.
        """
        db = self._write()
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                writer = _BatchWriter(db, self._facets)
                pending: dict[str, IndexEntry] = {}
                for entry in entries:
                    pending.pop(entry.summary.slug, None)
                    pending[entry.summary.slug] = entry
                    if len(pending) >= _CHUNK:
                        writer.write(list(pending.values()))
                        pending.clear()
                if pending:
                    writer.write(list(pending.values()))
                writer.finish()
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def delete(self, slug: str) -> bool:
        """Remove a record; its nodes' counts drop, and nodes no study links any more go."""
        db = self._write()
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT id FROM records WHERE slug = ?", (slug,)).fetchone()
                if row is None:
                    db.execute("ROLLBACK")
                    return False
                writer = _BatchWriter(db, self._facets)
                writer.remove([row[0]])
                db.execute("DELETE FROM records WHERE id = ?", (row[0],))
                writer.finish()
                db.execute("COMMIT")
                return True
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def clear(self) -> None:
        """Empty the index (before a full rebuild from the graph)."""
        db = self._write()
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                for table in ("records", "nodes", "links", "facet_links", "facet_counts"):
                    db.execute(f"DELETE FROM {table}")  # fixed table names, no user input
                db.execute("INSERT INTO texts(texts) VALUES ('delete-all')")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def optimize(self) -> None:
        """Merge the FTS5 index segments (after a bulk load: smaller file, faster queries)."""
        db = self._write()
        with self._lock:
            db.execute("INSERT INTO texts(texts) VALUES ('optimize')")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- reading

    def count(self) -> int:
        return self._reader().execute("SELECT count(*) FROM records").fetchone()[0]

    def catalogue_page(
        self, *, after: str | None = None, before: str | None = None, size: int = 100, modified_since: str | None = None
    ) -> tuple[list[tuple[str, str, str]], int]:
        """One page of (slug, title, modified) in slug order, by keyset: the page after
        the slug *after*, or the one ending before *before* (``before=""``: the last page);
        and how many records there are in all (modified since *modified_since*, if given).

        Keyset paging reads the unique slug index from the cursor on, so page 1,000 costs
        what page 1 does, and pages stay stable while records are added or removed.
        """
        size = max(1, min(size, 1000))
        where, params = [], []
        if modified_since:
            where.append("modified >= ?")
            params.append(modified_since)
        reader = self._reader()
        total = reader.execute("SELECT count(*) FROM records" + (" WHERE " + " AND ".join(where) if where else ""), params).fetchone()[0]
        if before is not None:
            clause = where + (["slug < ?"] if before else [])
            rows = reader.execute(
                "SELECT slug, title, modified FROM records" + (" WHERE " + " AND ".join(clause) if clause else "")
                + " ORDER BY slug DESC LIMIT ?", [*params, *([before] if before else []), size],
            ).fetchall()
            return [tuple(r) for r in reversed(rows)], total
        clause = where + (["slug > ?"] if after else [])
        rows = reader.execute(
            "SELECT slug, title, modified FROM records" + (" WHERE " + " AND ".join(clause) if clause else "")
            + " ORDER BY slug LIMIT ?", [*params, *([after] if after else []), size],
        ).fetchall()
        return [tuple(r) for r in rows], total

    def sitemap_page(self, number: int, size: int = 50_000) -> list[tuple[str, str]]:
        """The (slug, modified) of the records on sitemap page *number* (from 0), slug order."""
        rows = self._reader().execute("SELECT slug, modified FROM records ORDER BY slug LIMIT ? OFFSET ?", (size, number * size))
        return [tuple(r) for r in rows]

    def hashes(self, slugs: Iterable[str]) -> dict[str, str]:
        """Stored content hashes of the given slugs, to tell whether the index is behind the graph."""
        found: dict[str, str] = {}
        connection = self._reader()
        wanted = list(slugs)
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            sql = f"SELECT slug, content_hash FROM records WHERE slug IN ({_marks(len(chunk))})"
            found.update(connection.execute(sql, chunk).fetchall())
        return found

    def label(self, kind: str, key: str) -> str | None:
        """The label of a node that at least one indexed study links to, else None."""
        row = self._reader().execute("SELECT label FROM nodes WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return row[0] if row else None

    def linked(self, kind: str, key: str, page: int = 1, size: int = 20) -> tuple[int, list[Hit]]:
        """The studies linking to a node in any role, ordered by title: (total, one page)."""
        _check_paging(page, size)
        connection = self._reader()
        with _read(connection):
            row = connection.execute("SELECT id FROM nodes WHERE kind = ? AND key = ?", (kind, key)).fetchone()
            if row is None:
                return 0, []
            node = row[0]
            total = connection.execute("SELECT count(DISTINCT record) FROM links WHERE node = ?", (node,)).fetchone()[0]
            offset = (page - 1) * size
            if offset >= total:
                return total, []
            rows = connection.execute(
                f"SELECT {_HIT_COLUMNS} FROM records r WHERE r.id IN (SELECT record FROM links WHERE node = ?) "
                "ORDER BY r.sort_key, r.slug LIMIT ? OFFSET ?",
                (node, size, offset),
            ).fetchall()
            return total, self._hits(connection, rows)

    def facet_counts(self, facet: str, limit: int = 20) -> list[FacetCount]:
        """The maintained, unfiltered counts of one facet: its top *limit* nodes."""
        _check_limit(limit)
        definition = self._facet(facet)
        connection = self._reader()
        with _read(connection):
            return self._maintained(connection, definition, limit)

    def search(
        self,
        text: str | None = None,
        filters: Mapping[str, Sequence[str]] = {},
        years: tuple[int | None, int | None] | None = None,
        page: int = 1,
        size: int = 20,
        facet_limit: int = 20,
    ) -> SearchResult:
        """One page of the studies matching *text*, *filters* and *years*, with facet counts.

        *text*: words ANDed, the last one prefix-matched (:func:`fts_query`), ranked by
        bm25 with title > keywords > description; no text lists all studies by title.
        *filters*: facet name -> node keys, OR within a facet, AND across facets.
        *years*: (from, to), either open; a study matches when its [start, end] overlaps
        (a missing end counts as ongoing, a missing start as open; a study with no year
        at all does not match a year filter). Facet counts are over the matching studies
        (the maintained counts when nothing narrows the set).
        """
        _check_paging(page, size)
        _check_limit(facet_limit)
        query = fts_query(text)
        wanted = self._filters(filters)
        span = _check_years(years)
        connection = self._reader()
        with _read(connection):
            if query is None and not wanted and span is None:
                return self._browse(connection, page, size, facet_limit)
            resolved = self._resolve(connection, wanted)
            if resolved is None:  # a filter names no node that exists: nothing matches
                return SearchResult(0, [], {name: [] for name in self._facets}, page, size)
            total = self._collect(connection, query, resolved, span)
            hits: list[Hit] = []
            offset = (page - 1) * size
            if offset < total:
                rows = connection.execute(
                    f"SELECT {_HIT_COLUMNS} FROM temp.matching m JOIN records r ON r.id = m.id "
                    "ORDER BY m.score, r.sort_key, r.slug LIMIT ? OFFSET ?",
                    (size, offset),
                ).fetchall()
                hits = self._hits(connection, rows)
            facets = self._count_matching(connection, total, facet_limit)
            return SearchResult(total, hits, facets, page, size)

    # -- search internals

    def _facet(self, name: str) -> _Facet:
        try:
            return self._facets[name]
        except KeyError:
            raise ValueError(f"unknown facet {name!r}; facets are {', '.join(FACETS)}") from None

    def _filters(self, filters: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
        wanted: dict[str, list[str]] = {}
        for name, keys in filters.items():
            self._facet(name)
            if isinstance(keys, str):
                keys = [keys]
            chosen = list(dict.fromkeys(k for k in keys if isinstance(k, str) and k))
            if chosen:
                wanted[name] = chosen
        return wanted

    def _resolve(self, connection: sqlite3.Connection, wanted: dict[str, list[str]]) -> list[tuple[int, list[int]]] | None:
        """Facet filters as (facet id, node ids); None when some facet has no known node."""
        resolved = []
        for name, keys in wanted.items():
            facet = self._facets[name]
            nodes: list[int] = []
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                sql = f"SELECT id FROM nodes WHERE kind = ? AND key IN ({_marks(len(chunk))})"
                nodes.extend(row[0] for row in connection.execute(sql, (facet.kind, *chunk)))
            if not nodes:
                return None
            resolved.append((facet.id, nodes))
        return resolved

    def _collect(
        self,
        connection: sqlite3.Connection,
        query: str | None,
        filters: list[tuple[int, list[int]]],
        span: tuple[int | None, int | None] | None,
    ) -> int:
        """Fill temp.matching with the matching studies and their score; return how many."""
        conditions: list[str] = []
        parameters: list[object] = []
        if query is not None:
            weights = ", ".join(map(str, BM25_WEIGHTS))
            source = f"SELECT texts.rowid, bm25(texts, {weights}) FROM texts"
            if span is not None:
                source += " JOIN records r ON r.id = texts.rowid"
            conditions.append("texts MATCH ?")
            parameters.append(query)
            id_column = "texts.rowid"
        else:
            source = "SELECT r.id, 0.0 FROM records r"
            id_column = "r.id"
        # Smallest filter first: SQLite evaluates the conditions in order.
        for facet, nodes in sorted(filters, key=lambda f: len(f[1])):
            conditions.append(f"{id_column} IN (SELECT record FROM facet_links WHERE facet = ? AND node IN ({_marks(len(nodes))}))")
            parameters.extend((facet, *nodes))
        if span is not None:
            # [start, end] overlaps [low, high]; a missing bound is open, a study with no year does not match.
            low, high = span
            conditions.append("(r.start_year IS NOT NULL OR r.end_year IS NOT NULL)")
            if high is not None:
                conditions.append("(r.start_year IS NULL OR r.start_year <= ?)")
                parameters.append(high)
            if low is not None:
                conditions.append("(r.end_year IS NULL OR r.end_year >= ?)")
                parameters.append(low)
        sql = source + (" WHERE " + " AND ".join(conditions) if conditions else "")
        connection.execute("DELETE FROM temp.matching")
        connection.execute(f"INSERT INTO temp.matching(id, score) {sql}", parameters)
        return connection.execute("SELECT count(*) FROM temp.matching").fetchone()[0]

    def _browse(self, connection: sqlite3.Connection, page: int, size: int, facet_limit: int) -> SearchResult:
        """Everything, by title, with the maintained counts: the home listing, no counting."""
        total = connection.execute("SELECT count(*) FROM records").fetchone()[0]
        rows = connection.execute(
            f"SELECT {_HIT_COLUMNS} FROM records r ORDER BY r.sort_key, r.slug LIMIT ? OFFSET ?",
            (size, (page - 1) * size),
        ).fetchall()
        facets = {name: self._maintained(connection, facet, facet_limit) for name, facet in self._facets.items()}
        return SearchResult(total, self._hits(connection, rows), facets, page, size)

    def _maintained(self, connection: sqlite3.Connection, facet: _Facet, limit: int) -> list[FacetCount]:
        # The limit-th largest count, then every node at or above it (ties broken by label).
        row = connection.execute(
            "SELECT count FROM facet_counts WHERE facet = ? ORDER BY count DESC LIMIT 1 OFFSET ?", (facet.id, limit - 1)
        ).fetchone()
        floor = row[0] if row else 1
        rows = connection.execute(
            "SELECT n.key, n.label, c.count FROM facet_counts c JOIN nodes n ON n.id = c.node "
            "WHERE c.facet = ? AND c.count >= ?",
            (facet.id, floor),
        ).fetchall()
        return _top(rows, limit)

    def _count_matching(self, connection: sqlite3.Connection, total: int, limit: int) -> dict[str, list[FacetCount]]:
        """Facet counts over temp.matching.

        Counting with SQL (join facet_links, GROUP BY facet, node) sorts one row per
        (study, node): about 25 per study, over a second for 60k matching studies. Here
        each study's memberships come as one packed blob and are counted in C by
        ``Counter`` over an int64 array, and when more than half of the studies match,
        the *complement* is counted and subtracted from the maintained counts, so the
        work is bounded by half the index however broad the query.
        """
        result: dict[str, list[FacetCount]] = {name: [] for name in self._facets}
        if total == 0:
            return result
        everything = connection.execute("SELECT count(*) FROM records").fetchone()[0]
        complement = total > everything // 2
        if complement:
            blobs = connection.execute("SELECT facets FROM records WHERE id NOT IN (SELECT id FROM temp.matching)")
        else:
            blobs = connection.execute("SELECT r.facets FROM temp.matching m JOIN records r ON r.id = m.id")
        packed = array("q", b"".join(blob for (blob,) in blobs))
        counted = Counter(packed)
        if complement:
            maintained = Counter(
                {(node << _FACET_BITS) | facet: count for facet, node, count in connection.execute("SELECT facet, node, count FROM facet_counts")}
            )
            maintained.subtract(counted)
            counted = +maintained  # drops zero counts
        mask = (1 << _FACET_BITS) - 1
        per_facet: dict[int, list[tuple[int, int]]] = {}
        for value, count in counted.items():
            per_facet.setdefault(value & mask, []).append((count, value >> _FACET_BITS))
        for name, facet in self._facets.items():
            candidates = per_facet.get(facet.id, [])
            if not candidates:
                continue
            if len(candidates) > limit:
                floor = heapq.nlargest(limit, (count for count, _ in candidates))[-1]
                candidates = [c for c in candidates if c[0] >= floor]
            counts = dict((node, count) for count, node in candidates)
            labels = _node_labels(connection, list(counts))
            result[name] = _top([(*labels[node], count) for node, count in counts.items() if node in labels], limit)
        return result

    def _hits(self, connection: sqlite3.Connection, rows: list[tuple]) -> list[Hit]:
        hits = []
        for id_, slug, title, start, end, modified in rows:
            found = connection.execute("SELECT description FROM texts WHERE rowid = ?", (id_,)).fetchone()
            hits.append(Hit(slug, title, snippet(found[0]) if found else "", start, end, modified))
        return hits


_HIT_COLUMNS = "r.id, r.slug, r.title, r.start_year, r.end_year, r.modified"


class _BatchWriter:
    """The write path of one transaction: rows by executemany, counts by net deltas."""

    def __init__(self, db: sqlite3.Connection, facets: dict[str, _Facet]) -> None:
        self.db = db
        self.facets = list(facets.values())
        self.deltas: Counter[tuple[int, int]] = Counter()
        self.touched_nodes: set[int] = set()
        self.next_record = (db.execute("SELECT max(id) FROM records").fetchone()[0] or 0) + 1
        self.next_node = (db.execute("SELECT max(id) FROM nodes").fetchone()[0] or 0) + 1
        self.nodes: dict[tuple[str, str], int] = {}
        self.labels: dict[int, str] = {}

    def write(self, entries: list[IndexEntry]) -> None:
        slugs = [e.summary.slug for e in entries]
        existing = {
            slug: (id_, digest, modified)
            for slug, id_, digest, modified in self.db.execute(
                f"SELECT slug, id, content_hash, modified FROM records WHERE slug IN ({_marks(len(slugs))})", slugs
            )
        }
        entries = [
            e for e in entries
            if e.summary.slug not in existing or existing[e.summary.slug][1:] != (e.content_hash, e.modified)
        ]
        if not entries:
            return
        replaced = [existing[e.summary.slug][0] for e in entries if e.summary.slug in existing]
        if replaced:
            self.remove(replaced)
        self._node_ids({(link.kind, link.key): link.label for e in entries for link in e.summary.links})
        records, texts, links, facet_links = [], [], [], []
        for entry in entries:
            summary = entry.summary
            if summary.slug in existing:
                id_ = existing[summary.slug][0]
            else:
                id_ = self.next_record
                self.next_record += 1
            memberships: set[tuple[int, int]] = set()
            roles: set[tuple[int, str]] = set()
            for link in summary.links:
                node = self.nodes[(link.kind, link.key)]
                roles.add((node, link.role))
                for facet in self.facets:
                    if facet.kind == link.kind and (facet.roles is None or link.role in facet.roles):
                        memberships.add((facet.id, node))
            records.append(
                (id_, summary.slug, summary.title, sort_key(summary.title), summary.start_year, summary.end_year,
                 entry.modified, entry.content_hash, _pack(memberships))
            )
            texts.append((id_, summary.title, plain_text(summary.description), "\n".join(summary.keywords)))
            links.extend((node, id_, role) for node, role in roles)
            facet_links.extend((facet, node, id_) for facet, node in memberships)
            self.deltas.update(memberships)
        self.db.executemany(
            "INSERT OR REPLACE INTO records(id, slug, title, sort_key, start_year, end_year, modified, content_hash, facets) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            records,
        )
        self.db.executemany("INSERT INTO texts(rowid, title, description, keywords) VALUES (?, ?, ?, ?)", texts)
        self.db.executemany("INSERT INTO links(node, record, role) VALUES (?, ?, ?)", links)
        self.db.executemany("INSERT INTO facet_links(facet, node, record) VALUES (?, ?, ?)", facet_links)

    def remove(self, ids: list[int]) -> None:
        """Drop the text, links and facet memberships of records about to be replaced or deleted."""
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = _marks(len(chunk))
            for (blob,) in self.db.execute(f"SELECT facets FROM records WHERE id IN ({marks})", chunk):
                self.deltas.subtract(_unpack(blob))
            self.touched_nodes.update(
                row[0] for row in self.db.execute(f"SELECT DISTINCT node FROM links WHERE record IN ({marks})", chunk)
            )
            self.db.execute(f"DELETE FROM links WHERE record IN ({marks})", chunk)
            self.db.execute(f"DELETE FROM facet_links WHERE record IN ({marks})", chunk)
        self.db.executemany("DELETE FROM texts WHERE rowid = ?", ((i,) for i in ids))

    def _node_ids(self, wanted: dict[tuple[str, str], str]) -> None:
        """Ids for the batch's nodes: known ones looked up, new ones numbered and inserted."""
        missing = [pair for pair in wanted if pair not in self.nodes]
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            values = ", ".join("(?, ?)" for _ in chunk)
            flat = [v for pair in chunk for v in pair]
            for id_, kind, key, label in self.db.execute(
                f"SELECT id, kind, key, label FROM nodes WHERE (kind, key) IN (VALUES {values})", flat
            ):
                self.nodes[(kind, key)] = id_
                self.labels[id_] = label
        new = []
        for pair in missing:
            if pair not in self.nodes:
                self.nodes[pair] = self.next_node
                new.append((self.next_node, *pair, wanted[pair]))
                self.labels[self.next_node] = wanted[pair]
                self.next_node += 1
        self.db.executemany("INSERT INTO nodes(id, kind, key, label) VALUES (?, ?, ?, ?)", new)
        # The latest label written wins (a node's label follows its records' spelling).
        relabelled = [(label, self.nodes[pair]) for pair, label in wanted.items() if self.labels[self.nodes[pair]] != label]
        if relabelled:
            self.db.executemany("UPDATE nodes SET label = ? WHERE id = ?", relabelled)
            for label, id_ in relabelled:
                self.labels[id_] = label

    def finish(self) -> None:
        """Apply the net count changes and drop nodes no study links any more."""
        changes = [(facet, node, delta) for (facet, node), delta in self.deltas.items() if delta]
        self.db.executemany(
            "INSERT INTO facet_counts(facet, node, count) VALUES (?, ?, ?) "
            "ON CONFLICT(facet, node) DO UPDATE SET count = count + excluded.count",
            [c for c in changes if c[2] > 0],
        )
        dropped = [(facet, node, delta) for facet, node, delta in changes if delta < 0]
        self.db.executemany("DELETE FROM facet_counts WHERE facet = ? AND node = ? AND count + ? <= 0", dropped)
        self.db.executemany(
            "UPDATE facet_counts SET count = count + ? WHERE facet = ? AND node = ?",
            [(delta, facet, node) for facet, node, delta in dropped],
        )
        self.deltas.clear()
        if self.touched_nodes:
            self.db.executemany(
                "DELETE FROM nodes WHERE id = ? AND NOT EXISTS (SELECT 1 FROM links WHERE node = ?)",
                ((node, node) for node in self.touched_nodes),
            )
            for key in [k for k, v in self.nodes.items() if v in self.touched_nodes]:
                del self.nodes[key]
            self.touched_nodes.clear()


# ----------------------------------------------------------------------------- helpers


class _read:
    """One read transaction: every statement inside sees the same snapshot."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute("BEGIN")
        return self.connection

    def __exit__(self, *exc: object) -> None:
        self.connection.execute("COMMIT")


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _top(rows: Iterable[tuple[str, str, int]], limit: int) -> list[FacetCount]:
    """The *limit* largest counts, ties by label (case-insensitive), then key."""
    ordered = sorted(rows, key=lambda r: (-r[2], r[1].casefold(), r[0]))
    return [FacetCount(key, label, count) for key, label, count in ordered[:limit]]


def _node_labels(connection: sqlite3.Connection, nodes: list[int]) -> dict[int, tuple[str, str]]:
    labels: dict[int, tuple[str, str]] = {}
    for start in range(0, len(nodes), _CHUNK):
        chunk = nodes[start : start + _CHUNK]
        sql = f"SELECT id, key, label FROM nodes WHERE id IN ({_marks(len(chunk))})"
        labels.update((id_, (key, label)) for id_, key, label in connection.execute(sql, chunk))
    return labels


def _check_paging(page: int, size: int) -> None:
    if not isinstance(page, int) or not 1 <= page <= 10**9:
        raise ValueError(f"page must be a whole number from 1, not {page!r}")
    if not isinstance(size, int) or not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"size must be from 1 to {MAX_PAGE_SIZE}, not {size!r}")


def _check_limit(limit: int) -> None:
    if not isinstance(limit, int) or not 1 <= limit <= MAX_FACET_LIMIT:
        raise ValueError(f"facet limit must be from 1 to {MAX_FACET_LIMIT}, not {limit!r}")


def _check_years(years: tuple[int | None, int | None] | None) -> tuple[int | None, int | None] | None:
    if years is None:
        return None
    low, high = years
    for year in (low, high):
        if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
            raise ValueError(f"a year must be a whole number, not {year!r}")
    if low is None and high is None:
        return None
    if low is not None and high is not None and low > high:
        raise ValueError(f"year range {low}-{high} ends before it starts")
    return low, high
