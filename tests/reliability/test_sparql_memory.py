"""The memory and time of every public query: the query process has a memory limit (a
query that grows past it gets 503 and the process is replaced), and every answer comes
within its deadline and a second, counting the time a query waits for a place."""

from __future__ import annotations

import threading
import time

import pyoxigraph
import pytest
from conftest import BASE, LiveServer, load_shared_records, wait_for
from sparql_support import query, query_processes

from studygraph.graph.query_pool import QueryJob, QueryOutOfMemory, QueryPool

SEED = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
TITLE = f"SELECT ?t WHERE {{ <{BASE}/items/{SEED}#id> <http://purl.org/dc/terms/title> ?t }}"
#: Issue 14: sorting every triple against every triple against every triple (5-8 GB in 10 s).
RUNAWAY_SORT = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i LIMIT 1"
#: Counting the same: little memory, all the time there is.
RUNAWAY_COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
MEMORY = "1G"


def test_the_pool_answers_out_of_memory_and_goes_on(tmp_path):
    """In the pool itself: a sort past the limit aborts its process; the query gets
    QueryOutOfMemory, the process is replaced, and the next query is answered."""
    source = pyoxigraph.Store(str(tmp_path / "store"))
    graph = pyoxigraph.NamedNode("http://example.org/g")
    for n in range(3000):
        source.add(pyoxigraph.Quad(pyoxigraph.NamedNode(f"http://example.org/s{n}"), pyoxigraph.NamedNode("http://example.org/p"),
                                   pyoxigraph.Literal(f"value {n}"), graph))
    source.flush()
    pool = QueryPool(lambda target: source.backup(str(target)), size=2, deadline=120, spool_dir=str(tmp_path), memory=512 * 2**20)
    try:
        first = pool._worker.process.pid
        with pytest.raises(QueryOutOfMemory):
            pool.run(QueryJob(RUNAWAY_SORT, "json", 100))
        assert pool.died >= 1 and pool._worker.process.pid != first
        assert pool.run(QueryJob("SELECT ?s WHERE { ?s ?p ?o } LIMIT 2", "json", 100)).rows == 2
    finally:
        pool.close()


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """A memory limit of 1 GiB, and a deadline long enough that memory runs out first."""
    store = load_shared_records(tmp_path_factory.mktemp("memory") / "store", BASE)
    live = LiveServer(store, env={
        "TMPDIR": str(tmp_path_factory.mktemp("memory-tmp")), "STUDYGRAPH_QUERY_MEMORY": MEMORY, "STUDYGRAPH_QUERY_DEADLINE": "120"})
    yield live
    live.stop()


def test_a_query_past_the_memory_limit_gets_503_and_the_next_is_answered(limited):
    before = query_processes(limited)
    assert query(limited, TITLE)[0] == 200
    status, headers, body = query(limited, RUNAWAY_SORT)
    assert status == 503, body
    assert b"memory limit" in body and int(headers["retry-after"]) > 0
    # The process ran out of memory, and so may the spare that ran the query again: one
    # or both of the processes seen before are gone, and two are up again.
    wait_for(lambda: len(query_processes(limited)) == 2 and query_processes(limited) != before,
             "the query process replaced by the spare, and a new spare started")
    status, _, body = query(limited, TITLE)
    assert status == 200 and b"Stakeholder" in body


DEADLINE = 2


@pytest.fixture(scope="module")
def one_place(tmp_path_factory):
    """One query place, two places in line, a 2 s deadline."""
    store = load_shared_records(tmp_path_factory.mktemp("burst") / "store", BASE)
    live = LiveServer(store, env={
        "TMPDIR": str(tmp_path_factory.mktemp("burst-tmp")), "STUDYGRAPH_QUERY_DEADLINE": str(DEADLINE),
        "STUDYGRAPH_QUERY_WORKERS": "1", "STUDYGRAPH_QUERY_QUEUE": "2"})
    yield live
    live.stop()


def test_every_answer_of_a_burst_comes_within_the_deadline_and_a_second(one_place):
    """A burst of runaway and quick queries at once: each answer, a result or a 503,
    arrives within the configured deadline plus a second of being sent, queued ones too
    (their wait counts against their deadline: they do not wait one, then run one)."""
    queries = [RUNAWAY_COUNT, TITLE, TITLE, RUNAWAY_SORT, TITLE, RUNAWAY_COUNT, TITLE, TITLE]
    answers: dict[int, tuple[int, float]] = {}
    start = threading.Barrier(len(queries))

    def client(number: int, text: str) -> None:
        start.wait()
        sent = time.monotonic()
        status = query(one_place, text, timeout=60)[0]
        answers[number] = (status, time.monotonic() - sent)

    for _ in range(2):
        threads = [threading.Thread(target=client, args=(n, text)) for n, text in enumerate(queries)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert len(answers) == len(queries)
        for number, (status, elapsed) in answers.items():
            assert status in (200, 503), (queries[number], status)
            assert elapsed <= DEADLINE + 1, f"{queries[number]!r} answered {status} after {elapsed:.2f} s"
        answers.clear()
    assert query(one_place, TITLE)[0] == 200
