"""Public SPARQL queries in worker processes that can be killed at a deadline.

pyoxigraph cannot cancel a query, and a query holding the GIL-free Rust evaluator in a
thread cannot be stopped either; a process can. Each worker opens a read-only
checkpoint of the store (``Store.backup`` makes one from hard links in about a
millisecond) and writes the whole result to a spool file; the web process answers only
when the worker has finished, so a client never gets a 200 with a truncated body, and
streams the file back, so memory stays flat however large the result. A worker still
busy at the deadline is killed and replaced, and the caller gets :class:`QueryTimeout`.
After each committed write the owner calls :meth:`QueryPool.refresh` to take a new
checkpoint; workers reopen it on their next query.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO, Callable

_CONTEXT = multiprocessing.get_context("spawn")


class QueryTimeout(RuntimeError):
    pass


class PoolBusy(RuntimeError):
    pass


class QueryFailed(RuntimeError):
    """The query could not be evaluated (a syntax error, or an error while evaluating)."""

    def __init__(self, message: str, syntax: bool) -> None:
        super().__init__(message)
        self.syntax = syntax


@dataclass(frozen=True)
class QueryJob:
    query: str
    format: str
    max_rows: int
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    base_iri: str | None = None
    #: Without a protocol dataset, the default graph is the union of the named graphs,
    #: unless the query names its own dataset (FROM / FROM NAMED), which then applies.
    union_default_graph: bool = True
    prefixes: dict[str, str] = field(default_factory=dict)


#: Results up to this size come back through the worker's pipe; larger ones through a
#: spool file, streamed from disk (memory stays flat however large the result).
INLINE_BYTES = 256 * 1024


@dataclass(frozen=True)
class QueryResult:
    """A finished query: its result either in :attr:`data` (small ones) or in the spool
    file :attr:`path`, which the caller must delete."""

    path: str | None
    rows: int
    truncated: bool
    seconds: float
    data: bytes | None = None


def _run_worker(connection: Connection) -> None:
    """The worker loop: one job at a time, against the checkpoint the job names."""
    import pyoxigraph

    from graph.sparql_results import write_results

    store = None
    opened = None
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        checkpoint, job, spool = message
        started = time.monotonic()
        try:
            if opened != checkpoint:
                store = pyoxigraph.Store.read_only(checkpoint)
                opened = checkpoint
            options: dict[str, Any] = {"base_iri": job.base_iri}
            if job.default_graphs:
                options["default_graph"] = [pyoxigraph.NamedNode(g) for g in job.default_graphs]
            elif job.union_default_graph:
                options["use_default_graph_as_union"] = True
            if job.named_graphs:
                options["named_graphs"] = [pyoxigraph.NamedNode(g) for g in job.named_graphs]
            result = store.query(job.query, **options)
            out = _SpillingBuffer(spool)
            try:
                rows, truncated = write_results(result, out, job.format, job.max_rows, job.prefixes)
            finally:
                inline = out.finish()
            connection.send(("ok", rows, truncated, time.monotonic() - started, inline))
        except SyntaxError as error:
            connection.send(("error", str(error), True, 0.0, None))
        except Exception as error:  # reported to the client as a query error
            connection.send(("error", f"{type(error).__name__}: {error}", False, 0.0, None))
        except BaseException:
            connection.send(("error", traceback.format_exc(limit=2), False, 0.0, None))


class _SpillingBuffer(io.RawIOBase):
    """Collects a result in memory and moves it to the spool file once it outgrows
    :data:`INLINE_BYTES`; :meth:`finish` returns the bytes if they stayed in memory."""

    def __init__(self, spool: str) -> None:
        self.spool = spool
        self.memory: io.BytesIO | None = io.BytesIO()
        self.file: BinaryIO | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.memory is not None:
            self.memory.write(data)
            if self.memory.tell() <= INLINE_BYTES:
                return len(data)
            self.file = open(self.spool, "wb")
            self.file.write(self.memory.getbuffer())
            self.memory = None
            return len(data)
        assert self.file is not None
        return self.file.write(data)

    def finish(self) -> bytes | None:
        """Close the spool file (None: the result is in it), or return the bytes."""
        self.close()
        if self.file is not None:
            self.file.close()
            return None
        return self.memory.getvalue() if self.memory is not None else None


class _Worker:
    def __init__(self) -> None:
        self.connection, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_run_worker, args=(child,), daemon=True, name="sparql-worker")
        self.process.start()
        child.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.connection.close()


class QueryPool:
    """A fixed number of query workers over the latest checkpoint of a store."""

    def __init__(
        self, take_checkpoint: Callable[[Path], None], *, size: int = 2, deadline: float = 10.0, queue: int = 0,
        spool_dir: str | None = None,
    ) -> None:
        self.size = size
        self.deadline = deadline
        #: Queries that may wait for a busy worker (each at most the deadline); beyond
        #: that, :class:`PoolBusy` at once. Waiting in line rather than running more
        #: workers than cores keeps each worker's store cache warm and the CPU unshared.
        self.queue = queue
        self._waiting = 0
        self._take_checkpoint = take_checkpoint
        _remove_abandoned(Path(spool_dir or tempfile.gettempdir()))
        self._root = Path(tempfile.mkdtemp(prefix=_ROOT_PREFIX, dir=spool_dir))
        (self._root / _OWNER).write_text(str(os.getpid()))
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._idle: list[_Worker] = [_Worker() for _ in range(size)]
        self._generation = 0
        self._users: dict[str, int] = {}
        self._checkpoint = self._new_checkpoint()
        self.killed = 0

    def _new_checkpoint(self) -> str:
        self._generation += 1
        target = self._root / f"checkpoint-{self._generation}"
        self._take_checkpoint(target)
        return str(target)

    def refresh(self) -> None:
        """Take a new checkpoint after a committed write; old ones go when unused."""
        checkpoint = self._new_checkpoint()
        with self._lock:
            previous, self._checkpoint = self._checkpoint, checkpoint
            self._drop_unused(previous)

    def _drop_unused(self, checkpoint: str) -> None:
        if checkpoint != self._checkpoint and not self._users.get(checkpoint):
            self._users.pop(checkpoint, None)
            shutil.rmtree(checkpoint, ignore_errors=True)

    def run(self, job: QueryJob) -> QueryResult:
        """Run *job* on an idle worker, waiting in line for one if the queue has room;
        PoolBusy if it has none (or no worker frees up within the deadline), QueryTimeout
        when the query itself runs past the deadline."""
        with self._lock:
            if not self._idle:
                self._wait_for_worker()
            worker = self._idle.pop()
            checkpoint = self._checkpoint
            self._users[checkpoint] = self._users.get(checkpoint, 0) + 1
        spool = str(self._root / f"result-{os.getpid()}-{threading.get_ident()}-{time.monotonic_ns()}")
        healthy = False
        try:
            worker.connection.send((checkpoint, job, spool))
            if not worker.connection.poll(self.deadline):
                raise QueryTimeout(f"the query ran past the {self.deadline:g} s deadline and was stopped")
            status, value, flag, seconds, inline = worker.connection.recv()
            healthy = True
            if status == "error":
                _remove(spool)
                raise QueryFailed(value, syntax=bool(flag))
            if inline is not None:
                return QueryResult(None, int(value), bool(flag), seconds, inline)
            return QueryResult(spool, int(value), bool(flag), seconds)
        except (EOFError, OSError, BrokenPipeError) as error:
            _remove(spool)
            raise QueryFailed(f"the query worker stopped: {error}", syntax=False) from None
        except QueryTimeout:
            _remove(spool)
            raise
        finally:
            if not healthy:
                worker.kill()
                self.killed += 1
                worker = _Worker()
            with self._lock:
                self._idle.append(worker)
                self._freed.notify()
                self._users[checkpoint] -= 1
                self._drop_unused(checkpoint)

    def _wait_for_worker(self) -> None:
        """Wait (holding the lock's condition) until a worker is idle; PoolBusy if the line
        is full or the deadline passes first."""
        if self._waiting >= self.queue:
            raise PoolBusy("all query workers are busy")
        self._waiting += 1
        try:
            until = time.monotonic() + self.deadline
            while not self._idle:
                left = until - time.monotonic()
                if left <= 0:
                    raise PoolBusy("no query worker became free in time")
                self._freed.wait(left)
        finally:
            self._waiting -= 1

    def close(self) -> None:
        with self._lock:
            for worker in self._idle:
                try:
                    worker.connection.send(None)
                except OSError:
                    pass
                worker.kill()
            self._idle.clear()
        shutil.rmtree(self._root, ignore_errors=True)


_ROOT_PREFIX = "studygraph-sparql-"
_OWNER = "owner.pid"


def _remove_abandoned(parent: Path) -> None:
    """Remove the directories of pools whose process is gone without calling close()
    (a server stopped by SIGTERM or SIGKILL): their checkpoints hard-link the store's
    files and would keep that disk space taken for good."""
    for root in parent.glob(f"{_ROOT_PREFIX}*"):
        try:
            owner = int((root / _OWNER).read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(root, ignore_errors=True)
        except OSError:
            pass


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
