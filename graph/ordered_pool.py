"""A function run over a stream of items in worker processes, its results in input order.

Mapping a record to its graph (and checking it against the profile) is pure Python, about
half the CPU of a fresh load; one process maps some 500 records a second. Where cores are
idle, :class:`OrderedPool` spreads that work over processes (on two cores it does not pay:
the store's bulk loader already keeps both half busy) and hands the results back in the order the items came, so the caller keeps
every decision that depends on order (which record holds a slug, which version of a
record wins) in one place, exactly as without it.

Why not ``ProcessPoolExecutor.map`` or ``Pool.imap``: both take the whole input at once
(a million records in memory); here at most a bounded window of chunks is out. The
first items run in this process, so a load of a few records starts no process; past
that, workers come from a *forkserver* (a clean interpreter that imported the worker's
module once): forking this process itself would copy whatever threads it runs (a
server's, the bulk loader's) in whatever state their locks were.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")

#: Items run in this process before any worker is started: below this, a pool costs
#: more (a fresh interpreter's imports) than it saves.
START_AFTER = 256
#: Items sent to a worker at once: large enough that the round trip is a small part of
#: the work (a record maps in about 2 ms), small enough to keep every worker busy.
CHUNK = 16
#: Chunks out at once per worker: enough to cover the wait for a result.
WINDOW_PER_PROCESS = 4


class OrderedPool(Generic[In, Out]):
    """Run *function* (a module-level function, so workers can import it) over items.

    *processes* below 2 runs everything in this process. *preload* names the modules
    the forkserver imports once, so each worker starts without importing them again.
    """

    def __init__(self, function: Callable[[In], Out], processes: int, *, preload: Iterable[str] = (),
                 start_after: int | None = None, chunk: int | None = None) -> None:
        self.function = function
        self.processes = processes
        self.preload = list(preload)
        self.start_after = START_AFTER if start_after is None else start_after
        self.chunk = CHUNK if chunk is None else chunk

    def map(self, items: Iterable[In]) -> Iterator[Out]:
        """*function* of each item, in the items' order. An exception raised by
        *function* ends the iteration (catch it inside *function* to go on)."""
        iterator = iter(items)
        head = self.start_after if self.processes >= 2 else None
        for item in islice(iterator, head):
            yield self.function(item)
        if head is None:
            return
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(self.preload)
        executor = ProcessPoolExecutor(self.processes, mp_context=context)
        out: deque[Future[list[Out]]] = deque()
        try:
            while True:
                while len(out) < self.processes * WINDOW_PER_PROCESS:
                    chunk = list(islice(iterator, self.chunk))
                    if not chunk:
                        break
                    out.append(executor.submit(run_chunk, self.function, chunk))
                if not out:
                    return
                yield from out.popleft().result()
        finally:
            executor.shutdown(wait=True, cancel_futures=True)


def run_chunk(function: Callable[[In], Out], chunk: list[In]) -> list[Out]:
    """A worker's task: *function* of each item of a chunk."""
    return [function(item) for item in chunk]
