"""The catalogue index in PostgreSQL: the same answers as graph.search.SearchIndex.

Every read method runs in one REPEATABLE READ transaction (or is one statement), so a
total, its page and its facets describe one state of the index. Writes take the
schema's advisory lock: one writer at a time, as SQLite's ``BEGIN IMMEDIATE``.

Matching: text through the ``tsvector`` built from FTS5's own tokens
(graph.postgres.tokens), filters through the GIN-indexed facet memberships, years as in
SQLite. Ranking: FTS5's bm25 with the same column weights, computed in SQL from the same
inputs (phrase frequencies weighted by column, row sizes in FTS5 tokens, the row and
token totals, the same IDF), ties by id as in SQLite, so pages come in the same order
(see graph.postgres.tokens for the tsvector limits where frequencies can differ).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg

from studygraph.graph.search import BM25_WEIGHTS, DecadeCount, FacetCount, Hit, IndexEntry, SearchIndexError, SearchResult, member_sets
from studygraph.graph.search.facet_tops import MaintainedCounts, top_candidates
from studygraph.graph.search.generations import PerGeneration
from studygraph.graph.search.member_sets import BitsetCache, bitset
from studygraph.graph.search.model import RecordHead, record_head
from studygraph.graph.search.reader import _check_limit, _check_paging, _check_years, _decades, _top  # the same rules
from studygraph.graph.search.schema import FACET_BITS, Facet
from studygraph.graph.search.text import snippet
from studygraph.graph.search.writer import latest_batches

from . import schema
from .database import Database, DatabaseError, Place
from .tokens import Phrase, phrases, tsquery
from .writer import PostgresBatchWriter

#: A prefix standing for more indexed words than this is weighed in one pass over a row's
#: words rather than a lookup per word (measured: the pass costs about four lookups).
MAX_PREFIX_WORDS = 4
#: FTS5's bm25 constants.
K1, B = 1.2, 0.75
_HIT_COLUMNS = "r.id, r.slug, r.title, r.start_year, r.end_year, r.modified, r.description"
_SPANS_OF = "SELECT r.start_year / 10, r.end_year / 10, count(*) FROM {s}.records r WHERE "
_SPANS = _SPANS_OF + "(r.start_year IS NOT NULL OR r.end_year IS NOT NULL)"


class Where:
    """A conjunction of SQL conditions on ``records r`` and their parameters."""

    def __init__(self, clauses: Iterable[tuple[str, Sequence[object]]] = ()) -> None:
        self.clauses = list(clauses)

    def sql(self) -> str:
        return " AND ".join(c for c, _ in self.clauses) or "true"

    def params(self) -> list[object]:
        return [p for _, ps in self.clauses for p in ps]


class PostgresSearchIndex:
    """A :class:`graph.search.CatalogueIndex` in one PostgreSQL schema."""

    def __init__(self, place: Place | str, *, read_only: bool = False) -> None:
        self.place = Place.parse(place) if isinstance(place, str) else place
        self.read_only = read_only
        self.db = Database(self.place)
        self._closed = False
        self._kept = PerGeneration()
        self._bitsets = BitsetCache()
        try:
            self._facets = schema.read_facets(self.db) if read_only else schema.create(self.db)
        except DatabaseError as error:
            raise SearchIndexError(str(error)) from error

    def close(self) -> None:
        """Stop using the schema (the process's pool stays open for the others)."""
        self._closed = True

    def __enter__(self) -> PostgresSearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self) -> Any:
        if self._closed:
            raise SearchIndexError("the search index is closed")
        return self.db.read()

    def _write(self) -> Any:
        if self._closed:
            raise SearchIndexError("the search index is closed")
        if self.read_only:
            raise SearchIndexError("the search index was opened read-only")
        return self.db.write()

    def _q(self, text: str) -> Any:
        return self.db.q(text)

    # -- listings

    def count(self) -> int:
        with self._read() as c:
            return self._everything(c)

    def catalogue_page(
        self, *, after: str | None = None, before: str | None = None, size: int = 100, modified_since: str | None = None
    ) -> tuple[list[tuple[str, str, str]], int]:
        """As graph.search.SearchIndex.catalogue_page (keyset paging in slug order)."""
        size = max(1, min(size, 1000))
        where = Where([("modified >= %s", [modified_since])] if modified_since else [])
        with self._read() as c:
            if where.clauses:
                total = c.execute(self._q("SELECT count(*) FROM {s}.records WHERE " + where.sql()), where.params()).fetchone()[0]
            else:
                total = self._everything(c)
            if before is not None:
                page = Where([*where.clauses, *([("slug < %s", [before])] if before else [])])
                rows = c.execute(
                    self._q("SELECT slug, title, modified FROM {s}.records WHERE " + page.sql() + " ORDER BY slug DESC LIMIT %s"),
                    [*page.params(), size],
                ).fetchall()
                return [tuple(r) for r in reversed(rows)], total
            page = Where([*where.clauses, *([("slug > %s", [after])] if after else [])])
            rows = c.execute(
                self._q("SELECT slug, title, modified FROM {s}.records WHERE " + page.sql() + " ORDER BY slug LIMIT %s"), [*page.params(), size]
            ).fetchall()
            return [tuple(r) for r in rows], total

    def sitemap_page(self, number: int, size: int = 50_000) -> list[tuple[str, str]]:
        with self._read() as c:
            rows = c.execute(self._q("SELECT slug, modified FROM {s}.records ORDER BY slug LIMIT %s OFFSET %s"), (size, number * size))
            return [tuple(r) for r in rows]

    def slugs(self) -> list[str]:
        with self._read() as c:
            return [row[0] for row in c.execute(self._q("SELECT slug FROM {s}.records ORDER BY slug"))]

    def hashes(self, slugs: Iterable[str]) -> dict[str, str]:
        wanted = list(slugs)
        with self._read() as c:
            return dict(c.execute(self._q("SELECT slug, content_hash FROM {s}.records WHERE slug = ANY(%s)"), (wanted,)).fetchall())

    def head(self, slug: str) -> RecordHead | None:
        # One statement, so no transaction around it: asked on every request for a study.
        if self._closed:
            raise SearchIndexError("the search index is closed")
        with self.db.pool.connection() as c:
            return record_head(c.execute(self._q("SELECT content_hash, modified, doi, languages FROM {s}.records WHERE slug = %s"), (slug,)).fetchone())

    def label(self, kind: str, key: str) -> str | None:
        with self._read() as c:
            row = c.execute(self._q("SELECT label FROM {s}.nodes WHERE kind = %s AND key = %s"), (kind, key)).fetchone()
            return row[0] if row else None

    def findings(self, slug: str) -> str | None:
        with self._read() as c:
            row = c.execute(
                self._q("SELECT f.report FROM {s}.findings AS f JOIN {s}.records AS r ON r.id = f.id WHERE r.slug = %s"), (slug,)
            ).fetchone()
            return row[0] if row else None

    def linked(self, kind: str, key: str, page: int = 1, size: int = 20) -> tuple[int, list[Hit]]:
        """The studies linking a node in any role, by title: its maintained count, one page."""
        _check_paging(page, size)
        with self._read() as c:
            row = c.execute(self._q("SELECT id, refs FROM {s}.nodes WHERE kind = %s AND key = %s"), (kind, key)).fetchone()
            if row is None:
                return 0, []
            node, total = row
            if (page - 1) * size >= total:
                return total, []
            return total, self._ordered_page(c, Where([("r.links @> ARRAY[%s]::bigint[]", [node])]), page, size)

    def nodes(self, kind: str, page: int = 1, size: int = 100) -> tuple[int, list[FacetCount]]:
        """The nodes of one kind, by label with ASCII case ignored (SQLite's NOCASE), then key."""
        _check_paging(page, size)
        with self._read() as c:
            (total,) = c.execute(self._q("SELECT count(*) FROM {s}.nodes WHERE kind = %s AND refs > 0"), (kind,)).fetchone()
            rows = c.execute(
                self._q(
                    "SELECT key, label, refs FROM {s}.nodes WHERE kind = %s AND refs > 0"
                    " ORDER BY translate(label, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), key LIMIT %s OFFSET %s"
                ),
                (kind, size, (page - 1) * size),
            ).fetchall()
        return total, [FacetCount(*row) for row in rows]

    def facet_counts(self, facet: str, limit: int = 20) -> list[FacetCount]:
        _check_limit(limit)
        definition = self._facet(facet)
        with self._read() as c:
            return self._maintained(c, definition, limit)

    # -- search

    def search(
        self,
        text: str | None = None,
        filters: Mapping[str, Sequence[str]] = {},
        years: tuple[int | None, int | None] | None = None,
        page: int = 1,
        size: int = 20,
        facet_limit: int = 20,
    ) -> SearchResult:
        """As graph.search.SearchIndex.search, from one snapshot."""
        _check_paging(page, size)
        _check_limit(facet_limit)
        user = phrases(text)
        wanted = self._filters(filters)
        span = _check_years(years)
        empty = SearchResult(0, [], {name: [] for name in self._facets}, page, size)
        if user == []:  # words, none of them a token: FTS5 matches nothing
            return empty
        with self._read() as c:
            if user is None and not wanted and span is None:
                return self._browse(c, page, size, facet_limit)
            text_clauses = [("r.document @@ %s::tsquery", [tsquery(user)])] if user else []
            filter_clauses: dict[str, tuple[str, Sequence[object]]] = {}
            for name, values in zip(wanted, self._resolve(c, wanted)):
                if not values:
                    return empty
                filter_clauses[name] = ("r.memberships && %s::bigint[]", [values])
            span_clauses = _span(span)
            where = Where([*text_clauses, *filter_clauses.values(), *span_clauses])
            # One pass gives the total and the years facet: counts per (first, last) decade.
            spans = c.execute(self._q(_SPANS_OF + where.sql() + " GROUP BY 1, 2"), where.params()).fetchall()
            total = sum(count for _, _, count in spans)
            if user:
                hits = self._ranked_page(c, user, where, total, page, size)
            else:
                hits = self._ordered_page(c, where, page, size) if (page - 1) * size < total else []
            facets = self._count_matching(c, where, total, facet_limit)
            decades = _decades(spans)
            for name in filter_clauses:
                others = [*text_clauses, *(clause for other, clause in filter_clauses.items() if other != name)]
                if not others and span is None:
                    facets[name] = self._maintained(c, self._facets[name], facet_limit)
                    continue
                without = Where([*others, *span_clauses])
                count = c.execute(self._q("SELECT count(*) FROM {s}.records r WHERE " + without.sql()), without.params()).fetchone()[0]
                facets[name] = self._count_matching(c, without, count, facet_limit)[name]
            return SearchResult(total, hits, facets, page, size, decades)

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

    def _resolve(self, c: psycopg.Connection, wanted: dict[str, list[str]]) -> list[list[int]]:
        """The filters as packed memberships (node << 8 | facet), one list per facet."""
        resolved = []
        for name, keys in wanted.items():
            facet = self._facets[name]
            rows = c.execute(self._q("SELECT id FROM {s}.nodes WHERE kind = %s AND key = ANY(%s)"), (facet.kind, keys))
            resolved.append([(row[0] << FACET_BITS) | facet.id for row in rows])
        return resolved

    def _ranked_page(self, c: psycopg.Connection, user: list[Phrase], where: Where, total: int, page: int, size: int) -> list[Hit]:
        """A page by FTS5's bm25 (ties by id): see the module docstring."""
        offset = (page - 1) * size
        if offset >= total:
            return []
        rows, tokens = _one(c.execute(self._q("SELECT rows, tokens FROM {s}.totals")))
        avgdl = float(tokens) / float(rows)
        terms: list[str] = []
        params: list[object] = []
        for phrase in user:
            if len(user) == 1 and len(where.clauses) == 1:
                hit = total  # the phrase is the whole query: its rows are the ones counted
            else:
                (hit,) = _one(c.execute(self._q("SELECT count(*) FROM {s}.records WHERE document @@ %s::tsquery"), (phrase.tsquery(),)))
            idf = math.log((rows - hit + 0.5) / (hit + 0.5))
            if idf <= 0.0:
                idf = 1e-6
            # FTS5: idf * ((f * (k1 + 1.0)) / (f + k1 * (1 - b + b * D / avgdl))), in that order.
            terms.append(
                "%s::float8 * ((f.f{i} * (%s::float8 + 1.0::float8)) / (f.f{i} + %s::float8 * (1::float8 - %s::float8"
                " + %s::float8 * f.d / %s::float8)))".replace("{i}", str(len(terms)))
            )
            params.extend([idf, K1, K1, B, B, avgdl])
        weights = (BM25_WEIGHTS[0], BM25_WEIGHTS[2], BM25_WEIGHTS[1])  # A title, B keywords, C description
        # Three levels, the inner two kept apart (OFFSET 0: PostgreSQL would otherwise fold
        # each into the one above and repeat its expressions wherever they are used): the
        # matching rows with what each phrase's frequency needs read from them (a word's
        # counts once: each read decompresses the row's counts), the frequencies, the
        # order by score. Half the time of one level at 10k ("health": 187 -> 80 ms).
        reads: list[str] = []
        read_params: list[object] = []
        freqs: list[str] = []
        freq_params: list[object] = []
        # A word's frequency is read from the counts kept with the row (a lookup each: a
        # few µs, where unnesting the tsvector takes tens); so is a prefix's, from the few
        # indexed words it stands for, or else from a pass over the row's words.
        # phrase_freq reads the tsvector for phrases of several words.
        by_column = "(v->>0)::float8 * %s::float8 + (v->>1)::float8 * %s::float8 + (v->>2)::float8 * %s::float8"
        for i, phrase in enumerate(user):
            words = self._words(c, phrase) if len(phrase.tokens) == 1 else None
            if words is not None:
                lookups = []
                for j, word in enumerate(words):
                    reads.append(f"r.freqs->%s AS v{i}_{j}")
                    read_params.append(word)
                    lookups.append("coalesce(" + by_column.replace("v->>", f"w.v{i}_{j}->>") + ", 0.0::float8)")
                    freq_params.extend(weights)
                freqs.append(f"0.0::float8 + {' + '.join(lookups) or '0.0::float8'} AS f{i}")
                continue
            if len(phrase.tokens) == 1:
                reads.append(f"coalesce((SELECT sum({by_column}) FROM jsonb_each(r.freqs) AS w(k, v) WHERE starts_with(w.k, %s)), 0.0::float8) AS f{i}")
                read_params.extend([*weights, phrase.tokens[0]])
            else:
                reads.append(f"{{s}}.phrase_freq(r.document, %s::text[], %s, %s::float8, %s::float8, %s::float8) AS f{i}")
                read_params.extend([list(phrase.tokens), phrase.prefix, *weights])
            freqs.append(f"w.f{i}")
        score = "0.0::float8 + " + " + ".join(terms)
        matching = "SELECT r.id, r.size::float8 AS d" + "".join(", " + read for read in reads) + " FROM {s}.records r WHERE " + where.sql() + " OFFSET 0"
        weighed = "SELECT w.id, w.d, " + ", ".join(freqs) + " FROM (" + matching + ") AS w OFFSET 0"
        sql_text = "SELECT f.id FROM (" + weighed + ") AS f ORDER BY -1.0::float8 * (" + score + "), f.id LIMIT %s OFFSET %s"
        ids = [row[0] for row in c.execute(self._q(sql_text), [*freq_params, *read_params, *where.params(), *params, size, offset])]
        found = {row[0]: row for row in c.execute(self._q(f"SELECT {_HIT_COLUMNS} FROM {{s}}.records r WHERE r.id = ANY(%s)"), (ids,))}
        return _hits(found[i] for i in ids if i in found)

    def _words(self, c: psycopg.Connection, phrase: Phrase) -> list[str] | None:
        """The words a one-word *phrase* stands for: itself, or the indexed words its prefix
        begins (None past MAX_PREFIX_WORDS of them)."""
        if not phrase.prefix:
            return [phrase.tokens[0]]
        pattern = phrase.tokens[0].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = c.execute(self._q("SELECT token FROM {s}.lexemes WHERE token LIKE %s ORDER BY token LIMIT %s"), (pattern, MAX_PREFIX_WORDS + 1))
        words = [row[0] for row in rows]
        return words if len(words) <= MAX_PREFIX_WORDS else None

    def _ordered_page(self, c: psycopg.Connection, where: Where, page: int, size: int) -> list[Hit]:
        rows = c.execute(
            self._q(f"SELECT {_HIT_COLUMNS} FROM {{s}}.records r WHERE " + where.sql() + " ORDER BY r.sort_key, r.slug LIMIT %s OFFSET %s"),
            [*where.params(), size, (page - 1) * size],
        )
        return _hits(rows)

    def _browse(self, c: psycopg.Connection, page: int, size: int, facet_limit: int) -> SearchResult:
        """Everything by title with the maintained counts: the home listing, nothing counted."""
        total = self._everything(c)
        hits = self._ordered_page(c, Where(), page, size)
        facets = {name: self._maintained(c, facet, facet_limit) for name, facet in self._facets.items()}
        return SearchResult(total, hits, facets, page, size, self._decades_of_all(c))

    def _decades_of_all(self, c: psycopg.Connection) -> list[DecadeCount]:
        """The years facet of the whole index."""
        return self._kept.get(self._generation(c), "decades", lambda: _decades(c.execute(self._q(_SPANS + " GROUP BY 1, 2")).fetchall()))

    def _everything(self, c: psycopg.Connection) -> int:
        """How many studies the index holds: the row count bm25 keeps in ``totals``, written
        with the rows (``count(*)`` walks the table: tens of ms at a million)."""
        return int(_one(c.execute(self._q("SELECT rows FROM {s}.totals")))[0])

    def _maintained_counts_of(self, c: psycopg.Connection) -> MaintainedCounts:
        """Every maintained count (graph.search.facet_tops)."""
        return self._kept.get(
            self._generation(c), "maintained", lambda: MaintainedCounts.of(c.execute(self._q("SELECT facet, node, count FROM {s}.facet_counts")))
        )

    def _generation(self, c: psycopg.Connection) -> int:
        """This read's generation: ``totals.generation``, bumped by every write in its own
        transaction (what is kept per generation: graph.search.generations)."""
        return int(_one(c.execute(self._q("SELECT generation FROM {s}.totals")))[0])

    def _maintained(self, c: psycopg.Connection, facet: Facet, limit: int) -> list[FacetCount]:
        row = c.execute(
            self._q("SELECT count FROM {s}.facet_counts WHERE facet = %s ORDER BY count DESC LIMIT 1 OFFSET %s"), (facet.id, limit - 1)
        ).fetchone()
        rows = c.execute(
            self._q("SELECT n.key, n.label, c.count FROM {s}.facet_counts c JOIN {s}.nodes n ON n.id = c.node WHERE c.facet = %s AND c.count >= %s"),
            (facet.id, row[0] if row else 1),
        ).fetchall()
        return _top(rows, limit)

    def _count_matching(self, c: psycopg.Connection, where: Where, total: int, limit: int) -> dict[str, list[FacetCount]]:
        """Facet counts over the matching studies, as the SQLite index counts them: a broad
        search from bitsets (graph.search.member_sets; a node's members read by the GIN
        index of the memberships and kept per generation); else the memberships of the
        matches, or over half the index those of the complement, taken off the maintained
        counts (graph.search.facet_tops)."""
        result: dict[str, list[FacetCount]] = {name: [] for name in self._facets}
        if total == 0:
            return result
        everything = self._everything(c)
        tops = self._tops_by_bitsets(c, where, limit) if member_sets.is_broad(total, everything) else None
        if tops is None:
            complement = total > everything // 2
            condition = f"NOT ({where.sql()})" if complement else where.sql()
            counted: Counter[int] = Counter(dict(c.execute(
                self._q("SELECT m, count(*) FROM {s}.records r, unnest(r.memberships) m WHERE " + condition + " GROUP BY m"), where.params(),
            ).fetchall()))
            tops = top_candidates(counted, self._facets, limit, self._maintained_counts_of(c) if complement else None)
        nodes = list({node for candidates in tops.values() for _, node in candidates})
        labels = {id_: (key, label) for id_, key, label in c.execute(self._q("SELECT id, key, label FROM {s}.nodes WHERE id = ANY(%s)"), (nodes,))}
        return {name: _top([(*labels[node], count) for count, node in candidates if node in labels], limit) for name, candidates in tops.items()}

    def _tops_by_bitsets(self, c: psycopg.Connection, where: Where, limit: int) -> dict[str, list[tuple[int, int]]] | None:
        generation = self._generation(c)
        top = int(_one(c.execute(self._q("SELECT coalesce(max(id), 0) FROM {s}.records")))[0])
        matches = bitset((id_ for (id_,) in c.execute(self._q("SELECT r.id FROM {s}.records r WHERE " + where.sql()), where.params())), top)

        reads = member_sets.search_reads(self._everything(c))

        def members(facet: Facet, node: int, size: int) -> int:
            packed = (node << FACET_BITS) | facet.id
            query = self._q("SELECT id FROM {s}.records WHERE memberships @> ARRAY[%s]::bigint[]")
            return self._bitsets.get(generation, packed, lambda: bitset((id_ for (id_,) in c.execute(query, (packed,))), top), size, reads)

        return member_sets.tops_from_bitsets(self._facets, limit, self._maintained_counts_of(c), matches, members)

    # -- writing

    def replace(self, entries: Iterable[IndexEntry]) -> None:
        """Insert or replace each entry's record, the whole batch in one transaction
        (unchanged entries skipped, the last of a slug kept), as the SQLite index."""
        with self._write() as c:
            writer = PostgresBatchWriter(self.db, c, self._facets)
            for batch in latest_batches(entries):
                writer.write(batch)
            writer.finish()

    def delete(self, slug: str) -> bool:
        with self._write() as c:
            row = c.execute(self._q("SELECT id FROM {s}.records WHERE slug = %s"), (slug,)).fetchone()
            if row is None:
                return False
            writer = PostgresBatchWriter(self.db, c, self._facets)
            writer.remove([row[0]])
            writer.finish()
            return True

    def forget_heads(self, slugs: Iterable[str] | None = None) -> None:
        with self._write() as c:
            if slugs is None:
                c.execute(self._q("UPDATE {s}.records SET languages = NULL"))
            else:
                c.execute(self._q("UPDATE {s}.records SET languages = NULL WHERE slug = ANY(%s)"), (list(slugs),))

    def clear(self) -> None:
        with self._write() as c:
            for table in schema.INDEX_TABLES:
                c.execute(self._q("DELETE FROM {s}." + table))  # constant table names
            c.execute(self._q("UPDATE {s}.totals SET rows = 0, tokens = 0, generation = generation + 1"))

    def optimize(self) -> None:
        """Refresh the planner's statistics after a bulk load."""
        if self.read_only:
            raise SearchIndexError("the search index was opened read-only")
        with self.db.pool.connection() as c:
            for table in ("records", "nodes", "facet_counts"):
                c.execute(self._q("ANALYZE {s}." + table))  # constant table names


def _span(span: tuple[int | None, int | None] | None) -> list[tuple[str, Sequence[object]]]:
    if span is None:
        return []
    low, high = span
    clauses: list[tuple[str, Sequence[object]]] = [("(r.start_year IS NOT NULL OR r.end_year IS NOT NULL)", [])]
    if high is not None:
        clauses.append(("(r.start_year IS NULL OR r.start_year <= %s)", [high]))
    if low is not None:
        clauses.append(("(r.end_year IS NULL OR r.end_year >= %s)", [low]))
    return clauses


def _one(cursor: psycopg.Cursor[Any]) -> Any:
    """The one row of an aggregate."""
    row = cursor.fetchone()
    if row is None:
        raise SearchIndexError("an aggregate returned no row")
    return row


def _hits(rows: Iterable[tuple[Any, ...]]) -> list[Hit]:
    return [Hit(slug, title, snippet(description), start, end, modified) for _, slug, title, start, end, modified, description in rows]
