"""The search index's query engine: search with facets and years, listings, paging.

Every read method runs in one read transaction (:func:`graph.search.sql.snapshot`), so a
total, its page and its facet counts always describe the same state of the index.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import partial

from ..sqlite_files import snapshot
from . import member_sets
from .facet_tops import MaintainedCounts, top_candidates
from .generations import PerGeneration
from .member_sets import BitsetCache, bitset
from .model import DecadeCount, FacetCount, Hit, RecordHead, SearchResult, record_head
from .schema import Facet
from .sql import CHUNK, marks
from .text import facet_token, fts_query, node_token, snippet

#: bm25 column weights (title, description, keywords, links): a title match outranks the
#: same word in a keyword, which outranks it in the description; link tokens never count.
BM25_WEIGHTS = (10.0, 1.0, 4.0, 0.0)
#: The columns user text is searched in.
TEXT_COLUMNS = "{title description keywords}"

MAX_PAGE_SIZE = 200
MAX_FACET_LIMIT = 1000


class SearchReader:
    """The read side of :class:`graph.search.index.SearchIndex`: it supplies this
    thread's read-only connection, the facets and what is kept per generation."""

    _facets: dict[str, Facet]
    _kept: PerGeneration
    _bitsets: BitsetCache

    def _reader(self) -> sqlite3.Connection:
        raise NotImplementedError

    def count(self) -> int:
        return self._state(self._reader())[1]

    def _state(self, connection: sqlite3.Connection) -> tuple[int | None, int]:
        """(the write generation, the records count) of this read's snapshot, from the
        state row every write updates in its transaction: ``count(*)`` walks the table
        (tens of ms at a million). An index of schema 3, opened read-only, has no state
        row: its records are counted, and its generation is None (nothing is kept)."""
        try:
            return connection.execute("SELECT generation, records FROM state").fetchone()
        except sqlite3.OperationalError:
            return None, connection.execute("SELECT count(*) FROM records").fetchone()[0]

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
        with snapshot(reader):
            if where:
                total = reader.execute("SELECT count(*) FROM records WHERE " + " AND ".join(where), params).fetchone()[0]
            else:
                total = self._state(reader)[1]
            return self._catalogue_rows(reader, where, params, after, before, size), total

    def _catalogue_rows(
        self, reader: sqlite3.Connection, where: list[str], params: list[str], after: str | None, before: str | None, size: int,
    ) -> list[tuple[str, str, str]]:
        if before is not None:
            clause = where + (["slug < ?"] if before else [])
            rows = reader.execute(
                "SELECT slug, title, modified FROM records" + (" WHERE " + " AND ".join(clause) if clause else "")
                + " ORDER BY slug DESC LIMIT ?", [*params, *([before] if before else []), size],
            ).fetchall()
            return [tuple(r) for r in reversed(rows)]
        clause = where + (["slug > ?"] if after else [])
        rows = reader.execute(
            "SELECT slug, title, modified FROM records" + (" WHERE " + " AND ".join(clause) if clause else "")
            + " ORDER BY slug LIMIT ?", [*params, *([after] if after else []), size],
        ).fetchall()
        return [tuple(r) for r in rows]

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
        with snapshot(connection):
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                sql = f"SELECT slug, content_hash FROM records WHERE slug IN ({marks(len(chunk))})"
                found.update(connection.execute(sql, chunk).fetchall())
        return found

    def head(self, slug: str) -> RecordHead | None:
        return record_head(self._reader().execute("SELECT content_hash, modified, doi, languages FROM records WHERE slug = ?", (slug,)).fetchone())

    def label(self, kind: str, key: str) -> str | None:
        """The label of a node that at least one indexed study links to, else None."""
        row = self._reader().execute("SELECT label FROM nodes WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return row[0] if row else None

    def findings(self, slug: str) -> str | None:
        """The findings kept for a record (JSON), None if it was not validated. An index
        written before findings were kept has no table for them: None too."""
        try:
            row = self._reader().execute(
                "SELECT f.report FROM findings AS f JOIN records AS r ON r.id = f.id WHERE r.slug = ?", (slug,)
            ).fetchone()
        except sqlite3.OperationalError:
            return None
        return row[0] if row else None

    def linked(self, kind: str, key: str, page: int = 1, size: int = 20) -> tuple[int, list[Hit]]:
        """The studies linking to a node in any role, ordered by title: (total, one page).

        The total is the node's maintained reference count. The page comes from walking
        the title index and keeping the node's studies (its member set, kept per
        generation: graph.search.member_sets) when that walk is short, as for a node
        most studies link to; else from the node's FTS5 doclist, ordered by title (see
        :meth:`_ordered_page`).
        """
        _check_paging(page, size)
        connection = self._reader()
        with snapshot(connection):
            row = connection.execute("SELECT id, refs FROM nodes WHERE kind = ? AND key = ?", (kind, key)).fetchone()
            if row is None:
                return 0, []
            node, total = row
            offset = (page - 1) * size
            if offset >= total:
                return total, []
            generation, everything = self._state(connection)
            if generation is not None and (offset + size) * everything <= TITLE_WALK * total:
                members = self._members(connection, generation, node_token(node))
                return total, self._hits(connection, _first_of(connection, members, offset, size))
            connection.execute("DELETE FROM temp.matching")
            connection.execute(
                "INSERT INTO temp.matching(id, score) SELECT rowid, 0.0 FROM texts WHERE texts MATCH ?",
                (f'links : "{node_token(node)}"',),
            )
            return total, self._ordered_page(connection, total, page, size)

    def nodes(self, kind: str, page: int = 1, size: int = 100) -> tuple[int, list[FacetCount]]:
        """The nodes of one kind that studies link to, by label: (total, one page), each
        with the number of studies linking it (for the list documents ``/keywords`` …)."""
        _check_paging(page, size)
        connection = self._reader()
        with snapshot(connection):
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
        with snapshot(connection):
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
        with snapshot(connection):
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
            matches = self._broad_matches(connection, total)
            reads = member_sets.search_reads(self._state(connection)[1])
            facets = self._count_matching(connection, total, facet_limit, matches, reads)
            decades = self._decades_of_matching(connection, matches, reads)
            # A facet's own choices are ORed, so its counts leave its own filter out: they
            # say how many studies each further choice would add, not the intersection.
            for name in filter_clauses:
                others = text_clauses + [clause for other, clause in filter_clauses.items() if other != name]
                if not others and span is None:
                    facets[name] = self._maintained(connection, self._facets[name], facet_limit)
                    continue
                without = self._collect(connection, " AND ".join(others) or None, False, span)
                facets[name] = self._count_matching(connection, without, facet_limit, self._broad_matches(connection, without), reads)[name]
            return SearchResult(total, hits, facets, page, size, decades)

    # -- search internals

    def _facet(self, name: str) -> Facet:
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
            for start in range(0, len(keys), CHUNK):
                chunk = keys[start : start + CHUNK]
                sql = f"SELECT id FROM nodes WHERE kind = ? AND key IN ({marks(len(chunk))})"
                token = node_token if facet.roles is None else partial(facet_token, facet.id)
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
        rows = {row[0]: row for row in connection.execute(f"SELECT {_HIT_COLUMNS} FROM records r WHERE r.id IN ({marks(len(ids))})", ids)}
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
        everything = self._state(connection)[1]
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
        total = self._state(connection)[1]
        rows = connection.execute(
            f"SELECT {_HIT_COLUMNS} FROM records r ORDER BY r.sort_key, r.slug LIMIT ? OFFSET ?", (size, (page - 1) * size)
        ).fetchall()
        facets = {name: self._maintained(connection, facet, facet_limit) for name, facet in self._facets.items()}
        return SearchResult(total, self._hits(connection, rows), facets, page, size, self._decades_of_all(connection))

    def _decades_of_all(self, connection: sqlite3.Connection) -> list[DecadeCount]:
        """The years facet of the whole index, counted once per state of it."""
        return self._kept.get(self._state(connection)[0], "decades", lambda: _decades(connection.execute(_SPANS + " FROM records r" + _SPANS_GROUP)))

    def _maintained(self, connection: sqlite3.Connection, facet: Facet, limit: int) -> list[FacetCount]:
        """The top of the maintained counts: the limit-th largest count, then all nodes at or above it."""
        row = connection.execute(
            "SELECT count FROM facet_counts WHERE facet = ? ORDER BY count DESC LIMIT 1 OFFSET ?", (facet.id, limit - 1)
        ).fetchone()
        rows = connection.execute(
            "SELECT n.key, n.label, c.count FROM facet_counts c JOIN nodes n ON n.id = c.node WHERE c.facet = ? AND c.count >= ?",
            (facet.id, row[0] if row else 1),
        ).fetchall()
        return _top(rows, limit)

    def _count_matching(
        self, connection: sqlite3.Connection, total: int, limit: int, matches: int | None, reads: member_sets.Reads,
    ) -> dict[str, list[FacetCount]]:
        """Facet counts over temp.matching (*matches*: the same set as a bitset, when broad;
        *reads*: what the search may read into member sets not kept yet).

        Counting in SQL (one row per study and node, GROUP BY facet, node) sorts about
        25 rows per study: 1.4M rows, most of a second, for a common word over 100k
        studies. Here each study's memberships are one packed int64 blob, the blobs are
        joined and counted by ``Counter`` in C; and when more than half of the studies
        match, the *complement* is counted and taken off the maintained counts
        (graph.search.facet_tops), so the work is bounded by half the index however broad
        the query. A broad search is counted from bitsets instead
        (graph.search.member_sets): only the nodes that can top a facet are counted, each
        by one AND and popcount. Counts are exact either way.
        """
        result: dict[str, list[FacetCount]] = {name: [] for name in self._facets}
        if total == 0:
            return result
        tops = self._tops_by_bitsets(connection, matches, limit, reads) if matches is not None else None
        if tops is None:
            complement = total > self._state(connection)[1] // 2
            if complement:
                blobs = connection.execute("SELECT facets FROM record_facets WHERE id NOT IN (SELECT id FROM temp.matching)")
            else:
                blobs = connection.execute("SELECT f.facets FROM temp.matching m CROSS JOIN record_facets f ON f.id = m.id")
            counted = Counter(array("q", b"".join(blob for (blob,) in blobs)))
            tops = top_candidates(counted, self._facets, limit, self._maintained_counts_of(connection) if complement else None)
        labels = _node_labels(connection, list({node for candidates in tops.values() for _, node in candidates}))
        return {name: _top([(*labels[node], count) for count, node in candidates if node in labels], limit) for name, candidates in tops.items()}

    def _broad_matches(self, connection: sqlite3.Connection, total: int) -> int | None:
        """temp.matching as a bitset when at least 1/BROAD of the index matches (its facets
        and years are then counted from bitsets), else None."""
        generation, everything = self._state(connection)
        if generation is None or not member_sets.is_broad(total, everything):
            return None  # (an index that keeps no member sets would read them for every search)
        return bitset(_ids(connection, "SELECT group_concat(id) FROM temp.matching", ()), self._top_id(connection))

    def _top_id(self, connection: sqlite3.Connection) -> int:
        return connection.execute("SELECT coalesce(max(id), 0) FROM records").fetchone()[0]

    def _tops_by_bitsets(
        self, connection: sqlite3.Connection, matches: int, limit: int, reads: member_sets.Reads,
    ) -> dict[str, list[tuple[int, int]]] | None:
        """Each facet's candidates for its top from bitsets (member_sets.tops_from_bitsets),
        a node's members read from its token's doclist and kept per generation (its
        maintained count is how many ids that reads)."""
        generation = self._state(connection)[0]

        def members(facet: Facet, node: int, size: int) -> int:
            token = node_token(node) if facet.roles is None else facet_token(facet.id, node)
            return self._members(connection, generation, token, size, reads)

        return member_sets.tops_from_bitsets(self._facets, limit, self._maintained_counts_of(connection), matches, members)

    def _members(
        self, connection: sqlite3.Connection, generation: int | None, token: str, size: int = 0, reads: member_sets.Reads | None = None,
    ) -> int:
        """The studies of a link token (a node's, or a facet membership's) as a bitset, read
        from its doclist and kept per generation (reading its *size* ids taken from
        *reads*, if given: member_sets.OverBudget if fewer are left)."""
        query = f'links : "{token}"'
        return self._bitsets.get(generation, token, lambda: bitset(
            _ids(connection, "SELECT group_concat(rowid) FROM texts WHERE texts MATCH ?", (query,)), self._top_id(connection),
        ), size, reads)

    def _decades_of_matching(self, connection: sqlite3.Connection, matches: int | None, reads: member_sets.Reads) -> list[DecadeCount]:
        """The years facet of temp.matching: given the matches as a bitset, from the
        bitsets of the studies of each span of decades (kept per generation; reading them
        takes a record's worth of *reads* each), else grouped in SQL."""
        generation, everything = self._state(connection)
        if matches is None or not (self._kept.kept(generation, "spans") or reads.spend(everything)):
            return _decades(connection.execute(_SPANS + " FROM temp.matching m CROSS JOIN records r ON r.id = m.id" + _SPANS_GROUP))
        spans = self._kept.get(generation, "spans", lambda: self._span_bitsets(connection))
        counted = ((first, last, (matches & studies).bit_count()) for (first, last), studies in spans.items())
        return _decades(span for span in counted if span[2])

    def _span_bitsets(self, connection: sqlite3.Connection) -> dict[tuple[int | None, int | None], int]:
        """The studies of each (first decade, last decade) of coverage, as bitsets: one pass
        over the records."""
        top = self._top_id(connection)
        ids: dict[tuple[int | None, int | None], list[int]] = {}
        for id_, first, last in connection.execute("SELECT r.id, r.start_year / 10, r.end_year / 10 FROM records r" + _SPANS_WHERE):
            ids.setdefault((first, last), []).append(id_)
        return {span: bitset(members, top) for span, members in ids.items()}

    def _maintained_counts_of(self, connection: sqlite3.Connection) -> MaintainedCounts:
        """Every maintained count, as of this read's snapshot (kept per generation)."""
        return self._kept.get(
            self._state(connection)[0], "maintained", lambda: MaintainedCounts.of(connection.execute("SELECT facet, node, count FROM facet_counts"))
        )

    def _hits(self, connection: sqlite3.Connection, rows: Iterable[tuple]) -> list[Hit]:
        hits = []
        for id_, slug, title, start, end, modified in rows:
            found = connection.execute("SELECT description FROM texts WHERE rowid = ?", (id_,)).fetchone()
            hits.append(Hit(slug, title, snippet(found[0]) if found else "", start, end, modified))
        return hits



_HIT_COLUMNS = "r.id, r.slug, r.title, r.start_year, r.end_year, r.modified"
#: Studies by (first decade, last decade) of their coverage: a few dozen groups.
_SPANS = "SELECT r.start_year / 10, r.end_year / 10, count(*)"
_SPANS_WHERE = " WHERE r.start_year IS NOT NULL OR r.end_year IS NOT NULL"
_SPANS_GROUP = _SPANS_WHERE + " GROUP BY 1, 2"
#: A node's page walks the title index when about this many rows at most are read.
TITLE_WALK = 20_000


def _ids(connection: sqlite3.Connection, sql: str, parameters: tuple) -> Iterator[int]:
    """The ids a ``group_concat`` of them gives: one string read and split in C is a
    quarter cheaper than a row a id (bitsets of most of a million studies)."""
    (joined,) = connection.execute(sql, parameters).fetchone()
    return map(int, joined.split(",")) if joined else iter(())


def _first_of(connection: sqlite3.Connection, members: int, offset: int, size: int) -> list[tuple]:
    """Rows *offset* to *offset + size* of the studies in *members*, in title order."""
    bits = members.to_bytes(members.bit_length() // 8 + 1, "little")  # a bit tested in O(1), not by shifting the int
    rows = []
    for row in connection.execute(f"SELECT {_HIT_COLUMNS} FROM records r INDEXED BY records_by_title ORDER BY r.sort_key, r.slug"):
        id_ = row[0]
        if id_ >> 3 < len(bits) and bits[id_ >> 3] >> (id_ & 7) & 1:
            if offset:
                offset -= 1
                continue
            rows.append(row)
            if len(rows) == size:
                break
    return rows


def _decades(spans: Iterable[tuple[int | None, int | None, int]]) -> list[DecadeCount]:
    """Studies per decade from counts per (first, last) decade: a study counts in every
    decade its coverage overlaps; an ongoing one up to the present decade, one with only
    an end in that decade alone."""
    present = dt.date.today().year // 10
    counts: Counter[int] = Counter()
    for start, end, count in spans:
        first = start if start is not None else end
        if first is None:  # no coverage at all: the query leaves such studies out
            continue
        last = end if end is not None else max(first, present)
        for decade in range(first, max(first, last) + 1):
            counts[decade * 10] += count
    return [DecadeCount(decade, count) for decade, count in sorted(counts.items())]


def _top(rows: Iterable[tuple[str, str, int]], limit: int) -> list[FacetCount]:
    """The *limit* largest counts, ties by label (case-insensitive), then key."""
    ordered = sorted(rows, key=lambda r: (-r[2], r[1].casefold(), r[0]))
    return [FacetCount(key, label, count) for key, label, count in ordered[:limit]]


def _node_labels(connection: sqlite3.Connection, nodes: list[int]) -> dict[int, tuple[str, str]]:
    labels: dict[int, tuple[str, str]] = {}
    for start in range(0, len(nodes), CHUNK):
        chunk = nodes[start : start + CHUNK]
        sql = f"SELECT id, key, label FROM nodes WHERE id IN ({marks(len(chunk))})"
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
