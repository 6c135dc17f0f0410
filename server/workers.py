"""Many web worker processes on one port: a supervisor that binds the socket once.

Why processes: a rendered page is Python work under the GIL, so one process uses about
one core however many threads it has (BENCHMARKS.md, "Web servers and workers"). Why a
supervisor of our own rather than gunicorn's arbiter or granian: each worker is the same
Waitress server as a single process (server.connections: deadlines for slow clients, a
503 at the connection cap, the token checked before the body), which the others would
lose; all it needs from a supervisor is a socket bound beforehand, which Waitress takes.

The supervisor binds and listens, then starts each worker as a fresh interpreter
(multiprocessing's ``spawn``: nothing of the supervisor's state, such as an open
RocksDB handle and its threads, is forked into it) passing it the listening socket; the
kernel hands each new connection to whichever worker accepts it first. A worker that
ends (killed, crashed) is replaced; TERM or INT stops them all (each closes its query
pool and its store on TERM) and then the supervisor.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

_log = logging.getLogger("studygraph.workers")
_CONTEXT = multiprocessing.get_context("spawn")
#: Pending connections the kernel keeps for the workers to accept (Waitress's default).
BACKLOG = 1024
#: A worker that ends sooner than this after it started counts as failing to start; after
#: this many such ends in a row the supervisor gives up (a store that cannot be opened
#: would otherwise be retried for ever).
QUICK_EXIT_SECONDS = 5.0
QUICK_EXITS_ALLOWED = 5
#: Seconds each worker has to stop after TERM before it is killed.
STOP_SECONDS = 30.0


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker serves, bound once here (so a busy port fails
    now, in one place, not in N workers)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listening.bind((host, port))
    listening.listen(BACKLOG)
    listening.set_inheritable(True)
    return listening


class Supervisor:
    """Keeps *count* processes running ``target(*args, listening)``.

    *target* must be importable by name (it runs in a fresh interpreter); *announce*
    is told each worker's start and end, one line each (``worker PID serving``), which
    is how an operator, or a test, knows the workers' process ids."""

    def __init__(
        self, listening: socket.socket, count: int, target: Callable[..., None], args: tuple[Any, ...],
        announce: Callable[[str], None],
    ) -> None:
        self.listening = listening
        self.count = count
        self.target = target
        self.args = args
        self.announce = announce
        self.workers: dict[int, tuple[BaseProcess, float]] = {}
        self.stopping = False
        self.quick_exits = 0

    def run(self) -> int:
        """Serve until TERM/INT (status 0) or until workers keep failing to start (1)."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for _ in range(self.count):
                self._start()
            while self.workers:
                ready = wait([process.sentinel for process, _ in self.workers.values()])
                for sentinel in ready:
                    self._ended(sentinel)
            return 1 if self.quick_exits >= QUICK_EXITS_ALLOWED else 0
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def pids(self) -> list[int]:
        return sorted(self.workers)

    def _start(self) -> None:
        process = _CONTEXT.Process(target=self.target, args=(*self.args, self.listening), daemon=False)
        process.start()
        assert process.pid is not None
        self.workers[process.pid] = (process, time.monotonic())
        self.announce(f"worker {process.pid} serving")

    def _ended(self, sentinel: Any) -> None:
        pid = next(pid for pid, (process, _) in self.workers.items() if process.sentinel == sentinel)
        process, started = self.workers.pop(pid)
        process.join()
        self.announce(f"worker {pid} ended (exit status {process.exitcode})")
        if self.stopping:
            return
        quick = time.monotonic() - started < QUICK_EXIT_SECONDS
        self.quick_exits = self.quick_exits + 1 if quick else 0
        if self.quick_exits >= QUICK_EXITS_ALLOWED:
            self.announce(f"{self.quick_exits} workers in a row ended on starting; stopping")
            self._stop(signal.SIGTERM, None)
            return
        self._start()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        """TERM/INT: pass TERM on to every worker; the loop ends as they do."""
        self.stopping = True
        for process, _ in self.workers.values():
            if process.is_alive():
                process.terminate()

    def _stop_all(self) -> None:
        """On the way out, whatever the reason: no worker outlives the supervisor."""
        self._stop(signal.SIGTERM, None)
        for pid, (process, _) in list(self.workers.items()):
            process.join(STOP_SECONDS)
            if process.is_alive():
                _log.warning("worker %s did not stop within %ss; killing it", pid, STOP_SECONDS)
                process.kill()
                process.join()
            self.workers.pop(pid, None)
