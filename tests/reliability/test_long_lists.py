"""Long lists are handled in linear time and bounded: a record with 100,000 keywords
(each given twice, some as JSON objects that cannot be hashed) keeps the first 10,000
distinct ones in their order (mappings.profile.MAX_VALUES), with a warning, from a
Harmony record and from a DCAT page alike. Time is not asserted here; what is asserted is
the behaviour a linear de-duplication and the bound must keep."""

from __future__ import annotations

import json

from studygraph.mappings.namespaces import DCAT
from studygraph.mappings.profile import MAX_VALUES, map_record
from studygraph.mappings.readers import read_bytes
from studygraph.mappings.record_values import distinct
from studygraph.mappings.records import SourceRecord
from studygraph.mappings.terms import literal
from studygraph.mappings.urls import Urls

URLS = Urls("https://catalogue.example.org")
STAMP = "2026-01-01T00:00:00Z"
COUNT = 100_000


def keywords(count: int) -> list[str]:
    return [f"keyword {n:06d}" for n in range(count)]


def mapped_keywords(mapped) -> list[str]:
    """The study's dcat:keyword literals (N-Triples terms), in the order written."""
    predicate = f"<{DCAT}keyword>"
    return [o for _, p, o in mapped.graph.statements if p == predicate]


def test_distinct_keeps_order_and_finds_duplicates_of_every_kind() -> None:
    values = ["a", {"x": [1, 2]}, "b", "a", {"x": [1, 2]}, [1, {"y": 2}], [1, {"y": 2}], 1, 1.0, None, None, {"x": [2, 1]}]
    assert distinct(values) == ["a", {"x": [1, 2]}, "b", [1, {"y": 2}], 1, None, {"x": [2, 1]}]


def test_a_record_with_100000_keywords_keeps_the_first_10000_distinct_ones() -> None:
    given = keywords(COUNT)
    unhashable = [{"name": "not a keyword"}] * 1000  # objects are not keywords: dropped, once each
    record = {"dataset_schema": {"name": "Many keywords", "description": "A long list.", "keywords": given + given[::-1] + unhashable},
              "extra_data": {"slug": "many-keywords"}}
    mapped = map_record(record, URLS, issued=STAMP, modified=STAMP)
    assert mapped_keywords(mapped) == [literal(k) for k in given[:MAX_VALUES]]
    assert len(mapped.summary.keywords) == MAX_VALUES
    assert len([link for link in mapped.summary.links if link.kind == "keyword"]) == MAX_VALUES
    assert [str(w) for w in mapped.warnings if w.field == "keywords"] == [f"keywords: 100,001 distinct values; the first {MAX_VALUES:,} kept"]


def test_a_dcat_dataset_with_100000_keywords_is_read_whole_and_mapped_bounded() -> None:
    given = keywords(COUNT)
    literals = " , ".join(json.dumps(k) for k in given + given)
    page = (f'<http://other.example/ds> a <{DCAT}Dataset> ; <http://purl.org/dc/terms/title> "Many keywords" ;\n'
            f"  <{DCAT}keyword> {literals} .\n").encode()
    [record] = list(read_bytes(page, "http://other.example/catalog.ttl", "dcat"))
    assert isinstance(record, SourceRecord)
    assert record.data["dataset_schema"]["keywords"] == given
    mapped = map_record(record.data, URLS, issued=STAMP, modified=STAMP)
    assert mapped_keywords(mapped) == [literal(k) for k in given[:MAX_VALUES]]
