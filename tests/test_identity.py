"""A record is replaced only by a newer version of the same record: same source, same
identifier. Slugs stay readable; a second identity wanting a taken slug gets a stable
suffixed one, and the clash is reported."""

from __future__ import annotations

import json

import pytest
from conftest import RECORDS, load_shared_records, run_cli
from pyoxigraph import NamedNode

from studygraph.graph.embedded import open_catalogue
from studygraph.mappings.identity import LOCAL, Identity, record_identity, source_of

DCT_TITLE = NamedNode("http://purl.org/dc/terms/title")
BASE = "http://b.example"

FRAGMENTS = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<{base}/dcat#ds1> a dcat:Dataset ; dct:title "First dataset" ; dct:description "One." .
<{base}/dcat#ds2> a dcat:Dataset ; dct:title "Second dataset" ; dct:description "Two." .
"""
SAME_PATH = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<https://a.example.org/dataset/data> a dcat:Dataset ; dct:title "Data from A" ; dct:description "A's." .
<https://b.example.org/dataset/data> a dcat:Dataset ; dct:title "Data from B" ; dct:description "B's." .
"""
FOREIGN_BIB = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<https://other.example.org/dataset/born-in-bradford-bib> a dcat:Dataset ;
    dct:title "{title}" ; dct:description "Another catalogue's record with the same last segment." .
"""


def titles(store_dir) -> dict[str, str]:
    """slug -> title of every study in the store."""
    store = open_catalogue(store_dir, read_only=True)
    try:
        return {
            q.subject.value.split("/items/")[1].removesuffix("#id"): q.object.value
            for q in store.quads._store.quads_for_pattern(None, DCT_TITLE, None)
            if "/items/" in q.subject.value and q.subject.value.endswith("#id") and q.graph_name.value.endswith(q.subject.value.split("/items/")[1].removesuffix("#id"))
        }
    finally:
        store.close()


def test_identity_is_the_source_and_the_records_own_iri_or_identifier():
    harvested = {"url": "https://a.example.org/dataset/data", "harvest_source": "https://a.example.org/catalog?page=2"}
    assert record_identity({}, harvested, "data") == Identity("https://a.example.org", "https://a.example.org/dataset/data")
    # A catalogue and its change feed are one source.
    assert source_of("http://h:8000/catalog") == source_of("http://h:8000/changes") == "http://h:8000"
    harmony = {"extra_data": {"slug": "bib", "harmony_id": "ukllc/bib"}}
    assert record_identity(harmony, {}, "bib") == Identity(LOCAL, "bib")
    assert record_identity({"extra_data": {"harmony_id": "ukllc/bib"}}, {}, "born-in-bradford") == Identity(LOCAL, "ukllc/bib")
    assert record_identity({}, {}, "a-name") == Identity(LOCAL, "a-name")


def test_fragment_iris_are_two_records(static_site, tmp_path):
    url = static_site.put("/dcat", FRAGMENTS)
    store = tmp_path / "s"
    result = run_cli("harvest", url, "--store", str(store), "--base-url", BASE)
    assert result.returncode == 0, result.stderr
    assert b"2 new, 0 replaced" in result.stdout
    assert titles(store) == {"ds1": "First dataset", "ds2": "Second dataset"}


@pytest.mark.parametrize("fresh", [True, False], ids=["bulk", "transactional"])
def test_same_path_on_two_hosts_are_two_records_with_stable_slugs(tmp_path, fresh):
    store = tmp_path / "s"
    source = tmp_path / "both.ttl"
    source.write_text(SAME_PATH)
    if not fresh:
        assert run_cli("load", str(RECORDS / "seed-page.txt"), "--store", str(store), "--base-url", BASE, "-q").returncode == 0
    result = run_cli("load", str(source), "--store", str(store), "--base-url", BASE)
    assert result.returncode == 0, result.stderr
    assert b"2 new" in result.stdout
    suffix = Identity(LOCAL, "https://b.example.org/dataset/data").digest(6)
    found = titles(store)
    assert found["data"] == "Data from A" and found[f"data-{suffix}"] == "Data from B"
    # The clash is reported, naming both records.
    assert b"/items/data is another record's (https://a.example.org/dataset/data)" in result.stderr
    assert f"published at /items/data-{suffix}".encode() in result.stderr
    # Loading again changes nothing: each identity keeps its slug.
    again = run_cli("load", str(source), "--store", str(store), "-q")
    assert b"0 new, 0 replaced, 2 unchanged" in again.stdout
    assert titles(store) == found


def test_a_harvest_never_replaces_a_local_record(static_site, tmp_path):
    store = tmp_path / "s"
    load_shared_records(store, BASE)
    local = titles(store)["born-in-bradford-bib"]
    url = static_site.put("/catalog.ttl", FOREIGN_BIB.replace("{title}", "Foreign Bradford"))
    result = run_cli("harvest", url, "--store", str(store))
    assert result.returncode == 0, result.stderr
    assert b"1 new, 0 replaced" in result.stdout
    assert b"/items/born-in-bradford-bib is another record's (born-in-bradford-bib)" in result.stderr
    foreign = Identity(static_site.base, "https://other.example.org/dataset/born-in-bradford-bib")
    slug = f"born-in-bradford-bib-{foreign.digest(6)}"
    found = titles(store)
    assert found["born-in-bradford-bib"] == local and found[slug] == "Foreign Bradford"
    # A newer version of the harvested record replaces it, at its slug; the local one stays.
    static_site.put("/catalog.ttl", FOREIGN_BIB.replace("{title}", "Foreign Bradford, revised"))
    result = run_cli("harvest", url, "--store", str(store), "-q")
    assert b"0 new, 1 replaced" in result.stdout
    found = titles(store)
    assert found["born-in-bradford-bib"] == local and found[slug] == "Foreign Bradford, revised"
    # --prune touches only this source's records: the source empties, its record goes, no other.
    static_site.put("/catalog.ttl", "@prefix dcat: <http://www.w3.org/ns/dcat#> . <{base}/c> a dcat:Catalog .")
    result = run_cli("harvest", url, "--store", str(store), "--prune", "-q")
    assert b"1 records deleted" in result.stdout, result.stdout
    after = titles(store)
    assert slug not in after and after["born-in-bradford-bib"] == local and len(after) == 43


def test_a_local_load_never_replaces_a_harvested_record(static_site, tmp_path):
    store = tmp_path / "s"
    url = static_site.put("/catalog.ttl", FOREIGN_BIB.replace("{title}", "Foreign Bradford"))
    assert run_cli("harvest", url, "--store", str(store), "--base-url", BASE, "-q").returncode == 0
    assert titles(store) == {"born-in-bradford-bib": "Foreign Bradford"}
    record = next(json.loads(line)["record"] for line in (RECORDS / "harmony-real.jsonl").open() if '"born-in-bradford-bib"' in line)
    result = run_cli("load", "-", "--store", str(store), input=json.dumps(record).encode())
    assert b"1 new, 0 replaced" in result.stdout
    found = titles(store)
    assert found["born-in-bradford-bib"] == "Foreign Bradford"
    assert found[f"born-in-bradford-bib-{Identity(LOCAL, 'born-in-bradford-bib').digest(6)}"] == record["dataset_schema"]["name"]


def test_remap_keeps_slugs_and_identities(tmp_path):
    store = tmp_path / "s"
    source = tmp_path / "both.ttl"
    source.write_text(SAME_PATH)
    assert run_cli("load", str(source), "--store", str(store), "--base-url", BASE, "-q").returncode == 0
    before = titles(store)
    assert run_cli("remap", "--store", str(store), "-q").returncode == 0
    assert titles(store) == before
    again = run_cli("load", str(source), "--store", str(store), "-q")
    assert b"2 unchanged" in again.stdout


def test_a_change_feed_deletes_by_identity(tmp_path, static_site):
    """A deletion in another studygraph's feed removes the record harvested from it, not a
    local record that happens to have the same slug."""
    from conftest import LiveServer, free_port

    source_store = tmp_path / "a"
    port = free_port()
    base_a = f"http://127.0.0.1:{port}"
    assert run_cli("load", str(RECORDS / "seed-page.txt"), "--store", str(source_store), "--base-url", base_a, "-q").returncode == 0
    server = LiveServer(source_store, token="t", port=port)
    try:
        store = tmp_path / "b"
        # B holds its own local copy first, then harvests A: A's record gets a suffix.
        assert run_cli("load", str(RECORDS / "seed-page.txt"), "--store", str(store), "--base-url", BASE, "-q").returncode == 0
        assert run_cli("harvest", f"{base_a}/catalog", "--store", str(store), "-q").returncode == 0
        slugs = set(titles(store))
        assert len(slugs) == 2
        seed = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
        import urllib.request

        request = urllib.request.Request(f"{base_a}/api/records/{seed}", method="DELETE", headers={"Authorization": "Bearer t"})
        assert urllib.request.urlopen(request).status == 204
        result = run_cli("harvest", f"{base_a}/changes", "--store", str(store), "-q")
        assert result.returncode == 0, result.stderr
        assert set(titles(store)) == {seed}
    finally:
        server.stop()
