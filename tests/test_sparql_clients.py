"""Real SPARQL clients against `studygraph serve` over the shared records.

SPARQLWrapper in every result format it asks for, rdflib's SPARQLStore, Oxigraph's own
server calling us through ``SERVICE`` (federation), the service description, and the
HTML query page with its example queries.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import subprocess
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pyoxigraph
import pytest
import rdflib
import rdflib.compare
from conftest import BASE, RECORDS, ROOT, LiveServer, fetch, free_port, run_cli, server_log, wait_until_listening
from rdflib import URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, JSONLD, N3, POST, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper import RDF as RDF_GRAPH

#: rdflib's JSON-LD parser (and SPARQLWrapper's) still build a ConjunctiveGraph.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
SEED = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
SEED_STUDY = f"{BASE}/items/{SEED}#id"
SEED_TITLE = "Stakeholder Engagement Focus Groups on Digital Mental Health and Peer Support, 2022"
DATASETS = 43
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = rdflib.Namespace("http://purl.org/dc/terms/")
RDF = rdflib.Namespace("http://www.w3.org/1999/02/22-rdf-syntax-ns#")
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
EXAMPLES = sorted((ROOT / "queries" / "examples").glob("*.rq"))

#: One row: the seed study's title and the number of dcat:Dataset.
TITLE_AND_COUNT = f"""
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
SELECT ?title ?datasets WHERE {{
  {{ SELECT (COUNT(DISTINCT ?study) AS ?datasets) WHERE {{ ?study a dcat:Dataset }} }}
  <{SEED_STUDY}> dct:title ?title .
}}
"""
#: Every study's title: one triple per dcat:Dataset.
TITLES = """
PREFIX dcat: <http://www.w3.org/ns/dcat#>
PREFIX dct: <http://purl.org/dc/terms/>
CONSTRUCT { ?study dct:title ?title } WHERE { ?study a dcat:Dataset ; dct:title ?title }
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = tmp_path_factory.mktemp("clients") / "store"
    result = run_cli("load", str(RECORDS), "--store", str(store), "--base-url", BASE, "-q")
    assert result.returncode == 0, result.stderr
    live = LiveServer(store, env={"TMPDIR": str(tmp_path_factory.mktemp("clients-tmp"))})
    yield live
    live.stop()


def endpoint(server: LiveServer) -> str:
    return f"{server.url}/sparql"


def wrapper(server: LiveServer, query: str, return_format: str) -> SPARQLWrapper:
    client = SPARQLWrapper(endpoint(server))
    client.setQuery(query)
    client.setReturnFormat(return_format)
    return client


# ------------------------------------------------------------------------------ SPARQLWrapper


def row_from_json(result) -> dict[str, str]:
    [binding] = result["results"]["bindings"]
    return {name: cell["value"] for name, cell in binding.items()}


def row_from_xml(document) -> dict[str, str]:
    [result] = document.getElementsByTagName("result")
    row = {}
    for binding in result.getElementsByTagName("binding"):
        value = next(child for child in binding.childNodes if child.nodeType == child.ELEMENT_NODE)
        row[binding.getAttribute("name")] = "".join(text.data for text in value.childNodes)
    return row


def row_from_csv(body: bytes) -> dict[str, str]:
    header, *rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    [row] = rows
    return dict(zip(header, row))


def row_from_tsv(body: bytes) -> dict[str, str]:
    """TSV cells are terms in Turtle syntax: parsed back into RDF terms."""
    parsed = pyoxigraph.parse_query_results(body, format=pyoxigraph.QueryResultsFormat.TSV)
    [row] = list(parsed)
    return {v.value: row[v].value for v in parsed.variables}


@pytest.mark.parametrize(
    "return_format, media, read",
    [
        (JSON, "application/sparql-results+json", row_from_json),
        (XML, "application/sparql-results+xml", row_from_xml),
        (CSV, "text/csv", row_from_csv),
        (TSV, "text/tab-separated-values", row_from_tsv),
    ],
    ids=["json", "xml", "csv", "tsv"],
)
def test_sparqlwrapper_select(server, return_format, media, read):
    result = wrapper(server, TITLE_AND_COUNT, return_format).query()
    assert result.info()["content-type"].split(";")[0] == media
    row = read(result.convert())
    assert row == {"title": SEED_TITLE, "datasets": str(DATASETS)}


def test_sparqlwrapper_select_by_post(server):
    client = wrapper(server, TITLE_AND_COUNT, JSON)
    client.setMethod(POST)
    assert row_from_json(client.query().convert()) == {"title": SEED_TITLE, "datasets": str(DATASETS)}


def test_sparqlwrapper_ask(server):
    assert wrapper(server, f"ASK {{ <{SEED_STUDY}> a <{DCAT.Dataset}> }}", JSON).query().convert()["boolean"] is True
    assert wrapper(server, f"ASK {{ <{SEED_STUDY}> a <{DCAT.Catalog}> }}", XML).query().convert().getElementsByTagName("boolean")[0].firstChild.data == "false"


def check_titles(graph: rdflib.Graph) -> None:
    assert len(set(graph.subjects(DCTERMS.title, None))) == DATASETS
    assert graph.value(URIRef(SEED_STUDY), DCTERMS.title) == rdflib.Literal(SEED_TITLE)


def test_sparqlwrapper_construct_turtle(server):
    result = wrapper(server, TITLES, TURTLE).query()
    assert result.info()["content-type"].split(";")[0] == "text/turtle"
    check_titles(rdflib.Graph().parse(data=result.convert(), format="turtle"))


def test_sparqlwrapper_construct_jsonld(server):
    result = wrapper(server, TITLES, JSONLD).query()
    assert result.info()["content-type"].split(";")[0] == "application/ld+json"
    graph = result.convert()  # SPARQLWrapper parses JSON-LD into an rdflib graph
    check_titles(graph)


#: Every return format SPARQLWrapper offers. It sends each in ``format``, ``output`` and
#: ``results`` (with the media type too for TSV, JSON-LD and RDF/XML) and an Accept header
#: of its own; the formats it has no Accept header for are sent with ``*/*``.
EVERY_RETURN_FORMAT = [JSON, XML, CSV, TSV, N3, TURTLE, RDF_GRAPH, RDFXML, JSONLD]
#: The media type each return format gets for SELECT and ASK: a graph format is no
#: solution format, so the Accept header decides (``*/*``: JSON).
SOLUTION_ANSWER = {JSON: "application/sparql-results+json", XML: "application/sparql-results+xml", CSV: "text/csv", TSV: "text/tab-separated-values"}
#: ... and for CONSTRUCT and DESCRIBE (CSV and TSV are no graph formats: ``*/*`` gets Turtle).
GRAPH_ANSWER = {
    JSON: "application/ld+json", XML: "application/rdf+xml", CSV: "text/turtle", TSV: "text/turtle", N3: "text/n3",
    TURTLE: "text/turtle", RDF_GRAPH: "application/rdf+xml", RDFXML: "application/rdf+xml", JSONLD: "application/ld+json",
}
ROW_READERS = {
    "application/sparql-results+json": row_from_json, "application/sparql-results+xml": row_from_xml,
    "text/csv": row_from_csv, "text/tab-separated-values": row_from_tsv,
}
RDFLIB_SYNTAX = {"text/turtle": "turtle", "text/n3": "n3", "application/rdf+xml": "xml", "application/ld+json": "json-ld"}


def run_wrapper(server: LiveServer, query: str, return_format: str) -> tuple[str, object]:
    """SPARQLWrapper at its defaults (GET): the answer's media type and what convert() makes of it."""
    with warnings.catch_warnings():
        # It warns that it sends */* for a format it has no media type for, and when the answer's type is not the one named.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = wrapper(server, query, return_format).query()
        return result.info()["content-type"].split(";")[0], result.convert()


@pytest.mark.parametrize("return_format", EVERY_RETURN_FORMAT)
def test_sparqlwrapper_select_in_every_return_format(server, return_format):
    media, converted = run_wrapper(server, TITLE_AND_COUNT, return_format)
    assert media == SOLUTION_ANSWER.get(return_format, "application/sparql-results+json")
    assert ROW_READERS[media](converted) == {"title": SEED_TITLE, "datasets": str(DATASETS)}


def boolean_of(media: str, converted) -> bool:
    if media == "application/sparql-results+json":
        return converted["boolean"]
    if media == "application/sparql-results+xml":
        return {"true": True, "false": False}[converted.getElementsByTagName("boolean")[0].firstChild.data]
    return {b"true": True, b"false": False}[converted.strip()]


@pytest.mark.parametrize("return_format", EVERY_RETURN_FORMAT)
def test_sparqlwrapper_ask_in_every_return_format(server, return_format):
    for kind, expected in ((DCAT.Dataset, True), (DCAT.Catalog, False)):
        media, converted = run_wrapper(server, f"ASK {{ <{SEED_STUDY}> a <{kind}> }}", return_format)
        assert media == SOLUTION_ANSWER.get(return_format, "application/sparql-results+json")
        assert boolean_of(media, converted) is expected


def graph_of(media: str, converted) -> rdflib.Graph:
    """convert() parses RDF/XML and JSON-LD into a graph and hands Turtle back as bytes."""
    if isinstance(converted, rdflib.Graph):
        return converted
    return rdflib.Graph().parse(data=converted, format=RDFLIB_SYNTAX[media])


def reference_graph(server: LiveServer, query: str) -> rdflib.Graph:
    status, _, body = fetch(f"{endpoint(server)}?{urlencode({'query': query})}", {"Accept": "application/n-triples"})
    assert status == 200, body
    return rdflib.Graph().parse(data=body, format="nt")


@pytest.mark.parametrize("return_format", EVERY_RETURN_FORMAT)
@pytest.mark.parametrize("query", [TITLES, f"DESCRIBE <{SEED_STUDY}>"], ids=["construct", "describe"])
def test_sparqlwrapper_graphs_in_every_return_format(server, query, return_format):
    media, converted = run_wrapper(server, query, return_format)
    assert media == GRAPH_ANSWER[return_format]
    graph = graph_of(media, converted)
    reference = reference_graph(server, query)
    assert len(graph) == len(reference) >= (DATASETS if query is TITLES else 20)
    assert rdflib.compare.isomorphic(graph, reference)
    assert graph.value(URIRef(SEED_STUDY), DCTERMS.title) == rdflib.Literal(SEED_TITLE)


@pytest.mark.parametrize("params, media", [
    ({"format": ["rdf+xml", "application/rdf+xml"], "output": ["rdf+xml", "application/rdf+xml"]}, "application/rdf+xml"),
    ({"format": ["n3"], "output": ["n3"]}, "text/n3"),
    ({"format": ["no-such-format"]}, "application/n-triples"),
    ({"output": ["csv"]}, "application/n-triples"),
])
def test_format_values_the_endpoint_does_not_know_fall_back_to_accept(server, params, media):
    """A format/output value is a hint: the first one naming a format of this query form
    wins, and without one the Accept header decides (here N-Triples), never a 406."""
    query = urlencode({"query": TITLES, **params}, doseq=True)
    status, headers, body = fetch(f"{endpoint(server)}?{query}", {"Accept": "application/n-triples"})
    assert status == 200, body
    assert headers["Content-Type"].split(";")[0] == media
    check_titles(rdflib.Graph().parse(data=body, format={"application/rdf+xml": "xml", "text/n3": "n3", "application/n-triples": "nt"}[media]))


# ------------------------------------------------------------------------------ rdflib SPARQLStore


def test_rdflib_sparqlstore(server):
    graph = rdflib.Graph(store=SPARQLStore(endpoint(server)))
    rows = list(graph.query(TITLE_AND_COUNT))
    assert [(str(title), int(count)) for title, count in rows] == [(SEED_TITLE, DATASETS)]
    # Graph API calls become SPARQL queries too.
    assert graph.value(URIRef(SEED_STUDY), DCTERMS.title) == rdflib.Literal(SEED_TITLE)
    assert len(set(graph.subjects(RDF.type, DCAT.Dataset))) == DATASETS
    assert graph.query(f"ASK {{ <{SEED_STUDY}> a <{DCAT.Dataset}> }}").askAnswer is True
    constructed = graph.query(TITLES).graph
    check_titles(constructed)
    count = wrapper(server, "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", JSON).query().convert()
    assert len(graph.store) == int(row_from_json(count)["n"]) > 1000


# ------------------------------------------------------------------------------ federation


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory):
    """Oxigraph's own server (read-write, empty but for what a test puts in it)."""
    binary = Path(sys.executable).parent / "oxigraph"
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "serve", "--location", str(tmp_path_factory.mktemp("oxigraph")), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(log := server_log()),
    )
    wait_until_listening(process, port, log=log)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


def oxigraph_select(oxigraph: str, query: str) -> list[dict[str, str]]:
    status, _, body = fetch(f"{oxigraph}/query", {"Accept": "application/sparql-results+json", "Content-Type": "application/sparql-query"}, query.encode())
    assert status == 200, body
    return [{k: v["value"] for k, v in b.items()} for b in json.loads(body)["results"]["bindings"]]


def test_oxigraph_federates_to_us(server, oxigraph):
    """Oxigraph's store is empty: every answer comes from our endpoint, called over HTTP."""
    rows = oxigraph_select(oxigraph, f"""
        SELECT ?title ?datasets WHERE {{
          SERVICE <{endpoint(server)}> {{
            {{ SELECT (COUNT(DISTINCT ?study) AS ?datasets) WHERE {{ ?study a <{DCAT.Dataset}> }} }}
            <{SEED_STUDY}> <{DCTERMS.title}> ?title .
          }}
        }}""")
    assert rows == [{"title": SEED_TITLE, "datasets": str(DATASETS)}]


def test_oxigraph_joins_its_data_with_ours(server, oxigraph):
    update = f'INSERT DATA {{ <{SEED_STUDY}> <http://example.org/reviewedBy> "a local reviewer" }}'
    status, _, body = fetch(f"{oxigraph}/update", {"Content-Type": "application/sparql-update"}, update.encode())
    assert status == 204, body
    rows = oxigraph_select(oxigraph, f"""
        SELECT ?reviewer ?title WHERE {{
          ?study <http://example.org/reviewedBy> ?reviewer .
          SERVICE <{endpoint(server)}> {{ ?study <http://purl.org/dc/terms/title> ?title }}
        }}""")
    assert rows == [{"reviewer": "a local reviewer", "title": SEED_TITLE}]


# ------------------------------------------------------------------------------ service description, page, examples


def test_service_description(server):
    status, headers, body = fetch(endpoint(server), {"Accept": "text/turtle"})
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=body, format="turtle")
    service = URIRef(f"{BASE}/sparql")
    assert (service, RDF.type, SD.Service) in graph
    assert (service, SD.endpoint, service) in graph
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in graph
    formats = set(graph.objects(service, SD.resultFormat))
    assert URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON") in formats
    assert URIRef("http://www.w3.org/ns/formats/Turtle") in formats
    [entities] = graph.objects(None, VOID.entities)
    assert entities.toPython() == DATASETS


def test_a_plain_http_client_gets_data_not_the_page(server):
    """``Accept: */*`` (curl, requests) is a program: it gets SPARQL JSON, not HTML."""
    status, headers, body = fetch(f"{endpoint(server)}?{urlencode({'query': TITLE_AND_COUNT})}", {"Accept": "*/*"})
    assert status == 200 and headers["Content-Type"].startswith("application/sparql-results+json")
    assert row_from_json(json.loads(body)) == {"title": SEED_TITLE, "datasets": str(DATASETS)}


class Page(HTMLParser):
    """What the SPARQL page shows: example links, table headers and cells, sections, and
    the site-wide search box in the header."""

    def __init__(self) -> None:
        super().__init__()
        self.example_links: list[str] = []
        self.headers: list[str] = []
        self.cells: list[str] = []
        self.rows = 0
        self.classes: set[str] = set()
        self.textarea = ""
        self.search_box: str | None = None
        self._in: list[str] = []
        self._examples = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.classes.update((attributes.get("class") or "").split())
        if tag == "ul" and "examples" in (attributes.get("class") or ""):
            self._examples = True
        if tag == "tr" and "tbody" in self._in:
            self.rows += 1
        if tag == "a" and self._examples:
            self.example_links.append(attributes["href"])
        if tag == "input" and attributes.get("id") == "q":
            self.search_box = attributes.get("value") or ""
        self._in.append(tag)

    def handle_endtag(self, tag):
        if tag == "ul":
            self._examples = False
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data):
        current = self._in[-1] if self._in else ""
        if current == "th":
            self.headers.append(data)
        elif current in ("td", "a") and "td" in self._in:
            self.cells.append(data)
        elif current == "textarea":
            self.textarea += data


def page(html: bytes) -> Page:
    parsed = Page()
    parsed.feed(html.decode("utf-8"))
    return parsed


def test_browsers_get_the_query_page_with_the_examples(server):
    status, headers, body = fetch(endpoint(server), {"Accept": BROWSER_ACCEPT})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    shown = page(body)
    queries = [parse_qs(urlsplit(link).query)["query"][0] for link in shown.example_links]
    assert queries == [path.read_text(encoding="utf-8") for path in EXAMPLES]
    assert shown.textarea == EXAMPLES[0].read_text(encoding="utf-8")
    for path in EXAMPLES:
        title = path.read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
        assert title.encode() in body.replace(b"&#39;", b"'")


def run_json(server: LiveServer, query: str) -> tuple[int, str, bytes]:
    """POST a query as a form, as SPARQL clients do; JSON results (Turtle for CONSTRUCT)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        body = urlencode({"query": query}).encode()
        connection.request("POST", "/sparql", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_the_header_search_box_stays_empty_on_the_query_page(server, method):
    """The query text goes in the editor only: the site-wide search box searches studies."""
    fields = urlencode({"query": TITLE_AND_COUNT, "format": "html"})
    if method == "GET":
        status, _, body = fetch(f"{endpoint(server)}?{fields}", {"Accept": BROWSER_ACCEPT})
    else:
        status, _, body = fetch(endpoint(server), {"Accept": BROWSER_ACCEPT, "Content-Type": "application/x-www-form-urlencoded"}, fields.encode())
    assert status == 200
    shown = page(body)
    assert shown.textarea == TITLE_AND_COUNT and shown.rows == 1
    assert shown.search_box == ""
    # The page without a query shows the first example in the editor, and nothing in the box.
    assert page(fetch(endpoint(server), {"Accept": BROWSER_ACCEPT})[2]).search_box == ""


def test_the_header_search_box_shows_the_search_on_the_results_page(server):
    status, _, body = fetch(f"{server.url}/items?{urlencode({'q': 'peer support'})}", {"Accept": BROWSER_ACCEPT})
    assert status == 200 and page(body).search_box == "peer support"


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_running_an_example_from_the_page(server, example):
    """The form submits ?query=...&format=html; SELECT results come back as a table with
    the same columns and rows as the JSON results."""
    query = example.read_text(encoding="utf-8")
    status, headers, body = fetch(f"{endpoint(server)}?{urlencode({'query': query, 'format': 'html'})}", {"Accept": BROWSER_ACCEPT})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    shown = page(body)
    assert "error" not in shown.classes
    assert shown.textarea == query
    if "CONSTRUCT" in query:
        assert "graph" in shown.classes and SEED_TITLE.encode() in body
        return
    results = json.loads(run_json(server, query)[2])
    assert shown.headers == results["head"]["vars"]
    assert shown.rows == len(results["results"]["bindings"]) > 0


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_each_example_query_runs(server, example):
    """Every shipped example runs without error and finds something in the real records."""
    query = example.read_text(encoding="utf-8")
    status, media, data = run_json(server, query)
    assert status == 200, data
    if "CONSTRUCT" in query:
        graph = rdflib.Graph().parse(data=data, format="turtle")
        assert graph.value(URIRef(SEED_STUDY), DCTERMS.title) == rdflib.Literal(SEED_TITLE)
    else:
        assert media.startswith("application/sparql-results+json")
        assert json.loads(data)["results"]["bindings"], f"{example.name} found nothing"
