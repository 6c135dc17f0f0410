"""RDF clients reading our documents over HTTP, at their defaults: raptor's ``rapper``
(C), rdflib's ``Graph.parse(URL)`` and pyld (Python), against `studygraph serve` on
loopback with a store minted under the server's own URL (so ``/context.jsonld``, which
every JSON-LD document references, is loaded from the server itself)."""

from __future__ import annotations

import json

import pyoxigraph
import pytest
import rdflib
import rdflib.compare
from conftest import fetch
from pyld import jsonld

#: rdflib's JSON-LD parser still builds a ConjunctiveGraph.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
SEED = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
SEED_TITLE = "Stakeholder Engagement Focus Groups on Digital Mental Health and Peer Support, 2022"
DCT_TITLE = rdflib.URIRef("http://purl.org/dc/terms/title")
#: A study, linked nodes of two kinds, the catalogue, the vocabulary, the profile's
#: shapes and the catalogue's validation report.
DOCUMENTS = [f"/items/{SEED}", "/keywords/mental-health", "/organizations/economic-and-social-research-council", "/catalog", "/vocab",
             "/shapes", "/validation"]
#: raptor's parsers for our formats, and the media type each asks for first (raptor
#: 2.0.15 sends ``text/x-nquads`` and ``application/x-trig``, the older names).
RAPTOR_SYNTAXES = {
    "turtle": "text/turtle",
    "ntriples": "application/n-triples",
    "nquads": "text/x-nquads",
    "trig": "application/x-trig",
    "rdfxml": "application/rdf+xml",
}
PYOXIGRAPH_SYNTAX = {
    "turtle": pyoxigraph.RdfFormat.TURTLE,
    "ntriples": pyoxigraph.RdfFormat.N_TRIPLES,
    "nquads": pyoxigraph.RdfFormat.N_QUADS,
    "trig": pyoxigraph.RdfFormat.TRIG,
    "rdfxml": pyoxigraph.RdfFormat.RDF_XML,
}


def published(url: str) -> rdflib.Graph:
    """A document as we publish it, read from its N-Triples."""
    status, _, body = fetch(url, {"Accept": "application/n-triples"})
    assert status == 200, url
    return rdflib.Graph().parse(data=body, format="nt")


# ------------------------------------------------------------------------------ rapper


@pytest.mark.parametrize("syntax", list(RAPTOR_SYNTAXES))
@pytest.mark.parametrize("path", DOCUMENTS)
def test_rapper_reads_every_format_of_a_document(rapper, dereferenceable_server, path, syntax):
    """rapper negotiates by the syntax it is told to parse; it reads as many statements
    from the URL as from the body it is given, and as pyoxigraph reads from that body."""
    url = dereferenceable_server.url + path
    status, headers, body = fetch(url, {"Accept": RAPTOR_SYNTAXES[syntax]})
    assert status == 200 and headers["Content-Type"].split(";")[0] == RAPTOR_SYNTAXES[syntax]
    parsed = list(pyoxigraph.parse(body, format=PYOXIGRAPH_SYNTAX[syntax], base_iri=url))
    assert {q.graph_name for q in parsed} == {pyoxigraph.DefaultGraph()}
    assert {q.triple for q in parsed} == {q.triple for q in pyoxigraph.parse(fetch(f"{url}.nt")[2], format=pyoxigraph.RdfFormat.N_TRIPLES)}
    assert rapper.count(syntax, url) == rapper.count(syntax, "-", body, url) == len(parsed) > 2


# ------------------------------------------------------------------------------ rdflib


@pytest.mark.parametrize("path", [f"/items/{SEED}", "/keywords/mental-health", "/shapes", "/validation"])
def test_rdflib_parses_a_document_url_at_its_defaults(dereferenceable_server, path):
    """``Graph.parse(URL)`` sends an Accept header of every syntax it reads and picks its
    parser by the answer's Content-Type (JSON-LD here, with its context loaded from us)."""
    url = dereferenceable_server.url + path
    graph = rdflib.Graph().parse(url)
    assert len(graph) > 2
    assert rdflib.compare.isomorphic(graph, published(url))


def test_rdflib_finds_the_study_s_title(dereferenceable_server):
    url = f"{dereferenceable_server.url}/items/{SEED}"
    assert rdflib.Graph().parse(url).value(rdflib.URIRef(f"{url}#id"), DCT_TITLE) == rdflib.Literal(SEED_TITLE)


# ------------------------------------------------------------------------------ pyld


@pytest.mark.parametrize("path", [f"/items/{SEED}", "/keywords/mental-health", "/catalog", "/shapes", "/validation"])
def test_pyld_expands_a_document_with_the_context_it_references(dereferenceable_server, path):
    """pyld at its defaults (its requests document loader) loads the document and the
    ``/context.jsonld`` it names; the RDF it makes is the document's Turtle, triple for triple."""
    url = dereferenceable_server.url + path
    assert json.loads(fetch(url, {"Accept": "application/ld+json"})[2])["@context"] == f"{dereferenceable_server.url}/context.jsonld"
    status, _, turtle = fetch(url, {"Accept": "text/turtle"})
    assert status == 200
    expected = rdflib.Graph().parse(data=turtle, format="turtle")
    made = rdflib.Graph().parse(data=jsonld.to_rdf(url, {"format": "application/n-quads"}), format="nt")
    assert len(made) == len(expected) > 2
    assert rdflib.compare.isomorphic(made, expected)


def test_pyld_expands_the_study_s_title(dereferenceable_server):
    url = f"{dereferenceable_server.url}/items/{SEED}"
    [study] = [node for node in jsonld.expand(url) if node["@id"] == f"{url}#id"]
    assert study[str(DCT_TITLE)] == [{"@value": SEED_TITLE}]
