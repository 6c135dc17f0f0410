"""A study's head (its validators, DOI and languages) is read from the index on every
backend, and is the same as the one read from its graph; writes the loader does not
make forget the heads they may change, so a page never answers with a stale one."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph
from conftest import SHARED

from studygraph.graph.catalogue import Catalogue
from studygraph.graph.loader import Loader
from studygraph.mappings.readers import read_bytes
from studygraph.mappings.urls import Urls

from .conftest import BASE

URLS = Urls(BASE)
SHARED_RECORDS = [Path(SHARED) / "records" / name for name in ("harmony-samples.jsonl", "harmony-real.jsonl")]
#: A study in two languages with two DOIs (the head names the first in code-point order).
BILINGUAL = {
    "dataset_schema": {
        "name": [{"@value": "Sleep in schools", "@language": "en-GB"}, {"@value": "Le sommeil à l'école", "@language": "fr"}],
        "description": [{"@value": "How long pupils sleep, asked in 40 schools over ten years.", "@language": "en-GB"}, "Untagged text."],
        "identifier": ["https://doi.org/10.9999/zzz", "10.9999/aaa"],
    },
    "extra_data": {"slug": "sleep-in-schools"},
}


def load_lines(catalogue: Catalogue, lines: list[str]) -> None:
    Loader(catalogue, URLS).load(read_bytes("\n".join(lines).encode(), "records.jsonl"))


def heads_from_the_graphs(catalogue: Catalogue, slugs: list[str]) -> dict:
    """Each study's head as the store gives it (the index told to forget them)."""
    assert catalogue.index is not None
    catalogue.index.forget_heads()
    assert all(catalogue.index.head(slug) is None for slug in slugs)
    return {slug: catalogue.head(URLS.item(slug)) for slug in slugs}


def test_the_indexed_head_of_every_study_is_the_one_its_graph_gives(catalogue: Catalogue) -> None:
    lines = [line for path in SHARED_RECORDS for line in path.read_text().splitlines() if line.strip()]
    load_lines(catalogue, [*lines, json.dumps({"record": BILINGUAL})])
    assert catalogue.index is not None
    slugs = catalogue.index.slugs()
    assert len(slugs) == len(lines) + 1
    indexed = {slug: catalogue.index.head(slug) for slug in slugs}
    assert all(head is not None for head in indexed.values())
    assert indexed == heads_from_the_graphs(catalogue, slugs)
    bilingual = indexed["sleep-in-schools"]
    assert bilingual is not None and bilingual.languages == ("", "en-gb", "fr")
    assert bilingual.doi == "https://doi.org/10.9999/aaa"
    assert sum(1 for head in indexed.values() if head is not None and head.doi) >= 20


def test_remap_brings_back_the_heads_an_outside_write_forgot(catalogue: Catalogue) -> None:
    load_lines(catalogue, [json.dumps({"record": BILINGUAL}), json.dumps({"record": {"dataset_schema": {"name": "Other"}}})])
    assert catalogue.index is not None
    before = catalogue.index.head("sleep-in-schools")
    catalogue.index.forget_heads(["sleep-in-schools"])
    assert catalogue.index.head("sleep-in-schools") is None and catalogue.index.head("other") is not None
    assert catalogue.head(URLS.item("sleep-in-schools")) == before  # read from the graph meanwhile
    Loader(catalogue, URLS).remap()  # same hashes, but a row without its head is written again
    assert catalogue.index.head("sleep-in-schools") == before


def test_a_sparql_update_forgets_every_head_and_the_graph_answers(catalogue: Catalogue) -> None:
    load_lines(catalogue, [json.dumps({"record": BILINGUAL})])
    name = URLS.item("sleep-in-schools")
    catalogue.update(f'INSERT DATA {{ GRAPH <{name}> {{ <{name}#id> <http://purl.org/dc/terms/title> "Schlaf in Schulen"@de }} }}')
    assert catalogue.index is not None and catalogue.index.head("sleep-in-schools") is None
    head = catalogue.head(name)
    assert head is not None and head.languages == ("", "de", "en-gb", "fr")


def test_a_graph_store_delete_of_a_record_graph_leaves_no_head(catalogue: Catalogue) -> None:
    load_lines(catalogue, [json.dumps({"record": BILINGUAL})])
    name = URLS.item("sleep-in-schools")
    assert catalogue.graph_store_delete(pyoxigraph.NamedNode(name)) is True
    assert catalogue.head(name) is None  # the index row is still there: check --repair drops it
    assert catalogue.index is not None and "sleep-in-schools" in catalogue.index.slugs()
