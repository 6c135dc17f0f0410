"""Helpers of the SPARQL reliability tests: loopback sockets that note every connection
made to them (the stand-ins for hosts a public query must not reach, and for endpoints it
may), one request on its own connection, and the server's query processes."""

from __future__ import annotations

import http.client
import socket
import threading
from pathlib import Path

from conftest import LiveServer


def request(server: LiveServer, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 120) -> tuple[int, dict[str, str], bytes]:
    """One request on its own connection: (status, lower-cased headers, body)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def query(server: LiveServer, text: str, accept: str = "application/sparql-results+json", timeout: float = 120):
    """A query POSTed as application/sparql-query."""
    return request(server, "POST", "/sparql", text.encode(), {"Content-Type": "application/sparql-query", "Accept": accept}, timeout)


def children(pid: int) -> dict[int, bytes]:
    """The child processes of *pid* (from each /proc/N/stat's PPID) and their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:  # the process ended while we looked
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def query_processes(server: LiveServer) -> set[int]:
    """PIDs of the server's query processes (its multiprocessing spawn children)."""
    return {pid for pid, cmdline in children(server.process.pid).items() if b"spawn_main" in cmdline}


def query_process(server: LiveServer) -> int:
    """PID of the query process in use: the oldest of them (the spare beside it is
    started after it, and takes its place when it is stopped)."""
    return min(query_processes(server), key=_started)


def _started(pid: int) -> tuple[int, int]:
    """When *pid* started, in clock ticks, then the PID itself: the pool starts its first
    process and the spare one after the other, often within one tick (10 ms), and the
    kernel hands out PIDs in increasing order (bar a wrap past pid_max)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]), pid


class Listener:
    """A TCP socket on 127.0.0.1 that accepts every connection, notes where it came
    from and closes it at once (a SERVICE call to it fails straight away)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.address = self.sock.getsockname()
        self.url = f"http://127.0.0.1:{self.address[1]}/sparql"
        self._peers: list[tuple] = []
        self._probes: set[tuple] = set()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, peer = self.sock.accept()
            except OSError:
                return
            connection.close()
            with self._changed:
                self._peers.append(peer)
                self._changed.notify_all()

    def connections(self) -> int:
        """Connections others have made so far. A probe connection of our own marks the
        end: connections are accepted first in, first out, so once the probe is accepted,
        every connection made before it has been counted."""
        with socket.create_connection(self.address, timeout=30) as probe:
            me = probe.getsockname()
            with self._changed:
                self._probes.add(me)
                assert self._changed.wait_for(lambda: me in self._peers, timeout=30), "the probe was not accepted"
                return sum(1 for peer in self._peers if peer not in self._probes)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (Linux)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(10)
