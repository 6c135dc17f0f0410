"""The W3C SPARQL 1.1 Protocol tests, replayed over HTTP against `studygraph serve`.

The runner is driven by ``../shared/reference/sparql-protocol/manifest.ttl`` (parsed with
rdflib; HTTP-in-RDF ``ht:`` requests, ``mf:`` expectations, ``ut:graphData``). Each
``mf:ProtocolTest`` gets a fresh throw-away store holding its ``ut:graphData`` (each file
in the named graph its ``rdfs:label`` gives) and its own server, and its ``ht:Request``\\ s
are sent in order, each ``ht:absolutePath`` with the leading ``/sparql/`` replaced by the
endpoint path:

- the 27 read-only tests (13 ``query_*`` and 14 ``bad_*``) go to the public ``/sparql``:
  queries must work, and every bad request -- including the ``bad_update_*`` ones, since
  the public endpoint takes no updates -- must get a 4xx;
- the 7 ``update_*`` tests send their update requests to ``/sparql/update`` with the
  bearer token, and their follow-up queries to ``/sparql``.

The ``bad_update_*`` requests are also replayed against the authenticated ``/sparql/update``,
which must refuse them for the protocol's reasons (not for want of a token).
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import pyoxigraph
import pytest
import rdflib
from conftest import REFERENCE, LiveServer
from rdflib.namespace import RDF, RDFS

from studygraph.graph.embedded import open_catalogue

SUITE = REFERENCE / "sparql-protocol"
MANIFEST = SUITE / "manifest.ttl"
TOKEN = "protocol-test-token"

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

#: The media types each mf:expectedFormat allows, as the tests' names list them:
#: "boolean" -> (expect one of: XML, JSON); "tabular" -> (XML, JSON, CSV, TSV);
#: "RDF" -> (RDF/XML, Turtle, N-Triples, RDFa).
ACCEPTABLE = {
    "boolean": {"application/sparql-results+json", "application/sparql-results+xml"},
    "tabular": {"application/sparql-results+json", "application/sparql-results+xml", "text/csv", "text/tab-separated-values"},
    "RDF": {"application/rdf+xml", "text/turtle", "application/n-triples", "application/xhtml+xml", "text/html"},
}
SPARQL_RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"


@dataclass(frozen=True)
class ProtocolRequest:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    #: Acceptable status classes, e.g. ("2", "3") for hts:StatusCode2xx, hts:StatusCode3xx.
    status_classes: tuple[str, ...]
    expected_format: str | None
    expected_boolean: bool | None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def is_update(self) -> bool:
        """Whether this request carries a SPARQL update (by body or parameters)."""
        media = (self.header("content-type") or "").split(";")[0].strip().lower()
        text = (self.body or b"").decode("utf-8", "replace")
        query_string = urlsplit(self.path).query
        return media == "application/sparql-update" or text.startswith("update=") or "update=" in query_string


@dataclass(frozen=True)
class ProtocolTest:
    name: str
    title: str
    graph_data: tuple[tuple[Path, str], ...]
    requests: tuple[ProtocolRequest, ...]

    @property
    def writes(self) -> bool:
        """The 7 update_* tests need a writable endpoint; the other 27 are read-only."""
        return self.name.startswith("update_")


def _items(graph: rdflib.Graph, head) -> list:
    return list(rdflib.collection.Collection(graph, head)) if head is not None else []


def _local(term) -> str:
    text = str(term)
    return text.rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def read_manifest(path: Path = MANIFEST) -> list[ProtocolTest]:
    """Every mf:ProtocolTest of the manifest, in the order of its mf:entries."""
    graph = rdflib.Graph().parse(path, format="turtle")
    manifest = next(graph.subjects(RDF.type, MF.Manifest))
    tests = []
    for entry in _items(graph, graph.value(manifest, MF.entries)):
        if (entry, RDF.type, MF.ProtocolTest) not in graph:
            continue
        data = []
        for node in graph.objects(entry, UT.graphData):
            source = graph.value(node, UT.graph)
            data.append((path.parent / _local(source), str(graph.value(node, RDFS.label))))
        action = graph.value(entry, MF.action)
        requests = []
        for node in _items(graph, graph.value(action, HT.requests)):
            headers = tuple(
                (str(graph.value(h, HT.fieldName)), str(graph.value(h, HT.fieldValue)))
                for h in _items(graph, graph.value(node, HT.headers))
            )
            body_node = graph.value(node, HT.body)
            body = None
            if body_node is not None:
                encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
                body = str(graph.value(body_node, CNT.chars)).encode(encoding)
            response = graph.value(node, HT.resp)
            classes = sorted(_local(s).removeprefix("StatusCode")[0] for s in graph.objects(response, MF.expectedStatus))
            expected_format = graph.value(response, MF.expectedFormat)
            expected_boolean = graph.value(response, MF.expectedBoolean)
            requests.append(ProtocolRequest(
                method=str(graph.value(node, HT.methodName)),
                path=str(graph.value(node, HT.absolutePath)),
                headers=headers,
                body=body,
                status_classes=tuple(classes),
                expected_format=str(expected_format) if expected_format is not None else None,
                expected_boolean=expected_boolean.toPython() if expected_boolean is not None else None,
            ))
        tests.append(ProtocolTest(_local(entry), str(graph.value(entry, MF.name)), tuple(sorted(data)), tuple(requests)))
    return tests


TESTS = read_manifest()


def test_the_manifest_is_read_whole():
    """34 tests: 27 for a read-only endpoint (14 of them bad_*) and 7 update_*."""
    assert len(TESTS) == 34
    read_only = [t for t in TESTS if not t.writes]
    assert len(read_only) == 27
    assert len([t for t in read_only if t.name.startswith("bad_")]) == 14
    assert all(t.requests for t in TESTS)
    assert all(path.is_file() for t in TESTS for path, _ in t.graph_data)


# ------------------------------------------------------------------------------ running


def make_store(directory: Path, graph_data: tuple[tuple[Path, str], ...]) -> Path:
    """A fresh store holding each data file in the named graph its label names."""
    store = open_catalogue(directory)
    try:
        for source, graph in graph_data:
            store.quads._store.load(path=str(source), format=pyoxigraph.RdfFormat.N_TRIPLES, to_graph=pyoxigraph.NamedNode(graph))
    finally:
        store.close()
    return directory


def endpoint_path(path: str, endpoint: str) -> str:
    """The manifest's path with its leading ``/sparql/`` replaced by *endpoint*."""
    assert path.startswith("/sparql/"), path
    rest = path[len("/sparql/"):]
    return endpoint + rest


def send(server: LiveServer, request: ProtocolRequest, endpoint: str, token: str | None = None):
    """Send one manifest request as written (method, headers, body); returns status, headers, body."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        headers = dict(request.headers)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection.request(request.method, endpoint_path(request.path, endpoint), body=request.body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def read_boolean(media: str, body: bytes) -> bool:
    if media == "application/sparql-results+json":
        document = json.loads(body)
        assert isinstance(document.get("boolean"), bool), document
        return document["boolean"]
    root = ET.fromstring(body)
    assert root.tag == f"{SPARQL_RESULTS_NS}sparql", root.tag
    element = root.find(f"{SPARQL_RESULTS_NS}boolean")
    assert element is not None and element.text in ("true", "false"), body
    return element.text == "true"


def read_table(media: str, body: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """Variables and rows (plain values) of a SELECT result in any of the four formats."""
    if media == "text/csv":
        rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
        return rows[0], [dict(zip(rows[0], row)) for row in rows[1:]]
    parsed = pyoxigraph.parse_query_results(body, format=pyoxigraph.QueryResultsFormat.from_media_type(media))
    assert isinstance(parsed, pyoxigraph.QuerySolutions), parsed
    variables = [v.value for v in parsed.variables]
    return variables, [{v: row[v].value for v in variables if row[v] is not None} for row in parsed]


def read_graph(media: str, body: bytes) -> rdflib.Graph:
    formats = {"text/turtle": "turtle", "application/n-triples": "nt", "application/rdf+xml": "xml"}
    assert media in formats, f"cannot check an RDF result in {media}"
    return rdflib.Graph().parse(data=body, format=formats[media])


def check(test: ProtocolTest, index: int, request: ProtocolRequest, status: int, headers: dict[str, str], body: bytes) -> None:
    where = f"{test.name} request {index + 1} ({request.method} {request.path})"
    assert str(status)[0] in request.status_classes, f"{where}: got {status}, expected {request.status_classes}: {body[:500]!r}"
    if request.expected_format is None:
        return
    media = media_type(headers)
    assert media in ACCEPTABLE[request.expected_format], f"{where}: {media} is not a {request.expected_format} result format"
    if request.expected_format == "boolean":
        value = read_boolean(media, body)
        if request.expected_boolean is not None:
            assert value is request.expected_boolean, f"{where}: ASK answered {value}"
    elif request.expected_format == "tabular":
        variables, rows = read_table(media, body)
        assert variables, where
        if test.name == "query_content_type_select":  # SELECT (1 AS ?value) {}
            assert variables == ["value"] and rows == [{"value": "1"}], (variables, rows)
    else:
        graph = read_graph(media, body)
        if test.name == "query_content_type_construct":  # CONSTRUCT { <s> <p> 1 } WHERE {}
            assert len(graph) == 1 and next(iter(graph))[2] == rdflib.Literal(1), list(graph)


@pytest.fixture
def serve_test(tmp_path):
    """Start a server on a fresh store holding a test's data; stopped afterwards."""
    started: list[LiveServer] = []

    def start(test: ProtocolTest) -> LiveServer:
        store = make_store(tmp_path / "store", test.graph_data)
        (tmp_path / "tmp").mkdir(exist_ok=True)
        server = LiveServer(store, token=TOKEN, env={"TMPDIR": str(tmp_path / "tmp")})
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
    shutil.rmtree(tmp_path / "store", ignore_errors=True)


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
def test_protocol(test: ProtocolTest, serve_test):
    server = serve_test(test)
    for index, request in enumerate(test.requests):
        if test.writes and request.is_update:
            endpoint, token = "/sparql/update", TOKEN
        else:
            endpoint, token = "/sparql", None
        status, headers, body = send(server, request, endpoint, token)
        check(test, index, request, status, headers, body)


BAD_UPDATES = [t for t in TESTS if t.name.startswith("bad_update") or t.name == "bad_multiple_updates"]


@pytest.mark.parametrize("test", BAD_UPDATES, ids=[t.name for t in BAD_UPDATES])
def test_bad_updates_are_refused_by_the_update_endpoint(test: ProtocolTest, serve_test):
    """The bad_update_* requests sent, with the token, to /sparql/update: still 4xx, and
    not 401/403 (the token is good: the request itself is what is refused), and the
    store is untouched (CLEAR NAMED did not run)."""
    assert len(BAD_UPDATES) == 7
    data = TESTS[[t.name for t in TESTS].index("query_dataset_full")].graph_data
    server = serve_test(ProtocolTest(test.name, test.title, data, test.requests))
    for index, request in enumerate(test.requests):
        status, headers, body = send(server, request, "/sparql/update", TOKEN)
        check(test, index, request, status, headers, body)
        assert status not in (401, 403), body
    count = ProtocolRequest("GET", "/sparql/?query=" + quote("SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }"), (), None, ("2",), None, None)
    status, headers, body = send(server, count, "/sparql")
    assert status == 200
    assert read_table(media_type(headers), body)[1] == [{"n": "3"}]


# ------------------------------------------------------------------------------ the dataset, beyond the manifest


@pytest.fixture(scope="module")
def dataset_server(tmp_path_factory):
    data = TESTS[[t.name for t in TESTS].index("query_dataset_full")].graph_data
    server = LiveServer(make_store(tmp_path_factory.mktemp("dataset") / "store", data), env={"TMPDIR": str(tmp_path_factory.mktemp("dataset-tmp"))})
    yield server
    server.stop()


def graphs_seen(server: LiveServer, query: str, **params: str) -> list[str]:
    """The documents (data1.rdf ...) a SELECT ?doc query finds, sorted."""
    path = "/sparql/?" + "&".join(f"{k.replace('_', '-')}={quote(v, safe='')}" for k, v in [("query", query), *params.items()])
    status, headers, body = send(server, ProtocolRequest("GET", path, (), None, ("2",), None, None), "/sparql")
    assert status == 200, body
    return sorted(row["doc"].rsplit("/", 1)[1] for row in read_table(media_type(headers), body)[1])


D = "http://kasei.us/2009/09/sparql/data/"


def test_the_default_graph_is_the_union_of_the_named_graphs(dataset_server):
    assert graphs_seen(dataset_server, "SELECT ?doc { ?doc a ?type }") == ["data1.rdf", "data2.rdf", "data3.rdf"]


def test_a_querys_own_dataset_is_used_when_the_request_names_none(dataset_server):
    """FROM / FROM NAMED in the query set its dataset (SPARQL 1.1 Query 13.2); the union
    default graph is only what a query without a dataset clause sees."""
    assert graphs_seen(dataset_server, f"SELECT ?doc FROM <{D}data1.rdf> {{ ?doc a ?type }}") == ["data1.rdf"]
    assert graphs_seen(dataset_server, f"SELECT ?doc FROM NAMED <{D}data2.rdf> {{ GRAPH ?g {{ ?doc a ?type }} }}") == ["data2.rdf"]


def test_the_protocol_dataset_wins_over_the_querys(dataset_server):
    query = f"SELECT ?doc FROM <{D}data1.rdf> {{ ?doc a ?type }}"
    assert graphs_seen(dataset_server, query, default_graph_uri=f"{D}data3.rdf") == ["data3.rdf"]
