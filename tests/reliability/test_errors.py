"""Errors are answered in the format asked for, never as a traceback; a full disk is 507."""

from __future__ import annotations

import errno
import json
import sqlite3

import pytest
from conftest import BASE, load_shared_records

from studygraph.graph.embedded import open_catalogue
from studygraph.graph.query_pool import QueryPool
from studygraph.server import documents
from studygraph.server.app import ServerSettings, create_app

SEED = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
TOKEN = "t"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SECRET = "secret internals of the failure"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    opened = open_catalogue(load_shared_records(tmp_path_factory.mktemp("errors") / "store", BASE))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def client(store):
    pool = QueryPool(store.checkpoint, size=1, deadline=30)
    yield create_app(store, ServerSettings(base_url=BASE, token=TOKEN), pool=pool).test_client()
    pool.close()


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def sqlite_full(*args, **kwargs):
    raise sqlite3.OperationalError("database or disk is full")


class StoreFailure(Exception):
    """What a store may raise, naming the cause it was raised from."""


def wrapped_disk_full(*args, **kwargs):
    try:
        disk_full()
    except OSError as error:
        raise StoreFailure("the write failed") from error


def broken(*args, **kwargs):
    raise RuntimeError(SECRET)


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    payload = json.loads(response.data)
    assert payload["status"] == status and payload["error"]
    assert "Traceback" not in response.get_data(as_text=True) and "<html" not in response.get_data(as_text=True).lower()
    return payload


@pytest.mark.parametrize("failure", [disk_full, sqlite_full, wrapped_disk_full])
def test_a_full_disk_on_delete_is_a_json_507(client, store, monkeypatch, failure):
    monkeypatch.setattr(store, "delete", failure)
    response = client.delete(f"/api/records/{SEED}", headers=AUTH)
    assert_json_error(response, 507)
    assert response.headers["Retry-After"]


def test_a_full_disk_while_loading_is_a_json_507(client, store, monkeypatch):
    monkeypatch.setattr(store, "replace", sqlite_full)
    record = {"dataset_schema": {"name": "A new study on a full disk"}, "extra_data": {}}
    response = client.post("/api/records", data=json.dumps(record), content_type="application/json", headers=AUTH)
    assert_json_error(response, 507)


def test_a_full_disk_on_sparql_writes_is_a_plain_507(client, store, monkeypatch):
    monkeypatch.setattr(store, "update", disk_full)
    update = client.post("/sparql/update", data="INSERT DATA { <urn:a> <urn:b> <urn:c> }",
                         content_type="application/sparql-update", headers=AUTH)
    assert update.status_code == 507 and update.mimetype == "text/plain"
    monkeypatch.setattr(store, "graph_store_write", disk_full)
    put = client.put("/sparql/store?graph=urn:g", data="<urn:a> <urn:b> <urn:c> .", content_type="text/turtle", headers=AUTH)
    assert put.status_code == 507 and put.mimetype == "text/plain"


def test_an_unexpected_failure_of_the_api_is_a_json_500_that_tells_nothing(client, store, monkeypatch):
    monkeypatch.setattr(store, "delete", broken)
    payload = assert_json_error(client.delete(f"/api/records/{SEED}", headers=AUTH), 500)
    assert SECRET not in json.dumps(payload)


def test_an_unexpected_failure_of_a_page_is_a_500_in_its_format(client, monkeypatch):
    monkeypatch.setattr(documents, "item", broken)
    page = client.get(f"/items/{SEED}", headers={"Accept": "text/html"})
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert SECRET not in page.get_data(as_text=True) and "Traceback" not in page.get_data(as_text=True)
    turtle = client.get(f"/items/{SEED}.ttl")
    assert turtle.status_code == 500 and turtle.mimetype == "text/turtle"
    assert turtle.get_data(as_text=True).startswith("# ")


def test_api_refusals_are_json(client, store):
    unauthorised = client.delete(f"/api/records/{SEED}")
    assert_json_error(unauthorised, 401)
    assert unauthorised.headers["WWW-Authenticate"].startswith("Bearer")
    assert_json_error(client.delete("/api/records/no-such-study", headers=AUTH), 404)
    wrong_method = client.put("/api/records", headers=AUTH)
    assert_json_error(wrong_method, 405)
    assert "POST" in wrong_method.headers["Allow"]
    assert_json_error(client.get("/api/nothing-here", headers=AUTH), 404)
    no_token = create_app(store, ServerSettings(base_url=BASE)).test_client()
    assert_json_error(no_token.delete(f"/api/records/{SEED}"), 403)
    small = create_app(store, ServerSettings(base_url=BASE, token=TOKEN, max_body_bytes=10)).test_client()
    assert_json_error(small.post("/api/records", data=b"x" * 100, headers=AUTH), 413)


def test_sparql_write_refusals_are_plain_text(client):
    response = client.post("/sparql/update", data="CLEAR ALL", content_type="application/sparql-update")
    assert response.status_code == 401 and response.mimetype == "text/plain"
