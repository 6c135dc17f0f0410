"""The remote store's own promises, on real servers: digest auth against Virtuoso,
errors that name the URL and status but never the password, terms that survive a
round trip through each store, endpoints parsed from one URL, and a bulk load."""

from __future__ import annotations

import dataclasses
import re
import socket
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyoxigraph
import pytest
from pyoxigraph import Literal, NamedNode
from store_servers import StoreServer, oxigraph_server, virtuoso_server  # noqa: F401

from studygraph.graph.index_place import IndexDirectory
from studygraph.graph.insert_data import STATEMENTS_PER_OPERATION, insert_data
from studygraph.graph.keyvalue import SqliteKeyValue
from studygraph.graph.remote.client import RemoteStoreError, SparqlClient, read_all
from studygraph.graph.remote.endpoints import RemoteEndpoints
from studygraph.graph.remote.location import RemoteLocation
from studygraph.graph.remote.results import canonical_triples
from studygraph.graph.remote.store import RemoteStore
from studygraph.graph.remote.terms import bind

XSD = "http://www.w3.org/2001/XMLSchema#"
TRICKY = [
    Literal("line one\nline two\ttabbed \"quoted\" \\ back"),
    Literal("unicode: é ß 中文 😀"),
    Literal("2026-01-02T03:04:05Z", datatype=NamedNode(XSD + "dateTime")),
    Literal("2026-01-02", datatype=NamedNode(XSD + "date")),
    Literal("Grüße", language="de"),
    Literal("3f2a9c", datatype=NamedNode(XSD + "string")),
    Literal("42", datatype=NamedNode(XSD + "integer")),
    # White space around the text (a description ending in a space): kept on every store.
    Literal("  spaced out "),
    # Virtuoso answers a boolean as 0 or 1: read back as the literal written.
    Literal("false", datatype=NamedNode(XSD + "boolean")),
    Literal("true", datatype=NamedNode(XSD + "boolean")),
]


@pytest.fixture(params=["oxigraph", "virtuoso"])
def server(request: pytest.FixtureRequest) -> StoreServer:
    found: StoreServer = request.getfixturevalue(f"{request.param}_server")
    found.reset()
    return found


def test_endpoints_come_from_one_url_and_keep_no_password_in_urls() -> None:
    oxigraph = RemoteEndpoints.parse("http://127.0.0.1:7878")
    assert (oxigraph.dialect, oxigraph.query_url, oxigraph.update_url, oxigraph.graph_store_url) == (
        "oxigraph", "http://127.0.0.1:7878/query", "http://127.0.0.1:7878/update", "http://127.0.0.1:7878/store")
    virtuoso = RemoteEndpoints.parse("http://writer:s%40cret@db:8890/sparql")
    assert (virtuoso.dialect, virtuoso.user, virtuoso.password) == ("virtuoso", "writer", "s@cret")
    assert virtuoso.update_url == "http://db:8890/sparql-auth" and "cret" not in repr(virtuoso)
    assert RemoteEndpoints.parse("http://h/ds", dialect="generic", graph_store_url="http://h/gsp").graph_store_url == "http://h/gsp"


def test_a_bound_variable_is_bound_before_evaluation_and_kept_in_the_results() -> None:
    query = bind('SELECT ?s ?o WHERE { ?s <http://p/?s> ?o . OPTIONAL { ?s ?q "?s" } } ORDER BY ?s', {"s": NamedNode("http://e/a")})
    assert query.count("<http://e/a>") == 3 and query.endswith("ORDER BY ?s") and '"?s"' in query


def test_digest_auth_is_answered_and_a_wrong_password_is_refused_without_showing_it(virtuoso_server: StoreServer) -> None:
    client = SparqlClient(virtuoso_server.endpoints())
    client.update("INSERT DATA { GRAPH <http://example.org/g> { <http://example.org/s> <http://example.org/p> 1 } }")
    client.update("DROP SILENT GRAPH <http://example.org/g>")  # the second request reuses the challenge
    wrong = dataclasses.replace(virtuoso_server.endpoints(), password="not-the-password-xyz")
    with pytest.raises(RemoteStoreError) as refused:
        SparqlClient(wrong).update("DROP SILENT GRAPH <http://example.org/g>")
    assert refused.value.status == 401 and virtuoso_server.update_url in str(refused.value)
    assert "not-the-password-xyz" not in str(refused.value)


def test_terms_survive_a_round_trip(server: StoreServer, tmp_path: Path) -> None:
    store = RemoteStore(server.endpoints(), SqliteKeyValue(tmp_path / "settings.sqlite"))
    try:
        graph, subject = NamedNode("http://example.org/g"), NamedNode("http://example.org/s")
        body = "".join(f"{subject} <http://example.org/p{i}> {term} .\n" for i, term in enumerate(TRICKY)).encode()
        assert store.graph_store_write(graph, body, "application/n-triples", replace=True) is True
        read = {t.predicate.value: t.object for t in store.graph_triples(graph.value)}
        expected = {f"http://example.org/p{i}": term for i, term in enumerate(TRICKY)}
        assert read == expected
        assert store.direct_writes == 1
        solutions = store.query("SELECT ?o WHERE { ?s ?p ?o }", {"p": NamedNode("http://example.org/p1")})
        assert isinstance(solutions, pyoxigraph.QuerySolutions) and [row["o"] for row in solutions] == [TRICKY[1]]
        assert store.graph_store_delete(graph) is True and store.graph_store_get(graph) is None
    finally:
        store.close()


@pytest.mark.parametrize("syntax", ["nt", "ttl"])
def test_a_store_s_own_boolean_forms_are_read_back_as_written(syntax: str) -> None:
    """Virtuoso writes a boolean as 0 or 1 in a CONSTRUCT answer too, in N-Triples or
    Turtle (with a prefixed datatype); each is read as the literal we stored, and an
    answer without such a form is returned as it was parsed."""
    boolean = NamedNode(XSD + "boolean")
    s, p = NamedNode("http://example.org/s"), NamedNode("http://example.org/p")
    stored = [pyoxigraph.Triple(s, p, Literal(text, datatype=boolean)) for text in ("0", "1")]
    stored.append(pyoxigraph.Triple(s, p, Literal("10", datatype=NamedNode(XSD + "integer"))))
    body = pyoxigraph.serialize(stored, format=pyoxigraph.RdfFormat.from_extension(syntax), prefixes={"xsd": XSD})
    parsed = list(pyoxigraph.parse(body, format=pyoxigraph.RdfFormat.from_extension(syntax)))
    read = {t.object.value for t in canonical_triples(body, parsed)}
    assert read == {"false", "true", "10"}
    untouched = pyoxigraph.serialize(stored[2:], format=pyoxigraph.RdfFormat.from_extension(syntax))
    parsed = list(pyoxigraph.parse(untouched, format=pyoxigraph.RdfFormat.from_extension(syntax)))
    assert canonical_triples(untouched, parsed) is parsed


def test_a_bulk_load_fills_a_fresh_catalogue(server: StoreServer, tmp_path: Path) -> None:
    location = RemoteLocation(server.endpoints(), IndexDirectory(tmp_path / "local"))
    assert location.is_fresh()
    quads = "".join(f"<https://c.example/items/r{i}> <http://purl.org/dc/terms/title> \"Record {i}\" <https://c.example/items/r{i}> .\n"
                    for i in range(50)).encode()
    location.create([(quads, [])], "https://c.example")
    assert not location.is_fresh()
    catalogue = location.open()
    try:
        assert catalogue.base_url == "https://c.example" and catalogue.stats().quads == 50
    finally:
        catalogue.close()


def test_a_bulk_load_that_fails_leaves_the_store_fresh(server: StoreServer, tmp_path: Path) -> None:
    """A load cut after some chunks were written drops them: the store is fresh again."""
    location = RemoteLocation(server.endpoints(), IndexDirectory(tmp_path / "local"))
    assert location.is_fresh()

    def chunks():
        for part in range(3):
            yield "".join(f"<https://c.example/items/p{part}r{i}> <http://purl.org/dc/terms/title> \"Record {i}\" "
                          f"<https://c.example/items/p{part}r{i}> .\n" for i in range(20)).encode(), []
        raise OSError("the records file went away")

    with pytest.raises(OSError, match="went away"):
        location.create(chunks(), "https://c.example")
    assert location.is_fresh()


def test_a_chunk_the_store_refuses_fails_the_load_and_leaves_the_store_fresh(server: StoreServer, tmp_path: Path) -> None:
    """Chunks are written by a thread while the next is mapped: a chunk that fails there
    fails the load, after the chunks before it were written, and they are dropped."""
    location = RemoteLocation(server.endpoints(), IndexDirectory(tmp_path / "local"))

    def chunks():
        for part in range(2):
            yield f'<https://c.example/items/r{part}> <http://purl.org/dc/terms/title> "R" <https://c.example/items/r{part}> .\n'.encode(), []
        yield b"<https://c.example/items/bad> this is not N-Quads .\n", []
        yield b'<https://c.example/items/r9> <http://purl.org/dc/terms/title> "R" <https://c.example/items/r9> .\n', []

    with pytest.raises((RemoteStoreError, SyntaxError)):
        location.create(chunks(), "https://c.example")
    assert location.is_fresh()


def test_insert_data_is_cut_into_operations_a_store_compiles() -> None:
    """At most STATEMENTS_PER_OPERATION statements an operation (Virtuoso's SP031 limit),
    every statement kept whole, a literal with U+2028 in it included."""
    lines = [f'<http://x/s{i}> <http://x/p> "line\u2028{i}" .\n' for i in range(STATEMENTS_PER_OPERATION + 7)]
    text = insert_data([("<http://x/g1>", "".join(lines[:10])), ("<http://x/g2>", "".join(lines[10:])), (None, "")])
    operations = text.split(" ;\n")
    assert len(operations) == 2 and all(op.startswith("INSERT DATA {") for op in operations)
    store = pyoxigraph.Store()
    store.update(text)
    assert len(store) == len(lines)
    assert {str(q.graph_name) for q in store} == {"<http://x/g1>", "<http://x/g2>"}
    assert insert_data([]) == ""


def test_an_error_answer_names_what_the_store_said(virtuoso_server: StoreServer) -> None:  # noqa: F811
    client = SparqlClient(virtuoso_server.endpoints())
    with pytest.raises(RemoteStoreError, match="answered 400: .*SP030|answered 400: .*syntax"):
        client.update("INSERT DATA { this is not sparql }")


class CountingRelay:
    """A TCP relay on loopback in front of the store server: counts the connections
    open through it at once (the store's own view of how many requests we send)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = self.most = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.open += 1
                self.most = max(self.most, self.open)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, counts: bool) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            if counts:
                with self.lock:
                    self.open -= 1

    def close(self) -> None:
        self.listener.close()


def test_a_process_sends_the_store_no_more_requests_at_once_than_its_connections(oxigraph_server: StoreServer) -> None:  # noqa: F811
    """Eight threads asking slow queries at once through a client allowed two connections:
    the store sees two at a time, and every query is answered."""
    url = urllib.parse.urlsplit(oxigraph_server.query_url)
    relay = CountingRelay((url.hostname or "127.0.0.1", url.port or 80))
    try:
        endpoints = dataclasses.replace(oxigraph_server.endpoints(), query_url=f"http://127.0.0.1:{relay.port}{url.path}", connections=2)
        client = SparqlClient(endpoints)
        numbers = " ".join(str(i) for i in range(250))
        slow = f"SELECT (COUNT(*) AS ?n) WHERE {{ VALUES ?a {{ {numbers} }} VALUES ?b {{ {numbers} }} VALUES ?c {{ 1 2 3 4 5 6 7 8 }} }}"
        start = threading.Barrier(8)

        def ask() -> bytes:
            start.wait()
            return read_all(client.query(slow))

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda _: ask(), range(8)))
        assert all(b"500000" in answer for answer in answers)
        assert 1 <= relay.most <= 2
    finally:
        relay.close()


@pytest.mark.parametrize("media_type, body, expected", [
    ("text/turtle; charset=utf-8", b'<http://e.org/s> <http://e.org/p> "o" .\n', 1),
    ("application/n-triples", b'<http://e.org/s> <http://e.org/p> "0"^^<http://www.w3.org/2001/XMLSchema#boolean> .\n', 1),
    ("application/rdf+xml", b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e.org/">'
                            b'<rdf:Description rdf:about="http://e.org/s"><e:p>o</e:p></rdf:Description></rdf:RDF>', 1),
    ("application/sparql-results+json", b'{"head": {"vars": []}, "results": {"bindings": []}}', None),
    ("text/html", b"<html>an error page</html>", None),
])
def test_a_construct_is_read_in_the_syntaxes_asked_for_and_refused_in_any_other(media_type: str, body: bytes, expected: int | None) -> None:
    """A CONSTRUCT (a cold page's record graph) is read in the N-Triples or Turtle asked
    for, or any other RDF syntax a store prefers; an answer in anything else is a clear
    error naming what came, never a guess."""
    import http.server

    from studygraph.graph.remote.patterns import RemotePatterns

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(200)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        patterns = RemotePatterns(SparqlClient(RemoteEndpoints.parse(f"http://127.0.0.1:{site.server_address[1]}/sparql", dialect="generic")))
        query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
        if expected is None:
            with pytest.raises(RemoteStoreError, match=re.escape(f"as {media_type.split(';')[0]}, not in an RDF syntax")):
                patterns.construct(query)
        else:
            triples = patterns.construct(query)
            assert len(triples) == expected
            assert "0" not in str(triples[0].object) or "false" in str(triples[0].object)  # the store's boolean form, ours again
    finally:
        site.shutdown()
