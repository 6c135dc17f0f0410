"""`studygraph serve --workers N`: real processes on a loopback port.

Which worker answered a connection is read from the kernel, not from a header the server
would add for tests: the server side of the connection is the socket in
/proc/net/tcp whose ends are our port pair, and the worker is the process (among the
ones the supervisor announced) holding that socket.
"""

from __future__ import annotations

import http.client
import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, free_port, load_shared_records, run_cli, said, server_log, studygraph_command, wait_until_listening

from studygraph.config import Config

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads the kernel's socket tables (Linux)")

#: Bound on any wait for the server to do something (never a sleep).
WAIT_SECONDS = 60.0


class Workers:
    """`studygraph serve --workers N` in a subprocess, its stdout read line by line."""

    def __init__(self, store: Path | str, count: int, env: dict[str, str] | None = None, args: tuple[str, ...] = (),
                 port: int | None = None) -> None:
        self.port = port or free_port()
        environment = {k: v for k, v in os.environ.items() if not k.startswith("STUDYGRAPH_")}
        environment.update(env or {})
        self.process = subprocess.Popen(
            [*studygraph_command(), "serve", "--store", str(store), "--port", str(self.port), "--threads", "4", "--workers", str(count),
             *args],
            env=environment, stdout=subprocess.PIPE, stderr=(log := server_log()), cwd=ROOT, text=True,
        )
        self.log = log
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.pids = [self.expect(r"worker (\d+) serving") for _ in range(count)]
        wait_until_listening(self.process, self.port, log=self.log)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put("")

    def expect(self, pattern: str) -> int:
        """The number in the next line of output matching *pattern* (lines before it skipped)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line == "" and self.process.poll() is not None:
                break
            if found := re.fullmatch(pattern, line):
                return int(found[1])
        ended = "" if self.process.poll() is None else f"; the server exited: {said(self.log)[-2000:]}"
        raise AssertionError(f"no line matching {pattern!r} within {WAIT_SECONDS}s{ended}")

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=WAIT_SECONDS)


def get(connection: http.client.HTTPConnection, path: str, accept: str = "text/turtle") -> http.client.HTTPResponse:
    connection.request("GET", path, headers={"Accept": accept})
    response = connection.getresponse()
    response.read()
    return response


def server_socket_inode(server_port: int, client_port: int) -> str | None:
    """The inode of the server's end of the connection between the two ports."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
        if local == server_port and remote == client_port:
            return fields[9]
    return None


def answering_worker(server: Workers, connection: http.client.HTTPConnection) -> int | None:
    """Which of the server's workers holds the other end of *connection* (after a response)."""
    assert connection.sock is not None
    inode = server_socket_inode(server.port, connection.sock.getsockname()[1])
    for pid in server.pids:
        try:
            descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for descriptor in descriptors:
            try:
                if os.readlink(descriptor) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


def connections_by_worker(server: Workers, path: str, most: int = 200) -> dict[int, http.client.HTTPConnection]:
    """Open connections (each answered once, all kept open) until every worker has
    answered one; one connection per worker."""
    held, found = [], {}
    try:
        for _ in range(most):
            connection = server.connect()
            held.append(connection)
            assert get(connection, path).status == 200
            pid = answering_worker(server, connection)
            if pid is not None:
                found.setdefault(pid, connection)
            if len(found) == len(server.pids):
                return found
        raise AssertionError(f"only workers {sorted(found)} of {server.pids} answered {most} connections")
    finally:
        for connection in held:
            if connection not in found.values():
                connection.close()


def descendants(pid: int) -> set[int]:
    """Every process under *pid* (workers, their query processes), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(text.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier}
        found |= children
        frontier = children
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return load_shared_records(tmp_path_factory.mktemp("workers") / "store", "http://127.0.0.1:8000")


@pytest.fixture(scope="module")
def slug(store) -> str:
    done = run_cli("slugs", "--store", str(store))
    return done.stdout.decode().split()[0]


@pytest.fixture(scope="module")
def server(store):
    running = Workers(store, 2, env={"STUDYGRAPH_TOKEN": "secret"})
    yield running
    running.stop()


def test_the_workers_setting_is_read_from_the_environment():
    assert Config.from_env({"STUDYGRAPH_WORKERS": "3"}).workers == 3
    assert Config.from_env({"STUDYGRAPH_WORKERS": "3"}, workers=2).workers == 2
    assert Config.from_env({}).workers == 1


def test_every_worker_answers_pages_with_the_same_etag(server, slug):
    by_worker = connections_by_worker(server, f"/items/{slug}")
    assert sorted(by_worker) == sorted(server.pids)
    for accept in ("text/turtle", "text/html", "application/ld+json"):
        answers = [get(connection, f"/items/{slug}", accept) for connection in by_worker.values()]
        assert [a.status for a in answers] == [200, 200]
        etags = {a.getheader("ETag") for a in answers}
        assert len(etags) == 1 and None not in etags, etags
    assert {get(c, "/items?q=health", "text/html").status for c in by_worker.values()} == {200}
    for connection in by_worker.values():
        connection.close()


def test_over_the_embedded_store_writes_are_refused_and_no_load_runs_beside(server, store, slug):
    connection = server.connect()
    connection.request("DELETE", f"/api/records/{slug}", headers={"Authorization": "Bearer secret"})
    response = connection.getresponse()
    response.read()
    assert response.status in (401, 403)
    # The supervisor holds the store open for writing: another writer is refused.
    done = run_cli("delete", slug, "--store", str(store))
    assert done.returncode != 0
    assert get(connection, f"/items/{slug}").status == 200
    connection.close()


def test_a_killed_worker_is_replaced_and_requests_keep_being_answered(server, slug):
    victim = server.pids[0]
    os.kill(victim, signal.SIGKILL)
    assert server.expect(r"worker (\d+) ended \(exit status -9\)") == victim
    replacement = server.expect(r"worker (\d+) serving")
    server.pids = [replacement, *server.pids[1:]]
    connection = server.connect()
    assert get(connection, f"/items/{slug}").status == 200
    connection.close()
    by_worker = connections_by_worker(server, f"/items/{slug}")
    assert replacement in by_worker
    for connection in by_worker.values():
        connection.close()


def test_term_stops_every_process(tmp_path, slug):
    # A store of its own: the module's server holds the other one open for writing.
    running = Workers(load_shared_records(tmp_path / "store", "http://127.0.0.1:8000"), 2)
    connection = running.connect()
    assert get(connection, f"/items/{slug}").status == 200
    connection.close()
    family = descendants(running.process.pid)
    assert set(running.pids) <= family
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(timeout=WAIT_SECONDS) == 0
    deadline = time.monotonic() + WAIT_SECONDS
    while any(alive(pid) for pid in family) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for the processes to be gone, with a bounded wait
    assert not [pid for pid in family if alive(pid)]
