"""The query pool's hand-back of results: small ones through the pipe, large ones spooled."""

from __future__ import annotations

import os
from pathlib import Path

import pyoxigraph
from conftest import cpu_ticks, wait_for

from studygraph.graph.query_pool import INLINE_BYTES, QueryJob, QueryPool, SpillingBuffer


def test_a_small_result_stays_in_memory(tmp_path):
    spool = tmp_path / "spool"
    out = SpillingBuffer(str(spool))
    out.write(b"a" * 100)
    out.write(b"b" * 100)
    assert out.finish() == b"a" * 100 + b"b" * 100
    assert not spool.exists()


def test_a_large_result_moves_to_the_spool_file_whole(tmp_path):
    spool = tmp_path / "spool"
    out = SpillingBuffer(str(spool))
    pieces = [bytes([n % 251]) * 10_000 for n in range(INLINE_BYTES // 10_000 + 5)]
    for piece in pieces:
        out.write(piece)
    assert out.finish() is None
    assert spool.read_bytes() == b"".join(pieces)


def test_the_pool_returns_small_results_inline_and_large_ones_in_a_file(tmp_path):
    source = pyoxigraph.Store(str(tmp_path / "store"))
    graph = pyoxigraph.NamedNode("http://example.org/g")
    for n in range(5000):
        source.add(pyoxigraph.Quad(pyoxigraph.NamedNode(f"http://example.org/s{n}"), pyoxigraph.NamedNode("http://example.org/p"),
                                   pyoxigraph.Literal("x" * 100), graph))
    source.flush()
    pool = QueryPool(lambda target: source.backup(str(target)), size=1, deadline=30, spool_dir=str(tmp_path))
    try:
        small = pool.run(QueryJob("SELECT ?s WHERE { ?s ?p ?o } LIMIT 3", "json", 100_000))
        assert small.path is None and small.rows == 3 and b'"s"' in small.data
        large = pool.run(QueryJob("SELECT ?s ?o WHERE { ?s ?p ?o }", "tsv", 100_000))
        assert large.data is None and large.rows == 5000
        assert Path(large.path).stat().st_size > INLINE_BYTES
        Path(large.path).unlink()
    finally:
        pool.close()


class _HeldEndpoint:
    """A SPARQL endpoint on loopback whose first request is held until its client goes
    away; later requests get one solution. It lets a test have a query in flight for as
    long as it needs, without a clock."""

    ANSWER = b'{"head":{"vars":["x"]},"results":{"bindings":[{"x":{"type":"literal","value":"answered"}}]}}'

    def __init__(self) -> None:
        import http.server
        import threading

        self.first_request = threading.Event()
        self.first_dropped = threading.Event()
        self.requests = 0
        endpoint = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                endpoint.requests += 1
                if endpoint.requests == 1:
                    endpoint.first_request.set()
                    # Wait for the client to go away: recv returns b"" once it has.
                    while self.connection.recv(1):
                        pass
                    endpoint.first_dropped.set()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/sparql-results+json")
                self.send_header("Content-Length", str(len(endpoint.ANSWER)))
                self.end_headers()
                self.wfile.write(endpoint.ANSWER)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sparql"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_query_beside_a_runaway_is_run_again_when_the_process_is_killed(tmp_path):
    """A runaway and another query share the query process; at the runaway's deadline the
    process is killed: the runaway gets QueryTimeout, the other is run again on the new
    process, within what is left of its own deadline, and answered."""
    import threading

    from studygraph.graph.query_pool import QueryTimeout

    source = pyoxigraph.Store(str(tmp_path / "store"))
    graph = pyoxigraph.NamedNode("http://example.org/g")
    for n in range(2000):
        source.add(pyoxigraph.Quad(pyoxigraph.NamedNode(f"http://example.org/s{n}"), pyoxigraph.NamedNode("http://example.org/p"),
                                   pyoxigraph.Literal(str(n)), graph))
    source.flush()
    endpoint = _HeldEndpoint()
    # A deadline long enough for the runaway to get two seconds of CPU on a busy machine.
    pool = QueryPool(lambda target: source.backup(str(target)), size=2, deadline=20, spool_dir=str(tmp_path))
    outcomes: dict = {}

    def run(name: str, query: str) -> None:
        try:
            outcomes[name] = pool.run(QueryJob(query, "json", 100))
        except Exception as error:  # recorded for the assertions
            outcomes[name] = error

    runaway = threading.Thread(target=run, args=("runaway", "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"))
    beside = threading.Thread(target=run, args=("beside", f"SELECT ?x WHERE {{ SERVICE <{endpoint.url}> {{ ?x ?y ?z }} }}"))
    try:
        runaway.start()
        # The other query starts once the runaway has used two seconds of CPU, so its
        # deadline comes at least two seconds after the runaway's (CPU time never runs
        # ahead of the clock): its first run is cut short by the kill, not by its own
        # deadline, and what is left of it is time enough to run again.
        process = pool._worker.process.pid
        spare = pool._spare.process.pid
        wait_for(lambda: cpu_ticks(process) >= 2 * os.sysconf("SC_CLK_TCK"), "the runaway to use two seconds of CPU")
        beside.start()
        assert endpoint.first_request.wait(30), "the second query reached the endpoint"
        runaway.join(60)
        beside.join(60)
        assert isinstance(outcomes["runaway"], QueryTimeout)
        assert endpoint.first_dropped.is_set(), "the first run of the other query ended with its process"
        answered = outcomes["beside"]
        assert not isinstance(answered, Exception), answered
        assert b"answered" in answered.data and endpoint.requests == 2
        assert pool.killed == 1
        assert pool._worker.process.pid == spare, "the spare process took over at the kill"
        wait_for(lambda: pool._spare is not None, "a new spare process")
        assert pool._spare.process.pid not in (process, spare)
        # The new process answers as usual.
        assert pool.run(QueryJob("SELECT ?s WHERE { ?s ?p ?o } LIMIT 1", "json", 100)).rows == 1
    finally:
        pool.close()
        endpoint.close()


def test_the_query_threads_hand_the_next_task_to_the_thread_idle_last_and_cap_their_number():
    """Tasks run on at most *size* threads; beyond them they wait; the thread that went
    idle last takes the next task (its memory is the warm one)."""
    import threading

    from studygraph.graph.query_pool import _Threads

    runner = _Threads(2)
    ran_on: dict[str, int] = {}
    release = {name: threading.Event() for name in "abc"}
    done = {name: threading.Event() for name in "abcd"}

    def task(name: str) -> None:
        ran_on[name] = threading.get_ident()
        if name in release:
            assert release[name].wait(30)
        done[name].set()

    for name in "abc":
        runner.submit(task, name)
    assert "c" not in ran_on, "a third task waits while two threads are busy"
    release["b"].set()
    assert done["b"].wait(30)
    release["c"].set()
    assert done["c"].wait(30)
    assert ran_on["c"] == ran_on["b"], "the waiting task ran on the thread that freed up"
    wait_for(lambda: len(runner._idle) == 1, "the thread that ran b and c to go idle")
    release["a"].set()
    wait_for(lambda: len(runner._idle) == 2, "the thread that ran a to go idle")
    # Both threads idle now, the one that ran "a" last: it takes the next task.
    runner.submit(task, "d")
    assert done["d"].wait(30)
    assert ran_on["d"] == ran_on["a"]


def _count(pool: QueryPool) -> int:
    result = pool.run(QueryJob("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "tsv", 100))
    return int(result.data.split(b"\n")[1].split(b"^^")[0].strip(b'"'))


def test_writes_take_no_checkpoint_and_the_next_query_sees_every_one_of_them(tmp_path):
    """A checkpoint is taken when a query needs one (the store changed since the last),
    once for all the writes before it, never by the write itself."""
    source = pyoxigraph.Store(str(tmp_path / "store"))
    pool = QueryPool(lambda target: source.backup(str(target)), size=2, deadline=30, spool_dir=str(tmp_path))
    try:
        assert pool.checkpoints == 1 and _count(pool) == 0
        for n in range(5):
            source.add(pyoxigraph.Quad(pyoxigraph.NamedNode(f"http://example.org/s{n}"), pyoxigraph.NamedNode("http://example.org/p"),
                                       pyoxigraph.Literal("x"), pyoxigraph.NamedNode("http://example.org/g")))
            pool.refresh()
        assert pool.checkpoints == 1
        assert _count(pool) == 5 and _count(pool) == 5
        assert pool.checkpoints == 2
    finally:
        pool.close()


def test_a_query_waiting_for_its_checkpoint_holds_a_place_in_line(tmp_path):
    """Queries waiting for a checkpoint hold web threads like queries waiting for a
    place: beyond size + queue of them, the next gets PoolBusy at once."""
    import threading

    from studygraph.graph.query_pool import PoolBusy, QueryTimeout

    source = pyoxigraph.Store(str(tmp_path / "store"))
    pool = QueryPool(lambda target: source.backup(str(target)), size=1, queue=0, deadline=2, spool_dir=str(tmp_path),
                     checkpoint_spacing=3600)
    outcome: dict = {}
    try:
        pool.refresh()  # a write: the next query needs a checkpoint, not due for an hour

        def first() -> None:
            try:
                outcome["first"] = pool.run(QueryJob("ASK { ?s ?p ?o }", "json", 10))
            except Exception as error:  # recorded for the assertions
                outcome["first"] = error

        waiting = threading.Thread(target=first)
        waiting.start()
        wait_for(lambda: pool._admitted == 1, "the first query to wait for its checkpoint")
        try:
            pool.run(QueryJob("ASK { ?s ?p ?o }", "json", 10))
            raise AssertionError("the second query was taken in")
        except PoolBusy:
            pass
        waiting.join(30)
        assert isinstance(outcome["first"], QueryTimeout), "its deadline came before the checkpoint"
        assert pool._admitted == 0
    finally:
        pool.close()
