"""`studygraph harvest` between real servers on loopback, and from a static DCAT catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph
import pytest
from conftest import LiveServer, free_port, load_shared_records, run_cli

from studygraph.graph.embedded import open_catalogue

TOKEN = "harvest-token"
#: Statements about where and when a copy was made: they differ between A and B by design.
BOOKKEEPING = ("#sourceName", "#sourceFormat", "#harvestSource", "#harvestedAt", "#recordSource", "#recordIdentifier", "ns/prov#wasDerivedFrom", "/terms/issued", "/terms/modified")


def comparable(store_dir: Path, base: str) -> dict[str, set]:
    """Each record graph as a set of N-Triples lines, base URL replaced, bookkeeping left out."""
    store = open_catalogue(store_dir, read_only=True)
    graphs: dict[str, set] = {}
    for quad in store.quads._store.quads_for_pattern(None, None, None):
        if any(quad.predicate.value.endswith(b) for b in BOOKKEEPING):
            continue
        name = quad.graph_name.value.replace(base, "BASE")
        line = f"{quad.subject} {quad.predicate} {quad.object}".replace(base, "BASE")
        graphs.setdefault(name, set()).add(line)
    store.close()
    return graphs


@pytest.fixture
def source(tmp_path):
    store = tmp_path / "a"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    load_shared_records(store, base)
    server = LiveServer(store, token=TOKEN, port=port)
    yield server, store, base
    server.stop()


def test_b_harvests_a_and_follows_its_changes(source, tmp_path):
    server, store_a, base_a = source
    store_b, base_b = tmp_path / "b", "http://b.example"
    result = run_cli("harvest", f"{server.url}/catalog", "--store", str(store_b), "--base-url", base_b, "-q")
    assert result.returncode == 0, result.stderr.decode()
    assert b"43 new" in result.stdout
    assert comparable(store_b, base_b) == comparable(store_a, base_a)

    # A changes: one record replaced, one deleted, one added.
    changed = {"dataset_schema": {"name": "Renamed study", "description": "Changed at A."}, "extra_data": {"slug": "teenage-smoking-attitudes-survey-1998"}}
    added = {"dataset_schema": {"name": "Added at A", "description": "New."}, "extra_data": {"slug": "added-at-a"}}
    import urllib.request

    body = (json.dumps(changed) + "\n" + json.dumps(added) + "\n").encode()
    request = urllib.request.Request(f"{server.url}/api/records", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"})
    assert urllib.request.urlopen(request, timeout=30).status == 200
    delete = urllib.request.Request(f"{server.url}/api/records/audit-of-political-engagement-5-2007", method="DELETE",
                                    headers={"Authorization": f"Bearer {TOKEN}"})
    assert urllib.request.urlopen(delete, timeout=30).status == 204

    result = run_cli("harvest", f"{server.url}/changes", "--store", str(store_b), "-q")
    assert result.returncode == 0, result.stderr.decode()
    assert b"1 records deleted" in result.stdout
    assert comparable(store_b, base_b) == comparable(store_a, base_a)
    # Nothing new since: a second incremental harvest changes nothing.
    again = run_cli("harvest", f"{server.url}/changes", "--store", str(store_b), "-q")
    assert b"0 new, 0 replaced" in again.stdout and b"0 records deleted" in again.stdout


def test_harvest_from_the_sparql_endpoint(source, tmp_path):
    server, store_a, base_a = source
    store_b = tmp_path / "b"
    result = run_cli("harvest", f"{server.url}/sparql", "--store", str(store_b), "--base-url", "http://b.example", "-q")
    assert result.returncode == 0, result.stderr.decode()
    assert comparable(store_b, "http://b.example") == comparable(store_a, base_a)


def test_harvest_pages_found_through_the_sitemap(source, tmp_path):
    """Study pages with embedded schema.org JSON-LD, listed by the sitemap index."""
    server, _, _ = source
    result = run_cli("harvest", f"{server.url}/sitemap.xml", "--store", str(tmp_path / "b"), "--base-url", "http://b.example", "-q")
    assert result.returncode == 0, result.stderr.decode()
    assert b"43 new" in result.stdout
    assert b"2 pages read, 0 unchanged" in result.stdout
    # Again: every study page is asked for conditionally, and none has changed.
    again = run_cli("harvest", f"{server.url}/sitemap.xml", "--store", str(tmp_path / "b"), "-q")
    assert again.returncode == 0, again.stderr.decode()
    assert b"0 new, 0 replaced, 0 unchanged" in again.stdout
    assert b"43 unchanged (304)" in again.stdout


CKAN_PAGE_1 = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .

<{base}/catalog.ttl?page=1> a hydra:PagedCollection ;
    hydra:firstPage "{base}/catalog.ttl?page=1" ; hydra:nextPage <{base}/catalog.ttl?page=2> ;
    hydra:totalItems 3 ; hydra:itemsPerPage 2 .
<{base}> a dcat:Catalog ; dct:title "CKAN demo" ; dcat:dataset <{base}/dataset/cohort-a>, <{base}/dataset/survey-b> .
<{base}/dataset/cohort-a> a dcat:Dataset ; dct:title "Cohort A" ; dct:description "A birth cohort." ;
    dcat:keyword "ageing", "cohort" ; dct:publisher <{base}/organization/uni> ;
    dct:temporal [ a dct:PeriodOfTime ; dcat:startDate "1990-01-01" ; dcat:endDate "2000-12-31" ] ;
    dct:spatial <http://publications.europa.eu/resource/authority/country/IRL> ;
    dcat:landingPage <https://cohort-a.example.org/> ;
    dcat:contactPoint [ a vcard:Organization ; vcard:fn "Data team" ] .
<{base}/organization/uni> a foaf:Organization ; foaf:name "Some University" .
<{base}/dataset/survey-b> a dcat:Dataset ; dct:title "Survey B" ; dct:description "A household survey." ;
    dcat:keyword "households" ; dct:identifier "10.1234/survey-b" .
"""
CKAN_PAGE_2 = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
<{base}/catalog.ttl?page=2> a hydra:PagedCollection ; hydra:previousPage <{base}/catalog.ttl?page=1> .
<{base}> a dcat:Catalog ; dcat:dataset <{base}/dataset/trial-c> .
<{base}/dataset/trial-c> a dcat:Dataset ; dct:title "Trial C" ; dct:description "A trial." .
<{base}/dataset/broken> a dcat:Dataset ; dct:description "No title." .
"""


@pytest.fixture
def ckan(static_site):
    """A static catalogue in ckanext-dcat's shape, served on loopback."""
    static_site.put("/catalog.ttl", CKAN_PAGE_1)
    static_site.put("/catalog.ttl?page=1", CKAN_PAGE_1)
    static_site.put("/catalog.ttl?page=2", CKAN_PAGE_2)
    return static_site.base, static_site


def test_harvest_a_ckanext_dcat_catalogue(ckan, tmp_path):
    base, pages = ckan
    store = tmp_path / "b"
    result = run_cli("harvest", f"{base}/catalog.ttl", "--store", str(store), "--base-url", "http://b.example")
    assert result.returncode == 1  # one dataset has no title: rejected, the rest loaded
    assert b"3 new" in result.stdout
    assert b"dataset without a title" in result.stderr
    opened = open_catalogue(store, read_only=True)
    titles = {q.object.value for q in opened.quads._store.quads_for_pattern(None, pyoxigraph.NamedNode("http://purl.org/dc/terms/title"), None)
              if q.subject.value.endswith("#id") and "/items/" in q.subject.value}
    assert {"Cohort A", "Survey B", "Trial C"} <= titles
    cohort = "http://b.example/items/cohort-a"
    derived = [q.object.value for q in opened.quads._store.quads_for_pattern(pyoxigraph.NamedNode(cohort), pyoxigraph.NamedNode("http://www.w3.org/ns/prov#wasDerivedFrom"), None)]
    publisher = [q.object.value for q in opened.quads._store.quads_for_pattern(pyoxigraph.NamedNode(cohort + "#id"), pyoxigraph.NamedNode("http://purl.org/dc/terms/publisher"), None)]
    opened.close()
    assert derived == [f"{base}/dataset/cohort-a"]
    assert publisher == ["http://b.example/organizations/some-university#id"]

    # The source drops Trial C: a pruning harvest removes it, and nothing else.
    pages.put("/catalog.ttl?page=2", CKAN_PAGE_2.replace("dcat:dataset <{base}/dataset/trial-c>", "").replace(
        '<{base}/dataset/trial-c> a dcat:Dataset ; dct:title "Trial C" ; dct:description "A trial." .', ""))
    result = run_cli("harvest", f"{base}/catalog.ttl", "--store", str(store), "--prune", "-q")
    assert b"1 records deleted" in result.stdout
    assert run_cli("stats", "--store", str(store), "--json").stdout.count(b'"records": 2') == 1


def test_a_failing_source_loses_nothing(ckan, tmp_path):
    base, pages = ckan
    store = tmp_path / "b"
    assert b"3 new" in run_cli("harvest", f"{base}/catalog.ttl", "--store", str(store), "-q").stdout
    del pages.pages["/catalog.ttl?page=2"]
    result = run_cli("harvest", f"{base}/catalog.ttl", "--store", str(store), "--prune", "-q")
    assert result.returncode == 1
    assert b"HTTP 404" in result.stderr and b"--prune skipped" in result.stderr
    assert json.loads(run_cli("stats", "--store", str(store), "--json").stdout)["records"] == 3


SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{base}/a.html</loc></url><url><loc>{base}/b.html</loc></url>
</urlset>"""


def study_page(name: str) -> str:
    data = {"@context": "https://schema.org/", "@type": "Dataset", "name": name, "description": f"About {name}."}
    return f'<html><head><script type="application/ld+json">{json.dumps(data)}</script></head><body></body></html>'


def test_a_listed_page_that_fails_keeps_its_record_through_prune(static_site, tmp_path):
    """A page the sitemap still lists but that cannot be fetched is not a vanished record."""
    url = static_site.put("/sitemap.xml", SITEMAP, "application/xml")
    static_site.put("/a.html", study_page("Study A"), "text/html")
    static_site.put("/b.html", study_page("Study B"), "text/html")
    store = tmp_path / "s"
    assert b"2 new" in run_cli("harvest", url, "--store", str(store), "--base-url", "http://b.example", "-q").stdout
    del static_site.pages["/b.html"]
    result = run_cli("harvest", url, "--store", str(store), "--prune", "-q", "--retries", "0")
    assert result.returncode == 1
    assert b"--prune skipped: 1 listed pages could not be read" in result.stderr
    assert json.loads(run_cli("stats", "--store", str(store), "--json").stdout)["records"] == 2


def test_a_harvest_sends_its_requests_by_the_transport_it_is_given(static_site, tmp_path):
    """The fetcher's transport is passed in: here the harvest's own opener sending through
    a proxy on loopback, so a catalogue at a host that does not resolve is harvested from
    the loopback site, which sees the absolute URLs a proxy is asked for."""
    from studygraph.graph.loader import Loader
    from studygraph.harvest.run import harvest
    from studygraph.harvest.transport import harvest_opener
    from studygraph.mappings.urls import Urls

    source = "http://catalogue.invalid"
    for path, page in (("/catalog.ttl", CKAN_PAGE_1), ("/catalog.ttl?page=1", CKAN_PAGE_1), ("/catalog.ttl?page=2", CKAN_PAGE_2)):
        static_site.pages[source + path] = ("text/turtle", page.replace("{base}", source).encode())
    store = open_catalogue(tmp_path / "b")
    store.set_base_url("http://b.example")
    try:
        report = harvest(f"{source}/catalog.ttl", store, Loader(store, Urls("http://b.example")),
                         transport=harvest_opener({"http": static_site.base}))
        slugs = store.index.slugs()
    finally:
        store.close()
    assert report.errors == [] and report.requests == 2  # the first page and its next
    assert len(report.load.rejections) == 1  # the dataset without a title, as from the real site
    assert slugs == ["cohort-a", "survey-b", "trial-c"]
