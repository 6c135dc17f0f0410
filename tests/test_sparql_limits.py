"""The public endpoint's limits, against real servers: the deadline (the worker is killed),
the cap on concurrent queries, the row cap, the query size limit, no updates, SERVICE
only to allow-listed endpoints, and the token on /sparql/update and /sparql/store.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph
import pytest
import rdflib
from conftest import BASE, RECORDS, LiveServer, cpu_ticks, free_port, run_cli, server_log, wait_for, wait_until_listening
from sparql_support import query, query_process, query_processes, request

#: rdflib's JSON-LD parser (and SPARQLWrapper's) still build a ConjunctiveGraph.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
TOKEN = "limits-token"
SEED = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
SEED_STUDY = f"{BASE}/items/{SEED}#id"
SEED_TITLE = "Stakeholder Engagement Focus Groups on Digital Mental Health and Peer Support, 2022"
DEADLINE = 2
#: Every triple against every triple against every triple: ~13,000³ rows to count.
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
TITLE = f"SELECT ?title WHERE {{ <{SEED_STUDY}> <http://purl.org/dc/terms/title> ?title }}"
JSON_RESULTS = "application/sparql-results+json"


# ------------------------------------------------------------------------------ helpers


def bindings(body: bytes) -> list[dict[str, str]]:
    return [{k: v["value"] for k, v in row.items()} for row in json.loads(body)["results"]["bindings"]]


def scratch(tmp_path_factory, name: str) -> dict[str, str]:
    """Environment putting a server's scratch space (query checkpoints, spool files) in a
    pytest directory: a server stopped by SIGTERM cannot remove it itself."""
    directory = tmp_path_factory.mktemp(f"{name}-tmp")
    return {"TMPDIR": str(directory)}


def load_records(tmp_path_factory, name: str) -> Path:
    """A store with the shared records, for one server (a server locks its store)."""
    store = tmp_path_factory.mktemp(name) / "store"
    result = run_cli("load", str(RECORDS), "--store", str(store), "--base-url", BASE, "-q")
    assert result.returncode == 0, result.stderr
    return store


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory):
    """Oxigraph's server with one triple about the seed study: a SPARQL endpoint to federate with."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "oxigraph"), "serve", "--location", str(tmp_path_factory.mktemp("oxigraph")), "--bind", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=(log := server_log()),
    )
    wait_until_listening(process, port, log=log)
    url = f"http://127.0.0.1:{port}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    update = f'INSERT DATA {{ <{SEED_STUDY}> <http://example.org/note> "a note kept elsewhere" }}'
    connection.request("POST", "/update", body=update.encode(), headers={"Content-Type": "application/sparql-update"})
    assert connection.getresponse().status == 204
    connection.close()
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory, oxigraph):
    """Deadline 2 s, the token, and Oxigraph's endpoint (only) allow-listed for SERVICE."""
    live = LiveServer(load_records(tmp_path_factory, "limits"), token=TOKEN, env={
        **scratch(tmp_path_factory, "limits"),
        "STUDYGRAPH_QUERY_DEADLINE": str(DEADLINE),
        "STUDYGRAPH_ALLOWED_SERVICES": f"http://127.0.0.1:9/unused {oxigraph}/query",
    })
    yield live
    live.stop()


# ------------------------------------------------------------------------------ the deadline


def test_a_runaway_query_is_stopped_at_the_deadline(server):
    before = query_processes(server)
    started = time.monotonic()
    status, headers, body = query(server, RUNAWAY)
    elapsed = time.monotonic() - started
    assert status == 503, body
    assert elapsed < DEADLINE + 1, f"answered after {elapsed:.2f}s"
    assert int(headers["retry-after"]) > 0
    message = body.decode()
    assert "deadline" in message and f"{DEADLINE} s" in message and "LIMIT" in message, message
    # The query process that ran it was killed (and reaped) and replaced by the spare,
    # beside which a new spare is started: one of the two is gone, one is new.
    wait_for(lambda: len(query_processes(server)) == 2 and len(query_processes(server) & before) == 1, "a new spare query process")
    after = query_processes(server)
    (killed,) = before - after
    wait_for(lambda: not Path(f"/proc/{killed}").exists(), "the killed query process to be reaped")
    # The server goes on as normal: a page, then queries (on both workers).
    status, _, page = request(server, "GET", f"/items/{SEED}", headers={"Accept": "text/html"})
    assert status == 200 and SEED_TITLE.encode() in page
    for _ in range(3):
        status, _, body = query(server, TITLE)
        assert status == 200 and bindings(body) == [{"title": SEED_TITLE}]
    assert query_processes(server) == after


def test_a_large_result_is_sent_whole_from_its_spool_file(server):
    """Past the pipe's inline size a result is spooled, then sent from the file with its
    Content-Length; the spool file is gone once the response is out."""
    status, _, body = query(server, "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }")
    assert status == 200
    expected = int(bindings(body)[0]["n"])
    status, headers, body = query(server, "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", accept="application/n-triples")
    assert status == 200
    assert len(body) > 256 * 1024, "the result should be large enough to be spooled"
    assert int(headers["content-length"]) == len(body)
    assert len(pyoxigraph.Dataset(pyoxigraph.parse(body, pyoxigraph.RdfFormat.N_TRIPLES))) == expected
    scratch_dir = Path(server.env["TMPDIR"])
    assert not list(scratch_dir.glob("studygraph-sparql-*/result-*"))


def test_the_scratch_space_of_a_killed_server_is_reclaimed(tmp_path_factory):
    """Query checkpoints hard-link the store's files: the directory of a server that died
    without cleaning up (SIGTERM, SIGKILL) is removed by the next server."""
    env = scratch(tmp_path_factory, "reclaim")
    store = load_records(tmp_path_factory, "reclaim")
    first = LiveServer(store, env=env)
    [root] = Path(env["TMPDIR"]).glob("studygraph-sparql-*")
    assert (root / "owner.pid").read_text() == str(first.process.pid)
    first.process.kill()
    first.process.wait(timeout=30)
    second = LiveServer(store, env=env)
    try:
        assert not root.exists()
        [current] = Path(env["TMPDIR"]).glob("studygraph-sparql-*")
        assert (current / "owner.pid").read_text() == str(second.process.pid)
        assert bindings(query(second, TITLE)[2]) == [{"title": SEED_TITLE}]
    finally:
        second.stop()


# ------------------------------------------------------------------------------ no updates on /sparql


UPDATE = 'INSERT DATA { GRAPH <http://example.org/intruder> { <http://example.org/x> <http://example.org/p> "written" } }'
DROP = "DROP ALL"


@pytest.mark.parametrize("how", ["get", "post-form", "post-direct", "as-a-query", "query-with-update-param"])
@pytest.mark.parametrize("update", [UPDATE, DROP], ids=["insert", "drop"])
def test_updates_are_refused_on_the_public_endpoint(server, how, update):
    if how == "get":
        status, _, body = request(server, "GET", "/sparql?" + urlencode({"update": update}))
    elif how == "post-form":
        status, _, body = request(server, "POST", "/sparql", urlencode({"update": update}).encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    elif how == "post-direct":
        status, _, body = request(server, "POST", "/sparql", update.encode(), {"Content-Type": "application/sparql-update"})
    elif how == "as-a-query":
        status, _, body = request(server, "GET", "/sparql?" + urlencode({"query": update}))
    else:
        status, _, body = request(server, "POST", "/sparql?" + urlencode({"update": update}), TITLE.encode(), {"Content-Type": "application/sparql-query"})
    assert 400 <= status < 500, body
    # Nothing was written and nothing dropped.
    status, _, body = query(server, "ASK { GRAPH <http://example.org/intruder> { ?s ?p ?o } }")
    assert status == 200 and json.loads(body)["boolean"] is False
    assert bindings(query(server, TITLE)[2]) == [{"title": SEED_TITLE}]


# ------------------------------------------------------------------------------ SERVICE


@pytest.fixture
def listener():
    """A loopback socket nobody should connect to: the stand-in for an internal host."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock


def connections_made(sock: socket.socket) -> int:
    """Connections waiting in the listener's backlog (accepted without blocking)."""
    sock.setblocking(False)
    count = 0
    while True:
        try:
            accepted, _ = sock.accept()
        except BlockingIOError:
            return count
        accepted.close()
        count += 1


SERVICE_FORMS = {
    "iri": "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
    "silent": "SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}",
    "lower-case": "select * where {{ service <{url}> {{ ?s ?p ?o }} }}",
    "escaped-keyword": "SELECT * WHERE {{ SERV\\u0049CE <{url}> {{ ?s ?p ?o }} }}",
    "prefixed-name": "PREFIX evil: <{url}/> SELECT * WHERE {{ SERVICE evil:x {{ ?s ?p ?o }} }}",
    "relative-iri": "BASE <{url}/> SELECT * WHERE {{ SERVICE <x> {{ ?s ?p ?o }} }}",
    "variable": "SELECT * WHERE {{ VALUES ?endpoint {{ <{url}> }} SERVICE ?endpoint {{ ?s ?p ?o }} }}",
    "after-a-comment": "SELECT * WHERE {{ # a comment\n SERVICE\n#SERVICE <{allowed}>\n <{url}> {{ ?s ?p ?o }} }}",
    "nested": "SELECT * WHERE {{ SERVICE <{allowed}> {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }}",
}


@pytest.mark.parametrize("form", SERVICE_FORMS, ids=list(SERVICE_FORMS))
def test_service_to_an_endpoint_not_allow_listed_is_refused_without_connecting(server, oxigraph, listener, form):
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
    text = SERVICE_FORMS[form].format(url=url, allowed=f"{oxigraph}/query")
    status, _, body = query(server, text)
    assert 400 <= status < 500, body
    if form == "escaped-keyword":
        # Oxigraph reads \\u escapes only in strings and IRIs: nor does the guard.
        assert b"backslash outside a string or IRI" in body
    else:
        assert b"SERVICE" in body and b"not allowed" in body
    assert connections_made(listener) == 0


def test_service_to_an_allow_listed_endpoint_runs(server, oxigraph):
    text = f"""
        SELECT ?title ?note WHERE {{
          <{SEED_STUDY}> <http://purl.org/dc/terms/title> ?title .
          SERVICE <{oxigraph}/query> {{ <{SEED_STUDY}> <http://example.org/note> ?note }}
        }}"""
    status, _, body = query(server, text)
    assert status == 200, body
    assert bindings(body) == [{"title": SEED_TITLE, "note": "a note kept elsewhere"}]


def test_service_is_refused_when_nothing_is_allow_listed(tmp_path_factory, listener):
    live = LiveServer(load_records(tmp_path_factory, "no-services"), env=scratch(tmp_path_factory, "no-services"))
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/sparql"
        status, _, body = query(live, SERVICE_FORMS["iri"].format(url=url))
        assert status == 403, body
        assert connections_made(listener) == 0
    finally:
        live.stop()


# ------------------------------------------------------------------------------ size


def test_a_query_over_the_size_limit_gets_413(server):
    huge = TITLE + "\n# " + "x" * (1024 * 1024) + "\n"
    assert query(server, huge)[0] == 413
    form = urlencode({"query": huge}).encode()
    assert request(server, "POST", "/sparql", form, {"Content-Type": "application/x-www-form-urlencoded"})[0] == 413
    # The same query with a short comment runs.
    status, _, body = query(server, TITLE + "\n# " + "x" * 1000 + "\n")
    assert status == 200 and bindings(body) == [{"title": SEED_TITLE}]


def test_a_long_get_url_is_refused(server):
    status, _, _ = request(server, "GET", "/sparql?" + urlencode({"query": TITLE + "#" + "x" * 20000}))
    assert status == 414


# ------------------------------------------------------------------------------ concurrency


def one_worker_server(tmp_path_factory, name: str, queue: int, deadline: int = 5):
    """A live server with one query worker, a line of *queue* waiting queries and a deadline."""
    live = LiveServer(load_records(tmp_path_factory, name), env={
        **scratch(tmp_path_factory, name), "STUDYGRAPH_QUERY_WORKERS": "1", "STUDYGRAPH_QUERY_QUEUE": str(queue),
        "STUDYGRAPH_QUERY_DEADLINE": str(deadline)})
    yield live
    live.stop()


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory):
    yield from one_worker_server(tmp_path_factory, "one-worker", queue=0)


@pytest.fixture(scope="module")
def one_worker_one_waiting(tmp_path_factory):
    # A deadline long enough for the runaway to get two seconds of CPU on a busy machine.
    yield from one_worker_server(tmp_path_factory, "one-waiting", queue=1, deadline=15)


def test_queries_beyond_the_worker_cap_get_503(one_worker):
    """With one worker busy on a runaway query, the next query gets 503 at once.

    "Busy" is read from the worker itself: an idle worker waits on its pipe and uses no
    CPU, so once it has used a tenth of a second of CPU more than after a query it
    finished, it is evaluating the runaway."""
    worker = query_process(one_worker)
    status, _, body = query(one_worker, TITLE)  # the worker is up, has opened the store, and is idle again
    assert status == 200, body
    idle = cpu_ticks(worker)
    ticks = os.sysconf("SC_CLK_TCK")
    first: dict = {}
    slow = threading.Thread(target=lambda: first.update(answer=query(one_worker, RUNAWAY)))
    slow.start()
    try:
        wait_for(lambda: cpu_ticks(worker) >= idle + ticks // 10, "the runaway query to run on the only worker")
        status, headers, body = query(one_worker, TITLE)
        assert status == 503, body
        assert int(headers["retry-after"]) > 0
        assert b"too many queries" in body
    finally:
        slow.join(60)
    status, _, body = first["answer"]
    assert status == 503 and b"deadline" in body  # the runaway itself was stopped
    status, _, body = query(one_worker, TITLE)
    assert status == 200 and bindings(body) == [{"title": SEED_TITLE}]


# ------------------------------------------------------------------------------ the row cap


@pytest.fixture(scope="module")
def five_rows(tmp_path_factory):
    live = LiveServer(load_records(tmp_path_factory, "five-rows"), env={**scratch(tmp_path_factory, "five-rows"), "STUDYGRAPH_MAX_ROWS": "5"})
    yield live
    live.stop()


ALL_TITLES = "SELECT ?s ?title WHERE { ?s <http://purl.org/dc/terms/title> ?title }"


def count_rows(media: str, body: bytes) -> int:
    if media == "text/csv":
        return len(list(csv.reader(io.StringIO(body.decode(), newline="")))) - 1
    return len(list(pyoxigraph.parse_query_results(body, format=pyoxigraph.QueryResultsFormat.from_media_type(media))))


@pytest.mark.parametrize("media", [JSON_RESULTS, "application/sparql-results+xml", "text/csv", "text/tab-separated-values"])
@pytest.mark.parametrize("limit", ["", " LIMIT 10"])
def test_results_are_cut_at_the_row_cap(five_rows, media, limit):
    """With no LIMIT, or one above the cap, the rows stop at the cap and the response says so."""
    status, headers, body = query(five_rows, ALL_TITLES + limit, accept=media)
    assert status == 200 and headers["content-type"].startswith(media)
    assert count_rows(media, body) == 5
    assert headers["x-sparql-truncated"].startswith("true")
    assert headers["x-sparql-max-rows"] == "5"


@pytest.mark.parametrize("media, parse", [("text/turtle", "turtle"), ("application/n-triples", "nt"), ("application/n-quads", "nquads"), ("application/ld+json", "json-ld")])
def test_graph_results_are_cut_at_the_row_cap(five_rows, media, parse):
    status, headers, body = query(five_rows, "CONSTRUCT WHERE { ?s <http://purl.org/dc/terms/title> ?title }", accept=media)
    assert status == 200 and headers["content-type"].startswith(media)
    assert len(rdflib.Graph().parse(data=body, format=parse)) == 5
    assert headers["x-sparql-truncated"].startswith("true")


def test_results_within_the_cap_are_whole(five_rows):
    for limit in (3, 5):
        status, headers, body = query(five_rows, f"{ALL_TITLES} LIMIT {limit}")
        assert status == 200 and len(bindings(body)) == limit
        assert "x-sparql-truncated" not in headers


# ------------------------------------------------------------------------------ the token


AUTH = {"Authorization": f"Bearer {TOKEN}"}
GRAPH = "http://example.org/graph-store-test"
TURTLE = b'@prefix ex: <http://example.org/> .\nex:thing ex:label "put over HTTP" ; ex:size 3 .\n'


@pytest.mark.parametrize("method, path, body, headers", [
    ("POST", "/sparql/update", UPDATE.encode(), {"Content-Type": "application/sparql-update"}),
    ("POST", "/sparql/update", urlencode({"update": UPDATE}).encode(), {"Content-Type": "application/x-www-form-urlencoded"}),
    ("GET", f"/sparql/store?graph={GRAPH}", None, {}),
    ("HEAD", f"/sparql/store?graph={GRAPH}", None, {}),
    ("GET", "/sparql/store?default", None, {}),
    ("PUT", f"/sparql/store?graph={GRAPH}", TURTLE, {"Content-Type": "text/turtle"}),
    ("POST", f"/sparql/store?graph={GRAPH}", TURTLE, {"Content-Type": "text/turtle"}),
    ("DELETE", f"/sparql/store?graph={GRAPH}", None, {}),
], ids=["update-direct", "update-form", "store-get", "store-head", "store-get-default", "store-put", "store-post", "store-delete"])
@pytest.mark.parametrize("token", [None, "wrong"], ids=["no-token", "wrong-token"])
def test_update_and_graph_store_need_the_token(server, method, path, body, headers, token):
    sent = dict(headers)
    if token:
        sent["Authorization"] = f"Bearer {token}"
    status, answer, _ = request(server, method, path, body, sent)
    assert status == 401
    assert answer["www-authenticate"].startswith("Bearer")
    assert json.loads(query(server, "ASK { GRAPH ?g { <http://example.org/thing> ?p ?o } }")[2])["boolean"] is False


def test_graph_store_round_trip_with_the_token(server):
    put = request(server, "PUT", f"/sparql/store?graph={GRAPH}", TURTLE, {**AUTH, "Content-Type": "text/turtle"})
    assert put[0] == 201, put[2]
    status, headers, body = request(server, "GET", f"/sparql/store?graph={GRAPH}", headers={**AUTH, "Accept": "text/turtle"})
    assert status == 200 and headers["content-type"].startswith("text/turtle")
    assert rdflib.Graph().parse(data=body, format="turtle").isomorphic(rdflib.Graph().parse(data=TURTLE, format="turtle"))
    # Unlike a document URL, the Graph Store serves a named graph as such: N-Quads name it.
    status, headers, body = request(server, "GET", f"/sparql/store?graph={GRAPH}", headers={**AUTH, "Accept": "application/n-quads"})
    assert status == 200 and headers["content-type"].startswith("application/n-quads")
    quads = list(pyoxigraph.parse(body, format=pyoxigraph.RdfFormat.N_QUADS))
    assert len(quads) == 2 and {q.graph_name for q in quads} == {pyoxigraph.NamedNode(GRAPH)}
    # Visible to public queries at once: as a named graph and in the union default graph.
    named = f"SELECT ?label WHERE {{ GRAPH <{GRAPH}> {{ ?s <http://example.org/label> ?label }} }}"
    assert bindings(query(server, named)[2]) == [{"label": "put over HTTP"}]
    union = "SELECT ?size WHERE { <http://example.org/thing> <http://example.org/size> ?size }"
    assert bindings(query(server, union)[2]) == [{"size": "3"}]
    # POST adds, PUT replaces.
    more = b'<http://example.org/thing> <http://example.org/label> "posted too" .\n'
    assert request(server, "POST", f"/sparql/store?graph={GRAPH}", more, {**AUTH, "Content-Type": "application/n-triples"})[0] == 204
    assert sorted(r["label"] for r in bindings(query(server, named)[2])) == ["posted too", "put over HTTP"]
    assert request(server, "PUT", f"/sparql/store?graph={GRAPH}", more, {**AUTH, "Content-Type": "application/n-triples"})[0] == 204
    assert bindings(query(server, named)[2]) == [{"label": "posted too"}]
    # DELETE, then it is gone everywhere.
    assert request(server, "DELETE", f"/sparql/store?graph={GRAPH}", headers=AUTH)[0] == 204
    assert request(server, "GET", f"/sparql/store?graph={GRAPH}", headers=AUTH)[0] == 404
    assert bindings(query(server, named)[2]) == []
    assert request(server, "DELETE", f"/sparql/store?graph={GRAPH}", headers=AUTH)[0] == 404


def test_update_with_the_token(server):
    graph = "http://example.org/update-test"
    insert = f'INSERT DATA {{ GRAPH <{graph}> {{ <http://example.org/u> <http://example.org/p> "updated" }} }}'
    status, _, body = request(server, "POST", "/sparql/update", insert.encode(), {**AUTH, "Content-Type": "application/sparql-update"})
    assert status == 204, body
    check = f"SELECT ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    assert bindings(query(server, check)[2]) == [{"o": "updated"}]
    form = urlencode({"update": f"DROP GRAPH <{graph}>"}).encode()
    status, _, body = request(server, "POST", "/sparql/update", form, {**AUTH, "Content-Type": "application/x-www-form-urlencoded"})
    assert status == 204, body
    assert bindings(query(server, check)[2]) == []
    # The records are untouched.
    assert bindings(query(server, TITLE)[2]) == [{"title": SEED_TITLE}]


def test_a_query_waits_in_line_for_a_busy_worker_and_the_line_is_capped(one_worker_one_waiting):
    """One worker, room for one waiting query. While a runaway holds the worker, two more
    queries arrive: one takes the place in line and is answered once the runaway is
    stopped at its deadline; the other finds the line full and gets 503 at once.

    The waiting counts against the waiting query's own deadline, so the two are sent once
    the runaway has used two seconds of CPU (hence run two seconds of the clock at least):
    when the runaway is stopped, two seconds of the waiting query's deadline are left."""
    server = one_worker_one_waiting
    worker = query_process(server)
    assert query(server, TITLE)[0] == 200
    idle = cpu_ticks(worker)
    answers: dict = {}
    runaway = threading.Thread(target=lambda: answers.update(runaway=query(server, RUNAWAY)))
    runaway.start()
    try:
        wait_for(lambda: cpu_ticks(worker) >= idle + 2 * os.sysconf("SC_CLK_TCK"), "the runaway query to run two seconds on the only worker")
        others = [threading.Thread(target=lambda n=n: answers.update({n: query(server, TITLE)})) for n in (1, 2)]
        for thread in others:
            thread.start()
        for thread in others:
            thread.join(60)
    finally:
        runaway.join(60)
    assert answers["runaway"][0] == 503 and b"deadline" in answers["runaway"][2]
    served, refused = sorted((answers[1], answers[2]), key=lambda answer: answer[0])
    assert served[0] == 200 and bindings(served[2]) == [{"title": SEED_TITLE}], "the query in line ran once the worker was free"
    assert refused[0] == 503 and b"too many queries" in refused[2] and int(refused[1]["retry-after"]) > 0
