"""The scale-out deployment, whole: a store server (Oxigraph server, Virtuoso) with the
index in PostgreSQL, filled by `studygraph load`, served by `studygraph serve --workers
2`. The workers hold no state: a record written through one is read through the other,
a deletion made through one answers 410 on the other, every worker gives a page the
same ETag, public SPARQL runs on the store server, and afterwards `studygraph check`
finds graphs, index and change log in agreement. Third-party clients at their defaults
(rdflib, rapper, pyld, SPARQLWrapper) read the deployment's documents and endpoint."""

from __future__ import annotations

import json
import urllib.parse

import pyoxigraph
import pytest
import rdflib
import rdflib.compare
from conftest import RECORDS, fetch, free_port, run_cli
from postgres_server import PostgresServer, postgres  # noqa: F401
from pyld import jsonld
from SPARQLWrapper import JSON, SPARQLWrapper
from store_servers import StoreServer, oxigraph_server, virtuoso_server  # noqa: F401
from test_workers import Workers, connections_by_worker, get

TOKEN = "scale-out-token"
SERVERS = {"oxigraph": "oxigraph_server", "virtuoso": "virtuoso_server"}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def deployment(request: pytest.FixtureRequest, postgres: PostgresServer):  # noqa: F811
    """(the store and index options, the running workers)."""
    server: StoreServer = request.getfixturevalue(SERVERS[request.param])
    server.reset()
    store = server.query_url.rsplit("/", 1)[0] + ("/sparql" if server.kind == "virtuoso" else "/")
    options = ("--store", store, "--index", postgres.fresh())
    env = {"STUDYGRAPH_TOKEN": TOKEN}
    if server.user:
        env.update(STUDYGRAPH_STORE_USER=server.user, STUDYGRAPH_STORE_PASSWORD=server.password or "")
    port = free_port()  # the IRIs are the workers' URLs, so clients dereference them (the JSON-LD context too)
    loaded = run_cli("load", str(RECORDS), *options, "--base-url", f"http://127.0.0.1:{port}", "-q", env=env)
    assert loaded.returncode == 0, loaded.stderr
    running = Workers(options[1], 2, env=env, args=options[2:], port=port)
    yield options, env, running
    running.stop()
    server.reset()


def record_line(slug: str, name: str) -> bytes:
    record = {"dataset_schema": {"name": name, "description": f"About {name}, for the scale-out test."}, "extra_data": {"slug": slug}}
    return (json.dumps({"record": record}) + "\n").encode()


def test_stateless_workers_share_every_write(deployment) -> None:
    options, env, server = deployment
    first, second = connections_by_worker(server, "/items").values()
    # The same page, the same ETag, from each worker.
    slug = run_cli("slugs", *options, env=env).stdout.decode().split()[0]
    answers = [get(connection, f"/items/{slug}") for connection in (first, second)]
    assert [a.status for a in answers] == [200, 200] and answers[0].getheader("ETag") == answers[1].getheader("ETag")

    # Written through one worker, read through the other.
    first.request("POST", "/api/records", body=record_line("written-through-one", "Written through one worker"),
                  headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"})
    written = first.getresponse()
    assert written.status == 200 and json.loads(written.read())["new"] == 1
    assert get(second, "/items/written-through-one").status == 200
    assert b"written-through-one" in _body(second, "/items?q=written")

    # Public SPARQL answers from the store server through either worker, and never writes.
    count = "SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE { GRAPH ?g { ?g a <http://www.w3.org/ns/dcat#CatalogRecord> } }"
    answers = {_body(connection, "/sparql?" + urllib.parse.urlencode({"query": count}), "text/csv") for connection in (first, second)}
    assert answers == {b"n\r\n44\r\n"}, answers
    update = urllib.parse.urlencode({"update": "DROP ALL"})
    first.request("POST", "/sparql", body=update, headers={"Content-Type": "application/x-www-form-urlencoded"})
    refused = first.getresponse()
    refused.read()
    assert refused.status in (400, 403, 405)

    # Deleted through the other worker: gone (410) through the first.
    second.request("DELETE", "/api/records/written-through-one", headers={"Authorization": f"Bearer {TOKEN}"})
    deleted = second.getresponse()
    deleted.read()
    assert deleted.status in (200, 204)
    assert get(first, "/items/written-through-one").status == 410
    for connection in (first, second):
        connection.close()

    checked = run_cli("check", *options, env=env)
    assert checked.returncode == 0 and b"agree" in checked.stdout, checked.stdout + checked.stderr


def _body(connection, path: str, accept: str = "text/html") -> bytes:
    connection.request("GET", path, headers={"Accept": accept})
    response = connection.getresponse()
    assert response.status == 200, (path, response.status)
    return response.read()


SEED = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
SEED_TITLE = "Stakeholder Engagement Focus Groups on Digital Mental Health and Peer Support, 2022"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # rdflib's JSON-LD parser builds a ConjunctiveGraph
def test_third_party_clients_read_the_deployment(deployment, rapper) -> None:
    """rdflib's ``Graph.parse(URL)``, rapper and pyld read a study served from the store
    server as the same triples as its N-Triples; SPARQLWrapper counts the studies."""
    _, _, server = deployment
    root = f"http://127.0.0.1:{server.port}"
    url = f"{root}/items/{SEED}"
    status, _, ntriples = fetch(url, {"Accept": "application/n-triples"})
    assert status == 200
    published = rdflib.Graph().parse(data=ntriples, format="nt")
    assert published.value(rdflib.URIRef(f"{url}#id"), rdflib.URIRef("http://purl.org/dc/terms/title")) == rdflib.Literal(SEED_TITLE)

    assert rdflib.compare.isomorphic(rdflib.Graph().parse(url), published)
    assert rapper.count("turtle", url) == rapper.count("rdfxml", url) == len(published)
    made = rdflib.Graph().parse(data=jsonld.to_rdf(url, {"format": "application/n-quads"}), format="nt")
    assert rdflib.compare.isomorphic(made, published)
    assert {q.triple for q in pyoxigraph.parse(fetch(url, {"Accept": "text/turtle"})[2], format=pyoxigraph.RdfFormat.TURTLE, base_iri=url)} \
        == {q.triple for q in pyoxigraph.parse(ntriples, format=pyoxigraph.RdfFormat.N_TRIPLES)}

    client = SPARQLWrapper(f"{root}/sparql")
    client.setReturnFormat(JSON)
    client.setQuery("SELECT (COUNT(?s) AS ?n) WHERE { ?s a <https://schema.org/Dataset> }")
    [row] = client.queryAndConvert()["results"]["bindings"]  # type: ignore[index]
    assert int(row["n"]["value"]) == 43
