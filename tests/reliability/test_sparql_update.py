"""Authenticated updates never make the server fetch: LOAD (of file: or http: URLs) is
refused with a 400 that says why, and SERVICE in an update is held to the allow-list."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from conftest import BASE, LiveServer, load_shared_records
from sparql_support import Listener, query, request

TOKEN = "update-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"}
GRAPH = "http://example.org/loaded"


@pytest.fixture(scope="module")
def listener():
    endpoint = Listener()
    yield endpoint
    endpoint.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = load_shared_records(tmp_path_factory.mktemp("update") / "store", BASE)
    live = LiveServer(store, token=TOKEN, env={"TMPDIR": str(tmp_path_factory.mktemp("update-tmp"))})
    yield live
    live.stop()


def graph_exists(server: LiveServer) -> bool:
    return json.loads(query(server, f"ASK {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}")[2])["boolean"]


LOADS = {
    "file": "LOAD <file:///etc/hostname> INTO GRAPH <{graph}>",
    "file-silent": "LOAD SILENT <file:///etc/passwd> INTO GRAPH <{graph}>",
    "http": "LOAD <{url}> INTO GRAPH <{graph}>",
    "after-an-insert": 'INSERT DATA {{ <http://example.org/a> <http://example.org/b> "c" }} ; LOAD <{url}>',
    "lower-case": "load <{url}>",
}


@pytest.mark.parametrize("form", LOADS, ids=list(LOADS))
def test_load_is_refused_with_a_reason(server, listener, form):
    update = LOADS[form].format(url=listener.url, graph=GRAPH)
    status, _, body = request(server, "POST", "/sparql/update", update.encode(), AUTH)
    assert status == 400, body
    assert b"LOAD is not accepted" in body and b"/sparql/store" in body
    assert listener.connections() == 0
    assert not graph_exists(server)


@pytest.mark.parametrize("update", [
    "LO\\u0041D <{url}>",
    "INSERT DATA {{ <http://example.org/a> <http://example.org/b> true }} ;LOAD<{url}>",
    "PREFIX ex: <http://example.org/> INSERT {{ ?s ?p ?o }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "INSERT {{ ?s ?p ?o }} WHERE {{ BIND(\"\\u0022\" AS ?x) SERVICE <{url}> {{ ?s ?p ?o }} BIND(\"\\u0022\" AS ?y) }}",
])
def test_no_update_makes_the_server_fetch(server, listener, update):
    status, _, body = request(server, "POST", "/sparql/update", update.format(url=listener.url).encode(), AUTH)
    assert status == 400, body
    assert listener.connections() == 0


def test_updates_that_name_load_in_an_iri_or_a_prefixed_name_still_run(server):
    update = (
        "PREFIX dcat: <http://www.w3.org/ns/dcat#>\n"
        f'INSERT DATA {{ GRAPH <{GRAPH}> {{ <http://example.org/LOAD> dcat:downloadURL <http://example.org/download> }} }}'
    )
    status, _, body = request(server, "POST", "/sparql/update", update.encode(), AUTH)
    assert status == 204, body
    assert graph_exists(server)
    form = urlencode({"update": f"DROP GRAPH <{GRAPH}>"}).encode()
    assert request(server, "POST", "/sparql/update", form, {**AUTH, "Content-Type": "application/x-www-form-urlencoded"})[0] == 204
    assert not graph_exists(server)
