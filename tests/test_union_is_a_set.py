"""The SPARQL default graph (the union of all graphs) is a set: every triple stored once.

A shared thing's description lives in its own graph while any record names it; a study's
document still carries the labels of everything it names; deleting the last record that
names a thing removes its description; remap and export lose nothing.
"""

from __future__ import annotations

import json

import pyoxigraph
import pytest
from conftest import RECORDS, LiveServer, load_shared_records, run_cli
from pyoxigraph import NamedNode
from SPARQLWrapper import JSON, SPARQLWrapper

from studygraph.graph.catalogue import Catalogue
from studygraph.graph.embedded import open_catalogue
from studygraph.graph.loader import Loader
from studygraph.mappings.readers import read_bytes
from studygraph.mappings.urls import Urls

BASE = "http://set.example"
SKOS_CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept"
COUNT_ALL = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
COUNT_DISTINCT = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"


def count(store: Catalogue, query: str) -> int:
    return int(next(iter(store.query(query)))["n"].value)


def assert_a_set(store: Catalogue) -> int:
    """COUNT(*) over the union equals the number of distinct triples; no empty graph stays."""
    total = count(store, COUNT_ALL)
    assert total == count(store, COUNT_DISTINCT)
    concepts = count(store, f"SELECT (COUNT(*) AS ?n) WHERE {{ ?c a <{SKOS_CONCEPT}> }}")
    assert concepts == count(store, f"SELECT (COUNT(DISTINCT ?c) AS ?n) WHERE {{ ?c a <{SKOS_CONCEPT}> }}")
    for graph in store.quads._store.named_graphs():
        assert next(store.quads._store.quads_for_pattern(None, None, None, graph), None) is not None, graph
    return total


def real_lines() -> list[dict]:
    return [json.loads(line)["record"] for name in ("harmony-real.jsonl", "harmony-samples.jsonl") for line in (RECORDS / name).open()]


@pytest.fixture
def transactional(tmp_path):
    """A store filled record by record (the transactional path), the seed page first."""
    path = tmp_path / "s"
    assert run_cli("load", str(RECORDS / "seed-page.txt"), "--store", str(path), "--base-url", BASE, "-q").returncode == 0
    store = open_catalogue(path)
    Loader(store, Urls(BASE)).load(read_bytes("\n".join(json.dumps(r) for r in real_lines()).encode(), "records.jsonl"))
    yield store
    store.close()


def test_the_union_is_a_set_after_loads_replaces_and_deletes(transactional):
    store = transactional
    loaded = assert_a_set(store)
    records = real_lines()
    first = records[0]
    slug = first["extra_data"]["slug"]
    keyword = first["dataset_schema"]["keywords"][0]
    # Replace a record: its keywords now include one no other record uses, and not the
    # first one it had.
    changed = json.loads(json.dumps(first))
    changed["dataset_schema"]["keywords"] = [*changed["dataset_schema"]["keywords"][1:], "A keyword of its own"]
    report = Loader(store, Urls(BASE)).load(read_bytes(json.dumps(changed).encode(), "changed.json"))
    assert report.counts["replaced"] == 1
    assert_a_set(store)
    own = NamedNode(f"{BASE}/keywords/a-keyword-of-its-own#id")
    assert next(store.quads._store.quads_for_pattern(own, None, None), None) is not None
    # A study's document still carries the label of every keyword it names.
    document = store.document_triples(f"{BASE}/items/{slug}")
    labels = {t.object.value for t in document if t.subject == own and t.predicate.value.endswith("#prefLabel")}
    assert labels == {"a keyword of its own"}
    # Deleting the last record that names a keyword removes the keyword's description.
    assert store.delete(f"{BASE}/items/{slug}")
    assert next(store.quads._store.quads_for_pattern(own, None, None), None) is None
    assert_a_set(store)
    # Every record gone: nothing is left, not even an empty graph.
    for record in store.index.slugs():
        assert store.delete(f"{BASE}/items/{record}")
    assert count(store, COUNT_ALL) == 0
    assert list(store.quads._store.named_graphs()) == []
    assert loaded > 8000 and keyword


def test_bulk_and_transactional_loads_give_the_same_set(transactional, tmp_path):
    bulk = tmp_path / "bulk"
    load_shared_records(bulk, BASE)
    opened = open_catalogue(bulk, read_only=True)
    try:
        assert assert_a_set(opened) == assert_a_set(transactional)
        skip = ("/terms/issued", "/terms/modified", "#sourceName")
        def triples(s):
            return {str(q) for q in s.quads._store.quads_for_pattern(None, None, None) if not q.predicate.value.endswith(skip)}
        assert triples(opened) == triples(transactional)
    finally:
        opened.close()


def test_remap_and_export_lose_nothing(tmp_path):
    path = tmp_path / "s"
    load_shared_records(path, BASE)
    before = run_cli("export", "--store", str(path), "--format", "nq").stdout
    assert run_cli("remap", "--store", str(path), "-q").returncode == 0
    after = run_cli("export", "--store", str(path), "--format", "nq").stdout
    assert set(before.splitlines()) == set(after.splitlines())
    # The export is the store: loaded into a new store, the same quads, and still a set.
    copy = pyoxigraph.Store()
    copy.load(after, format=pyoxigraph.RdfFormat.N_QUADS)
    assert len(copy) == len(set(after.splitlines()))
    union = list(copy.query(COUNT_ALL, use_default_graph_as_union=True))[0]["n"].value
    distinct = list(copy.query(COUNT_DISTINCT, use_default_graph_as_union=True))[0]["n"].value
    assert union == distinct


def test_sparql_clients_see_each_triple_once(tmp_path):
    path = tmp_path / "s"
    load_shared_records(path, BASE)
    server = LiveServer(path)
    try:
        client = SPARQLWrapper(f"{server.url}/sparql")
        client.setReturnFormat(JSON)

        def ask(query: str) -> int:
            client.setQuery(query)
            return int(client.queryAndConvert()["results"]["bindings"][0]["n"]["value"])

        assert ask(COUNT_ALL) == ask(COUNT_DISTINCT) > 8000
        client.setQuery(f"SELECT ?c WHERE {{ ?c a <{SKOS_CONCEPT}> }}")
        rows = [b["c"]["value"] for b in client.queryAndConvert()["results"]["bindings"]]
        assert len(rows) == len(set(rows)) > 400
    finally:
        server.stop()


def test_descriptions_do_not_depend_on_the_order_of_loading(tmp_path):
    """Two records spell one organisation differently: whichever comes first, the store
    keeps the same description, and a study's ETag changes when another record's
    spelling replaces the one its document showed."""
    def record(slug: str, sponsor: str) -> dict:
        return {"dataset_schema": {"name": f"Study {slug}", "description": "A study of things.", "sponsor": [{"name": sponsor}]},
                "extra_data": {"slug": slug}}

    first, second = record("a", "King’s College London"), record("b", "King's College London")
    stores = []
    for order in ((first, second), (second, first)):
        path = tmp_path / f"s{len(stores)}"
        assert run_cli("load", str(RECORDS / "seed-page.txt"), "--store", str(path), "--base-url", BASE, "-q").returncode == 0
        store = open_catalogue(path)
        for item in order:
            Loader(store, Urls(BASE)).load(read_bytes(json.dumps(item).encode(), "one.json"))
        stores.append(store)
    try:
        organisation = NamedNode(f"{BASE}/organizations/kings-college-london#id")
        names = [{q.object.value for q in s.quads._store.quads_for_pattern(organisation, NamedNode("https://schema.org/name"), None)} for s in stores]
        assert names[0] == names[1] and len(names[0]) == 1
        # In the store that saw the later-sorting spelling first, the replacement counted
        # as a write that changes documents without their records.
        assert sorted(s.direct_writes for s in stores) == [0, 1]
    finally:
        for store in stores:
            store.close()
