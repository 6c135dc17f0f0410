"""The search index (graph/search/) on real SQLite files: text, filters, facets, paging."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from pathlib import Path

import pytest
from conftest import BASE
from postgres_server import postgres  # noqa: F401 (a fixture)

from studygraph.graph import search
from studygraph.graph.postgres import PostgresSearchIndex
from studygraph.graph.search import FACETS, IndexEntry, SearchIndex, SearchIndexError, fts_query
from studygraph.mappings.profile import map_record
from studygraph.mappings.urls import Urls

URLS = Urls(BASE)
STAMP = "2026-11-27T10:00:00Z"
LATER = "2026-11-28T10:00:00Z"

HOSTILE = ['"', "(", ")", "a OR", "OR", "AND", "NOT x", "title:x", "{title}: x", "NEAR(", "NEAR(a b, 2)", "*", "a*b*",
           "'; DROP TABLE records; --", '" OR 1=1 --', "^start", "-minus", "+plus", "x:", ":", "\\", "\x00", "\ue000n1",
           "col : (a OR b)", '"unbalanced', "a\"b", "🙂", "   ", ""]


def record(slug: str, name: str, description: str = "About it.", *, keywords=(), sponsors=(), funders=(), publishers=(),
           catalogues=(), countries=(), designs=(), sources=(), start=None, end=None) -> dict:
    """A hand-written Harmony record (the shape of tests/test_mapping.py's ``minimal``)."""
    schema = {"@type": "Dataset", "name": name, "description": description}
    organisations = {"sponsor": sponsors, "funder": funders, "publisher": publishers}
    for field, names in organisations.items():
        if names:
            schema[field] = [{"@type": "Organization", "name": n} for n in names]
    if keywords:
        schema["keywords"] = list(keywords)
    if catalogues:
        schema["includedInDataCatalog"] = [{"@type": "DataCatalog", "name": n} for n in catalogues]
    extra = {"slug": slug}
    for field, value in (("country_codes", countries), ("study_design", designs), ("source", sources)):
        if value:
            extra[field] = list(value)
    if start is not None:
        extra["start_year"] = start
    if end is not None:
        extra["end_year"] = end
    return {"dataset_schema": schema, "extra_data": extra}


def entry(data: dict, modified: str = STAMP) -> IndexEntry:
    return IndexEntry.of(map_record(data, URLS, issued=STAMP, modified=modified), modified)


def handwritten() -> list[dict]:
    return [
        record("sleep-teens", "Sleep in Adolescence", "A cohort followed through school.",
               keywords=["Education", "Cohort studies"], sponsors=["Medical Research Council"], countries=["GB"],
               designs=["cohort"], sources=["ukds"], catalogues=["UK Data Service"], start=2000, end=2005),
        record("school-health", "School Health Survey", "Pupils reported their sleep, sleep quality and sleep hours.",
               keywords=["Education", "Physical health"], funders=["Wellcome Trust"], publishers=["University of Bristol"],
               countries=["IE"], designs=["cross-sectional"], start=2010),
        record("night-work", "Night Work and Health", "Shift workers' health.", keywords=["Sleep", "Work"],
               sponsors=["Economic and Social Research Council"], funders=["Medical Research Council"], countries=["GB", "IE"],
               designs=["cohort"], end=1995),
        record("etude-sante", "Étude santé", "Une étude sur la santé <b>des</b> adolescents.", keywords=["Santé"],
               countries=["FR"], designs=["panel"]),
        record("ageing", "Ageing Study", "Older adults " + "interviewed at home about their health and care. " * 12,
               keywords=["Ageing", "Education"], publishers=["Medical Research Council"], start=1990, end=2020),
    ]


@pytest.fixture(params=["sqlite", "postgres"])
def open_index(request: pytest.FixtureRequest, tmp_path: Path):
    """Opens one index (of each backend) again and again: a file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        path = tmp_path / "search.db"
        return lambda read_only=False: SearchIndex(path, read_only=read_only)
    url = request.getfixturevalue("postgres").fresh()
    return lambda read_only=False: PostgresSearchIndex(url, read_only=read_only)


@pytest.fixture
def index(open_index):
    with open_index() as opened:
        yield opened


@pytest.fixture
def small(index: SearchIndex) -> SearchIndex:
    index.replace(entry(r) for r in handwritten())
    return index


@pytest.fixture(scope="module")
def real_entries(records) -> list[IndexEntry]:
    return [entry(r) for r in records]


@pytest.fixture
def real(index: SearchIndex, real_entries) -> SearchIndex:
    index.replace(real_entries)
    return index


def slugs(result) -> list[str]:
    return [hit.slug for hit in result.hits]


def all_slugs(index: SearchIndex, **query) -> set[str]:
    result = index.search(**query, size=search.MAX_PAGE_SIZE)
    assert result.total <= search.MAX_PAGE_SIZE
    return set(slugs(result))


def brute_counts(entries: list[IndexEntry], only: set[str] | None = None) -> dict[str, dict[str, int]]:
    """Facet counts recomputed from the entries: distinct studies per (facet, key)."""
    counts: dict[str, Counter] = {name: Counter() for name in FACETS}
    for e in entries:
        if only is not None and e.summary.slug not in only:
            continue
        for name, (kind, roles) in FACETS.items():
            counts[name].update({l.key for l in e.summary.links if l.kind == kind and (roles is None or l.role in roles)})
    return {name: dict(c) for name, c in counts.items()}


def index_counts(index: SearchIndex) -> dict[str, dict[str, int]]:
    return {name: {f.key: f.count for f in index.facet_counts(name, limit=1000)} for name in FACETS}


def leftover_rows(index) -> dict[str, int]:
    """Rows of nodes and of searchable text left in the index's own tables."""
    if isinstance(index, SearchIndex):
        with sqlite3.connect(index.path) as db:
            return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in ("nodes", "texts")}
    with index.db.read() as c:
        return {"nodes": c.execute(index.db.q("SELECT count(*) FROM {s}.nodes")).fetchone()[0],
                "texts": c.execute(index.db.q("SELECT count(*) FROM {s}.records")).fetchone()[0]}


def result_counts(result) -> dict[str, dict[str, int]]:
    return {name: {f.key: f.count for f in result.facets[name]} for name in FACETS}


# ------------------------------------------------------------------------------ text


def test_title_matches_rank_first(small):
    result = small.search("sleep")
    # Title "Sleep in Adolescence", then the keyword "Sleep", then a description saying it three times.
    assert slugs(result) == ["sleep-teens", "night-work", "school-health"]
    assert result.total == 3


def test_words_are_anded_and_the_last_is_a_prefix(small):
    assert slugs(small.search("sleep cohort")) == ["sleep-teens"]
    assert set(slugs(small.search("heal"))) == {"school-health", "night-work", "ageing"}
    assert slugs(small.search("heal ")) == []  # a finished word is matched whole
    assert slugs(small.search("adolesc")) == ["sleep-teens", "etude-sante"]


def test_diacritics_and_case_are_ignored(small):
    assert slugs(small.search("ETUDE")) == ["etude-sante"]
    assert slugs(small.search("sante")) == ["etude-sante"]
    assert slugs(small.search("Santé")) == ["etude-sante"]


def test_hyphenated_words_match_as_phrases(small):
    assert slugs(small.search("cross-sectional")) == []  # study designs are links, not text
    assert slugs(small.search("shift-workers")) == ["night-work"]  # "shift workers'" in the text
    assert slugs(small.search("workers-shift")) == []
    assert slugs(small.search("shift workers'")) == ["night-work"]


def test_hostile_queries_never_raise(small):
    for text in HOSTILE:
        query = fts_query(text)
        if query is not None:
            assert query.count('"') % 2 == 0
        result = small.search(text)
        assert result.total == len(result.hits) or result.total > len(result.hits)
    # Input with no word in it lists everything, like no text.
    assert small.search('"(*').total == 5
    assert small.search("OR").total == 0  # a word like any other, not an operator
    # SQL in the text is text: the index is intact.
    small.search("'; DROP TABLE records; --")
    assert small.count() == 5


def test_hostile_queries_on_the_real_records(real):
    for text in HOSTILE:
        real.search(text, filters={"country": ["gbr"]}, years=(1990, None))


def test_fts_query_quotes_every_word():
    assert fts_query('mental "health') == '"mental" "health"*'
    assert fts_query("covid-19 ") == '"covid 19"'
    assert fts_query("title:x NEAR(ab") == '"title x" "NEAR ab"*'
    assert fts_query("a") == '"a"'  # one-letter prefixes are not expanded
    assert fts_query("***") is None
    assert fts_query(" ".join(["w"] * 40)).count('"w"') == search.MAX_QUERY_WORDS


def test_snippets_are_plain_and_short(small):
    (hit,) = small.search("sante").hits
    assert hit.snippet == "Une étude sur la santé des adolescents."
    (hit,) = small.search("older").hits
    assert len(hit.snippet) <= search.SNIPPET_CHARS + 1 and hit.snippet.endswith("…")
    assert hit.snippet.startswith("Older adults interviewed at home")
    assert (hit.start_year, hit.end_year, hit.modified) == (1990, 2020, STAMP)


# ---------------------------------------------------------------------------- browse


def test_no_text_lists_everything_by_title(small):
    result = small.search()
    assert result.total == 5
    # Case and diacritics do not decide the order: "Étude" sorts as "etude".
    assert slugs(result) == ["ageing", "etude-sante", "night-work", "school-health", "sleep-teens"]
    assert slugs(small.search(page=2, size=2)) == ["night-work", "school-health"]
    assert slugs(small.search(page=4, size=2)) == []


def test_paging_is_validated(small):
    for bad in ({"page": 0}, {"size": 0}, {"size": search.MAX_PAGE_SIZE + 1}, {"facet_limit": 0}, {"page": True}):
        with pytest.raises(ValueError):
            small.search(**bad)
    with pytest.raises(ValueError):
        small.linked("keyword", "education", page=0)


# --------------------------------------------------------------------------- filters


def test_filters_or_within_a_facet_and_across_facets(small):
    assert all_slugs(small, filters={"keyword": ["education"]}) == {"sleep-teens", "school-health", "ageing"}
    assert all_slugs(small, filters={"keyword": ["education", "sleep"]}) == {"sleep-teens", "school-health", "ageing", "night-work"}
    assert all_slugs(small, filters={"keyword": ["education"], "country": ["gbr"]}) == {"sleep-teens"}
    assert all_slugs(small, filters={"keyword": ["education", "sleep"], "country": ["gbr"]}) == {"sleep-teens", "night-work"}
    assert all_slugs(small, filters={"keyword": ["education"], "country": ["irl"], "study-design": ["cohort"]}) == set()
    assert all_slugs(small, text="sleep", filters={"country": ["irl"]}) == {"school-health", "night-work"}
    assert all_slugs(small, filters={"keyword": []}) == all_slugs(small)  # an empty choice is no filter


def test_sponsor_facet_takes_sponsors_and_funders_only(small):
    assert all_slugs(small, filters={"sponsor": ["medical-research-council"]}) == {"sleep-teens", "night-work"}
    assert all_slugs(small, filters={"sponsor": ["wellcome-trust"]}) == {"school-health"}
    # Published by, not sponsored by: not in the facet, but linked.
    assert all_slugs(small, filters={"sponsor": ["university-of-bristol"]}) == set()
    assert small.linked("organization", "university-of-bristol")[0] == 1
    assert small.linked("organization", "medical-research-council")[0] == 3


def test_unknown_keys_match_nothing_and_unknown_facets_are_errors(small):
    result = small.search(filters={"keyword": ["no-such-keyword"]})
    assert (result.total, result.hits) == (0, [])
    assert all(counts == [] for counts in result.facets.values())
    assert all_slugs(small, filters={"keyword": ["no-such-keyword", "sleep"]}) == {"night-work"}
    with pytest.raises(ValueError):
        small.search(filters={"colour": ["red"]})
    with pytest.raises(ValueError):
        small.facet_counts("colour")


def test_years_overlap(small):
    # sleep-teens 2000-2005, school-health 2010-, night-work -1995, ageing 1990-2020, etude-sante none.
    assert all_slugs(small, years=(2003, 2004)) == {"sleep-teens", "ageing"}
    assert all_slugs(small, years=(2006, 2009)) == {"ageing"}
    assert all_slugs(small, years=(2030, None)) == {"school-health"}  # a missing end is ongoing
    assert all_slugs(small, years=(None, 1800)) == {"night-work"}  # a missing start is open
    assert all_slugs(small, years=(2005, 2005)) == {"sleep-teens", "ageing"}
    assert all_slugs(small, years=(2004, 2003)) == all_slugs(small, years=(2003, 2004))
    assert all_slugs(small, years=(None, None)) == all_slugs(small)
    assert all_slugs(small, text="health", years=(1996, None)) == {"school-health", "ageing"}
    assert all_slugs(small, filters={"country": ["gbr"]}, years=(1990, 1999)) == {"night-work"}
    with pytest.raises(ValueError):
        small.search(years=("2000", None))


# ---------------------------------------------------------------------------- facets


def test_maintained_counts_equal_a_brute_force_count(real, real_entries):
    assert index_counts(real) == brute_counts(real_entries)
    browse = real.search(facet_limit=1000)
    assert result_counts(browse) == brute_counts(real_entries)


def test_counts_over_the_matching_set(real, real_entries):
    cases = [
        {"text": "health"},
        {"text": "survey"},
        {"filters": {"country": ["gbr"]}},  # most of the records: counted by complement
        {"years": (1900, None)},
        {"filters": {"source": ["closer"]}},
        {"text": "study", "filters": {"study-design": ["cohort", "longitudinal"]}},
    ]
    for query in cases:
        result = real.search(**query, size=search.MAX_PAGE_SIZE, facet_limit=1000)
        matching = set(slugs(result))
        assert len(matching) == result.total > 0, query
        expected = brute_counts(real_entries, matching)
        # A facet with chosen keys is counted over the studies matching everything else.
        for name in query.get("filters", {}):
            rest = {k: v for k, v in query["filters"].items() if k != name}
            without = real.search(**{**query, "filters": rest}, size=search.MAX_PAGE_SIZE, facet_limit=1000)
            expected[name] = brute_counts(real_entries, set(slugs(without)))[name]
        assert result_counts(result) == expected, query


def test_the_top_of_each_facet_is_its_brute_force_top_at_any_limit(real, real_entries):
    """Over the complement a facet's top is found by walking its nodes in descending
    maintained count and stopping early (graph.search.facet_tops): at every limit it is
    still the brute-force top, ties at the cut included and ordered by label."""
    labels = {(l.kind, l.key): l.label for e in real_entries for l in e.summary.links}

    def check(query: dict, entries: list[IndexEntry]) -> None:
        matching = set(slugs(real.search(**query, size=search.MAX_PAGE_SIZE)))
        for name, counts in brute_counts(entries, matching).items():
            if name in query.get("filters", {}):
                continue
            kind = FACETS[name][0]
            ordered = sorted(counts.items(), key=lambda kv: (-kv[1], labels[(kind, kv[0])].casefold(), kv[0]))
            for limit in (1, 2, 3, 5):
                result = real.search(**query, facet_limit=limit)
                assert [(f.key, f.count) for f in result.facets[name]] == ordered[:limit], (query, name, limit)

    for query in ({"filters": {"country": ["gbr"]}}, {"years": (1900, None)}, {"text": "study"}, {"text": "health"}):
        check(query, real_entries)
    # The maintained counts the walk starts from are read again after a write.
    gone = {e.summary.slug for e in real_entries[::3]}
    for slug in gone:
        assert real.delete(slug)
    check({"years": (1900, None)}, [e for e in real_entries if e.summary.slug not in gone])


@pytest.mark.parametrize("broad, visits, reads", [(10**9, 10**9, 1), (10**9, 1, 1), (10**9, 10**9, 0)],
                         ids=["bitsets", "walk-too-long", "nothing-to-read"])
def test_broad_searches_counted_from_bitsets_say_what_counting_memberships_says(open_index, real_entries, monkeypatch, broad, visits, reads):
    """An index counts a broad search's facets (SQLite: and years) from bitsets of its
    matches and of each node's members (graph.search.member_sets): made to take that path
    for every search (or to start it and give up on a facet whose walk is too long), it
    gives the same facets, years and totals as counting memberships, before and after
    writes (the member sets are kept per generation)."""
    from studygraph.graph.search import member_sets

    queries = [{"text": "health"}, {"text": "study"}, {"filters": {"country": ["gbr"]}}, {"years": (1900, None)},
               {"years": (1990, 2005)}, {"text": "survey", "filters": {"source": ["closer"]}},
               {"filters": {"study-design": ["cohort", "longitudinal"]}, "years": (1950, None)}]
    index = open_index()
    # A span of years no query below matches: a decade no match covers is left out.
    index.replace([*real_entries, entry(record("old", "An old study of health", start=1931, end=1933))])

    def answers() -> list:
        return [index.search(**query, facet_limit=limit) for query in queries for limit in (1, 3, 1000)]

    try:
        for write in (lambda: None, lambda: [index.delete(e.summary.slug) for e in real_entries[::4]], lambda: index.replace(real_entries[:8])):
            write()
            monkeypatch.setattr(member_sets, "BROAD", 0)  # nothing is broad: memberships are counted
            counted = answers()
            monkeypatch.setattr(member_sets, "BROAD", broad)
            monkeypatch.setattr(member_sets, "WALK_VISITS", visits)
            monkeypatch.setattr(member_sets, "READ_SHARE", reads)
            assert answers() == counted
            assert answers() == counted  # again, from the kept member sets
    finally:
        index.close()


def test_facets_are_ordered_by_count_then_label_and_limited(real, real_entries):
    expected = brute_counts(real_entries)["keyword"]
    labels = {l.key: l.label for e in real_entries for l in e.summary.links if l.kind == "keyword"}
    top = real.facet_counts("keyword", limit=7)
    assert len(top) == 7
    ordered = sorted(expected, key=lambda k: (-expected[k], labels[k].casefold(), k))[:7]
    assert [f.key for f in top] == ordered
    assert [f.label for f in top] == [labels[k] for k in ordered]
    result = real.search("health", facet_limit=3)
    assert all(len(counts) <= 3 for counts in result.facets.values())
    for counts in result.facets.values():
        assert [f.count for f in counts] == sorted((f.count for f in counts), reverse=True)


def test_a_replaced_record_moves_the_counts(small):
    before = index_counts(small)
    assert before["keyword"]["education"] == 3
    assert before["keyword"]["work"] == 1
    changed = record("night-work", "Night Work and Health", "Shift workers' health.", keywords=["Education", "Shifts"],
                     funders=["Wellcome Trust"], countries=["GB"], designs=["cohort"], end=1995)
    small.replace([entry(changed, LATER)])
    after = index_counts(small)
    assert after["keyword"]["education"] == 4
    assert after["keyword"]["shifts"] == 1
    assert "work" not in after["keyword"] and "sleep" not in after["keyword"]
    assert after["sponsor"] == {"medical-research-council": 1, "wellcome-trust": 2}
    assert after["country"] == {"gbr": 2, "irl": 1, "fra": 1}
    assert small.label("keyword", "work") is None
    assert small.label("keyword", "shifts") == "shifts"
    assert small.count() == 5
    assert all_slugs(small, filters={"keyword": ["sleep"]}) == set()
    assert all_slugs(small, filters={"keyword": ["shifts"]}) == {"night-work"}
    (hit,) = small.search("shift").hits
    assert hit.modified == LATER
    assert index_counts(small) == brute_counts([entry(r) for r in handwritten() if r["extra_data"]["slug"] != "night-work"] + [entry(changed)])


def test_unchanged_entries_are_skipped_and_the_last_of_a_slug_wins(small):
    first = index_counts(small)
    small.replace(entry(r) for r in handwritten())
    assert index_counts(small) == first and small.count() == 5
    one = record("new", "New One", keywords=["Alpha"])
    two = record("new", "New Two", keywords=["Beta"])
    small.replace([entry(one), entry(two)])
    assert small.count() == 6
    assert slugs(small.search("new")) == ["new"] and small.search("new").hits[0].title == "New Two"
    assert small.label("keyword", "alpha") is None
    assert "alpha" not in index_counts(small)["keyword"] and index_counts(small)["keyword"]["beta"] == 1


def test_delete_drops_counts_and_empty_facets_disappear(small):
    assert small.delete("etude-sante") is True
    assert small.delete("etude-sante") is False
    assert small.count() == 4
    counts = index_counts(small)
    assert "fra" not in counts["country"] and "sante" not in counts["keyword"] and "panel" not in counts["study-design"]
    assert small.label("keyword", "sante") is None
    assert small.linked("keyword", "sante") == (0, [])
    assert small.search("sante").total == 0
    assert small.delete("sleep-teens") is True
    counts = index_counts(small)
    assert counts["keyword"]["education"] == 2 and counts["sponsor"] == {"medical-research-council": 1, "economic-and-social-research-council": 1, "wellcome-trust": 1}
    assert "catalogue" not in counts or counts["catalogue"] == {}
    assert small.search(filters={"source": ["ukds"]}).total == 0
    remaining = [entry(r) for r in handwritten() if r["extra_data"]["slug"] not in ("etude-sante", "sleep-teens")]
    assert counts == brute_counts(remaining)


def test_replace_then_delete_everything_leaves_nothing_behind(real, real_entries):
    for e in real_entries:
        assert real.delete(e.summary.slug)
    assert real.count() == 0
    assert all(real.facet_counts(name) == [] for name in FACETS)
    assert leftover_rows(real) == {"nodes": 0, "texts": 0}
    real.replace(real_entries)
    assert index_counts(real) == brute_counts(real_entries)


def test_clear(real):
    real.clear()
    assert real.count() == 0 and real.search("health").total == 0
    assert real.facet_counts("keyword") == [] and real.label("country", "gbr") is None


# ---------------------------------------------------------------------- nodes, labels


@pytest.mark.parametrize("title_walk", [None, 0, 10**9], ids=["chosen", "doclist", "title-walk"])
def test_linked_pages_through_a_nodes_studies_by_title(real, real_entries, monkeypatch, title_walk):
    """Either plan of SQLite's node pages (walking titles through the node's member set,
    or sorting its doclist), forced or chosen, pages through the same studies."""
    from studygraph.graph.search import reader

    if title_walk is not None:
        monkeypatch.setattr(reader, "TITLE_WALK", title_walk)
    # The most linked keyword, and every study linking it, brute force.
    counts = brute_counts(real_entries)["keyword"]
    key = max(counts, key=lambda k: (counts[k], k))
    expected = sorted(
        (e for e in real_entries if any(l.kind == "keyword" and l.key == key for l in e.summary.links)),
        key=lambda e: (search.sort_key(e.summary.title), e.summary.slug),
    )
    assert len(expected) == counts[key] > 10
    seen = []
    page = 1
    while True:
        total, hits = real.linked("keyword", key, page=page, size=4)
        assert total == len(expected)
        if not hits:
            break
        assert len(hits) <= 4
        seen += [h.slug for h in hits]
        page += 1
    assert seen == [e.summary.slug for e in expected]
    assert real.linked("keyword", "no-such-keyword") == (0, [])
    assert real.linked("country", "gbr")[0] == brute_counts(real_entries)["country"]["gbr"]


def test_linked_lists_each_study_once_whatever_its_roles(small):
    # Medical Research Council: sponsor of one, funder of another, publisher of a third.
    total, hits = small.linked("organization", "medical-research-council")
    assert total == 3
    assert [h.slug for h in hits] == ["ageing", "night-work", "sleep-teens"]


def test_label(small):
    assert small.label("keyword", "education") == "education"
    assert small.label("country", "irl") == "Ireland"
    assert small.label("organization", "university-of-bristol") == "University of Bristol"
    assert small.label("keyword", "nothing") is None
    assert small.label("country", "education") is None


def test_ordered_pages_use_either_plan_and_agree(real, real_entries):
    by_title = sorted(real_entries, key=lambda e: (search.sort_key(e.summary.title), e.summary.slug))
    for filters in ({"country": ["gbr"]}, {"source": ["closer"]}, {"keyword": [real.facet_counts("keyword", 50)[-1].key]}):
        result = real.search(filters=filters, size=search.MAX_PAGE_SIZE)
        expected = [e.summary.slug for e in by_title if e.summary.slug in set(slugs(result))]
        assert slugs(result) == expected
        for size in (1, 3):
            walked = []
            for page in range(1, result.total // size + 2):
                walked += slugs(real.search(filters=filters, page=page, size=size))
            assert walked == expected


# ------------------------------------------------------------- files, concurrency


def test_read_only_open(open_index, tmp_path, real_entries):
    with pytest.raises(SearchIndexError):
        open_index(read_only=True)
    writer = open_index()
    writer.replace(real_entries[:10])
    reader = open_index(read_only=True)
    assert reader.count() == 10
    with pytest.raises(SearchIndexError):
        reader.replace(real_entries[10:])
    with pytest.raises(SearchIndexError):
        reader.delete(real_entries[0].summary.slug)
    writer.replace(real_entries[10:])  # the reader sees what the writer commits
    assert reader.count() == len(real_entries)
    assert reader.search("health").total == writer.search("health").total > 0
    assert index_counts(reader) == brute_counts(real_entries)
    reader.close()
    writer.close()
    with pytest.raises(SearchIndexError):
        reader.count()
    if isinstance(writer, SearchIndex):
        assert sqlite3.connect(writer.path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_an_index_of_another_schema_version_is_refused(tmp_path):
    path = tmp_path / "search.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(SearchIndexError, match="schema version 99"):
        SearchIndex(path)


def test_the_state_row_counts_the_records_through_every_kind_of_write(tmp_path, real_entries):
    """The records count the pages read (SQLite's state row, written in each write's
    transaction) stays the table's count through adds, replacements, a slug given twice,
    deletes and a clear; the generation moves with every write."""
    index = SearchIndex(tmp_path / "search.db")
    db = sqlite3.connect(tmp_path / "search.db")

    def state() -> tuple[int, int, int]:
        generation, records = db.execute("SELECT generation, records FROM state").fetchone()
        return generation, records, db.execute("SELECT count(*) FROM records").fetchone()[0]

    generations = [state()[0]]
    writes = [
        lambda: index.replace(real_entries[:10]),
        lambda: index.replace(real_entries[5:20] + real_entries[5:8]),
        lambda: index.delete(real_entries[0].summary.slug),
        lambda: index.replace([entry(record("twice", "One")), entry(record("twice", "Two"))]),
        lambda: index.clear(),
        lambda: index.replace(real_entries),
    ]
    for write in writes:
        write()
        generation, records, counted = state()
        assert records == counted == index.count()
        assert generation > generations[-1]
        generations.append(generation)
    index.close()
    db.close()


def test_an_index_of_schema_3_is_read_as_it_is_and_migrated_when_opened_for_writing(tmp_path, real_entries):
    path = tmp_path / "search.db"
    with SearchIndex(path) as index:
        index.replace(real_entries)
        before = index.search()
        broad = index.search("study")
        assert broad.total * 8 > len(real_entries)  # counted from bitsets
    db = sqlite3.connect(path)
    db.executescript("DROP TABLE state; PRAGMA user_version = 3;")
    db.close()
    with SearchIndex(path, read_only=True) as old:
        assert old.count() == len(real_entries)
        assert old.search() == before and old.search() == before  # the years of all, counted each time
        assert old.search("study") == broad  # by counting memberships: nothing is kept without a generation
    with SearchIndex(path) as migrated:
        assert migrated.search() == before
        migrated.delete(real_entries[0].summary.slug)
        assert migrated.count() == len(real_entries) - 1
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone() == (search.SCHEMA_VERSION,)
    assert db.execute("SELECT records FROM state").fetchone() == (len(real_entries) - 1,)
    db.close()


def test_changed_facet_definitions_are_recomputed_on_open(open_index, real_entries, monkeypatch):
    with open_index() as index:
        index.replace(real_entries)
    changed = dict(FACETS, publisher=("organization", frozenset({"publisher"})), sponsor=("organization", frozenset({"sponsor"})))
    monkeypatch.setattr(search.schema, "FACETS", changed)
    with open_index() as index:
        expected = {name: Counter() for name in changed}
        for e in real_entries:
            for name, (kind, roles) in changed.items():
                expected[name].update({l.key for l in e.summary.links if l.kind == kind and l.role in (roles or {l.role})})
        for name in changed:
            assert {f.key: f.count for f in index.facet_counts(name, limit=1000)} == dict(expected[name]), name
        top = index.facet_counts("publisher", limit=1)[0]
        assert index.search(filters={"publisher": [top.key]}).total == top.count


def test_readers_in_threads_while_a_writer_writes(open_index, real_entries):
    index = open_index()
    first, second = real_entries[:20], real_entries[20:]
    index.replace(first)
    errors: list[BaseException] = []
    totals: set[int] = set()
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                result = index.search(size=search.MAX_PAGE_SIZE)
                # One snapshot: the total and the page describe the same state.
                assert len(result.hits) == result.total
                totals.add(result.total)
                index.search("health", filters={"country": ["gbr"]})
                index.linked("country", "gbr", page=2, size=5)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for _ in range(5):
        index.replace(second)
        for e in second:
            index.delete(e.summary.slug)
    index.replace(second)
    stop.set()
    for thread in threads:
        thread.join()
    index.close()
    assert not errors, errors
    assert totals <= set(range(20, len(real_entries) + 1))


def test_connections_of_ended_threads_are_closed(small):
    if not isinstance(small, SearchIndex):
        pytest.skip("SQLite's connections per thread; PostgreSQL's pool is shared")
    def read() -> None:
        small.search("sleep")

    for _ in range(10):
        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
    small.count()  # this thread's connection: the ended threads' ones are closed
    assert len(small._readers) <= 2


def test_years_facet_counts_studies_in_every_decade_they_cover(small):
    import datetime as dt

    present = dt.date.today().year // 10 * 10
    ongoing = range(2010, present + 1, 10)  # school-health, from 2010, no end
    expected = {1990: 2, 2000: 2}  # night-work (ends 1995), ageing (1990-2020); sleep-teens (2000-2005)
    for decade in ongoing:
        expected[decade] = expected.get(decade, 0) + 1
    for decade in (2010, 2020):
        expected[decade] = expected.get(decade, 0) + 1  # ageing
    assert {d.decade: d.count for d in small.search().decades} == expected, "étude-santé has no years: not counted"
    # Over a search: only the matching studies (sleep-teens does not mention health).
    matching = {d.decade: d.count for d in small.search("health").decades}
    assert matching[1990] == 2 and matching[2000] == 1 and matching[2010] == 2
    # A write changes the counts of the whole index on the next request.
    assert small.delete("ageing")
    after = {d.decade: d.count for d in small.search().decades}
    assert after[1990] == 1 and after[2000] == 1 and after[2010] == 1


def test_a_chosen_facet_counts_what_each_further_choice_would_add(small):
    """Keys of one facet are ORed, so that facet's counts leave its own filter out;
    the other facets count the studies that match."""
    chosen = small.search(filters={"keyword": ["education"]})
    assert chosen.total == 3  # sleep-teens, school-health, ageing
    keywords = {f.key: f.count for f in chosen.facets["keyword"]}
    assert keywords["sleep"] == 1 and keywords["work"] == 1, "night-work would be added by choosing sleep or work"
    assert keywords["education"] == 3
    countries = {f.key: f.count for f in chosen.facets["country"]}
    assert "fra" not in countries and countries == {"gbr": 1, "irl": 1}, "other facets count the 3 matching studies"
    both = small.search(filters={"keyword": ["education", "sleep"]})
    assert both.total == 4
    # With text too, the keyword facet counts the studies matching the text alone.
    narrowed = small.search("health", filters={"keyword": ["sleep"]})
    assert {hit.slug for hit in narrowed.hits} == {"night-work"}
    assert {f.key: f.count for f in narrowed.facets["keyword"]}["education"] == 2  # school-health, ageing
