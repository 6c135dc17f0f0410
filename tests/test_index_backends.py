"""The PostgreSQL index, change log and settings give the SQLite ones' answers.

A differential test: the same entries (synthetic records from bench/synthetic.py and
the shared real ones, mapped as the loader maps them) written to both indexes, then
searches, listings and feeds compared answer for answer, ranked pages included; then
the same after replacing and deleting some. Plus what only PostgreSQL has: its URL, its
version check, and ``add`` atomic across processes.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import synthetic
from postgres_server import postgres  # noqa: F401 (a fixture)
from test_search import STAMP, URLS

from studygraph.graph.changes import ChangeLog
from studygraph.graph.keyvalue import SqliteKeyValue
from studygraph.graph.loader import indexed
from studygraph.graph.postgres import DatabaseError, Place, PostgresChangeLog, PostgresKeyValue, PostgresSearchIndex
from studygraph.graph.postgres.schema import FREQS_OF_DOCUMENT
from studygraph.graph.search import FACETS, SearchIndex, SearchIndexError
from studygraph.mappings.profile import map_record
from studygraph.mappings.validation import gate

SYNTHETIC = 400


def entry(data: dict, modified: str = STAMP):
    """A record's index entry as the loader makes it, with its findings (``--validate=warn``)."""
    return indexed(map_record(data, URLS, issued=STAMP, modified=modified), modified, gate("warn", URLS.base))


@pytest.fixture(scope="module")
def entries(records):
    return [entry(r) for r in [*synthetic.generate(SYNTHETIC, seed=12), *records]]


def queries(entries, rng: random.Random) -> list[dict]:
    """Searches drawn from the entries: words, prefixes, phrases, filters, years, pages."""
    words = [w for e in entries for w in e.summary.title.split() if len(w) > 3]
    keys = {name: sorted({l.key for e in entries for l in e.summary.links if l.kind == kind}) for name, (kind, _) in FACETS.items()}
    found: list[dict] = [{}, {"page": 3, "size": 7}, {"text": "health"}, {"text": "health "}, {"text": "covid-19"}, {"text": "étude"},
                         {"text": "he"}, {"text": "h"}, {"text": "'\"()"}, {"text": "cohort study", "page": 2, "size": 5}]
    for _ in range(40):
        query: dict = {}
        roll = rng.random()
        if roll < 0.7:
            chosen = rng.sample(words, rng.choice((1, 1, 2)))
            text = " ".join(chosen)
            query["text"] = text[: max(2, len(text) - rng.choice((0, 0, 2)))]
        if rng.random() < 0.4:
            name = rng.choice([n for n in keys if keys[n]])
            query["filters"] = {name: rng.sample(keys[name], min(len(keys[name]), rng.choice((1, 2))))}
        if rng.random() < 0.2:
            query["years"] = (rng.randint(1960, 2000), rng.choice((None, 2010)))
        if rng.random() < 0.3:
            query["page"], query["size"] = rng.randint(1, 3), rng.choice((5, 20))
        found.append(query)
    return found


def compare(sqlite: SearchIndex, pg: PostgresSearchIndex, entries, seed: int) -> None:
    rng = random.Random(seed)
    assert pg.count() == sqlite.count()
    assert pg.slugs() == sqlite.slugs()
    slugs = sqlite.slugs()
    assert pg.hashes(slugs[::3] + ["missing"]) == sqlite.hashes(slugs[::3] + ["missing"])
    for cursor in ({}, {"after": slugs[len(slugs) // 2]}, {"before": ""}, {"before": slugs[10]}, {"modified_since": STAMP}):
        assert pg.catalogue_page(size=50, **cursor) == sqlite.catalogue_page(size=50, **cursor)
    assert pg.sitemap_page(1, size=100) == sqlite.sitemap_page(1, size=100)
    for name, (kind, _) in FACETS.items():
        assert pg.facet_counts(name, limit=50) == sqlite.facet_counts(name, limit=50), name
        for page in (1, 2):
            assert pg.nodes(kind, page=page, size=30) == sqlite.nodes(kind, page=page, size=30), kind
        for node in sqlite.nodes(kind, size=100)[1][:3]:
            assert pg.label(kind, node.key) == sqlite.label(kind, node.key)
            assert pg.linked(kind, node.key, page=1, size=10) == sqlite.linked(kind, node.key, page=1, size=10)
    for query in queries(entries, rng):
        assert pg.search(**query, facet_limit=10) == sqlite.search(**query, facet_limit=10), query
    for slug in [*slugs[::9], "missing"]:
        assert pg.findings(slug) == sqlite.findings(slug), slug
    heads = [(slug, sqlite.head(slug)) for slug in [*slugs, "missing"]]
    assert [(slug, pg.head(slug)) for slug, _ in heads] == heads


def test_the_same_answers_after_loads_replacements_and_deletions(postgres, tmp_path: Path, entries):
    sqlite = SearchIndex(tmp_path / "search.db")
    pg = PostgresSearchIndex(postgres.fresh())
    for start in range(0, len(entries), 150):  # batches, as the loader writes them
        sqlite.replace(entries[start : start + 150])
        pg.replace(entries[start : start + 150])
    compare(sqlite, pg, entries, seed=1)
    assert sqlite.facet_counts("quality") and sqlite.facet_counts("rule", limit=100)  # findings were compared
    rng = random.Random(2)
    gone = rng.sample(entries, 40)
    for e in gone:
        assert pg.delete(e.summary.slug) == sqlite.delete(e.summary.slug)
        assert pg.findings(e.summary.slug) is None and sqlite.findings(e.summary.slug) is None
    later = [entry(r, modified="2026-11-29T10:00:00Z") for r in synthetic.generate(SYNTHETIC, seed=12)][::5]
    sqlite.replace(later)
    pg.replace(later)
    compare(sqlite, pg, entries, seed=3)
    sqlite.close()
    pg.close()


def test_the_change_logs_agree(postgres, tmp_path: Path):
    sqlite, pg = ChangeLog(tmp_path / "changes.db"), PostgresChangeLog(postgres.fresh())
    for log in (sqlite, pg):
        log.intend([("a", "created"), ("b", "created"), ("c", "deleted")])
        log.record([("a", "created", "2026-01-01T00:00:00Z"), ("b", "created", "2026-01-02T00:00:00Z")])
        log.intend([("a", "deleted")])
        log.record([("a", "deleted", "2026-01-03T00:00:00Z")])
        log.settle(["zz"])
    assert pg.pending() == sqlite.pending() == [("c", "deleted")]
    assert pg.latest() == sqlite.latest() == 3
    for query in ({}, {"after": 1}, {"time": "2026-01-02T00:00:00Z"}, {"after": 0, "limit": 2}):
        assert pg.since(**query) == sqlite.since(**query)
    assert pg.deleted("a") == sqlite.deleted("a")
    assert pg.deleted("b") is None and sqlite.deleted("b") is None
    under_way = pg.deleted("c")
    assert under_way is not None and under_way.sequence == 0 and under_way.time.endswith("Z")


def test_settings_agree_and_add_is_atomic_across_processes(postgres, tmp_path: Path):
    url = postgres.fresh()
    sqlite, pg = SqliteKeyValue(tmp_path / "settings.db"), PostgresKeyValue(url)
    for store in (sqlite, pg):
        assert store.get("base") is None
        store.put("base", "https://x.example")
        store.put("base", "https://y.example")
        assert store.add("writes") == 1 and store.add("writes", 4) == 5
    assert pg.get("base") == sqlite.get("base") == "https://y.example"
    assert pg.get_many(["base", "writes", "none"]) == sqlite.get_many(["base", "writes", "none"]) == {"base": "https://y.example", "writes": "5"}
    adder = (
        "import sys\nfrom studygraph.graph.postgres import PostgresKeyValue\n"
        "store = PostgresKeyValue(sys.argv[1])\nfor _ in range(50): store.add('writes')\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", adder, url]) for _ in range(3)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0, 0]
    assert pg.get("writes") == str(5 + 150)


def test_the_url_names_the_schema():
    place = Place.parse("postgresql://u@127.0.0.1:5432/db?sslmode=disable&schema=cat_1")
    assert place == Place("postgresql://u@127.0.0.1:5432/db?sslmode=disable", "cat_1")
    assert Place.parse("postgresql://u@h/db").schema == "studygraph"
    for bad in ("postgresql://u@h/db?schema=a;drop", "postgresql://u@h/db?schema=A", "mysql://u@h/db"):
        with pytest.raises(DatabaseError):
            Place.parse(bad)


def test_a_schema_of_another_version_is_refused(postgres):
    url = postgres.fresh()
    index = PostgresSearchIndex(url)
    with index.db.pool.connection() as c:
        c.execute(index.db.q("UPDATE {s}.meta SET value = '99' WHERE key = 'schema_version'"))
    with pytest.raises(SearchIndexError, match="version 99"):
        PostgresSearchIndex(url)
    with pytest.raises(SearchIndexError, match="no catalogue index"):
        PostgresSearchIndex(postgres.fresh(), read_only=True)


def test_an_index_from_before_heads_is_migrated_in_place_and_rewritten_rows_regain_them(postgres, tmp_path: Path, entries):
    """SQLite schema 2 and PostgreSQL schema 1 had no DOI and languages columns: opened for
    writing they get them, NULL (the graph answers), and a row written again has its head."""
    few = entries[:5]
    sqlite = SearchIndex(tmp_path / "search.db")
    sqlite.replace(few)
    word = few[0].summary.title.split()[0]
    found = {word: sqlite.search(word).hits}
    sqlite.close()
    db = sqlite3.connect(tmp_path / "search.db")
    db.executescript("ALTER TABLE records DROP COLUMN doi; ALTER TABLE records DROP COLUMN languages; PRAGMA user_version=2;")
    db.close()
    url = postgres.fresh()
    pg = PostgresSearchIndex(url)
    pg.replace(few)
    with pg.db.pool.connection() as c:
        c.execute(pg.db.q("ALTER TABLE {s}.records DROP COLUMN doi, DROP COLUMN languages, DROP COLUMN freqs"))
        c.execute(pg.db.q("UPDATE {s}.meta SET value = '1' WHERE key = 'schema_version'"))
    with pytest.raises(SearchIndexError, match="version 2"):
        SearchIndex(tmp_path / "search.db", read_only=True)
    with pytest.raises(SearchIndexError, match="version 1"):
        PostgresSearchIndex(url, read_only=True)
    sqlite, pg = SearchIndex(tmp_path / "search.db"), PostgresSearchIndex(url)
    slug = few[0].summary.slug
    for index in (sqlite, pg):
        assert index.head(slug) is None
        word = few[0].summary.title.split()[0]
        assert [h.slug for h in index.search(word).hits] == [h.slug for h in found[word]]  # ranked as before
        index.replace(few)  # unchanged hashes: rewritten all the same, for their heads
        head = index.head(slug)
        assert head is not None and head.content_hash == few[0].content_hash and head.languages == few[0].summary.languages
    sqlite.close()
    pg.close()


def test_token_counts_kept_with_a_row_are_its_tsvectors_even_past_its_limits(postgres):
    """A word 300 times (a lexeme keeps 256 positions) in a text of 17,000 words (positions
    stop at 16,383): the counts written with the row equal those PostgreSQL reads from
    the row's tsvector, so one-word ranking (from the counts) and phrases (from the
    tsvector) weigh alike."""
    long = " ".join(["sleep"] * 300 + [f"w{i % 50}" for i in range(17_000)] + ["sleep", "tail"])
    data = {"dataset_schema": {"name": "Sleep sleep", "description": long, "keywords": ["sleep"]}, "extra_data": {"slug": "long"}}
    pg = PostgresSearchIndex(postgres.fresh())
    pg.replace([entry(data)])
    with pg.db.pool.connection() as c:
        kept, derived = c.execute(pg.db.q("SELECT r.freqs, " + FREQS_OF_DOCUMENT.replace("{}", "{{}}") + " FROM {s}.records r")).fetchone()
    assert kept == derived
    assert kept["sleep"] == [2, 1, 253] and kept["tail"] == [0, 0, 1]
    pg.close()
