"""Rendered representations kept by ETag: the disk tier, its use by the server, prerender."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pyoxigraph
import pytest
from conftest import BASE, RECORDS, run_cli
from werkzeug.http import http_date

from studygraph.graph.embedded import open_catalogue
from studygraph.graph.loader import Loader
from studygraph.mappings.readers import read_bytes
from studygraph.mappings.urls import Urls
from studygraph.server.app import ServerSettings, create_app
from studygraph.server.cache import DiskCache, RepresentationCache, variant_key
from studygraph.server.http import parse_modified

SEED = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
MEDIA = {"ttl": "text/turtle", "jsonld": "application/ld+json", "html": "text/html"}


def test_disk_cache_keeps_one_body_per_variant_valid_for_one_etag(tmp_path):
    cache = DiskCache(tmp_path / "r.sqlite")
    key = variant_key("/items/a", "ttl", "full")
    cache.put(key, '"v1"', b"first body " * 100)
    assert cache.get(key, '"v1"') == b"first body " * 100
    assert cache.get(key, '"v2"') is None, "a body is only valid for the ETag it was rendered for"
    cache.put(key, '"v2"', b"second")
    assert cache.get(key, '"v1"') is None and cache.get(key, '"v2"') == b"second"
    assert cache.count() == 1, "a new version overwrites the old row"
    assert DiskCache(tmp_path / "r.sqlite").get(key, '"v2"') == b"second", "bodies survive a reopen"


def test_forget_drops_every_variant_of_one_document_only(tmp_path):
    cache = DiskCache(tmp_path / "r.sqlite")
    for path in ("/items/a", "/items/ab", "/items/b"):
        for fmt in ("ttl", "html"):
            cache.put(variant_key(path, fmt, "full"), "e", path.encode())
    cache.forget("/items/a")
    assert cache.get(variant_key("/items/a", "ttl", "full"), "e") is None
    assert cache.get(variant_key("/items/ab", "html", "full"), "e") == b"/items/ab"
    assert cache.count() == 4


def test_memory_tier_is_bounded_and_fed_from_disk(tmp_path):
    disk = DiskCache(tmp_path / "r.sqlite")
    cache = RepresentationCache(max_bytes=800, disk=disk)
    for n in range(10):
        cache.put(variant_key(f"/items/{n}", "ttl", "full"), f"e{n}", bytes(100))
    assert cache._size <= 800
    assert cache.get(variant_key("/items/0", "ttl", "full"), "e0") == bytes(100), "evicted from memory, still on disk"


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("cache") / "store"
    result = run_cli("load", str(RECORDS), "--store", str(directory), "--base-url", BASE, "-q")
    assert result.returncode == 0, result.stderr
    return directory


def test_server_serves_a_rendered_variant_from_the_disk_after_a_restart(store_path, tmp_path):
    cache_file = tmp_path / "representations.sqlite"
    store = open_catalogue(store_path, read_only=True)
    try:
        first = create_app(store, ServerSettings(base_url=BASE, cache_path=str(cache_file))).test_client()
        miss = first.get(f"/items/{SEED}", headers={"Accept": "application/ld+json"})
        assert miss.status_code == 200 and miss.headers["X-Cache"] == "MISS"
        # A new app (a restarted server): nothing in memory, the body comes from the disk.
        second = create_app(store, ServerSettings(base_url=BASE, cache_path=str(cache_file))).test_client()
        hit = second.get(f"/items/{SEED}", headers={"Accept": "application/ld+json"})
        assert hit.headers["X-Cache"] == "HIT"
        assert hit.data == miss.data and hit.headers["ETag"] == miss.headers["ETag"]
        assert hit.headers["Content-Type"] == miss.headers["Content-Type"]
        other = second.get(f"/items/{SEED}", headers={"Accept": "text/turtle"})
        assert other.headers["X-Cache"] == "MISS", "each format is its own variant"
    finally:
        store.close()


def test_a_changed_record_is_rendered_again(tmp_path):
    record = json.loads(Path(RECORDS, "harmony-samples.jsonl").read_text(encoding="utf-8").splitlines()[0])["record"]
    source = tmp_path / "one.json"
    source.write_text(json.dumps(record), encoding="utf-8")
    directory = tmp_path / "store"
    assert run_cli("load", str(source), "--store", str(directory), "--base-url", BASE, "-q").returncode == 0
    store = open_catalogue(directory)
    try:
        slug = store.index.slugs()[0]
        app = create_app(store, ServerSettings(base_url=BASE, cache_path=str(tmp_path / "r.sqlite")))
        client = app.test_client()
        before = client.get(f"/items/{slug}.ttl")
        assert client.get(f"/items/{slug}.ttl").headers["X-Cache"] == "HIT"
        changed = {**record, "dataset_schema": {**record["dataset_schema"], "description": "A new description of the study, long enough to matter."}}
        Loader(store, Urls(BASE)).load(read_bytes(json.dumps(changed).encode(), "changed.json"))
        after = client.get(f"/items/{slug}.ttl")
        assert after.headers["X-Cache"] == "MISS" and after.headers["ETag"] != before.headers["ETag"]
        assert b"A new description" in after.data and b"A new description" not in before.data
    finally:
        store.close()


def test_prerender_fills_the_cache_the_server_reads(store_path):
    result = run_cli("prerender", "--store", str(store_path), "--workers", "2")
    assert result.returncode == 0, result.stderr
    counts = re.search(r"prerendered (\d+) studies x 3 formats .*: (\d+) rendered, (\d+) already cached, 0 failed", result.stdout.decode())
    assert counts, result.stdout
    studies = int(counts[1])
    store = open_catalogue(store_path, read_only=True)
    try:
        assert studies == store.index.count() > 40
        app = create_app(store, ServerSettings(base_url=BASE, cache_path=str(store_path / "representations.sqlite")))
        client = app.test_client()
        for slug in store.index.slugs():
            for fmt, media_type in MEDIA.items():
                response = client.get(f"/items/{slug}", headers={"Accept": media_type})
                assert response.status_code == 200 and response.headers["X-Cache"] == "HIT", (slug, fmt)
    finally:
        store.close()
    again = run_cli("prerender", "--store", str(store_path))
    assert f"0 rendered, {3 * studies} already cached" in again.stdout.decode(), again.stdout


def test_deleting_a_record_through_the_api_drops_its_cached_representations(tmp_path):
    source = tmp_path / "one.jsonl"
    source.write_text(Path(RECORDS, "harmony-samples.jsonl").read_text(encoding="utf-8").splitlines()[1] + "\n", encoding="utf-8")
    directory = tmp_path / "store"
    assert run_cli("load", str(source), "--store", str(directory), "--base-url", BASE, "-q").returncode == 0
    store = open_catalogue(directory)
    try:
        slug = store.index.slugs()[0]
        cache_file = tmp_path / "r.sqlite"
        settings = ServerSettings(base_url=BASE, token="secret", cache_path=str(cache_file))
        client = create_app(store, settings).test_client()
        for media_type in MEDIA.values():
            assert client.get(f"/items/{slug}", headers={"Accept": media_type}).status_code == 200
        assert DiskCache(cache_file).count() == 3
        assert client.delete(f"/api/records/{slug}", headers={"Authorization": "Bearer secret"}).status_code == 204
        assert DiskCache(cache_file).count() == 0
        assert client.get(f"/items/{slug}.ttl").status_code == 410
    finally:
        store.close()


def _render_version_of(tree: Path) -> str:
    """render_version() of a copy of the code at *tree* (cache.py fingerprints its own folder)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("copied_cache", tree / "server" / "cache.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.render_version()


def test_the_etag_fingerprint_changes_with_the_rendering_code(tmp_path):
    import shutil

    root = Path(__file__).resolve().parent.parent
    for folder in ("server", "mappings"):
        shutil.copytree(root / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    before = _render_version_of(tmp_path)
    assert _render_version_of(tmp_path) == before, "the same code, the same fingerprint"
    template = tmp_path / "server" / "templates" / "study.html"
    template.write_text(template.read_text(encoding="utf-8") + "<!-- edited -->\n", encoding="utf-8")
    edited = _render_version_of(tmp_path)
    assert edited != before, "a cached page rendered by the old template must not match"
    (tmp_path / "mappings" / "terms.py").write_text("# another prefix table\n", encoding="utf-8")
    assert _render_version_of(tmp_path) not in (before, edited)


def test_catalog_pages_are_not_kept_on_disk(store_path, tmp_path):
    cache_file = tmp_path / "r.sqlite"
    store = open_catalogue(store_path, read_only=True)
    try:
        client = create_app(store, ServerSettings(base_url=BASE, cache_path=str(cache_file))).test_client()
        first = client.get("/catalog.ttl")
        assert first.status_code == 200 and first.headers["X-Cache"] == "MISS"
        assert client.get("/catalog.ttl").headers["X-Cache"] == "HIT", "kept in memory"
        assert DiskCache(cache_file).count() == 0
        client.get(f"/items/{SEED}.ttl")
        assert DiskCache(cache_file).count() == 1
    finally:
        store.close()


def test_prune_drops_only_variants_of_studies_that_are_gone(tmp_path):
    cache = DiskCache(tmp_path / "r.sqlite")
    for path in ("/items/kept", "/items/gone", "/items/kept-too", "/keywords/gone"):
        for fmt in ("ttl", "html"):
            cache.put(variant_key(path, fmt, "full"), "e", b"x")
    assert cache.prune_studies({"kept", "kept-too"}) == 2
    assert cache.get(variant_key("/items/gone", "ttl", "full"), "e") is None
    assert cache.get(variant_key("/items/kept", "html", "full"), "e") == b"x"
    assert cache.get(variant_key("/keywords/gone", "ttl", "full"), "e") == b"x", "only studies are pruned"
    assert cache.count() == 6


def test_a_cache_file_that_cannot_be_written_only_costs_the_cache(store_path, tmp_path):
    """A store whose disk tier cannot be opened or written is still served, from memory."""
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the cache's folder should be", encoding="utf-8")
    store = open_catalogue(store_path, read_only=True)
    try:
        client = create_app(store, ServerSettings(base_url=BASE, cache_path=str(blocked / "r.sqlite"))).test_client()
        first = client.get(f"/items/{SEED}.ttl")
        assert first.status_code == 200 and first.headers["X-Cache"] == "MISS"
        assert client.get(f"/items/{SEED}.ttl").headers["X-Cache"] == "HIT"
        # A disk tier that fails on write (here: its table dropped under it) is skipped.
        cache_file = tmp_path / "r.sqlite"
        broken = create_app(store, ServerSettings(base_url=BASE, cache_path=str(cache_file))).test_client()
        import sqlite3

        with sqlite3.connect(cache_file) as db:
            db.execute("DROP TABLE representations")
        response = broken.get(f"/items/{SEED}.jsonld")
        assert response.status_code == 200 and response.headers["X-Cache"] == "MISS"
    finally:
        store.close()


def test_prerender_says_so_when_the_cache_cannot_be_written(tmp_path):
    source = tmp_path / "one.jsonl"
    source.write_text(Path(RECORDS, "harmony-samples.jsonl").read_text(encoding="utf-8").splitlines()[2] + "\n", encoding="utf-8")
    directory = tmp_path / "store"
    assert run_cli("load", str(source), "--store", str(directory), "--base-url", BASE, "-q").returncode == 0
    (directory / "representations.sqlite").mkdir()  # something that is not a database in its place
    result = run_cli("prerender", "--store", str(directory), "--workers", "1")
    assert result.returncode == 1
    assert b"cannot write the cache at" in result.stderr and b"Traceback" not in result.stderr


def test_a_study_written_through_the_api_is_rendered_ahead_of_its_next_visitor(tmp_path):
    lines = Path(RECORDS, "harmony-samples.jsonl").read_text(encoding="utf-8").splitlines()
    source = tmp_path / "one.jsonl"
    source.write_text(lines[1] + "\n", encoding="utf-8")
    directory = tmp_path / "store"
    assert run_cli("load", str(source), "--store", str(directory), "--base-url", BASE, "-q").returncode == 0
    store = open_catalogue(directory)
    try:
        [loaded] = store.index.slugs()
        settings = ServerSettings(base_url=BASE, token="secret", cache_path=str(tmp_path / "r.sqlite"))
        app = create_app(store, settings)
        client = app.test_client()
        answer = client.post("/api/records", data=lines[2].encode(), headers={"Authorization": "Bearer secret", "Content-Type": "application/json"})
        assert answer.status_code == 200 and answer.get_json()["new"] == 1, answer.data
        [written] = set(store.index.slugs()) - {loaded}
        assert app.extensions["studygraph"].renderer.wait_idle(60), "the written study was rendered in the background"
        for media_type in MEDIA.values():
            # The study written through the API is served from the cache at once; the one
            # loaded before the server started is rendered on its first request.
            assert client.get(f"/items/{written}", headers={"Accept": media_type}).headers["X-Cache"] == "HIT", media_type
            assert client.get(f"/items/{loaded}", headers={"Accept": media_type}).headers["X-Cache"] == "MISS", media_type
    finally:
        store.close()


def test_a_direct_write_to_a_record_graph_is_never_served_stale(tmp_path):
    """SPARQL Update and the Graph Store Protocol bypass the loader, so a record's content
    hash does not change with them: every study's version counts such writes, and the
    count survives a restart (a disk cache must not serve a body from before it)."""
    source = tmp_path / "one.jsonl"
    source.write_text(Path(RECORDS, "harmony-samples.jsonl").read_text(encoding="utf-8").splitlines()[1] + "\n", encoding="utf-8")
    directory = tmp_path / "store"
    assert run_cli("load", str(source), "--store", str(directory), "--base-url", BASE, "-q").returncode == 0
    settings = ServerSettings(base_url=BASE, cache_path=str(tmp_path / "r.sqlite"))
    store = open_catalogue(directory)
    try:
        [slug] = store.index.slugs()
        client = create_app(store, settings).test_client()
        before = client.get(f"/items/{slug}.ttl")
        assert client.get(f"/items/{slug}.ttl").headers["X-Cache"] == "HIT"
        graph, thing = f"{BASE}/items/{slug}", f"{BASE}/items/{slug}#id"
        store.update(f'INSERT DATA {{ GRAPH <{graph}> {{ <{thing}> <http://purl.org/dc/terms/alternative> "Changed by an update" }} }}')
        after = client.get(f"/items/{slug}.ttl")
        assert after.headers["X-Cache"] == "MISS" and after.headers["ETag"] != before.headers["ETag"]
        assert b"Changed by an update" in after.data
        assert client.get(f"/items/{slug}.ttl", headers={"If-None-Match": before.headers["ETag"]}).status_code == 200
        # Its modification time is the direct write's, so If-Modified-Since sees it too.
        written = parse_modified(store.last_direct_write)
        assert after.headers["Last-Modified"] == http_date(written)
        earlier = http_date(written - dt.timedelta(seconds=1))
        assert client.get(f"/items/{slug}.ttl", headers={"If-Modified-Since": earlier}).status_code == 200
        turtle = f'<{thing}> <http://purl.org/dc/terms/alternative> "Put by the graph store" .'.encode()
        store.graph_store_write(pyoxigraph.NamedNode(graph), turtle, "text/turtle", replace=False)
        put = client.get(f"/items/{slug}.ttl")
        assert put.headers["ETag"] != after.headers["ETag"] and b"Put by the graph store" in put.data
    finally:
        store.close()
    reopened = open_catalogue(directory)
    try:
        again = create_app(reopened, settings).test_client().get(f"/items/{slug}.ttl")
        assert again.headers["ETag"] == put.headers["ETag"] and again.headers["X-Cache"] == "HIT"
    finally:
        reopened.close()


def test_a_closed_background_renderer_finishes_the_request_in_flight_and_makes_no_other():
    import threading

    from flask import Flask

    from studygraph.server.prerender import BackgroundRenderer

    app = Flask(__name__)
    entered, release = threading.Event(), threading.Event()
    asked: list[str] = []

    @app.get("/items/<slug>")
    def item(slug: str) -> str:
        asked.append(slug)
        entered.set()
        release.wait(60)
        return slug

    renderer = BackgroundRenderer(app, formats=("ttl",))
    renderer.add(["a", "b", "c"])
    assert entered.wait(60)
    assert not renderer.close(0), "the request in flight is still running"
    release.set()
    assert renderer.close(60) and asked == ["a"]
    renderer.add(["d"])  # after close, writes are no longer rendered ahead
    assert asked == ["a"]
