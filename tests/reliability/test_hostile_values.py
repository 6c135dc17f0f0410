"""Property: any JSON value in any field is a loaded record or a rejection, never an
exception, and what is loaded re-parses strictly.

Hypothesis puts hostile values (numbers that overflow, NaN and Infinity, lone
surrogates, nesting past the parser's reach, wrong types) at every path the mapping
profile reads and at the properties the other readers read; the readers and the mapping
must turn each into a record or a rejection, and the record's N-Quads must parse with
pyoxigraph's strict parser. The loader is then driven with the same input against a real
store, on both write paths.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyoxigraph import RdfFormat

from reliability.hostile import dcat_pages, harmony_records, jsonld_documents
from studygraph.graph.embedded import EmbeddedLocation, open_catalogue
from studygraph.graph.loader import Loader, _provenance, load_fresh
from studygraph.mappings.profile import MappedRecord, RecordError, map_record
from studygraph.mappings.readers import read_bytes
from studygraph.mappings.records import Rejection, SourceRecord
from studygraph.mappings.urls import Urls

BASE = "https://catalogue.example.org"
URLS = Urls(BASE)
STAMP = "2026-01-01T00:00:00Z"
SOURCE_RECORD = f"{BASE}/vocab#sourceRecord"
HOSTILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
GOOD = json.dumps({"dataset_schema": {"name": "A good study", "description": "Fine."}, "extra_data": {"slug": "good-{n}"}})


def strict_json(text: str) -> object:
    """JSON as RFC 8259 has it: NaN and Infinity are refused."""
    def refuse(constant: str) -> object:
        raise ValueError(f"{constant} is not JSON")
    return json.loads(text, parse_constant=refuse)


def check_mapped(mapped: MappedRecord) -> None:
    """The record graph and its descriptions parse strictly; the kept record is JSON."""
    quads = list(pyoxigraph.parse(mapped.graph.nquads(), format=RdfFormat.N_QUADS))
    assert quads
    list(pyoxigraph.parse(mapped.graph.ntriples(), format=RdfFormat.N_TRIPLES))
    kept = [q.object.value for q in quads if q.predicate.value == SOURCE_RECORD]
    assert len(kept) == 1
    strict_json(kept[0])
    for warning in mapped.warnings:
        assert str(warning).strip()


def map_everything(body: str, name: str, format: str) -> list[MappedRecord | Rejection | RecordError]:
    """Read *body* and map each record: the only exception allowed out is RecordError
    (a rejection), and every mapped record re-parses."""
    outcomes: list[MappedRecord | Rejection | RecordError] = []
    for result in read_bytes(body.encode("utf-8", "surrogatepass"), name, format):
        if isinstance(result, Rejection):
            assert result.reason
            outcomes.append(result)
            continue
        assert isinstance(result, SourceRecord)
        try:
            mapped = map_record(result.data, URLS, issued=STAMP, modified=STAMP, source_name=name,
                                source_format=result.format, provenance=_provenance(result))
        except RecordError as error:
            assert error.field and error.reason
            outcomes.append(error)
            continue
        check_mapped(mapped)
        outcomes.append(mapped)
    return outcomes


@HOSTILE
@given(harmony_records())
def test_any_value_in_any_harmony_field_maps_or_is_rejected(record: str) -> None:
    assert map_everything(record + "\n", "hostile.jsonl", "harmony")


@HOSTILE
@given(st.lists(harmony_records(), min_size=1, max_size=4))
def test_a_json_array_of_hostile_records_is_read_element_by_element(records: list[str]) -> None:
    outcomes = map_everything("[" + ",\n".join(records) + "]", "hostile.json", "harmony")
    assert len(outcomes) >= len(records)


@HOSTILE
@given(jsonld_documents())
def test_any_value_in_any_jsonld_property_maps_or_is_rejected(document: str) -> None:
    assert map_everything(document, "hostile.jsonld", "jsonld")


@HOSTILE
@given(jsonld_documents())
def test_any_value_in_an_html_pages_json_ld_maps_or_is_rejected(document: str) -> None:
    page = f'<html><head><script type="application/ld+json">{document}</script></head><body></body></html>'
    assert map_everything(page, "hostile.html", "html")


@HOSTILE
@given(dcat_pages())
def test_any_literal_in_a_dcat_page_maps_or_is_rejected(page: str) -> None:
    assert map_everything(page, "http://other.example/catalog.ttl", "dcat")


LOADER = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def jsonl(records: list[str], first: int) -> bytes:
    """Good records around hostile ones, as JSON Lines."""
    lines = [GOOD.replace("{n}", str(first))]
    for number, record in enumerate(records):
        lines += [record, GOOD.replace("{n}", str(first + number + 1))]
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


def assert_whole(report, body: bytes, good: int) -> None:
    """Every record is accounted for; the good ones are loaded; no rejection comes from
    the loader's last-resort containment (the mapping itself must say why)."""
    assert sum(report.counts.values()) == len(list(read_bytes(body, "hostile.jsonl", "harmony")))
    assert report.counts["new"] + report.counts["replaced"] + report.counts["unchanged"] >= good
    assert not [r for r in report.rejections if r.reason.startswith("could not be mapped")], report.rejections


def test_the_transactional_loader_loads_the_good_records_around_hostile_ones(tmp_path: Path) -> None:
    store = open_catalogue(tmp_path / "store")
    store.set_base_url(BASE)
    counter = iter(range(0, 10**9, 100))

    @LOADER
    @given(st.lists(harmony_records(), min_size=1, max_size=3))
    def check(records: list[str]) -> None:
        body = jsonl(records, next(counter))
        report = Loader(store, URLS).load(read_bytes(body, "hostile.jsonl", "harmony"))
        assert_whole(report, body, len(records) + 1)

    try:
        check()
        dumped = tmp_path / "dump.nq"
        with dumped.open("wb") as out:
            store.export(out, "nq")
    finally:
        store.close()
    assert list(pyoxigraph.parse(path=str(dumped), format=RdfFormat.N_QUADS))


def test_the_bulk_loader_builds_a_fresh_store_around_hostile_records(tmp_path: Path) -> None:
    counter = iter(range(10**6))

    @LOADER
    @given(st.lists(harmony_records(), min_size=1, max_size=3))
    def check(records: list[str]) -> None:
        target = tmp_path / f"store-{next(counter)}"
        body = jsonl(records, 0)
        report = load_fresh(EmbeddedLocation(target), read_bytes(body, "hostile.jsonl", "harmony"), URLS)
        assert_whole(report, body, len(records) + 1)
        opened = open_catalogue(target, read_only=True)
        try:
            assert opened.stats().records >= len(records) + 1
        finally:
            opened.close()

    check()
