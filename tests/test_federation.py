"""Feeds for harvesters: the change feed, 410 Gone, the dump, robots.txt."""

from __future__ import annotations

import gzip
import threading

import pyoxigraph
import pytest
from conftest import BASE, load_shared_records

from studygraph.graph.embedded import open_catalogue
from studygraph.graph.loader import Loader
from studygraph.mappings.records import Origin, SourceRecord
from studygraph.mappings.urls import Urls
from studygraph.server.app import ServerSettings, create_app

AS = "https://www.w3.org/ns/activitystreams#"


@pytest.fixture
def site(tmp_path):
    directory = tmp_path / "store"
    load_shared_records(directory, BASE)
    store = open_catalogue(directory)
    app = create_app(store, ServerSettings(base_url=BASE, token="t"))
    yield store, app.test_client()
    store.close()


def activities(client, query: str = "") -> list[tuple[str, str, int]]:
    body = client.get(f"/changes.nt{query}").data
    triples = list(pyoxigraph.parse(body, format=pyoxigraph.RdfFormat.N_TRIPLES))
    kinds = {t.subject.value: t.object.value.removeprefix(AS) for t in triples if t.predicate.value.endswith("#type") and t.object.value.startswith(AS)}
    objects = {t.subject.value: t.object.value for t in triples if t.predicate.value == AS + "object"}
    sequence = {t.subject.value: int(t.object.value) for t in triples if t.predicate.value.endswith("#changeSequence")}
    return sorted((kinds[a], objects[a].removeprefix(f"{BASE}/items/").removesuffix("#id"), sequence[a]) for a in kinds)


def test_a_fresh_load_is_in_the_change_feed(site):
    _, client = site
    entries = activities(client)
    assert len(entries) == 43 and {kind for kind, _, _ in entries} == {"Create"}


def test_changes_since_a_token_include_replacements_and_deletions(site):
    store, client = site
    latest = max(sequence for _, _, sequence in activities(client))
    record = {"dataset_schema": {"name": "Changed title", "description": "x"}, "extra_data": {"slug": "teenage-smoking-attitudes-survey-1998"}}
    Loader(store, Urls(BASE)).load([SourceRecord(record, Origin("change.json"), "harmony")])
    headers = {"Authorization": "Bearer t"}
    assert client.delete("/api/records/audit-of-political-engagement-5-2007", headers=headers).status_code == 204
    assert [(kind, slug) for kind, slug, _ in activities(client, f"?since={latest}")] == [
        ("Delete", "audit-of-political-engagement-5-2007"),
        ("Update", "teenage-smoking-attitudes-survey-1998"),
    ]
    assert activities(client, f"?since={latest + 2}") == []
    assert client.get("/changes?since=not-a-date").status_code == 400
    assert len(activities(client, "?since=2000-01-01")) == 45
    assert activities(client, "?since=2999-01-01T00:00:00Z") == []


def test_deleted_records_are_gone(site):
    _, client = site
    assert client.delete("/api/records/audit-of-political-engagement-5-2007", headers={"Authorization": "Bearer t"}).status_code == 204
    assert client.get("/items/audit-of-political-engagement-5-2007").status_code == 410
    assert client.get("/items/never-existed").status_code == 404


def test_the_dump_is_the_whole_dataset(site):
    store, client = site
    response = client.get("/dump.nq.gz")
    assert response.status_code == 200
    quads = list(pyoxigraph.parse(gzip.decompress(response.data), format=pyoxigraph.RdfFormat.N_QUADS))
    assert len(quads) == store.stats().quads


def test_robots_points_to_the_sitemap(site):
    _, client = site
    assert f"Sitemap: {BASE}/sitemap.xml" in client.get("/robots.txt").data.decode()


def _count(store, sparql: str) -> int:
    return int(next(iter(store.query(sparql)))["n"].value)


def test_void_figures_equal_counts_taken_by_sparql(site):
    store, client = site
    body = client.get("/.well-known/void.nt").data
    triples = list(pyoxigraph.parse(body, format=pyoxigraph.RdfFormat.N_TRIPLES))
    dataset = f"{BASE}/.well-known/void#dataset"
    figures = {t.predicate.value.rsplit("#", 1)[1]: t.object.value for t in triples if t.subject.value == dataset and t.object.value.isdigit()}
    assert int(figures["triples"]) == _count(store, "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }") == store.stats().quads
    assert int(figures["distinctSubjects"]) == _count(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) { GRAPH ?g { ?s ?p ?o } }")
    assert int(figures["distinctObjects"]) == _count(store, "SELECT (COUNT(DISTINCT ?o) AS ?n) { GRAPH ?g { ?s ?p ?o } }")
    datasets = _count(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) { GRAPH ?g { ?s a <http://www.w3.org/ns/dcat#Dataset> } }")
    partitions = {}
    for t in triples:
        if t.predicate.value == "http://rdfs.org/ns/void#class":
            partitions[t.object.value] = t.subject.value
    entities = {t.subject.value: int(t.object.value) for t in triples if t.predicate.value == "http://rdfs.org/ns/void#entities"}
    assert entities[partitions["http://www.w3.org/ns/dcat#Dataset"]] == datasets == 43
    dois = _count(store, 'SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } FILTER(STRSTARTS(STR(?o), "https://doi.org/")) }')
    links = {t.subject.value: int(t.object.value) for t in triples if t.subject.value.endswith("#links-doi") and t.predicate.value.endswith("#triples")}
    assert list(links.values()) == [dois] and dois > 0
    sparql = [t.object.value for t in triples if t.predicate.value.endswith("#sparqlEndpoint")]
    assert sparql == [f"{BASE}/sparql"]


def test_void_is_recomputed_after_a_write(site):
    store, client = site
    first = client.get("/.well-known/void.nt")
    assert client.delete("/api/records/audit-of-political-engagement-5-2007", headers={"Authorization": "Bearer t"}).status_code == 204
    client.get("/.well-known/void.nt")  # serves the old figures and starts the new ones
    for thread in threading.enumerate():
        if thread.name == "void":
            thread.join()
    second = client.get("/.well-known/void.nt")
    assert second.headers["ETag"] != first.headers["ETag"]

    def triples(response) -> int:
        parsed = pyoxigraph.parse(response.data, format=pyoxigraph.RdfFormat.N_TRIPLES)
        return next(int(t.object.value) for t in parsed if t.subject.value.endswith("void#dataset") and t.predicate.value.endswith("#triples"))

    assert triples(second) == store.stats().quads < triples(first)


def _page(client, url: str) -> tuple[list[str], dict[str, str], int]:
    body = client.get(url, headers={"Accept": "application/n-triples"}).data
    triples = list(pyoxigraph.parse(body, format=pyoxigraph.RdfFormat.N_TRIPLES))
    datasets = [t.object.value for t in triples if t.predicate.value == "http://www.w3.org/ns/dcat#dataset" and t.subject.value == f"{BASE}/catalog#id"]
    links = {t.predicate.value.rsplit("#", 1)[1]: t.object.value.removeprefix(BASE) for t in triples
             if t.predicate.value.rsplit("#", 1)[-1] in ("next", "previous", "first", "last") and "hydra" in t.predicate.value}
    total = next(int(t.object.value) for t in triples if t.predicate.value.endswith("#totalItems"))
    return datasets, links, total


@pytest.fixture
def paged(site):
    store, _ = site
    app = create_app(store, ServerSettings(base_url=BASE, catalog_page_size=10))
    return app.test_client()


def test_the_catalog_is_paged_forwards_and_backwards(paged):
    seen, url, pages = [], "/catalog", 0
    while url:
        datasets, links, total = _page(paged, url)
        assert total == 43 and len(datasets) <= 10
        seen += datasets
        url, pages = links.get("next"), pages + 1
    assert pages == 5 and len(seen) == len(set(seen)) == 43
    assert seen == sorted(seen)
    backwards, url = [], _page(paged, "/catalog")[1]["last"]
    while url:
        datasets, links, _ = _page(paged, url)
        backwards = datasets + backwards
        url = links.get("previous")
        if not datasets:
            break
    assert backwards == seen


def test_a_catalog_page_describes_its_datasets_whole(paged, site):
    store, _ = site
    body = paged.get("/catalog.nt").data
    triples = {(t.subject.value, t.predicate.value, str(t.object)) for t in pyoxigraph.parse(body, format=pyoxigraph.RdfFormat.N_TRIPLES)}
    first = _page(paged, "/catalog")[0][0].removesuffix("#id")
    record = {(t.subject.value, t.predicate.value, str(t.object)) for t in store.graph_triples(first)}
    assert record <= triples


def test_modified_since_filters_the_catalog(paged):
    assert _page(paged, "/catalog?modified_since=2999-01-01")[2] == 0
    assert _page(paged, "/catalog?modified_since=2000-01-01T00:00:00Z")[2] == 43
    assert paged.get("/catalog?modified_since=yesterday").status_code == 400


def test_the_sitemap_lists_every_item(site):
    from xml.etree import ElementTree

    store, _ = site
    client = create_app(store, ServerSettings(base_url=BASE, sitemap_size=20)).test_client()
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    root = ElementTree.fromstring(client.get("/sitemap.xml").data)
    sitemaps = [e.text.removeprefix(BASE) for e in root.iter(f"{ns}loc")]
    assert sitemaps == ["/sitemap-0.xml", "/sitemap-1.xml", "/sitemap-2.xml"]
    listed = []
    for path in sitemaps:
        urlset = ElementTree.fromstring(client.get(path).data)
        listed += [e.text for e in urlset.iter(f"{ns}loc")]
        assert all(e.text.endswith("Z") for e in urlset.iter(f"{ns}lastmod"))
    names = {g.value for g in store.quads._store.named_graphs() if g.value.startswith(f"{BASE}/items/")}
    assert sorted(listed) == sorted(names) and len(listed) == 43
    assert client.get("/sitemap-3.xml").status_code == 404
