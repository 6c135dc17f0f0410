"""Slow and idle clients against a real `studygraph serve` on loopback: clients that
send their headers a byte at a time, or open the dump and never read, do not stop
pages from being served; requests past their deadlines and connections past the cap are
closed; a write without the token is refused before its body is read.

No timing is asserted: each check is that an answer (or a close) comes at all within a
generous client timeout while the attack is in progress, and that the attackers were
really connected (the server holds their sockets) at the time."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from conftest import BASE, RECORDS, ROOT, LiveServer, free_port, load_shared_records, run_cli, wait_for, wait_until_listening
from synthetic import write_jsonl

SEED = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
TOKEN = "t"
#: Synthetic records added to the shared ones, so that the dump is larger than what the
#: kernel and the server's per-client buffer can hold for a client that does not read.
SYNTHETIC = 1500
#: A client's patience: far longer than any answer takes, short of hanging the suite.
PATIENCE = 30
#: The state of a listening socket in /proc/net/tcp.
LISTEN = "0A"


@pytest.fixture(scope="module")
def big_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("slow-clients")
    synthetic = folder / "synthetic.jsonl"
    with open(synthetic, "w", encoding="utf-8") as out:
        write_jsonl(SYNTHETIC, 1, out)
    store = folder / "store"
    result = run_cli("load", str(RECORDS), str(synthetic), "--store", str(store), "--base-url", BASE, "-q")
    assert result.returncode == 0, result.stderr
    return store


@pytest.fixture(scope="module")
def server(big_store):
    # A per-client buffer of 64 KiB for streamed responses: a dump streamed by a worker
    # thread (as it once was) would hold that thread as soon as a client stops reading.
    # Deadlines far off, so the attackers stay connected however slow the machine is
    # (the deadlines have a test of their own).
    live = LiveServer(big_store, token=TOKEN, env={
        "STUDYGRAPH_STREAM_BUFFER_BYTES": "65536", "STUDYGRAPH_HEADER_TIMEOUT": "600", "STUDYGRAPH_IDLE_TIMEOUT": "600",
    })
    yield live
    live.stop()


def accepted(server: LiveServer) -> int:
    """Client connections the server process has accepted and not yet closed: its TCP
    sockets on the server's port other than the listening one (from /proc). A
    connection the client closed counts until the server has closed it too."""
    inodes = set()
    for entry in Path(f"/proc/{server.process.pid}/fd").iterdir():
        try:
            link = os.readlink(entry)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:[") : -1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port, state, inode = int(fields[1].rsplit(":", 1)[1], 16), fields[3], fields[9]
            count += local_port == server.port and state != LISTEN and inode in inodes
    return count


def page(server: LiveServer, path: str = f"/items/{SEED}") -> int:
    with urllib.request.urlopen(server.url + path, timeout=PATIENCE) as response:
        response.read()
        return response.status


def closed_by_server(connection: socket.socket) -> bool:
    """Wait (up to PATIENCE) for the server to close *connection*; whether it did."""
    connection.settimeout(PATIENCE)
    try:
        while connection.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def test_pages_are_served_while_98_clients_send_headers_a_byte_at_a_time(server):
    line = f"GET /items/{SEED} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\n".encode()
    attackers = [socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE) for _ in range(98)]
    try:
        for position in range(20):  # each sends 20 bytes of its headers, never their end
            for attacker in attackers:
                attacker.send(line[position : position + 1])
        wait_for(lambda: accepted(server) >= 98, "the server to hold every slow client")
        assert page(server) == 200
        assert accepted(server) >= 98, "the slow clients were still connected"
        for attacker in attackers:
            attacker.send(line[20:21])
    finally:
        for attacker in attackers:
            attacker.close()


def test_pages_are_served_while_20_clients_open_the_dump_and_never_read(server):
    with urllib.request.urlopen(server.url + "/dump.nq.gz", timeout=PATIENCE * 4) as response:
        size = len(response.read())  # built once, now a file
    assert size > 4 * 1024 * 1024, "the dump must outgrow the buffers for the attack to bite"
    attackers = []
    try:
        for _ in range(20):
            attacker = socket.socket()
            attacker.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            attacker.settimeout(PATIENCE)
            attacker.connect(("127.0.0.1", server.port))
            attacker.sendall(b"GET /dump.nq.gz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert attacker.recv(64).startswith(b"HTTP/1.1 200"), "the dump is being sent to it"
            attackers.append(attacker)
        wait_for(lambda: accepted(server) >= 20, "the server to hold every reader")
        for _ in range(5):
            assert page(server) == 200
        assert accepted(server) >= 20, "the non-readers were still connected"
    finally:
        for attacker in attackers:
            attacker.close()


def refused_before_sent(server: LiveServer, head: str, total: int) -> tuple[bytes, int]:
    """Send *head* and then up to *total* body bytes, 256 KiB at a time, waiting a moment
    for an answer after each chunk: the answer and how much had been sent by then."""
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE)
    try:
        connection.sendall(head.encode())
        sent, chunk = 0, b"x" * (256 * 1024)
        while sent < total:
            readable, _, _ = select.select([connection], [], [], 0.1)
            if readable:
                break
            try:
                sent += connection.send(chunk[: total - sent])
            except (BrokenPipeError, ConnectionResetError):
                break
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = connection.recv(65536)
            if not data:
                break
            answer += data
        head_end = answer.find(b"\r\n\r\n")
        length = int(next((l.split(b":")[1] for l in answer[:head_end].split(b"\r\n") if l.lower().startswith(b"content-length:")), b"0"))
        while len(answer) < head_end + 4 + length:
            data = connection.recv(65536)
            if not data:
                break
            answer += data
        return answer, sent
    finally:
        connection.close()


@pytest.mark.parametrize("method, path, media", [
    ("POST", "/api/records", "application/x-ndjson"),
    ("POST", "/sparql/update", "application/sparql-update"),
    ("PUT", "/sparql/store?graph=urn:x", "text/turtle"),
])
def test_a_body_without_the_token_is_refused_before_it_is_read(server, method, path, media):
    total = 16 * 1024 * 1024
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {media}\r\n"
            f"Content-Length: {total}\r\nAuthorization: Bearer wrong\r\n\r\n")
    answer, sent = refused_before_sent(server, head, total)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert sent < total, "the refusal came before the body was all sent"
    if path.startswith("/api/"):
        assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["status"] == 401


def test_a_client_that_expects_100_continue_gets_the_refusal_instead(server):
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=PATIENCE)
    try:
        connection.sendall(b"POST /api/records HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n"
                           b"Expect: 100-continue\r\n\r\n")
        assert connection.recv(65536).startswith(b"HTTP/1.1 401")
    finally:
        connection.close()


def test_a_body_with_the_token_is_still_read(server):
    record = json.dumps({"dataset_schema": {"name": "A study posted over a real socket"}, "extra_data": {}}).encode()
    request = urllib.request.Request(server.url + "/api/records", data=record, method="POST",
                                     headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=PATIENCE) as response:
        assert json.loads(response.read())["new"] == 1


@pytest.fixture
def small_store(tmp_path) -> Path:
    return load_shared_records(tmp_path / "store", BASE)


def test_requests_past_their_deadlines_are_closed(small_store):
    deadlines = LiveServer(small_store, token=TOKEN, env={"STUDYGRAPH_HEADER_TIMEOUT": "3", "STUDYGRAPH_BODY_TIMEOUT": "3"})
    try:
        silent = socket.create_connection(("127.0.0.1", deadlines.port), timeout=PATIENCE)
        assert closed_by_server(silent), "a connection that never sends a request"
        for head, trickle in (
            (b"", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200),
            (f"POST /api/records HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
             f"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n".encode(), b"[" * 200),
        ):
            slow = socket.create_connection(("127.0.0.1", deadlines.port), timeout=PATIENCE)
            slow.sendall(head)
            closed = False
            for byte in trickle:  # a byte at a time, each after a moment's wait for the close
                readable, _, _ = select.select([slow], [], [], 0.2)
                if readable:
                    closed = closed_by_server(slow)
                    break
                try:
                    slow.send(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
            slow.close()
            assert closed, f"a request trickled in after {head[:20]!r} was not cut off"
            # The next client is served (a connection cut by a deadline once took its
            # closed descriptor's stale poll event with it, and was reset).
            for _ in range(3):
                assert page(deadlines) == 200
    finally:
        deadlines.stop()


def test_connections_past_the_cap_are_refused_not_queued(small_store):
    capped = LiveServer(small_store, env={"STUDYGRAPH_CONNECTION_LIMIT": "10", "STUDYGRAPH_HEADER_TIMEOUT": "600"})
    idle: list[socket.socket] = []
    try:
        idle += [socket.create_connection(("127.0.0.1", capped.port), timeout=PATIENCE) for _ in range(10)]
        wait_for(lambda: accepted(capped) >= 10, "the server to hold ten connections")
        extra = socket.create_connection(("127.0.0.1", capped.port), timeout=PATIENCE)
        try:
            extra.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            try:
                answer = extra.recv(65536)
            except ConnectionResetError:
                answer = b""
            assert answer == b"" or answer.startswith(b"HTTP/1.1 503"), answer[:100]
            if answer:
                assert b"Retry-After:" in answer
        finally:
            extra.close()
        for connection in idle:
            connection.close()
        wait_for(lambda: accepted(capped) < 10, "the idle connections to be closed")
        assert page(capped) == 200
    finally:
        for connection in idle:
            connection.close()
        capped.stop()


#: A WSGI app streaming 128 MiB in 64 KiB chunks at /stream, and "ok" elsewhere, on
#: server.connections with one worker thread: what a streamed response to a client that
#: stops reading does to that thread.
STREAMING_SERVER = """
import sys
from studygraph.server import connections

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    if environ["PATH_INFO"] == "/stream":
        return (b"x" * 65536 for _ in range(2048))
    return [b"ok"]

limits = connections.Limits(idle_timeout=1, stream_buffer_bytes=65536)
connections.create(app, host="127.0.0.1", port=int(sys.argv[1]), threads=1, limits=limits,
                   refuses_body=lambda method, path, authorization: False, max_body_bytes=1000).run()
"""


def test_a_client_that_stops_reading_a_stream_frees_its_thread(tmp_path):
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", STREAMING_SERVER, str(port)], cwd=ROOT, stderr=subprocess.PIPE)
    try:
        wait_until_listening(process, port)
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.settimeout(PATIENCE)
        stalled.connect(("127.0.0.1", port))
        stalled.sendall(b"GET /stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert stalled.recv(12) == b"HTTP/1.1 200", "the stream is being written to it"
        # The one worker thread is writing the stream and waits for this client to read;
        # after the idle deadline the connection is closed and the thread is free again.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ok", timeout=PATIENCE) as response:
            assert response.read() == b"ok"
        assert closed_by_server(stalled)
    finally:
        process.terminate()
        process.wait(timeout=30)
