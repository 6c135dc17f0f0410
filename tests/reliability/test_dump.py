"""/dump.nq.gz: built once per store state, served as a file (ETag, 304, Range), with
concurrent builds capped."""

from __future__ import annotations

import gzip
import http.client
import threading

import pyoxigraph
import pytest
from conftest import BASE, LiveServer, load_shared_records

from studygraph.graph.embedded import open_catalogue
from studygraph.server.app import ServerSettings, create_app

TOKEN = "t"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DELETED = "audit-of-political-engagement-5-2007"


@pytest.fixture
def site(tmp_path):
    store = open_catalogue(load_shared_records(tmp_path / "store", BASE))
    app = create_app(store, ServerSettings(base_url=BASE, token=TOKEN, dump_dir=str(tmp_path / "dumps")))
    yield store, app, tmp_path / "dumps"
    store.close()


def quads(body: bytes) -> list:
    return list(pyoxigraph.parse(gzip.decompress(body), format=pyoxigraph.RdfFormat.N_QUADS))


def test_one_build_per_store_state(site):
    store, app, folder = site
    client, dumps = app.test_client(), app.extensions["studygraph"].dumps
    first, second = client.get("/dump.nq.gz"), client.get("/dump.nq.gz")
    assert first.status_code == second.status_code == 200
    assert first.data == second.data and first.headers["ETag"] == second.headers["ETag"]
    assert dumps.built == 1 and len(list(folder.glob("dump-*.nq.gz"))) == 1
    assert len(quads(first.data)) == store.stats().quads
    assert client.delete(f"/api/records/{DELETED}", headers=AUTH).status_code == 204
    third = client.get("/dump.nq.gz")
    assert dumps.built == 2 and third.headers["ETag"] != first.headers["ETag"]
    assert len(quads(third.data)) == store.stats().quads < len(quads(first.data))
    assert len(list(folder.glob("dump-*.nq.gz"))) == 1, "the previous state's file is removed"


def test_conditional_requests(site):
    _, app, _ = site
    client = app.test_client()
    first = client.get("/dump.nq.gz")
    assert first.headers["Accept-Ranges"] == "bytes" and first.headers["Last-Modified"]
    assert first.headers["Content-Disposition"].startswith("attachment") and "dump.nq.gz" in first.headers["Content-Disposition"]
    assert client.get("/dump.nq.gz", headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    assert client.get("/dump.nq.gz", headers={"If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304
    assert client.get("/dump.nq.gz", headers={"If-None-Match": '"another"'}).status_code == 200
    assert client.head("/dump.nq.gz").headers["Content-Length"] == str(len(first.data))


def test_ranges_in_process(site):
    _, app, _ = site
    client = app.test_client()
    whole = client.get("/dump.nq.gz").data
    assert_ranges(lambda headers: _get(client, headers), whole)


def _get(client, headers):
    response = client.get("/dump.nq.gz", headers=headers)
    return response.status_code, response.headers, response.data


def assert_ranges(get, whole: bytes) -> None:
    status, headers, body = get({"Range": "bytes=0-99"})
    assert status == 206 and body == whole[:100] and headers["Content-Range"] == f"bytes 0-99/{len(whole)}"
    status, _, body = get({"Range": "bytes=-50"})
    assert status == 206 and body == whole[-50:]
    status, _, body = get({"Range": "bytes=100-"})
    assert status == 206 and body == whole[100:]
    etag = get({})[1]["ETag"]
    status, _, body = get({"Range": "bytes=10-19", "If-Range": etag})
    assert status == 206 and body == whole[10:20]
    status, _, body = get({"Range": "bytes=10-19", "If-Range": '"an-older-dump"'})
    assert status == 200 and body == whole
    assert get({"Range": f"bytes={len(whole) + 10}-"})[0] == 416


def test_ranges_from_the_server(tmp_path):
    live = LiveServer(load_shared_records(tmp_path / "store", BASE))
    try:
        def get(headers):
            connection = http.client.HTTPConnection("127.0.0.1", live.port, timeout=60)
            try:
                connection.request("GET", "/dump.nq.gz", headers=headers)
                response = connection.getresponse()
                return response.status, response.headers, response.read()
            finally:
                connection.close()

        status, _, whole = get({})
        assert status == 200 and quads(whole)
        assert_ranges(get, whole)
        assert any((tmp_path / "store").glob("dump-*.nq.gz")), "the dump is kept beside the store"
    finally:
        live.stop()


class HeldExport:
    """Wraps a store's export so that a build waits for the test to let it go."""

    def __init__(self, store) -> None:
        self.original = store.export
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, out, format: str) -> None:
        self.entered.set()
        assert self.release.wait(60)
        self.original(out, format)


def test_requests_during_a_build_get_503_and_the_build_happens_once(site, monkeypatch):
    store, app, _ = site
    held = HeldExport(store)
    monkeypatch.setattr(store, "export", held)
    answers = []
    builder = threading.Thread(target=lambda: answers.append(app.test_client().get("/dump.nq.gz")))
    builder.start()
    assert held.entered.wait(60)
    busy = app.test_client().get("/dump.nq.gz")
    assert busy.status_code == 503 and int(busy.headers["Retry-After"]) >= 1
    held.release.set()
    builder.join(60)
    assert answers[0].status_code == 200
    after = app.test_client().get("/dump.nq.gz")
    assert after.status_code == 200 and after.headers["ETag"] == answers[0].headers["ETag"]
    assert app.extensions["studygraph"].dumps.built == 1


def test_builds_are_capped_across_states(site, monkeypatch):
    store, app, _ = site
    held = HeldExport(store)
    monkeypatch.setattr(store, "export", held)
    builder = threading.Thread(target=lambda: app.test_client().get("/dump.nq.gz"))
    builder.start()
    assert held.entered.wait(60)
    # A write while the first state's dump is being built: the new state needs a
    # build of its own, and the one build slot is taken.
    assert app.test_client().delete(f"/api/records/{DELETED}", headers=AUTH).status_code == 204
    assert app.test_client().get("/dump.nq.gz").status_code == 503
    held.release.set()
    builder.join(60)
    fresh = app.test_client().get("/dump.nq.gz")
    assert fresh.status_code == 200 and len(quads(fresh.data)) == store.stats().quads
