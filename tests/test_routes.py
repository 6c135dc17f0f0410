"""Every blueprint of the app, in process: `create_app` over a small real store (two
records loaded by the real loader, a real query pool), asked through Flask's test
client. One status, content type and body fact per route kind; and the negotiated-route
helper on its own, on a blueprint of its own."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyoxigraph
import pytest
from conftest import RECORDS
from flask import Blueprint, Flask

from studygraph.graph.catalogue import Catalogue
from studygraph.graph.embedded import open_catalogue
from studygraph.graph.loader import Loader
from studygraph.graph.query_pool import QueryPool
from studygraph.mappings.readers import read_bytes
from studygraph.mappings.urls import Urls
from studygraph.server.app import ServerSettings, create_app
from studygraph.server.negotiated import Asked, negotiated_route
from studygraph.server.negotiation import FORMATS
from studygraph.server.services import Services
from studygraph.server.sparql import SparqlSettings

BASE = "https://routes.example.org"
TOKEN = "routes-token"
STUDY = "nhs-tayside-and-fife-immunology"
OTHER = "health-communication-and-the-internet-an-analysis-of-adolescent-language-use-on-the-teenage-health-freak-website"
SPONSOR = "economic-and-social-research-council"
DCT_TITLE = pyoxigraph.NamedNode("http://purl.org/dc/terms/title")
RDF_FORMATS = tuple(f for f in FORMATS if f.rdf)


def two_records() -> bytes:
    """The first two shared Harmony samples (STUDY and OTHER), as JSON Lines."""
    return b"\n".join((RECORDS / "harmony-samples.jsonl").read_bytes().splitlines()[:2]) + b"\n"


def open_loaded(directory: Path) -> Catalogue:
    store = open_catalogue(directory)
    store.set_base_url(BASE)
    report = Loader(store, Urls(BASE)).load(read_bytes(two_records(), "two.jsonl"))
    assert report.counts["new"] == 2, report
    return store


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The app over a store of two studies, with SPARQL, and the store itself."""
    store = open_loaded(tmp_path_factory.mktemp("routes") / "store")
    pool = QueryPool(store.checkpoint, size=1, deadline=60)
    app = create_app(store, ServerSettings(base_url=BASE, token=TOKEN), pool=pool, sparql_settings=SparqlSettings())
    yield app, store
    pool.close()
    store.close()


@pytest.fixture(scope="module")
def client(served):
    return served[0].test_client()


def triples(body: bytes, format: pyoxigraph.RdfFormat = pyoxigraph.RdfFormat.TURTLE) -> list[pyoxigraph.Triple]:
    return list(pyoxigraph.parse(body, format=format))


def test_the_services_are_one_typed_object(served):
    app, store = served
    services = app.extensions["studygraph"]
    assert isinstance(services, Services)
    assert services.store is store and services.urls.base == BASE and services.pool is not None
    assert {"documents", "listings", "feeds", "api", "sparql"} <= set(app.blueprints)


# ------------------------------------------------------------------------- documents


def test_a_study_answers_by_suffix_and_by_accept_alike(client):
    by_suffix = client.get(f"/items/{STUDY}.ttl")
    by_accept = client.get(f"/items/{STUDY}", headers={"Accept": "text/turtle"})
    assert by_suffix.status_code == by_accept.status_code == 200
    assert by_suffix.mimetype == by_accept.mimetype == "text/turtle"
    assert by_suffix.data == by_accept.data and by_suffix.headers["ETag"] == by_accept.headers["ETag"]
    assert by_accept.headers["Content-Location"] == f"/items/{STUDY}.ttl"
    assert any(t.predicate == DCT_TITLE and t.subject.value == f"{BASE}/items/{STUDY}#id" for t in triples(by_suffix.data))


def test_a_study_page_is_html_with_its_json_ld(client):
    response = client.get(f"/items/{STUDY}", headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert '<script type="application/ld+json">' in response.get_data(as_text=True)


def test_a_conditional_request_gets_304(client):
    etag = client.get(f"/items/{STUDY}.jsonld").headers["ETag"]
    assert client.get(f"/items/{STUDY}.jsonld", headers={"If-None-Match": etag}).status_code == 304


def test_a_key_in_capitals_redirects_to_its_canonical_form(client):
    response = client.get(f"/items/{STUDY.upper()}.nt?page=2")
    assert response.status_code == 301 and response.headers["Location"] == f"/items/{STUDY}.nt?page=2"


def test_an_unknown_study_is_404_in_the_format_asked_for(client):
    response = client.get("/items/no-such-study.ttl")
    assert response.status_code == 404 and response.mimetype == "text/turtle"
    assert response.get_data(as_text=True).startswith("# nothing is published at /items/no-such-study")


def test_nothing_acceptable_is_406_listing_the_formats(client):
    response = client.get(f"/items/{STUDY}", headers={"Accept": "image/png"})
    assert response.status_code == 406 and response.headers["Vary"] == "Accept"
    assert "text/turtle (.ttl, ?format=ttl)" in response.get_data(as_text=True)


def test_a_linked_node_lists_the_study_that_names_it(client):
    response = client.get(f"/organizations/{SPONSOR}.jsonld")
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    assert f"{BASE}/items/{OTHER}#id" in response.get_data(as_text=True)


def test_profiles_vocab_and_context_are_documents(client):
    profile = client.get("/profiles/full.ttl")
    assert profile.status_code == 200
    assert any(t.object.value == "full" for t in triples(profile.data))
    vocab = client.get("/vocab", headers={"Accept": "application/n-triples"})
    assert vocab.status_code == 200 and vocab.mimetype == "application/n-triples"
    assert f"<{BASE}/vocab#" in vocab.get_data(as_text=True)
    context = client.get("/context.jsonld")
    assert context.status_code == 200 and "@context" in context.get_json() and context.headers["ETag"]


# -------------------------------------------------------------------------- listings


def test_the_home_page_counts_the_studies(client):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Economic and Social Research Council" in response.get_data(as_text=True)


def test_items_is_a_hydra_collection_of_the_studies(client):
    response = client.get("/items.nt")
    assert response.status_code == 200 and response.headers["Content-Location"] == "/items.nt?page=1"
    total = [t.object.value for t in triples(response.data, pyoxigraph.RdfFormat.N_TRIPLES) if t.predicate.value.endswith("#totalItems")]
    assert total == ["2"]


def test_a_node_list_names_its_nodes(client):
    response = client.get("/organizations", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert f"{BASE}/organizations/{SPONSOR}#id" in {t.object.value for t in triples(response.data)}


def test_the_catalog_holds_both_studies(client):
    response = client.get("/catalog", headers={"Accept": "application/ld+json"})
    assert response.status_code == 200 and response.mimetype == "application/ld+json"
    text = response.get_data(as_text=True)
    assert f"{BASE}/items/{STUDY}#id" in text and f"{BASE}/items/{OTHER}#id" in text


# ----------------------------------------------------------------------------- feeds


def test_the_change_feed_names_both_loads(client):
    response = client.get("/changes.ttl")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-cache"
    created = [t for t in triples(response.data) if t.object.value == "https://www.w3.org/ns/activitystreams#Create"]
    assert len(created) == 2


def test_sitemaps_and_robots(client):
    index = client.get("/sitemap.xml")
    assert index.status_code == 200 and f"{BASE}/sitemap-0.xml" in index.get_data(as_text=True)
    sitemap = client.get("/sitemap-0.xml").get_data(as_text=True)
    assert f"{BASE}/items/{STUDY}</loc>" in sitemap and f"{BASE}/items/{OTHER}</loc>" in sitemap
    assert client.get("/sitemap-1.xml").status_code == 404
    robots = client.get("/robots.txt")
    assert robots.mimetype == "text/plain" and f"Sitemap: {BASE}/sitemap.xml" in robots.get_data(as_text=True)


def test_void_is_turtle_by_default_and_offers_no_html(client):
    response = client.get("/.well-known/void")
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    assert any(t.predicate.value == "http://rdfs.org/ns/void#triples" for t in triples(response.data))
    assert client.get("/.well-known/void.html").status_code == 406


def test_the_dump_holds_every_record_graph(client):
    response = client.get("/dump.nq.gz")
    assert response.status_code == 200 and response.mimetype == "application/gzip"
    quads = list(pyoxigraph.parse(gzip.decompress(response.data), format=pyoxigraph.RdfFormat.N_QUADS))
    assert {f"{BASE}/items/{STUDY}", f"{BASE}/items/{OTHER}"} <= {q.graph_name.value for q in quads if hasattr(q.graph_name, "value")}


# ---------------------------------------------------------------------------- sparql


def test_a_public_query_is_answered_by_the_pool(client):
    query = f"SELECT ?t WHERE {{ <{BASE}/items/{STUDY}#id> <http://purl.org/dc/terms/title> ?t }}"
    response = client.get("/sparql", query_string={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200 and response.headers["X-SPARQL-Max-Rows"] == "100000"
    assert len(json.loads(response.data)["results"]["bindings"]) == 1


def test_update_and_graph_store_need_the_token(client):
    assert client.post("/sparql/update", data={"update": "CLEAR ALL"}).status_code == 401
    assert client.get("/sparql/store?default").status_code == 401
    graph = client.get(f"/sparql/store?graph={BASE}/items/{STUDY}", headers={"Authorization": f"Bearer {TOKEN}", "Accept": "text/turtle"})
    assert graph.status_code == 200 and any(t.predicate == DCT_TITLE for t in triples(graph.data))


# ------------------------------------------------------------------------------- api


def test_the_write_api_loads_and_deletes_records(tmp_path):
    store = open_catalogue(tmp_path / "store")
    store.set_base_url(BASE)
    try:
        app = create_app(store, ServerSettings(base_url=BASE, token=TOKEN))
        client = app.test_client()
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert client.post("/api/records", data=two_records(), content_type="application/x-ndjson").status_code == 401
        loaded = client.post("/api/records", data=two_records(), content_type="application/x-ndjson", headers=auth)
        assert loaded.status_code == 200 and loaded.get_json()["new"] == 2
        assert client.get(f"/items/{STUDY}.ttl").status_code == 200
        assert client.delete(f"/api/records/{STUDY}", headers=auth).status_code == 204
        gone = client.get(f"/items/{STUDY}")
        assert gone.status_code == 410 and "was deleted at" in gone.get_data(as_text=True)
        missing = client.delete(f"/api/records/{STUDY}", headers=auth)
        assert missing.status_code == 404 and missing.get_json()["error"] == f"no record /items/{STUDY}"
        # Without a pool, there is no SPARQL endpoint.
        assert client.get("/sparql").status_code == 404
        # The written studies are rendered ahead on a thread of the app's: done before the
        # store is closed under it (closing a connection a query is running on crashes).
        assert app.extensions["studygraph"].renderer.wait_idle(60)
    finally:
        store.close()


# ------------------------------------------------------------------ the route helper


def toy_app() -> Flask:
    """An app with one blueprint of negotiated routes that say what they were given."""
    blueprint = Blueprint("toy", __name__)

    @negotiated_route(blueprint, "/things/<key>")
    def thing(key: str, asked: Asked):
        return f"{key} {asked.suffix.name if asked.suffix else '-'} {asked.format().name}"

    @negotiated_route(blueprint, "/list")
    def whole_list(asked: Asked):
        return asked.format(RDF_FORMATS, default_accept="text/turtle").name

    app = Flask(__name__)
    app.register_blueprint(blueprint)
    return app


def test_one_declaration_serves_the_key_with_and_without_a_suffix():
    client = toy_app().test_client()
    assert client.get("/things/a.b.ttl").get_data(as_text=True) == "a.b ttl ttl"
    assert client.get("/things/a.b", headers={"Accept": "application/rdf+xml"}).get_data(as_text=True) == "a.b - rdf"
    assert client.get("/things/a?format=nt").get_data(as_text=True) == "a - nt"
    assert client.get("/things/a").get_data(as_text=True) == "a - html"


def test_a_fixed_route_gets_a_suffix_rule_and_its_default_accept():
    client = toy_app().test_client()
    assert client.get("/list").get_data(as_text=True) == "ttl"
    assert client.get("/list.jsonld").get_data(as_text=True) == "jsonld"
    refused = client.get("/list.html")
    assert refused.status_code == 406 and ".html is not available here" in refused.get_data(as_text=True)
    assert client.get("/list.xyz").status_code == 404
