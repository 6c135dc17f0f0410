"""The SPARQL results page (``format=html``): written by the query process, streamed by
the web process, cut at the row cap with the same signal as the other formats, and with
links only for http(s) IRIs."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser
from urllib.parse import urlencode

import pyoxigraph
import pytest
from conftest import BASE, LiveServer, load_shared_records
from sparql_support import query, request

from studygraph.graph.sparql_results import write_results

ALL_TITLES = "SELECT ?s ?title WHERE { ?s <http://purl.org/dc/terms/title> ?title }"
BROWSER = {"Accept": "text/html"}


class Results(HTMLParser):
    """The results section of the page: rows of cells, the links in them, the <pre>."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self.graph = ""
        self.warnings: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "tr" and "tbody" in self._open:
            self.rows.append([])
        if tag == "td":
            self.rows[-1].append("")
        if tag == "a" and "td" in self._open:
            self.links.append(attributes.get("href") or "")
        if tag == "p" and attributes.get("class") == "warning":
            self.warnings.append("")
        self._open.append(tag)

    def handle_endtag(self, tag):
        while self._open and self._open.pop() != tag:
            pass

    def handle_data(self, data):
        if "td" in self._open:
            self.rows[-1][-1] += data
        elif "pre" in self._open:
            self.graph += data
        elif self._open and self._open[-1] == "p" and self.warnings and not self.warnings[-1]:
            self.warnings[-1] = data


def page(server: LiveServer, text: str) -> tuple[int, dict[str, str], Results, bytes]:
    status, headers, body = request(server, "GET", "/sparql?" + urlencode({"query": text, "format": "html"}), headers=BROWSER)
    parsed = Results()
    parsed.feed(body.decode("utf-8"))
    return status, headers, parsed, body


@pytest.fixture(scope="module")
def five_rows(tmp_path_factory):
    store = load_shared_records(tmp_path_factory.mktemp("html") / "store", BASE)
    live = LiveServer(store, env={"TMPDIR": str(tmp_path_factory.mktemp("html-tmp")), "STUDYGRAPH_MAX_ROWS": "5"})
    yield live
    live.stop()


@pytest.mark.parametrize("limit", ["", " LIMIT 10"])
def test_the_results_table_is_cut_at_the_row_cap(five_rows, limit):
    status, headers, shown, body = page(five_rows, ALL_TITLES + limit)
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert len(shown.rows) == 5
    assert headers["x-sparql-truncated"].startswith("true") and headers["x-sparql-max-rows"] == "5"
    assert shown.warnings == ["The result was cut at 5 rows."]
    assert int(headers["content-length"]) == len(body)


def test_a_table_within_the_cap_is_whole_and_says_nothing_of_a_cut(five_rows):
    status, headers, shown, _ = page(five_rows, ALL_TITLES + " ORDER BY ?s LIMIT 3")
    assert status == 200 and len(shown.rows) == 3 and not shown.warnings
    assert "x-sparql-truncated" not in headers
    json_rows = json.loads(query(five_rows, ALL_TITLES + " ORDER BY ?s LIMIT 3")[2])["results"]["bindings"]
    assert shown.rows == [[row["s"]["value"], row["title"]["value"]] for row in json_rows]


def test_graph_results_on_the_page_are_cut_at_the_cap(five_rows):
    status, headers, shown, _ = page(five_rows, "CONSTRUCT WHERE { ?s <http://purl.org/dc/terms/title> ?title }")
    assert status == 200 and headers["x-sparql-truncated"].startswith("true")
    assert len(list(pyoxigraph.parse(shown.graph.encode(), pyoxigraph.RdfFormat.TURTLE))) == 5
    assert shown.warnings == ["The result was cut at 5 triples."]


@pytest.mark.parametrize("iri", [
    "javascript:alert(document.domain)", "JavaScript:alert(1)", "data:text/html;base64,PHNjcmlwdD4=", "vbscript:msgbox(1)", "urn:x:y",
])
def test_only_http_iris_become_links(five_rows, iri):
    """Issue 14: a result bound to IRI("javascript:...") was a clickable link."""
    text = f'SELECT ?x WHERE {{ VALUES ?n {{ 1 2 }} BIND(IF(?n = 1, IRI("{iri}"), <https://example.org/a?b=1&c=2>) AS ?x) }} ORDER BY ?n'
    status, _, shown, body = page(five_rows, text)
    assert status == 200, body
    assert shown.rows == [[iri], ["https://example.org/a?b=1&c=2"]]
    assert shown.links == ["https://example.org/a?b=1&c=2"]


def test_the_writer_escapes_every_cell():
    store = pyoxigraph.Store()
    text = 'SELECT ?a ?b ?c WHERE { BIND("<b>&\\"" AS ?a) BIND(BNODE() AS ?b) BIND(<http://example.org/q> AS ?c) }'
    out = io.BytesIO()
    rows, cut = write_results(store.query(text), out, "html", 10)
    written = out.getvalue().decode()
    assert (rows, cut) == (1, False)
    assert "&lt;b&gt;&amp;&quot;" in written and "<b>" not in written
    assert '<a href="http://example.org/q">' in written and "_:" in written
    assert written.count("<tr>") == 2  # the header row and one row
