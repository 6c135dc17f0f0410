"""A real server on loopback: the write API while it serves, and `load --server`."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from conftest import BASE, RECORDS, LiveServer, load_shared_records, run_cli

TOKEN = "s3cret-token"
SEED = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"


def request(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = tmp_path_factory.mktemp("live") / "store"
    load_shared_records(store, BASE)
    live = LiveServer(store, token=TOKEN)
    yield live
    live.stop()


def record(slug: str, name: str, keyword: str = "live testing") -> bytes:
    return json.dumps({"dataset_schema": {"name": name, "description": f"{name}, written over HTTP.", "keywords": [keyword]}, "extra_data": {"slug": slug}}).encode()


AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def test_pages_are_served_over_http(server):
    status, headers, body = request(f"{server.url}/items/{SEED}.ttl")
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    assert b"Stakeholder Engagement Focus Groups" in body


def test_writes_need_the_token(server):
    assert request(f"{server.url}/api/records", "POST", record("x", "X"), {"Content-Type": "application/json"})[0] == 401
    wrong = {**AUTH, "Authorization": "Bearer nope"}
    assert request(f"{server.url}/api/records", "POST", record("x", "X"), wrong)[0] == 401
    assert request(f"{server.url}/api/records/{SEED}", "DELETE", headers={"Authorization": "Bearer nope"})[0] == 401
    assert request(f"{server.url}/items/x")[0] == 404


def test_post_then_delete_while_serving(server):
    status, _, body = request(f"{server.url}/api/records", "POST", record("posted-study", "Posted study"), AUTH)
    assert status == 200, body
    assert json.loads(body)["new"] == 1
    status, _, page = request(f"{server.url}/items/posted-study")
    assert status == 200 and b"Posted study" in page
    status, _, keyword = request(f"{server.url}/keywords/live-testing.ttl")
    assert status == 200 and b"live testing" in keyword
    again = json.loads(request(f"{server.url}/api/records", "POST", record("posted-study", "Posted study"), AUTH)[2])
    assert again["unchanged"] == 1
    assert request(f"{server.url}/api/records/posted-study", "DELETE", headers=AUTH)[0] == 204
    assert request(f"{server.url}/items/posted-study")[0] == 410  # Gone: it was deleted
    assert request(f"{server.url}/keywords/live-testing")[0] == 404
    assert request(f"{server.url}/api/records/posted-study", "DELETE", headers=AUTH)[0] == 404


def test_bad_records_are_reported_per_line(server):
    body = record("good-one", "Good one") + b"\n{not json\n" + json.dumps({"dataset_schema": {}}).encode() + b"\n"
    status, _, answer = request(f"{server.url}/api/records", "POST", body, {**AUTH, "Content-Type": "application/x-ndjson"})
    report = json.loads(answer)
    assert status == 200 and report["new"] == 1
    assert [r["where"] for r in report["rejections"]] == ["request body:2", "request body:3"]


def test_bodies_over_the_limit_get_413(tmp_path):
    store = tmp_path / "store"
    assert run_cli("load", str(RECORDS / "seed-page.txt"), "--store", str(store), "--base-url", BASE, "-q").returncode == 0
    live = LiveServer(store, token=TOKEN, env={"STUDYGRAPH_MAX_BODY_BYTES": "1000"})
    try:
        assert request(f"{live.url}/api/records", "POST", b"[" + b" " * 5000 + b"]", AUTH)[0] == 413
    finally:
        live.stop()


def test_writes_are_refused_without_a_configured_token(tmp_path):
    store = tmp_path / "store"
    assert run_cli("load", str(RECORDS / "seed-page.txt"), "--store", str(store), "--base-url", BASE, "-q").returncode == 0
    live = LiveServer(store, token=None)
    try:
        assert request(f"{live.url}/api/records", "POST", record("x", "X"), AUTH)[0] == 403
    finally:
        live.stop()


def test_load_through_the_server(server, tmp_path):
    source = tmp_path / "two.jsonl"
    source.write_bytes(record("sent-one", "Sent one") + b"\n" + b"{broken\n" + record("sent-two", "Sent two") + b"\n")
    result = run_cli("load", str(source), "--server", server.url, env={"STUDYGRAPH_TOKEN": TOKEN})
    assert result.returncode == 1
    assert b"2 new" in result.stdout
    assert f"{source}:2".encode() in result.stderr
    assert request(f"{server.url}/items/sent-two")[0] == 200


def test_a_node_page_follows_the_studies_that_name_it(server):
    status, before_headers, before = request(f"{server.url}/keywords/mental-health")
    assert status == 200 and b"Adding a study" not in before
    posted = request(f"{server.url}/api/records", "POST", record("adding-a-study", "Adding a study", "mental health"), AUTH)
    assert posted[0] == 200
    status, after_headers, after = request(f"{server.url}/keywords/mental-health")
    assert b"Adding a study" in after
    assert after_headers["ETag"] != before_headers["ETag"]
    # The old validator no longer matches, so a cache cannot keep showing the old list.
    assert request(f"{server.url}/keywords/mental-health", headers={"If-None-Match": before_headers["ETag"]})[0] == 200
    assert request(f"{server.url}/api/records/adding-a-study", "DELETE", headers=AUTH)[0] == 204
