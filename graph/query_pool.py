"""Public SPARQL queries in a worker process that can be killed at a deadline.

pyoxigraph cannot cancel a query, and a query holding the GIL-free Rust evaluator in a
thread cannot be stopped either; a process can. The query process opens a read-only
checkpoint of the store (``Store.backup`` makes one from hard links in about a
millisecond) and runs several queries at once, each on a thread of its own: pyoxigraph
evaluates without the GIL, and queries running side by side in one process share the
store's caches (on two cores, eight scans at once in one process answered 1.7 times as
many queries a second as two at once, and more than two processes of four). Each
result is written whole (in memory, or in a spool file once it is large) before the web
process answers, so a client never gets a 200 with a truncated body, and memory stays
flat however large the result.

Every query has one deadline, counted from when the request arrived (the caller passes
that moment): the time it waits for a place, and any run again, come out of it, so every
answer comes within the deadline (and the moment it takes to say so). A query still
running at its deadline gets :class:`QueryTimeout`, and the process is killed and
replaced. The queries that were running beside it are run again, once, on the new
process within what is left of their own deadlines: they are read-only, so running one
twice is harmless, and they did nothing to be stopped for.

The query process has a memory limit (``RLIMIT_DATA``, set in the process itself before
it loads pyoxigraph): a query whose evaluation grows past it makes an allocation fail,
which Rust's allocator answers by aborting the process. The pool treats that like a
kill: the queries that were running are run again once, and a query whose process ends
that way a second time gets :class:`QueryOutOfMemory` (503, like a timeout). RLIMIT_DATA
counts the heap and private writable mappings (not the store's files mapped from disk,
nor address space merely reserved), which is what a runaway sort or join grows; an RSS
watchdog would act only between polls, after the memory is taken. After each committed
write the owner calls :meth:`QueryPool.refresh` to take a new checkpoint, which queries
use from then on.
"""

from __future__ import annotations

import collections
import io
import itertools
import multiprocessing
import os
import queue
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO

_CONTEXT = multiprocessing.get_context("spawn")


class QueryStopped(RuntimeError):
    """The query was stopped before it finished (503: the client may try again later)."""


class QueryTimeout(QueryStopped):
    pass


class QueryOutOfMemory(QueryStopped):
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
    #: The query's own LIMIT keeps it within *max_rows* (graph.sparql_results.write_results).
    within_cap: bool = False
    #: SELECT, ASK, CONSTRUCT or DESCRIBE: what a remote store is asked to answer in
    #: (graph.remote_queries); the embedded pool reads it from the result.
    form: str = "SELECT"


#: Results up to this size come back through the worker's pipe; larger ones through a
#: spool file, streamed from disk (memory stays flat however large the result).
INLINE_BYTES = 256 * 1024


@dataclass(frozen=True)
class QueryResult:
    """A finished query: its result either in :attr:`data` (small ones) or in the spool
    file :attr:`path`, which the caller must delete."""

    path: str | None
    #: Rows or triples written; None for solutions Oxigraph wrote uncounted (within_cap).
    rows: int | None
    truncated: bool
    seconds: float
    data: bytes | None = None


def _run_worker(connection: Connection, threads: int, memory: int = 0) -> None:
    """The query process: jobs arrive numbered on the pipe and run on *threads* threads;
    each answer goes back with its job's number, in whatever order they finish. With
    *memory* (bytes), the process's data segment is limited to it, before pyoxigraph loads."""
    if memory > 0:
        limit_memory(memory)
    import pyoxigraph  # noqa: F401  (loaded now: a spare process is ready when it takes over)

    sending = threading.Lock()
    stores = _OpenCheckpoints()

    def answer(number: int, checkpoint: str, job: QueryJob, spool: str) -> None:
        reply = _evaluate(stores, checkpoint, job, spool)
        try:
            with sending:
                connection.send((number, *reply))
        except (OSError, ValueError):
            pass  # the web process has gone: nobody is waiting for the answer

    runner = _Threads(threads)
    while True:
        try:
            message = connection.recv()
        except EOFError:
            return
        if message is None:
            return
        runner.submit(answer, *message)


def limit_memory(limit: int) -> None:
    """Limit this process's heap and private writable mappings (RLIMIT_DATA) to *limit*
    bytes; an allocation past it fails (Rust then aborts the process)."""
    import resource

    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


class _Threads:
    """Runs tasks on up to *size* threads, started as needed; the thread that went idle
    last takes the next task. Its malloc arena and CPU caches are the warm ones: handed
    round the idle threads in turn (as a plain thread pool does), a keyword aggregate
    after a run of lookups took 2.1-2.2 s instead of 1.8 s, faulting its memory in
    afresh on a thread whose arena small queries had used and trimmed."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._idle: list[queue.SimpleQueue] = []  # a stack: the last to go idle on top
        self._started = 0
        self._backlog: collections.deque = collections.deque()

    def submit(self, task: Callable[..., None], *args: Any) -> None:
        with self._lock:
            if self._idle:
                self._idle.pop().put((task, args))
                return
            if self._started >= self.size:
                self._backlog.append((task, args))
                return
            self._started += 1
        threading.Thread(target=self._serve, args=((task, args),), daemon=True, name="query").start()

    def _serve(self, work: tuple) -> None:
        inbox: queue.SimpleQueue = queue.SimpleQueue()
        while True:
            task, args = work
            task(*args)
            with self._lock:
                if self._backlog:
                    work = self._backlog.popleft()
                    continue
                self._idle.append(inbox)
            work = inbox.get()


class _OpenCheckpoints:
    """The store views of the query process, opened once per checkpoint. A job names the
    checkpoint that was current when it was sent; the two newest stay open (a job sent
    just before a refresh may arrive after one sent just after it)."""

    KEPT = 2

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, Any] = {}

    def get(self, checkpoint: str) -> Any:
        import pyoxigraph

        with self._lock:
            store = self._open.get(checkpoint)
            if store is None:
                store = self._open[checkpoint] = pyoxigraph.Store.read_only(checkpoint)
                while len(self._open) > self.KEPT:
                    # Queries still running on a dropped view keep it alive until they end.
                    del self._open[next(iter(self._open))]
            return store


def _evaluate(stores: _OpenCheckpoints, checkpoint: str, job: QueryJob, spool: str) -> tuple:
    """Run one job: ("ok", rows, truncated, seconds, inline bytes or None),
    ("error", message, whether it is a syntax error, 0.0, None), or ("memory", message,
    False, 0.0, None) when Python ran out of memory.

    Only the parse (``Store.query``) can raise a syntax error of the query; anything raised
    while the results are read is an evaluation error, even a SyntaxError (a SERVICE
    endpoint's unreadable answer)."""
    import pyoxigraph

    from studygraph.graph.sparql_results import write_results

    started = time.monotonic()
    try:
        store = stores.get(checkpoint)
        options: dict[str, Any] = {"base_iri": job.base_iri}
        if job.default_graphs:
            options["default_graph"] = [pyoxigraph.NamedNode(g) for g in job.default_graphs]
        elif job.union_default_graph:
            options["use_default_graph_as_union"] = True
        if job.named_graphs:
            options["named_graphs"] = [pyoxigraph.NamedNode(g) for g in job.named_graphs]
        try:
            result = store.query(job.query, **options)
        except SyntaxError as error:
            return ("error", str(error), True, 0.0, None)
        out = SpillingBuffer(spool)
        try:
            rows, truncated = write_results(result, out, job.format, job.max_rows, job.prefixes, within_cap=job.within_cap)
        finally:
            inline = out.finish()
        return ("ok", rows, truncated, time.monotonic() - started, inline)
    except MemoryError:
        return ("memory", "the query process ran out of memory", False, 0.0, None)
    except Exception as error:  # reported to the client as a query error
        return ("error", f"{type(error).__name__}: {error}", False, 0.0, None)
    except BaseException:
        return ("error", traceback.format_exc(limit=2), False, 0.0, None)


class SpillingBuffer(io.RawIOBase):
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


class _WorkerGone(Exception):
    pass


class _Worker:
    """The query process, and a thread that hands each of its answers to the query
    waiting for it."""

    def __init__(self, threads: int, memory: int = 0) -> None:
        self.connection, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_run_worker, args=(child, threads, memory), daemon=True, name="sparql-worker")
        self.process.start()
        child.close()
        #: Set once the pool has stopped the process (at a deadline, or after it died):
        #: queries it cut short are then run again rather than failed.
        self.killed = False
        #: Set when the process ended by itself (an abort at its memory limit, a crash).
        self.died = False
        self._gone = False
        self._lock = threading.Lock()
        self._sending = threading.Lock()
        self._waiting: dict[int, Future] = {}
        self._reader = threading.Thread(target=self._read_answers, daemon=True, name="sparql-answers")
        self._reader.start()

    def submit(self, number: int, checkpoint: str, job: QueryJob, spool: str) -> Future:
        """Send a job; its future gets the reply tuple, or None if the process went away."""
        answer: Future = Future()
        with self._lock:
            if self._gone:
                raise _WorkerGone
            self._waiting[number] = answer
        try:
            with self._sending:
                self.connection.send((number, checkpoint, job, spool))
        except (OSError, ValueError):
            with self._lock:
                self._waiting.pop(number, None)
            raise _WorkerGone from None
        return answer

    def _read_answers(self) -> None:
        while True:
            try:
                number, *reply = self.connection.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                answer = self._waiting.pop(number, None)
            if answer is not None:
                answer.set_result(tuple(reply))
        with self._lock:
            self._gone = True
            self.died = not self.killed
            left, self._waiting = list(self._waiting.values()), {}
        for answer in left:
            answer.set_result(None)

    def kill(self) -> None:
        """Stop the process now (SIGKILL) and reap it in the background: a process that
        holds gigabytes takes a second or more to exit, and the answer at a deadline need
        not wait for that."""
        self.killed = True
        self.process.kill()
        threading.Thread(target=self._reap, daemon=True, name="sparql-reaper").start()

    def _reap(self) -> None:
        self.process.join()
        self._reader.join(5)
        self.connection.close()

    def stop(self) -> None:
        try:
            with self._sending:
                self.connection.send(None)
        except (OSError, ValueError):
            pass
        self.kill()


class QueryPool:
    """Public queries over the latest checkpoint of a store, *size* at a time, in one
    query process that is killed and replaced when a query runs past the deadline, and
    that aborts (and is replaced) when it grows past *memory* bytes (0: no limit)."""

    def __init__(
        self, take_checkpoint: Callable[[Path], None], *, size: int = 8, deadline: float = 10.0, queue: int = 0,
        spool_dir: str | None = None, memory: int = 0, checkpoint_spacing: float = 0.25,
    ) -> None:
        self.size = size
        #: Least time between two checkpoints: under writes and queries without pause,
        #: checkpointing takes at most a share of one core, and the queries that
        #: arrived meanwhile share the next one (each still sees every earlier write).
        self.checkpoint_spacing = checkpoint_spacing
        self.deadline = deadline
        self.memory = memory
        #: Queries that may wait for one of the *size* places (within their deadline);
        #: beyond that, :class:`PoolBusy` at once.
        self.queue = queue
        self._running = 0
        self._waiting = 0
        #: Queries taken in (waiting for a checkpoint, for a place, or running): each
        #: holds a web thread, so at most *size* + *queue* are taken in.
        self._admitted = 0
        self._take_checkpoint = take_checkpoint
        _remove_abandoned(Path(spool_dir or tempfile.gettempdir()))
        self._root = Path(tempfile.mkdtemp(prefix=_ROOT_PREFIX, dir=spool_dir))
        (self._root / _OWNER).write_text(str(os.getpid()))
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._numbers = itertools.count(1)
        self._worker = _Worker(size, memory)
        #: A started process that takes over at once when the current one is killed;
        #: started afresh it needs about a second (Python, pyoxigraph), in which the
        #: queries that arrive fill every place and the line.
        self._spare: _Worker | None = _Worker(size, memory)
        self._closed = False
        self._generation = 0
        self._users: dict[str, int] = {}
        #: Writes so far (refresh calls), and how many the current checkpoint holds.
        self._version = 0
        self._checkpoint_version = 0
        self._checkpointing = threading.Lock()
        self._checkpoint = self._new_checkpoint()
        self._checkpoint_taken = time.monotonic()
        #: Query processes killed at a deadline so far.
        self.killed = 0
        #: Query processes that ended by themselves (memory limit, crash) so far.
        self.died = 0

    def _new_checkpoint(self) -> str:
        self._generation += 1
        target = self._root / f"checkpoint-{self._generation}"
        self._take_checkpoint(target)
        return str(target)

    @property
    def checkpoints(self) -> int:
        """Checkpoints taken so far (the first one included)."""
        return self._generation

    def refresh(self) -> None:
        """Note a committed write: the next query takes a new checkpoint first.

        Checkpoints are taken when a query needs one, not after every write, and queries
        that arrive together share it. Taken after every write, they cost each write a
        backup (50-130 ms), and each one grows RocksDB's MANIFEST, which every opening
        of a checkpoint reads in full: under 32 clients writing and querying, opening
        went from 10 ms to 190 ms in six minutes and SPARQL queued into 503s."""
        with self._lock:
            self._version += 1

    def _checkpoint_for(self, version: int, until: float) -> str:
        """A checkpoint holding at least the first *version* writes, counted as in use
        until :meth:`_release`: the current one if it does, else the next one taken
        (no sooner than ``checkpoint_spacing`` after the last), which every query that
        arrived before it was begun shares."""
        with self._checkpointing:
            with self._lock:
                if self._checkpoint_version >= version:
                    return self._use(self._checkpoint)
            pause = min(self._checkpoint_taken + self.checkpoint_spacing, until) - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # a rate limit, not a wait for an event: writes keep coming
            with self._lock:
                newest = self._version
            checkpoint = self._new_checkpoint()  # holds at least *newest* writes
            self._checkpoint_taken = time.monotonic()
            with self._lock:
                previous, self._checkpoint, self._checkpoint_version = self._checkpoint, checkpoint, newest
                self._drop_unused(previous)
                return self._use(checkpoint)

    def _use(self, checkpoint: str) -> str:
        self._users[checkpoint] = self._users.get(checkpoint, 0) + 1
        return checkpoint

    def _release(self, checkpoint: str) -> None:
        with self._lock:
            self._users[checkpoint] -= 1
            self._drop_unused(checkpoint)

    def _drop_unused(self, checkpoint: str) -> None:
        if checkpoint != self._checkpoint and not self._users.get(checkpoint):
            self._users.pop(checkpoint, None)
            shutil.rmtree(checkpoint, ignore_errors=True)

    def run(self, job: QueryJob, started: float | None = None) -> QueryResult:
        """Run *job* within the deadline counted from *started* (``time.monotonic()`` when
        the request arrived; now by default), waiting in line for a place if the line has
        room. PoolBusy if it has none (or no place frees up in time); QueryTimeout when the
        deadline passes; QueryOutOfMemory when its process ends by itself twice."""
        until = (time.monotonic() if started is None else started) + self.deadline
        with self._lock:
            if self._admitted >= self.size + self.queue:
                raise PoolBusy("all query places are taken")
            self._admitted += 1
            version = self._version
        try:
            # Waiting for a checkpoint holds no place (the places count running queries),
            # but it is counted among the queries taken in.
            checkpoint = self._checkpoint_for(version, until)
            try:
                return self._run_on(checkpoint, job, until)
            finally:
                self._release(checkpoint)
        finally:
            with self._lock:
                self._admitted -= 1

    def _run_on(self, checkpoint: str, job: QueryJob, until: float) -> QueryResult:
        with self._lock:
            if self._running >= self.size:
                self._wait_for_place(until)
            self._running += 1
        try:
            ended: _Worker | None = None
            for _ in range(2):  # a run cut short by another query's kill, or a crash, runs once more
                result = self._attempt(checkpoint, job, until)
                if isinstance(result, QueryResult):
                    return result
                ended = result
            if ended is not None and ended.died:
                raise QueryOutOfMemory(self._out_of_memory())
            raise QueryStopped("the query process was stopped twice while this query ran; try again")
        finally:
            with self._lock:
                self._running -= 1
                self._freed.notify()

    def _out_of_memory(self) -> str:
        limit = f" ({self.memory / 2**20:g} MiB)" if self.memory else ""
        return f"the query process reached its memory limit{limit}, or stopped, while evaluating the query"

    def _attempt(self, checkpoint: str, job: QueryJob, until: float) -> QueryResult | _Worker | None:
        """One run of *job* on the current process, or the process that ended before it
        answered (killed past another query's deadline, or died by itself), or None if
        the process was gone before the job could be sent."""
        left = until - time.monotonic()
        if left <= 0:
            raise QueryTimeout(self._timeout())
        with self._lock:
            worker = self._worker
        spool = str(self._root / f"result-{os.getpid()}-{threading.get_ident()}-{time.monotonic_ns()}")
        try:
            answer = worker.submit(next(self._numbers), checkpoint, job, spool)
        except _WorkerGone:
            self._replace(worker)
            return None
        try:
            reply = answer.result(left)
        except FutureTimeout:
            if self._replace(worker):
                self.killed += 1
            _remove(spool)
            raise QueryTimeout(self._timeout()) from None
        if reply is None:
            _remove(spool)
            if self._replace(worker) and worker.died:
                self.died += 1
            return worker
        status, value, flag, seconds, inline = reply
        if status == "memory":
            _remove(spool)
            self._replace(worker)  # its other threads may be failing too: start afresh
            raise QueryOutOfMemory(self._out_of_memory())
        if status == "error":
            _remove(spool)
            raise QueryFailed(value, syntax=bool(flag))
        if inline is not None:
            return QueryResult(None, value, bool(flag), seconds, inline)
        return QueryResult(spool, value, bool(flag), seconds)

    def _timeout(self) -> str:
        return f"the query ran past the {self.deadline:g} s deadline and was stopped"

    def _replace(self, worker: _Worker) -> bool:
        """Kill *worker* and start a new process in its place, unless another query has
        already done so; True if this call did."""
        with self._lock:
            if self._worker is not worker:
                return False
            self._worker, self._spare = self._spare or _Worker(self.size, self.memory), None
        worker.kill()
        threading.Thread(target=self._start_spare, daemon=True, name="sparql-spare").start()
        return True

    def _start_spare(self) -> None:
        spare = _Worker(self.size, self.memory)
        with self._lock:
            if self._spare is None and not self._closed:
                self._spare = spare
                return
        spare.stop()

    def _wait_for_place(self, until: float) -> None:
        """Wait (holding the lock's condition) until fewer than *size* queries run;
        PoolBusy if the line is full or the deadline passes first."""
        if self._waiting >= self.queue:
            raise PoolBusy("all query places are taken")
        self._waiting += 1
        try:
            wait_for_place(self._freed, until, lambda: self._running < self.size)
        finally:
            self._waiting -= 1

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = [self._worker, self._spare]
        for worker in workers:
            if worker is not None:
                worker.stop()
        shutil.rmtree(self._root, ignore_errors=True)


def wait_for_place(freed: threading.Condition, until: float, free: Callable[[], bool]) -> None:
    """Wait on *freed* (its lock held) until *free()* says a place is free; PoolBusy if
    *until* passes first. Shared by every runner of public queries (graph.remote_queries)."""
    while not free():
        left = until - time.monotonic()
        if left <= 0:
            raise PoolBusy("no query place became free in time")
        freed.wait(left)


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
