"""Public SPARQL over a remote store (graph.remote_queries) keeps every promise of the
embedded endpoint, on a real Oxigraph server and a real Virtuoso holding the shared
records: the same answers, a 503 rather than a cut 200 for a slow query, the row cap and
its signal, PoolBusy beyond size + queue, and no update or disallowed SERVICE reaching
the store. Each app runs on a real HTTP server on loopback."""

from __future__ import annotations

import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
import rdflib
from conftest import BASE
from sparql_support import Listener, request
from SPARQLWrapper import JSON, N3, XML, SPARQLWrapper
from store_servers import StoreServer, oxigraph_server, shared_quads, virtuoso_server  # noqa: F401
from werkzeug.serving import make_server

from studygraph.graph.embedded import open_catalogue
from studygraph.graph.query_pool import QueryPool
from studygraph.graph.remote_queries import RemoteQueryPool
from studygraph.server.app import ServerSettings, create_app
from studygraph.server.sparql import SparqlSettings

MAX_ROWS = 50
DEADLINE = 5.0
SIZE, QUEUE = 2, 1
#: A query that runs long on each store: Oxigraph stops it at its --timeout-s with a cut
#: body; Virtuoso stops at its "anytime" timeout with a partial 200 flagged S1TAT.
SLOW = {
    "oxigraph": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }",
    "virtuoso": "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f FILTER(STR(?c) < STR(?f)) }",
}


class Served:
    """An app on a werkzeug server in a thread, on a free loopback port."""

    def __init__(self, app) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tmp_path_factory.mktemp("remote-sparql")


@pytest.fixture(scope="module")
def quads(data):
    return shared_quads(data)


@pytest.fixture(scope="module")
def catalogue(quads):
    opened = open_catalogue(quads[0])
    yield opened
    opened.close()


def _settings() -> tuple[ServerSettings, SparqlSettings]:
    return ServerSettings(base_url=BASE), SparqlSettings(deadline_seconds=DEADLINE, max_rows=MAX_ROWS)


@pytest.fixture(scope="module")
def embedded(catalogue):
    pool = QueryPool(catalogue.checkpoint, size=2, deadline=30)
    settings, sparql = _settings()
    served = Served(create_app(catalogue, settings, pool=pool, sparql_settings=sparql))
    yield served
    served.stop()
    pool.close()


@pytest.fixture(scope="module", params=["oxigraph", "virtuoso"])
def store(request, quads):
    """The session's store server of that kind, holding the embedded catalogue's quads."""
    server: StoreServer = request.getfixturevalue(f"{request.param}_server")
    server.reset()
    server.load(quads[1])
    yield server
    server.reset()


@pytest.fixture(scope="module")
def remote(store, catalogue):
    pool = RemoteQueryPool(store.query_url, kind=store.kind, size=SIZE, queue=QUEUE, deadline=DEADLINE, store_timeout=3)
    settings, sparql = _settings()
    served = Served(create_app(catalogue, settings, pool=pool, sparql_settings=sparql))
    served.pool = pool  # type: ignore[attr-defined]
    yield served
    served.stop()
    pool.close()


def ask(server, query: str, format: str) -> tuple[int, dict[str, str], bytes]:
    return request(server, "GET", "/sparql?" + urllib.parse.urlencode({"query": query, "format": format}))


ORDERED_SELECTS = [
    "SELECT ?s ?name WHERE { ?s a <https://schema.org/Dataset> ; <https://schema.org/name> ?name } ORDER BY ?s ?name",
    "SELECT ?type (COUNT(*) AS ?n) WHERE { ?s a ?type } GROUP BY ?type ORDER BY DESC(?n) ?type LIMIT 20",
    "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g LIMIT 10",
    "SELECT ?s WHERE { ?s <https://schema.org/name> ?n FILTER(LANG(?n) != '') } ORDER BY ?s LIMIT 5",
]


@pytest.mark.parametrize("format", ["json", "xml", "csv", "tsv"])
def test_select_answers_are_the_embedded_endpoints_byte_for_byte(embedded, remote, format):
    for query in ORDERED_SELECTS:
        local, there = ask(embedded, query, format), ask(remote, query, format)
        assert there[0] == local[0] == 200, there[2][:300]
        assert there[2] == local[2], query
        assert there[1]["content-type"] == local[1]["content-type"]


def test_ask_construct_and_describe_answer_as_embedded(embedded, remote):
    for query in ("ASK { ?s a <https://schema.org/Dataset> }", "ASK { ?s a <https://example.org/Nothing> }"):
        assert ask(remote, query, "json")[2] == ask(embedded, query, "json")[2]
    construct = "CONSTRUCT { ?s <https://schema.org/name> ?n } WHERE { ?s a <https://schema.org/Dataset> ; <https://schema.org/name> ?n }"
    local, there = ask(embedded, construct, "nt"), ask(remote, construct, "nt")
    assert there[0] == 200 and sorted(there[2].splitlines()) == sorted(local[2].splitlines())
    for format in ("ttl", "rdf", "jsonld"):
        status, headers, body = ask(remote, construct, format)
        assert status == 200 and body and "x-sparql-truncated" not in headers
    subject = local[2].split(b" ", 1)[0].decode().strip("<>")
    status, _, body = ask(remote, f"DESCRIBE <{subject}>", "nt")
    assert status == 200 and f"<{subject}>".encode() in body


def test_sparqlwrapper_reads_every_kind_of_result(remote):
    client = SPARQLWrapper(f"{remote.url}/sparql")
    client.setQuery(ORDERED_SELECTS[0])
    client.setReturnFormat(JSON)
    rows = client.query().convert()["results"]["bindings"]
    assert rows and all(row["s"]["type"] == "uri" for row in rows)
    client.setReturnFormat(XML)
    client.setQuery("ASK { ?s a <https://schema.org/Dataset> }")
    assert client.query().convert().getElementsByTagName("boolean")[0].firstChild.data == "true"
    client.setReturnFormat(N3)
    client.setQuery("CONSTRUCT { ?s a ?t } WHERE { ?s a ?t } LIMIT 10")
    assert len(rdflib.Graph().parse(data=client.query().convert(), format="turtle")) == 10


def test_the_row_cap_cuts_and_says_so(remote, embedded):
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
    for server in (remote, embedded):
        status, headers, body = ask(server, query, "csv")
        assert status == 200
        assert len(body.splitlines()) == MAX_ROWS + 1  # the header line, then the rows
        assert headers["x-sparql-truncated"].startswith("true")
    status, headers, body = ask(remote, "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", "nt")
    assert status == 200 and len(body.splitlines()) == MAX_ROWS and "x-sparql-truncated" in headers


def test_a_slow_query_is_a_503_never_a_cut_200(remote, store):
    status, headers, body = ask(remote, SLOW[store.kind], "json")
    assert status == 503, body[:300]
    assert headers["content-type"].startswith("text/plain") and "retry-after" in headers
    assert b"results" not in body


def test_more_queries_than_places_and_line_get_pool_busy(remote, store):
    with ThreadPoolExecutor(SIZE + QUEUE + 3) as running:
        answers = list(running.map(lambda _: ask(remote, SLOW[store.kind], "json"), range(SIZE + QUEUE + 3)))
    statuses = [status for status, _, _ in answers]
    assert set(statuses) == {503}
    busy = [body for _, _, body in answers if b"too many queries" in body]
    assert busy  # only size + queue were taken in: the rest were turned away at once


def test_updates_never_reach_the_store(remote):
    sent = remote.pool.sent
    for method, path, body, headers in (
        ("GET", "/sparql?" + urllib.parse.urlencode({"update": "DROP ALL"}), None, {}),
        ("POST", "/sparql", b"update=DROP+ALL", {"Content-Type": "application/x-www-form-urlencoded"}),
        ("POST", "/sparql", b"DROP ALL", {"Content-Type": "application/sparql-update"}),
        ("POST", "/sparql", b"INSERT DATA { <urn:a> <urn:b> <urn:c> }", {"Content-Type": "application/sparql-query"}),
    ):
        status, _, answer = request(remote, method, path, body, headers)
        assert status in (400, 403, 415), answer
    assert remote.pool.sent == sent
    assert ask(remote, "ASK { ?s ?p ?o }", "json")[2].find(b"true") >= 0


def test_a_disallowed_service_never_reaches_the_store(remote):
    listener = Listener()
    try:
        sent = remote.pool.sent
        status, _, body = ask(remote, f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}", "json")
        assert status in (400, 403) and b"SERVICE" in body
        assert remote.pool.sent == sent
        assert listener.connections() == 0
    finally:
        listener.close()
