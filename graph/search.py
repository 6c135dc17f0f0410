"""The search index beside the graph: full-text search, facets and node listings in SQLite.

Why not SPARQL: listing 20 of 100k studies with six facet counts means grouping every
link of every matching study, and text search means scanning every description; the
store can do both, but not in the tens of milliseconds a listing page needs. So every
write to the graph also writes the record's :class:`~mappings.profile.RecordSummary`
here, and the web server answers search, facets, paging and "studies linked to this
keyword/organisation" from this file alone.

Layout (one SQLite file, WAL mode, so the server's reader threads never wait for the
writer and never see half a batch):

- ``texts``: one FTS5 table, rowid = ``records.id``, ``unicode61`` with diacritics
  removed. Columns ``title``, ``description``, ``keywords`` hold the searchable text
  (stored once, here: snippets are read back from it). Column ``links`` holds one
  token per linked node (``\\ue000n{node}``, which also serves the filters of facets
  that take any role) and one per membership of a facet that takes only some roles
  (``\\ue000f{facet}x{node}``: a funder, not a publisher): FTS5 is the inverted index
  for filters and node listings. Building it costs a fraction of a B-tree row per link
  (FTS5 buffers doclists and merges them), where a ``links(node, record)`` table with
  its indexes made the write path four times slower. The tokens start with a
  private-use character, which user text can never contain (:func:`fts_query` keeps
  letters and digits only), so user words never match them, nor do user prefixes
  expand over them.
- ``records``: one narrow row per study (slug, title, sort key, years, modified, hash);
  ``record_facets``: its facet memberships packed into an int64 blob, for counting
  (:meth:`SearchIndex._count_matching`); ``record_links``: its (node, role) pairs as
  JSON, read only when the record is replaced or deleted.
- ``nodes``: linked nodes (kind, key, label) and ``refs``, how many studies link them,
  kept by the write code; a node is dropped when that reaches 0.
- ``facet_counts``: how many studies each node has in each facet, **maintained at
  write time** (one upsert per node and batch, from the batch's net deltas), so the
  unfiltered facets of the home page are read, never computed.

User text never reaches SQL or the FTS5 query language as syntax: SQL takes ``?``
parameters only (the few table and column names in SQL strings are constants), and
:func:`fts_query` turns text into quoted FTS5 strings.
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
import re
import sqlite3
import threading
import unicodedata
import weakref
from array import array
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from mappings.profile import RecordSummary

from .sqlite_files import connect_read_only

if TYPE_CHECKING:
    from mappings.profile import MappedRecord

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
}

#: Bump when the tables change; an index of another version must be rebuilt.
SCHEMA_VERSION = 2

#: bm25 column weights (title, description, keywords, links): a title match outranks the
#: same word in a keyword, which outranks it in the description; link tokens never count.
BM25_WEIGHTS = (10.0, 1.0, 4.0, 0.0)
#: The columns user text is searched in.
TEXT_COLUMNS = "{title description keywords}"

MAX_PAGE_SIZE = 200
MAX_FACET_LIMIT = 1000
#: Words of user text that make it into a query; the rest is ignored (bounded work).
MAX_QUERY_WORDS = 16
SNIPPET_CHARS = 200

#: Rows per SQL statement on the write path (well under SQLite's variable limit).
_CHUNK = 400
#: Packed facet membership: node id in the high bits, facet id in the low ones.
_FACET_BITS = 8
#: Marks link tokens: a private-use character, a token character for unicode61 but
#: never part of a word taken from user text.
_TOKEN_MARK = "\ue000"

_WORD_PART = re.compile(r"[^\W_]+")
_TAG = re.compile(r"</?[A-Za-z][^<>]{0,500}>")
_SPACE = re.compile(r"\s+")


class SearchIndexError(RuntimeError):
    """The index file is missing, of another schema version, read-only, or closed."""


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


@dataclass(frozen=True)
class DecadeCount:
    """How many of the studies listed cover some of the ten years from *decade*."""

    decade: int
    count: int


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetCount]]
    page: int
    size: int
    #: The years facet: studies per decade their coverage overlaps, oldest first.
    decades: list[DecadeCount] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


# -------------------------------------------------------------------------------- text


def fts_query(text: str | None, *, prefix: bool = True) -> str | None:
    """A safe FTS5 query for user text, or None when it holds no searchable word.

    Each whitespace-separated word becomes a quoted FTS5 string of its letter/digit runs
    (``covid-19`` -> ``"covid 19"``, a phrase, as the tokenizer indexed it), so quotes,
    parentheses, ``AND``/``OR``/``NOT``/``NEAR``, ``column:`` filters and ``*`` in the
    input are plain text, never syntax. The strings are ANDed; the last one is a prefix
    match (``"heal"*``) while the user is still typing it (no trailing space), unless it
    is a single letter, whose prefix would expand over a large part of the vocabulary.
    """
    if not text:
        return None
    text = unicodedata.normalize("NFC", text)
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
    if "<" in text:
        text = _TAG.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def sort_key(title: str) -> str:
    """The key titles are ordered by: case and diacritics ignored (``Étude`` next to ``Etude``)."""
    if title.isascii():
        return title.lower().strip()
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


def _node_token(node: int) -> str:
    return f"{_TOKEN_MARK}n{node}"


def _facet_token(facet: int, node: int) -> str:
    """The token of a membership of a facet that takes only some roles (a sponsor, not a publisher)."""
    return f"{_TOKEN_MARK}f{facet}x{node}"


def _pack(pairs: Iterable[tuple[int, int]]) -> bytes:
    """Facet memberships (facet id, node id) as an int64 blob (see _count_matching)."""
    return array("q", [(node << _FACET_BITS) | facet for facet, node in pairs]).tobytes()


def _unpack(blob: bytes) -> list[tuple[int, int]]:
    mask = (1 << _FACET_BITS) - 1
    return [(value & mask, value >> _FACET_BITS) for value in array("q", blob)]


# ------------------------------------------------------------------------------ schema

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS records(
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    sort_key TEXT NOT NULL,
    start_year INTEGER,
    end_year INTEGER,
    modified TEXT NOT NULL,
    content_hash TEXT NOT NULL
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
    id INTEGER PRIMARY KEY CHECK (id > 0 AND id < {1 << _FACET_BITS}),
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
"""

_TABLES = ("records", "record_facets", "record_links", "nodes", "facet_counts")


def _definition(kind: str, roles: frozenset[str] | None) -> str:
    return json.dumps([kind, sorted(roles) if roles is not None else None])


@dataclass(frozen=True)
class _Facet:
    id: int
    name: str
    kind: str
    roles: frozenset[str] | None

    def takes(self, kind: str, role: str) -> bool:
        return kind == self.kind and (self.roles is None or role in self.roles)


# ------------------------------------------------------------------------------- index


class SearchIndex:
    """A search index in one SQLite file: one writer, any number of reader threads.

    Reads use one connection per thread, opened read-only (``mode=ro``); writes use one
    connection behind a lock. WAL mode lets readers go on, each on its snapshot, while a
    batch is written, and every read method runs in one read transaction, so a total,
    its page and its facet counts always describe the same state of the index.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._local = threading.local()
        self._lock = threading.RLock()
        #: Bumped by every write of this process (the one that owns the store), so the
        #: unfiltered years facet is counted once per state, not once per request.
        self._generation = 0
        self._all_decades: tuple[int, list[DecadeCount]] | None = None
        self._readers: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        self._writer: sqlite3.Connection | None = None
        self._closed = False
        if read_only:
            if not self.path.is_file():
                raise SearchIndexError(f"no search index at {self.path}")
            self._check_version(self._reader())
            rows = self._reader().execute("SELECT id, name, definition FROM facets").fetchall()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self._writer.execute("PRAGMA journal_mode=WAL")
            # The index is rebuilt from the graph if need be: a power cut may lose the last
            # batches (WAL + NORMAL) but never corrupts the file.
            self._writer.execute("PRAGMA synchronous=NORMAL")
            self._writer.execute("PRAGMA cache_size=-65536")
            self._writer.execute("PRAGMA temp_store=MEMORY")
            self._create_schema()
            rows = self._writer.execute("SELECT id, name, definition FROM facets").fetchall()
        stored = {name: (id_, definition) for id_, name, definition in rows}
        # Read-only: a facet whose stored definition differs is left out rather than miscounted.
        self._facets = {
            name: _Facet(stored[name][0], name, kind, roles)
            for name, (kind, roles) in FACETS.items()
            if name in stored and stored[name][1] == _definition(kind, roles)
        }

    # -- connections

    def _reader(self) -> sqlite3.Connection:
        """This thread's read-only connection (opened on first use)."""
        if self._closed:
            raise SearchIndexError("the search index is closed")
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # Shared with other threads only so that close() may close it from any thread;
            # only its own thread uses it.
            connection = connect_read_only(self.path)
            connection.execute("PRAGMA temp_store=MEMORY")
            connection.execute("PRAGMA mmap_size=268435456")
            connection.execute("CREATE TEMP TABLE IF NOT EXISTS matching(id INTEGER PRIMARY KEY, score REAL NOT NULL)")
            self._local.connection = connection
            with self._lock:
                # Close the connections of threads that have ended (a server that starts a
                # thread per request would otherwise keep one open file per request).
                alive = []
                for thread, other in self._readers:
                    owner = thread()
                    if owner is None or not owner.is_alive():
                        other.close()
                    else:
                        alive.append((thread, other))
                alive.append((weakref.ref(threading.current_thread()), connection))
                self._readers = alive
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
            for _, connection in self._readers:
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
            self._check_version(db, fresh_ok=True)
            db.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;")
            self._sync_facets(db)

    def _check_version(self, connection: sqlite3.Connection, fresh_ok: bool = False) -> None:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION and not (fresh_ok and version == 0):
            raise SearchIndexError(
                f"{self.path} is a search index of schema version {version}, not {SCHEMA_VERSION}: "
                "delete it and load the records again"
            )

    def _sync_facets(self, db: sqlite3.Connection) -> None:
        """Make the stored facets those of :data:`FACETS`, recomputing memberships if they differ."""
        with _transaction(db):
            stored = {name: (id_, definition) for id_, name, definition in db.execute("SELECT id, name, definition FROM facets")}
            wanted = {name: _definition(kind, roles) for name, (kind, roles) in FACETS.items()}
            if {name: d for name, (_, d) in stored.items()} == wanted:
                return
            for name in stored.keys() - wanted.keys():
                db.execute("DELETE FROM facets WHERE name = ?", (name,))
            used = {stored[name][0] for name in stored.keys() & wanted.keys()}
            free = (i for i in range(1, 1 << _FACET_BITS) if i not in used)
            for name, definition in wanted.items():
                if name in stored:
                    db.execute("UPDATE facets SET definition = ? WHERE name = ?", (definition, name))
                else:
                    db.execute("INSERT INTO facets(id, name, definition) VALUES (?, ?, ?)", (next(free), name, definition))
            self._recompute_facets(db)

    def _recompute_facets(self, db: sqlite3.Connection) -> None:
        """Facet memberships, tokens and counts of every record again, from ``record_links``."""
        facets = [_Facet(id_, name, *FACETS[name]) for id_, name in db.execute("SELECT id, name FROM facets")]
        kinds = dict(db.execute("SELECT id, kind FROM nodes"))
        counts: Counter[tuple[int, int]] = Counter()
        db.execute("DELETE FROM facet_counts")
        for id_, links in db.execute("SELECT id, links FROM record_links").fetchall():
            pairs = [(node, role) for node, role in json.loads(links)]
            memberships = {(f.id, node) for node, role in pairs for f in facets if f.takes(kinds[node], role)}
            counts.update(memberships)
            db.execute("UPDATE record_facets SET facets = ? WHERE id = ?", (_pack(memberships), id_))
            restricted = {(f.id, node) for node, role in pairs for f in facets if f.roles is not None and f.takes(kinds[node], role)}
            db.execute("UPDATE texts SET links = ? WHERE rowid = ?", (_tokens(pairs, restricted), id_))
        db.executemany("INSERT INTO facet_counts(facet, node, count) VALUES (?, ?, ?)", ((f, n, c) for (f, n), c in counts.items()))

    # -- writing

    def replace(self, entries: Iterable[IndexEntry]) -> None:
        """Insert or replace each entry's record, in one transaction for the whole batch.

        Readers see the batch all at once or not at all. An entry whose content hash and
        modified stamp equal the stored ones is skipped (the graph did not change either).
        A slug given twice keeps its last entry. Facet counts and node references move
        by the net change of the batch: one upsert per affected node, not per link.
        """
        db = self._write()
        with self._lock, _transaction(db):
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
            self._generation += 1

    def delete(self, slug: str) -> bool:
        """Remove a record; its nodes' counts drop, and nodes no study links any more go."""
        db = self._write()
        with self._lock, _transaction(db):
            row = db.execute("SELECT id FROM records WHERE slug = ?", (slug,)).fetchone()
            if row is None:
                return False
            writer = _BatchWriter(db, self._facets)
            writer.remove([row[0]])
            for table in ("records", "record_facets", "record_links"):
                db.execute(f"DELETE FROM {table} WHERE id = ?", row)  # constant table names
            writer.finish()
            self._generation += 1
            return True

    def clear(self) -> None:
        """Empty the index (before a full rebuild from the graph)."""
        db = self._write()
        with self._lock, _transaction(db):
            for table in (*_TABLES, "texts"):
                db.execute(f"DELETE FROM {table}")  # constant table names
            self._generation += 1

    def optimize(self) -> None:
        """Merge the FTS5 segments into one (after a bulk load: smaller file, faster queries)."""
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

    def slugs(self) -> list[str]:
        """Every indexed record's slug, in slug order."""
        return [row[0] for row in self._reader().execute("SELECT slug FROM records ORDER BY slug")]

    def hashes(self, slugs: Iterable[str]) -> dict[str, str]:
        """Stored content hashes of the given slugs, to tell whether the index is behind the graph."""
        found: dict[str, str] = {}
        connection = self._reader()
        wanted = list(slugs)
        with _read(connection):
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
        """The studies linking to a node in any role, ordered by title: (total, one page).

        The total is the node's maintained reference count; the page comes from the
        node's FTS5 doclist, ordered by title (see :meth:`_ordered_page`).
        """
        _check_paging(page, size)
        connection = self._reader()
        with _read(connection):
            row = connection.execute("SELECT id, refs FROM nodes WHERE kind = ? AND key = ?", (kind, key)).fetchone()
            if row is None:
                return 0, []
            node, total = row
            if (page - 1) * size >= total:
                return total, []
            connection.execute("DELETE FROM temp.matching")
            connection.execute(
                "INSERT INTO temp.matching(id, score) SELECT rowid, 0.0 FROM texts WHERE texts MATCH ?",
                (f'links : "{_node_token(node)}"',),
            )
            return total, self._ordered_page(connection, total, page, size)

    def nodes(self, kind: str, page: int = 1, size: int = 100) -> tuple[int, list[FacetCount]]:
        """The nodes of one kind that studies link to, by label: (total, one page), each
        with the number of studies linking it (for the list documents ``/keywords`` …)."""
        _check_paging(page, size)
        connection = self._reader()
        with _read(connection):
            (total,) = connection.execute("SELECT COUNT(*) FROM nodes WHERE kind = ? AND refs > 0", (kind,)).fetchone()
            rows = connection.execute(
                "SELECT key, label, refs FROM nodes WHERE kind = ? AND refs > 0 ORDER BY label COLLATE NOCASE, key LIMIT ? OFFSET ?",
                (kind, size, (page - 1) * size),
            ).fetchall()
        return total, [FacetCount(*row) for row in rows]

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
        bm25 with title > keywords > description; without text, all studies by title.
        *filters*: facet name -> node keys, OR within a facet, AND across facets; an
        unknown facet name is a ValueError, an unknown key matches nothing.
        *years*: (from, to), either end open (None), given the wrong way round it is
        swapped; a study matches when its [start_year, end_year] overlaps (a missing end
        is ongoing, a missing start open; a study without any year does not match).
        Facet counts are over the matching studies: the maintained counts when nothing
        narrows the set, else counted (see :meth:`_count_matching`); a facet with chosen
        keys is counted without its own filter (its choices are ORed).
        """
        _check_paging(page, size)
        _check_limit(facet_limit)
        user = fts_query(text)
        wanted = self._filters(filters)
        span = _check_years(years)
        connection = self._reader()
        with _read(connection):
            if user is None and not wanted and span is None:
                return self._browse(connection, page, size, facet_limit)
            text_clauses = [f"{TEXT_COLUMNS} : ({user})"] if user is not None else []
            filter_clauses: dict[str, str] = {}
            for name, tokens in zip(wanted, self._resolve(connection, wanted)):
                if not tokens:  # no node has any of the keys asked for: nothing matches
                    return SearchResult(0, [], {name: [] for name in self._facets}, page, size)
                filter_clauses[name] = "links : (" + " OR ".join(f'"{token}"' for token in tokens) + ")"
            clauses = text_clauses + list(filter_clauses.values())
            total = self._collect(connection, " AND ".join(clauses) or None, user is not None, span)
            if user is not None:
                hits = self._ranked_page(connection, total, page, size)
            else:
                hits = self._ordered_page(connection, total, page, size)
            facets = self._count_matching(connection, total, facet_limit)
            decades = _decades(connection.execute(_SPANS + " FROM temp.matching m CROSS JOIN records r ON r.id = m.id" + _SPANS_GROUP))
            # A facet's own choices are ORed, so its counts leave its own filter out: they
            # say how many studies each further choice would add, not the intersection.
            for name in filter_clauses:
                others = text_clauses + [clause for other, clause in filter_clauses.items() if other != name]
                if not others and span is None:
                    facets[name] = self._maintained(connection, self._facets[name], facet_limit)
                    continue
                without = self._collect(connection, " AND ".join(others) or None, False, span)
                facets[name] = self._count_matching(connection, without, facet_limit)[name]
            return SearchResult(total, hits, facets, page, size, decades)

    # -- search internals

    def _facet(self, name: str) -> _Facet:
        try:
            return self._facets[name]
        except KeyError:
            raise ValueError(f"unknown facet {name!r}; the facets are {', '.join(self._facets)}") from None

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

    def _resolve(self, connection: sqlite3.Connection, wanted: dict[str, list[str]]) -> list[list[str]]:
        """The filters as FTS5 tokens of facet memberships, one list per facet (OR within)."""
        resolved = []
        for name, keys in wanted.items():
            facet = self._facets[name]
            tokens: list[str] = []
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                sql = f"SELECT id FROM nodes WHERE kind = ? AND key IN ({_marks(len(chunk))})"
                token = _node_token if facet.roles is None else partial(_facet_token, facet.id)
                tokens.extend(token(row[0]) for row in connection.execute(sql, (facet.kind, *chunk)))
            resolved.append(tokens)
        return resolved

    def _collect(self, connection: sqlite3.Connection, match: str | None, ranked: bool, span: tuple[int | None, int | None] | None) -> int:
        """Fill temp.matching with the matching studies (and bm25 scores); return how many.

        *match* is built from constant syntax and quoted tokens only (user words through
        :func:`fts_query`, filter tokens from node ids). The FTS5 table drives the join
        (CROSS JOIN): with ``records`` outside, SQLite would run the MATCH once per record.
        """
        parameters: list[object] = []
        score = f"bm25(texts, {', '.join(map(str, BM25_WEIGHTS))})" if ranked else "0.0"
        conditions: list[str] = []
        if match is not None:
            sql = f"SELECT texts.rowid, {score} FROM texts"
            if span is not None:
                sql += " CROSS JOIN records r ON r.id = texts.rowid"
            conditions.append("texts MATCH ?")
            parameters.append(match)
        else:
            sql = "SELECT r.id, 0.0 FROM records r"
        if span is not None:
            low, high = span
            conditions.append("(r.start_year IS NOT NULL OR r.end_year IS NOT NULL)")
            if high is not None:
                conditions.append("(r.start_year IS NULL OR r.start_year <= ?)")
                parameters.append(high)
            if low is not None:
                conditions.append("(r.end_year IS NULL OR r.end_year >= ?)")
                parameters.append(low)
        sql += " WHERE " + " AND ".join(conditions)
        connection.execute("DELETE FROM temp.matching")
        connection.execute(f"INSERT INTO temp.matching(id, score) {sql}", parameters)
        return connection.execute("SELECT count(*) FROM temp.matching").fetchone()[0]

    def _ranked_page(self, connection: sqlite3.Connection, total: int, page: int, size: int) -> list[Hit]:
        """A page of temp.matching by score (ties by id): a top-k sort of (id, score) pairs."""
        offset = (page - 1) * size
        if offset >= total:
            return []
        ids = [row[0] for row in connection.execute("SELECT id FROM temp.matching ORDER BY score, id LIMIT ? OFFSET ?", (size, offset))]
        rows = {row[0]: row for row in connection.execute(f"SELECT {_HIT_COLUMNS} FROM records r WHERE r.id IN ({_marks(len(ids))})", ids)}
        return self._hits(connection, [rows[i] for i in ids if i in rows])

    def _ordered_page(self, connection: sqlite3.Connection, total: int, page: int, size: int) -> list[Hit]:
        """A page of temp.matching by title.

        Two plans: walk the title index and keep the matching studies until the page is
        full (cheap when many match: about (offset + size) * N / total steps), or sort
        the matching studies (cheap when few match: total steps). The cheaper one is used.
        """
        offset = (page - 1) * size
        if offset >= total:
            return []
        everything = connection.execute("SELECT count(*) FROM records").fetchone()[0]
        if (offset + size) * everything < total * total:
            sql = (
                f"SELECT {_HIT_COLUMNS} FROM records r INDEXED BY records_by_title "
                "WHERE r.id IN (SELECT id FROM temp.matching) ORDER BY r.sort_key, r.slug LIMIT ? OFFSET ?"
            )
        else:
            sql = (
                f"SELECT {_HIT_COLUMNS} FROM temp.matching m CROSS JOIN records r ON r.id = m.id "
                "ORDER BY r.sort_key, r.slug LIMIT ? OFFSET ?"
            )
        return self._hits(connection, connection.execute(sql, (size, offset)).fetchall())

    def _browse(self, connection: sqlite3.Connection, page: int, size: int, facet_limit: int) -> SearchResult:
        """Everything, by title, with the maintained counts: the home listing, nothing counted."""
        total = connection.execute("SELECT count(*) FROM records").fetchone()[0]
        rows = connection.execute(
            f"SELECT {_HIT_COLUMNS} FROM records r ORDER BY r.sort_key, r.slug LIMIT ? OFFSET ?", (size, (page - 1) * size)
        ).fetchall()
        facets = {name: self._maintained(connection, facet, facet_limit) for name, facet in self._facets.items()}
        return SearchResult(total, self._hits(connection, rows), facets, page, size, self._decades_of_all(connection))

    def _decades_of_all(self, connection: sqlite3.Connection) -> list[DecadeCount]:
        """The years facet of the whole index, counted once per state of it."""
        known = self._all_decades
        if known is not None and known[0] == self._generation:
            return known[1]
        generation = self._generation
        counted = _decades(connection.execute(_SPANS + " FROM records r" + _SPANS_GROUP))
        self._all_decades = (generation, counted)
        return counted

    def _maintained(self, connection: sqlite3.Connection, facet: _Facet, limit: int) -> list[FacetCount]:
        """The top of the maintained counts: the limit-th largest count, then all nodes at or above it."""
        row = connection.execute(
            "SELECT count FROM facet_counts WHERE facet = ? ORDER BY count DESC LIMIT 1 OFFSET ?", (facet.id, limit - 1)
        ).fetchone()
        rows = connection.execute(
            "SELECT n.key, n.label, c.count FROM facet_counts c JOIN nodes n ON n.id = c.node WHERE c.facet = ? AND c.count >= ?",
            (facet.id, row[0] if row else 1),
        ).fetchall()
        return _top(rows, limit)

    def _count_matching(self, connection: sqlite3.Connection, total: int, limit: int) -> dict[str, list[FacetCount]]:
        """Facet counts over temp.matching.

        Counting in SQL (one row per study and node, GROUP BY facet, node) sorts about
        25 rows per study: 1.4M rows, most of a second, for a common word over 100k
        studies. Here each study's memberships are one packed int64 blob, the blobs are
        joined and counted by ``Counter`` in C; and when more than half of the studies
        match, the *complement* is counted and subtracted from the maintained counts, so
        the work is bounded by half the index however broad the query. Counts are exact.
        """
        result: dict[str, list[FacetCount]] = {name: [] for name in self._facets}
        if total == 0:
            return result
        everything = connection.execute("SELECT count(*) FROM records").fetchone()[0]
        complement = total > everything // 2
        if complement:
            blobs = connection.execute("SELECT facets FROM record_facets WHERE id NOT IN (SELECT id FROM temp.matching)")
        else:
            blobs = connection.execute("SELECT f.facets FROM temp.matching m CROSS JOIN record_facets f ON f.id = m.id")
        counted = Counter(array("q", b"".join(blob for (blob,) in blobs)))
        if complement:
            maintained = Counter(
                {(node << _FACET_BITS) | facet: count for facet, node, count in connection.execute("SELECT facet, node, count FROM facet_counts")}
            )
            maintained.subtract(counted)
            counted = +maintained  # keeps the positive counts only
        mask = (1 << _FACET_BITS) - 1
        per_facet: dict[int, list[tuple[int, int]]] = {}
        for value, count in counted.items():
            per_facet.setdefault(value & mask, []).append((count, value >> _FACET_BITS))
        for name, facet in self._facets.items():
            candidates = per_facet.get(facet.id, [])
            if len(candidates) > limit:  # only the nodes that can make the top need labels
                floor = heapq.nlargest(limit, (count for count, _ in candidates))[-1]
                candidates = [c for c in candidates if c[0] >= floor]
            if candidates:
                labels = _node_labels(connection, [node for _, node in candidates])
                result[name] = _top([(*labels[node], count) for count, node in candidates if node in labels], limit)
        return result

    def _hits(self, connection: sqlite3.Connection, rows: Iterable[tuple]) -> list[Hit]:
        hits = []
        for id_, slug, title, start, end, modified in rows:
            found = connection.execute("SELECT description FROM texts WHERE rowid = ?", (id_,)).fetchone()
            hits.append(Hit(slug, title, snippet(found[0]) if found else "", start, end, modified))
        return hits


_HIT_COLUMNS = "r.id, r.slug, r.title, r.start_year, r.end_year, r.modified"
#: Studies by (first decade, last decade) of their coverage: a few dozen groups.
_SPANS = "SELECT r.start_year / 10, r.end_year / 10, count(*)"
_SPANS_GROUP = " WHERE r.start_year IS NOT NULL OR r.end_year IS NOT NULL GROUP BY 1, 2"


def _decades(spans: Iterable[tuple[int | None, int | None, int]]) -> list[DecadeCount]:
    """Studies per decade from counts per (first, last) decade: a study counts in every
    decade its coverage overlaps; an ongoing one up to the present decade, one with only
    an end in that decade alone."""
    present = dt.date.today().year // 10
    counts: Counter[int] = Counter()
    for first, last, count in spans:
        if first is None:
            first = last
        if last is None:
            last = max(first, present)
        for decade in range(first, max(first, last) + 1):
            counts[decade * 10] += count
    return [DecadeCount(decade, count) for decade, count in sorted(counts.items())]


class _BatchWriter:
    """The write path of one transaction: rows by executemany, counts by net deltas."""

    def __init__(self, db: sqlite3.Connection, facets: dict[str, _Facet]) -> None:
        self.db = db
        self.facets = list(facets.values())
        self.facets_of_kind: dict[str, list[_Facet]] = {}
        for facet in self.facets:
            self.facets_of_kind.setdefault(facet.kind, []).append(facet)
        self.counts: Counter[tuple[int, int]] = Counter()  # (facet, node) -> change
        self.refs: Counter[int] = Counter()  # node -> change in studies linking it
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
            e for e in entries if e.summary.slug not in existing or existing[e.summary.slug][1:] != (e.content_hash, e.modified)
        ]
        if not entries:
            return
        replaced = [existing[e.summary.slug][0] for e in entries if e.summary.slug in existing]
        if replaced:
            self.remove(replaced)
        self._node_ids({(link.kind, link.key): link.label for e in entries for link in e.summary.links})
        records, record_facets, record_links, texts = [], [], [], []
        for entry in entries:
            summary = entry.summary
            if summary.slug in existing:
                id_ = existing[summary.slug][0]
            else:
                id_ = self.next_record
                self.next_record += 1
            resolved = [(self.nodes[(link.kind, link.key)], link) for link in summary.links]
            pairs = list(dict.fromkeys((node, link.role) for node, link in resolved))
            memberships: set[tuple[int, int]] = set()
            restricted: set[tuple[int, int]] = set()
            for node, link in resolved:
                for f in self.facets_of_kind.get(link.kind, ()):
                    if f.roles is None:
                        memberships.add((f.id, node))
                    elif link.role in f.roles:
                        memberships.add((f.id, node))
                        restricted.add((f.id, node))
            records.append(
                (id_, summary.slug, summary.title, sort_key(summary.title), summary.start_year, summary.end_year,
                 entry.modified, entry.content_hash)
            )
            record_facets.append((id_, _pack(memberships)))
            record_links.append((id_, json.dumps(pairs, separators=(",", ":"))))
            # The tokenizer ignores spacing: only tags are dropped from the indexed text.
            description = _TAG.sub(" ", summary.description) if "<" in summary.description else summary.description
            texts.append((id_, summary.title, description, "\n".join(summary.keywords), _tokens(pairs, restricted)))
            self.counts.update(memberships)
            self.refs.update({node for node, _ in pairs})
        self.db.executemany(
            "INSERT OR REPLACE INTO records(id, slug, title, sort_key, start_year, end_year, modified, content_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            records,
        )
        self.db.executemany("INSERT OR REPLACE INTO record_facets(id, facets) VALUES (?, ?)", record_facets)
        self.db.executemany("INSERT OR REPLACE INTO record_links(id, links) VALUES (?, ?)", record_links)
        self.db.executemany("INSERT INTO texts(rowid, title, description, keywords, links) VALUES (?, ?, ?, ?, ?)", texts)

    def remove(self, ids: list[int]) -> None:
        """Take back the counts and references of records about to be replaced or deleted, and their text."""
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for (blob,) in self.db.execute(f"SELECT facets FROM record_facets WHERE id IN ({_marks(len(chunk))})", chunk):
                self.counts.subtract(_unpack(blob))
            for (links,) in self.db.execute(f"SELECT links FROM record_links WHERE id IN ({_marks(len(chunk))})", chunk):
                self.refs.subtract({node for node, _ in json.loads(links)})
        self.db.executemany("DELETE FROM texts WHERE rowid = ?", ((i,) for i in ids))

    def _node_ids(self, wanted: dict[tuple[str, str], str]) -> None:
        """Ids for the batch's nodes: known ones looked up, new ones numbered and inserted."""
        missing = [pair for pair in wanted if pair not in self.nodes]
        by_kind: dict[str, list[str]] = {}
        for kind, key in missing:
            by_kind.setdefault(kind, []).append(key)
        for kind, keys in by_kind.items():
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                sql = f"SELECT id, key, label FROM nodes WHERE kind = ? AND key IN ({_marks(len(chunk))})"
                for id_, key, label in self.db.execute(sql, (kind, *chunk)):
                    self.nodes[(kind, key)] = id_
                    self.labels[id_] = label
        new = []
        for pair in missing:
            if pair not in self.nodes:
                self.nodes[pair] = self.next_node
                self.labels[self.next_node] = wanted[pair]
                new.append((self.next_node, *pair, wanted[pair]))
                self.next_node += 1
        self.db.executemany("INSERT INTO nodes(id, kind, key, label, refs) VALUES (?, ?, ?, ?, 0)", new)
        # The latest label written wins: a node's label follows its records' spelling.
        relabelled = [(label, self.nodes[pair]) for pair, label in wanted.items() if self.labels[self.nodes[pair]] != label]
        self.db.executemany("UPDATE nodes SET label = ? WHERE id = ?", relabelled)
        self.labels.update((id_, label) for label, id_ in relabelled)

    def finish(self) -> None:
        """Apply the net changes to the counts, and drop nodes no study links any more."""
        grown = [(facet, node, delta) for (facet, node), delta in self.counts.items() if delta > 0]
        shrunk = [(facet, node, delta) for (facet, node), delta in self.counts.items() if delta < 0]
        self.db.executemany(
            "INSERT INTO facet_counts(facet, node, count) VALUES (?, ?, ?) "
            "ON CONFLICT(facet, node) DO UPDATE SET count = count + excluded.count",
            grown,
        )
        self.db.executemany("DELETE FROM facet_counts WHERE facet = ? AND node = ? AND count + ? <= 0", shrunk)
        self.db.executemany(
            "UPDATE facet_counts SET count = count + ? WHERE facet = ? AND node = ?", ((d, f, n) for f, n, d in shrunk)
        )
        self.db.executemany("UPDATE nodes SET refs = refs + ? WHERE id = ?", ((d, n) for n, d in self.refs.items() if d))
        self.db.executemany("DELETE FROM nodes WHERE id = ? AND refs <= 0", ((n,) for n, d in self.refs.items() if d < 0))
        self.counts.clear()
        self.refs.clear()


# ----------------------------------------------------------------------------- helpers


def _tokens(pairs: Iterable[tuple[int, str]], restricted: Iterable[tuple[int, int]]) -> str:
    """The ``links`` column of a record: a token per linked node, which also serves the
    filters of facets that take any role, and a token per membership of a facet that
    takes only some roles."""
    nodes = dict.fromkeys(node for node, _ in pairs)
    return " ".join([*map(_node_token, nodes), *(_facet_token(f, n) for f, n in restricted)])


class _transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, *exc: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")


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
    if not isinstance(page, int) or isinstance(page, bool) or not 1 <= page <= 10**9:
        raise ValueError(f"page must be a whole number from 1, not {page!r}")
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"size must be from 1 to {MAX_PAGE_SIZE}, not {size!r}")


def _check_limit(limit: int) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_FACET_LIMIT:
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
        low, high = high, low
    return low, high
