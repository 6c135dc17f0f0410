"""After any crash — a killed load, a killed server, a write stopped midway — the search
index, the change feed and the graphs agree again once the store is next opened for
writing: /items never lists a study that 404s, /changes never announces one it cannot
show, and an abandoned write heals."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import urllib.request

from conftest import LiveServer, free_port, load_shared_records, run_cli, studygraph_command

from studygraph.graph import database_directory
from studygraph.graph.embedded import open_catalogue, read_settings
from studygraph.mappings.identity import LOCAL, Identity
from studygraph.mappings.profile import map_record
from studygraph.mappings.urls import Urls

BASE = "http://crash.example"


def record_line(slug: str, name: str) -> str:
    record = {"dataset_schema": {"name": name, "description": f"About {name}."}, "extra_data": {"slug": slug}}
    return json.dumps({"record": record}) + "\n"


def agreement(store_dir) -> tuple[set[str], set[str]]:
    """(slugs the index lists, slugs whose record graph exists)."""
    store = open_catalogue(store_dir, read_only=True)
    try:
        graphs = {name.rsplit("/", 1)[1] for name in store.record_hashes()}
        return set(store.index.slugs()), graphs
    finally:
        store.close()


def test_a_write_stopped_after_its_graph_is_settled_at_the_next_opening(tmp_path):
    """The state a crash leaves between the graph and the index, made exactly: the write
    is noted as pending and its graph written, nothing else."""
    path = load_shared_records(tmp_path / "s", BASE)
    store = open_catalogue(path)
    mapped = map_record(
        {"dataset_schema": {"name": "Half written", "description": "x"}, "extra_data": {"slug": "half-written"}},
        Urls(BASE), issued="2026-01-01T00:00:00Z", modified="2026-01-01T00:00:00Z", identity=Identity(LOCAL, "half-written"),
    )
    latest = store.changes.latest()
    store.changes.intend([("half-written", "created")])
    store.quads._store.update(f"INSERT DATA {{ GRAPH <{mapped.name}> {{ {mapped.graph.own_ntriples()} }} }}")
    # And a deletion stopped after the index, before the graph.
    gone = "born-in-bradford-bib"
    store.changes.intend([(gone, "deleted")])
    store.index.delete(gone)
    store.close()
    indexed, graphs = agreement(path)
    assert "half-written" not in indexed and gone not in indexed and {"half-written", gone} <= graphs

    result = run_cli("check", "--store", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert b"settled 2 writes" in result.stderr and b"agree\n" in result.stdout
    indexed, graphs = agreement(path)
    assert indexed == graphs and {"half-written", gone} <= indexed
    store = open_catalogue(path, read_only=True)
    try:
        # The feed tells of the write that reached the graph, not of the deletion that did not.
        assert [(c.slug, c.kind) for c in store.changes.since(after=latest)] == [("half-written", "created")]
        assert store.changes.pending() == []
    finally:
        store.close()


def test_a_killed_load_into_an_existing_store_heals(tmp_path):
    path = load_shared_records(tmp_path / "s", BASE)
    lines = [record_line(f"r{i}", f"Record {i}") for i in range(3000)]
    process = subprocess.Popen([*studygraph_command(), "load", "-", "--store", str(path)], stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    feeder = threading.Thread(target=lambda: _feed(process, lines), daemon=True)
    feeder.start()
    # Kill it once some of the new records are in the graph (the store is read through a
    # read-only checkpoint view, which a writer allows).
    from conftest import wait_for

    wait_for(lambda: _graph_count(path) > 60, "part of the load to reach the graph", seconds=120)
    process.send_signal(signal.SIGKILL)
    process.wait()
    result = run_cli("check", "--store", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    indexed, graphs = agreement(path)
    assert indexed == graphs and len(graphs) > 60
    # Loading again finishes the job.
    assert run_cli("load", "-", "--store", str(path), "-q", input="".join(lines).encode()).returncode == 0
    indexed, graphs = agreement(path)
    assert indexed == graphs and len(graphs) == 43 + 3000


def _feed(process: subprocess.Popen, lines: list[str]) -> None:
    try:
        for line in lines:
            process.stdin.write(line.encode())
        process.stdin.close()
    except (BrokenPipeError, ValueError):
        pass


def _graph_count(path) -> int:
    import pyoxigraph

    try:
        store = pyoxigraph.Store.read_only(str(database_directory.current(path, read_settings(path))))
    except OSError:
        return 0
    return sum(1 for g in store.named_graphs() if g.value.startswith(f"{BASE}/items/r"))


def test_a_server_killed_during_api_writes_heals_on_restart(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    path = load_shared_records(tmp_path / "s", base)
    server = LiveServer(path, token="t", port=port)
    answered: list[int] = []

    def post(batch: int) -> None:
        body = "".join(record_line(f"b{batch}-{i}", f"Batch {batch} record {i}") for i in range(40)).encode()
        request = urllib.request.Request(f"{base}/api/records", data=body, method="POST",
                                         headers={"Authorization": "Bearer t", "Content-Type": "application/x-ndjson"})
        with urllib.request.urlopen(request, timeout=60) as response:
            answered.append(response.status)

    def writer() -> None:
        for batch in range(1000):
            try:
                post(batch)
            except OSError:
                return

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    from conftest import wait_for

    wait_for(lambda: len(answered) >= 3, "three API writes to be answered", seconds=120)
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    thread.join(timeout=60)
    restarted = LiveServer(path, token="t", port=port)
    try:
        with urllib.request.urlopen(f"{base}/items?format=jsonld&page=1", timeout=60) as response:
            listed = response.read()
        indexed, graphs = agreement(path)
        assert indexed == graphs and len(graphs) >= 43 + 3 * 40
        assert str(len(graphs)).encode() in listed  # the listing's total is the graphs' count
        with urllib.request.urlopen(f"{base}/changes?format=jsonld", timeout=60) as response:
            assert response.status == 200
        for slug in sorted(graphs)[:5] + sorted(graphs)[-5:]:
            with urllib.request.urlopen(f"{base}/items/{slug}.ttl", timeout=60) as response:
                assert response.status == 200
    finally:
        restarted.stop()


def test_a_server_stopped_while_rendering_a_write_ahead_exits_cleanly(tmp_path):
    """A TERM arriving while the studies of a write are rendered in the background: the
    renderer is stopped before the store is closed, so the server exits at once, status 0,
    with no error in its log (it used to go on rendering into a closed store, logging a
    traceback a request, and could hang in its logging lock on exit)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    path = load_shared_records(tmp_path / "s", base)
    server = LiveServer(path, token="t", port=port)
    try:
        body = "".join(record_line(f"stop-{i}", f"Stopped {i}") for i in range(40)).encode()
        request = urllib.request.Request(f"{base}/api/records", data=body, method="POST",
                                         headers={"Authorization": "Bearer t", "Content-Type": "application/x-ndjson"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 200
    finally:
        server.stop()
    assert server.process.returncode == 0
    assert "Traceback" not in server.stderr() and "closed" not in server.stderr(), server.stderr()[-2000:]
