"""Comunica, the JavaScript SPARQL engine, against `studygraph serve` on loopback.

Three ways Comunica users meet us: our SPARQL endpoint as a source; a document URL as a
plain RDF source (Comunica negotiates, N-Quads first, and queries the default graph);
and link traversal, following our IRIs from one study to the documents of what it links.
The store is minted under the server's own loopback URL, so every IRI dereferences.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyoxigraph
import pytest
import rdflib
import rdflib.compare
from conftest import fetch

SEED = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
SEED_TITLE = "Stakeholder Engagement Focus Groups on Digital Mental Health and Peer Support, 2022"
DATASETS = 43
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
SKOS = "http://www.w3.org/2004/02/skos/core#"
TITLES = f"CONSTRUCT {{ ?study <{DCT}title> ?title }} WHERE {{ ?study a <{DCAT}Dataset> ; <{DCT}title> ?title }}"


def triples_of(url: str) -> list[pyoxigraph.Triple]:
    """A document's triples as we publish them (its N-Triples, read by pyoxigraph)."""
    status, _, body = fetch(url, {"Accept": "application/n-triples"})
    assert status == 200, url
    return [q.triple for q in pyoxigraph.parse(body, format=pyoxigraph.RdfFormat.N_TRIPLES)]


def graph(triples: Iterable[pyoxigraph.Triple]) -> rdflib.Graph:
    """An rdflib graph of pyoxigraph triples (compared up to blank-node labels)."""
    return rdflib.Graph().parse(data="".join(f"{t} .\n" for t in triples), format="nt")


def objects(triples: list[pyoxigraph.Triple], subject: str, predicate: str) -> set[str]:
    return {t.object.value for t in triples if t.subject.value == subject and t.predicate.value == predicate}


# ------------------------------------------------------------------------------ our endpoint as a SPARQL source


def test_comunica_queries_the_endpoint(comunica, dereferenceable_server):
    source = f"sparql@{dereferenceable_server.url}/sparql"
    rows, requests = comunica.select([source], f"SELECT (COUNT(DISTINCT ?study) AS ?n) WHERE {{ ?study a <{DCAT}Dataset> }}")
    assert rows == [{"n": str(DATASETS)}]
    assert requests and all(r.url.startswith(f"{dereferenceable_server.url}/sparql?") and r.status == 200 for r in requests)

    study = f"{dereferenceable_server.url}/items/{SEED}#id"
    rows, _ = comunica.select([source], f"SELECT ?study ?title WHERE {{ ?study a <{DCAT}Dataset> ; <{DCT}title> ?title }}")
    assert len(rows) == DATASETS and {"study": study, "title": SEED_TITLE} in rows
    assert comunica.ask([source], f"ASK {{ <{study}> a <{DCAT}Dataset> }}") is True
    assert comunica.ask([source], f"ASK {{ <{study}> a <{DCAT}Catalog> }}") is False


def test_comunica_constructs_through_the_endpoint(comunica, dereferenceable_server):
    constructed, _ = comunica.construct([f"sparql@{dereferenceable_server.url}/sparql"], TITLES)
    status, _, body = fetch(f"{dereferenceable_server.url}/sparql?{_query(TITLES)}", {"Accept": "application/n-triples"})
    assert status == 200
    ours = [q.triple for q in pyoxigraph.parse(body, format=pyoxigraph.RdfFormat.N_TRIPLES)]
    assert set(constructed) == set(ours) and len(constructed) == DATASETS


def _query(text: str) -> str:
    from urllib.parse import urlencode

    return urlencode({"query": text})


# ------------------------------------------------------------------------------ a document URL as an RDF source


@pytest.mark.parametrize("path", [f"/items/{SEED}", "/keywords/mental-health", "/organizations/economic-and-social-research-council", "/catalog", "/vocab"])
def test_comunica_reads_a_document_into_its_default_graph(comunica, dereferenceable_server, path):
    """Comunica asks for N-Quads first; the document's triples are all in the default
    graph, where a query without GRAPH looks."""
    url = dereferenceable_server.url + path
    found, requests = comunica.construct([url], "CONSTRUCT WHERE { ?s ?p ?o }")
    assert [(r.url, r.media_type) for r in requests] == [(url, "application/n-quads")]
    assert requests[0].accept.startswith("application/n-quads")
    published = set(triples_of(url))
    assert len(set(found)) == len(published) > 2
    assert rdflib.compare.isomorphic(graph(found), graph(published))


def test_comunica_finds_a_study_s_title_and_themes_in_its_document(comunica, dereferenceable_server):
    url = f"{dereferenceable_server.url}/items/{SEED}"
    rows, _ = comunica.select([url], f"SELECT ?title ?theme WHERE {{ <{url}#id> <{DCT}title> ?title ; <{DCAT}theme> ?theme }}")
    themes = objects(triples_of(url), f"{url}#id", DCAT + "theme")
    assert len(themes) >= 3
    assert {row["title"] for row in rows} == {SEED_TITLE}
    assert {row["theme"] for row in rows} == themes


# ------------------------------------------------------------------------------ link traversal


def test_link_traversal_from_a_study_reaches_its_keywords(comunica_link_traversal, dereferenceable_server):
    """From the study's URL alone, Comunica follows dcat:theme to each keyword's document
    and reads its label there (the study's document does not carry it)."""
    url = f"{dereferenceable_server.url}/items/{SEED}"
    query = f"SELECT ?theme ?label WHERE {{ <{url}#id> <{DCAT}theme> ?theme . ?theme <{SKOS}prefLabel> ?label }}"
    # Lenient: traversal also tries IRIs off loopback (EU authority tables), which the
    # test harness refuses; those failures must not stop the query.
    rows, requests = comunica_link_traversal.select([url], query, "--lenient")
    themes = objects(triples_of(url), f"{url}#id", DCAT + "theme")
    expected = {(theme, label) for theme in themes for label in objects(triples_of(theme.split("#")[0]), theme, SKOS + "prefLabel")}
    assert len(expected) == len(themes) >= 3
    assert {(row["theme"], row["label"]) for row in rows} == expected
    fetched = {r.url: r.media_type for r in requests if not r.refused}
    for theme in themes:
        assert fetched[theme.split("#")[0]] == "application/n-quads"
    assert all(r.url.startswith("http://127.0.0.1:") for r in requests if not r.refused)
