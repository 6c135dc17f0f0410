"""Every IRI minted under the base URL dereferences; node documents lead to their
studies in RDF; every page of /catalog passes DCAT-AP 3.0.1."""

from __future__ import annotations

from html import unescape

import pyoxigraph
import pytest
import rdflib
from conftest import LiveServer, free_port, load_shared_records
from pyoxigraph import NamedNode
from test_shapes import _shapes, _violations

from studygraph.graph.embedded import open_catalogue
from studygraph.server.app import ServerSettings, create_app

BASE = "http://deref.example"
DCAT = "http://www.w3.org/ns/dcat#"
SCHEMA = "https://schema.org/"
HYDRA = "http://www.w3.org/ns/hydra/core#"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    path = tmp_path_factory.mktemp("deref") / "store"
    load_shared_records(path, BASE)
    store = open_catalogue(path, read_only=True)
    yield store
    store.close()


@pytest.fixture(scope="module")
def client(loaded):
    return create_app(loaded, ServerSettings(base_url=BASE, catalog_page_size=10)).test_client()


def turtle(client, path: str) -> list[pyoxigraph.Triple]:
    response = client.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 200, (path, response.status_code)
    return list(pyoxigraph.parse(response.data, format=pyoxigraph.RdfFormat.TURTLE))


def test_every_iri_under_the_base_dereferences(client, loaded):
    documents: set[str] = set()
    for slug in loaded.index.slugs():
        for triple in turtle(client, f"/items/{slug}"):
            for term in (triple.subject, triple.object):
                if isinstance(term, NamedNode) and term.value.startswith(BASE + "/"):
                    documents.add(term.value.split("#", 1)[0][len(BASE):])
    # Concept schemes, parents and children not in the catalogue, and the rest.
    assert {"/keywords", "/sources", "/study-designs"} <= documents
    assert len(documents) > 500
    failures = []
    for path in sorted(documents):
        for accept in ("text/html", "text/turtle"):
            status = client.get(path, headers={"Accept": accept}).status_code
            if not 200 <= status < 400:
                failures.append((path, accept, status))
    assert failures == []


def test_lists_schemes_and_profiles_are_documents(client):
    for segment in ("keywords", "organizations", "catalogues", "sources", "instruments", "study-designs", "countries", "languages"):
        html = client.get(f"/{segment}")
        assert html.status_code == 200 and b"<ol" in html.data, segment
    keywords = turtle(client, "/keywords")
    scheme = NamedNode(f"{BASE}/keywords#scheme")
    top = [t.object for t in keywords if t.subject == scheme and t.predicate.value.endswith("hasTopConcept")]
    total = next(int(t.object.value) for t in keywords if t.predicate.value == HYDRA + "totalItems")
    assert len(top) == 100 < total  # paged
    following = next(t.object.value for t in keywords if t.predicate.value == HYDRA + "next")
    page_two = turtle(client, following[len(BASE):])
    assert {t.object for t in page_two if t.predicate.value.endswith("hasTopConcept")}.isdisjoint(top)
    profile = turtle(client, "/profiles/full")
    assert {t.object.value for t in profile if t.predicate.value.endswith("isProfileOf")} == {"http://data.europa.eu/r5r/", "https://schema.org/"}
    assert client.get("/profiles/nothing").status_code == 404


def test_keys_are_case_insensitive_with_a_redirect_to_the_canonical_url(client):
    for asked, canonical in (("/countries/GBR", "/countries/gbr"), ("/countries/GBR.ttl?x=1", "/countries/gbr.ttl?x=1"),
                             ("/keywords/AGE", "/keywords/age"), ("/items/Born-In-Bradford-BIB", "/items/born-in-bradford-bib")):
        response = client.get(asked)
        assert response.status_code == 301 and response.headers["Location"] == canonical, asked
        assert client.get(canonical).status_code == 200


def test_a_related_study_not_in_the_catalogue_is_described(client, loaded):
    """A parent named by records but not loaded: its name and its known parts."""
    parent = next(
        t.object.value for slug in loaded.index.slugs() for t in turtle(client, f"/items/{slug}")
        if t.predicate.value == "http://purl.org/dc/terms/isPartOf"
        and not loaded.record_states([t.object.value.removesuffix("#id")])
    )
    triples = turtle(client, parent.removesuffix("#id")[len(BASE):])
    labels = [t.object.value for t in triples if t.subject.value == parent and t.predicate.value.endswith("#label")]
    parts = [t.subject.value for t in triples if t.object.value == parent and t.predicate.value.endswith("isPartOf")]
    assert labels and parts
    html = unescape(client.get(parent.removesuffix("#id")[len(BASE):], headers={"Accept": "text/html"}).data.decode())
    assert labels[0] in html and "not in this catalogue" in html


def test_node_documents_lead_to_their_studies_in_rdf(tmp_path):
    """rdflib, negotiating on its own, walks keyword -> studies -> sponsors -> studies."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = tmp_path / "s"
    load_shared_records(store, base)
    opened = open_catalogue(store, read_only=True)
    (most_used,) = opened.index.facet_counts("keyword", limit=1)
    opened.close()
    server = LiveServer(store, port=port)
    try:
        concept = rdflib.URIRef(f"{base}/keywords/{most_used.key}#id")
        keyword = rdflib.Graph().parse(str(concept).removesuffix("#id"))
        studies = set(keyword.subjects(rdflib.URIRef(DCAT + "theme"), concept))
        assert len(studies) == int(next(keyword.objects(None, rdflib.URIRef(HYDRA + "totalItems")))) > 1
        sponsors = set()
        for study in studies:
            document = rdflib.Graph().parse(str(study).removesuffix("#id"))
            sponsors |= set(document.objects(study, rdflib.URIRef(SCHEMA + "sponsor"))) | set(document.objects(study, rdflib.URIRef(SCHEMA + "funder")))
        assert sponsors
        for sponsor in sponsors:
            organisation = rdflib.Graph().parse(str(sponsor).removesuffix("#id"))
            # Back from the organisation to studies, by the statements the studies make.
            assert set(organisation.subjects(None, sponsor)) & studies or len(set(organisation.subjects(None, sponsor))) == 50
    finally:
        server.stop()


def test_every_catalog_page_passes_dcat_ap(client):
    shapes = _shapes("shapes.ttl", "range.ttl")
    path, pages = "/catalog", 0
    while path:
        response = client.get(path, headers={"Accept": "application/n-triples"})
        assert response.status_code == 200
        graph = rdflib.Graph().parse(data=response.data, format="nt")
        assert _violations(graph, shapes) == [], path
        pages += 1
        following = list(graph.objects(None, rdflib.URIRef(HYDRA + "next")))
        path = str(following[0])[len(BASE):] if following else None
    assert pages == 5  # 43 records, 10 a page
