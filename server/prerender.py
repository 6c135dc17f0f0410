"""Rendering study representations ahead of traffic, into the disk cache.

A study's representations only change when its record does, so they can be rendered
once, after a load, instead of on a visitor's first request (the way Dataverse keeps
its metadata exports). Each one is requested through the application itself, in
process, exactly as a client would ask for it: the same negotiation, ETag and cache
code fills the disk tier that ``studygraph serve`` then reads, and a variant already
cached under its current ETag costs only a lookup. Several processes share the work,
each with its own read-only view of the store.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask

from .negotiation import FORMATS

_CONTEXT = multiprocessing.get_context("spawn")
#: The representations rendered ahead of traffic unless told otherwise: what clients ask
#: for most (linked-data clients and browsers).
DEFAULT_FORMATS = ("ttl", "jsonld", "html")
#: Studies per task handed to a worker process: big enough to amortise the hand-off,
#: small enough for a steady progress count.
BATCH = 200


@dataclass(frozen=True)
class PrerenderCount:
    requested: int = 0
    rendered: int = 0
    failed: int = 0

    def __add__(self, other: PrerenderCount) -> PrerenderCount:
        return PrerenderCount(self.requested + other.requested, self.rendered + other.rendered, self.failed + other.failed)


def render_studies(
    app: Flask, slugs: Sequence[str], formats: Sequence[str], stop: threading.Event | None = None,
) -> PrerenderCount:
    """Request every study in *slugs* in each of *formats* (full profile) once; the app's
    cache keeps what it renders. ``X-Cache: MISS`` tells what had to be rendered.
    Once *stop* is set, no further request is made (what is done is counted)."""
    media_types = {f.name: f.media_type for f in FORMATS}
    client = app.test_client()
    requested = rendered = failed = 0
    for slug in slugs:
        for name in formats:
            if stop is not None and stop.is_set():
                return PrerenderCount(requested, rendered, failed)
            response = client.get(f"/items/{slug}", headers={"Accept": media_types[name]})
            requested += 1
            if response.status_code != 200:
                failed += 1
            elif response.headers.get("X-Cache") == "MISS":
                rendered += 1
            response.close()
    return PrerenderCount(requested, rendered, failed)


# -- worker processes: each opens the store read-only once and renders batches of slugs

_app: Flask | None = None
_formats: tuple[str, ...] = ()


def _start_worker(make_app: Any, make_args: tuple, formats: tuple[str, ...]) -> None:
    global _app, _formats
    _app = make_app(*make_args)
    _formats = formats


def _render_batch(slugs: list[str]) -> PrerenderCount:
    assert _app is not None
    return render_studies(_app, slugs, _formats)


def prerender(make_app: Any, make_args: tuple, slugs: Sequence[str], formats: Sequence[str], workers: int) -> Iterator[PrerenderCount]:
    """Render *slugs* in *workers* processes; yields the count of each finished batch.

    *make_app(*make_args)* runs in each worker and returns the Flask app to request from
    (it must be importable: workers are spawned, not forked, so no store handle is shared).
    """
    batches = [list(slugs[i : i + BATCH]) for i in range(0, len(slugs), BATCH)]
    if workers <= 1:
        _start_worker(make_app, make_args, tuple(formats))
        for batch in batches:
            yield _render_batch(batch)
        return
    with _CONTEXT.Pool(workers, initializer=_start_worker, initargs=(make_app, make_args, tuple(formats))) as pool:
        yield from pool.imap_unordered(_render_batch, batches)


class BackgroundRenderer:
    """Renders studies just written through the API, on a thread of its own, so the next
    visitor of a changed study is served from the cache instead of waiting for a render.

    It requests them through the app like :func:`render_studies` does; a failure costs
    only a warning (the study is then rendered on its first request, as before)."""

    #: A write changing more studies than this is left to ``studygraph prerender``: rendering
    #: them all here would take the server's time from its visitors.
    LIMIT = 1000

    def __init__(self, app: Flask, formats: Sequence[str] = DEFAULT_FORMATS) -> None:
        self.app = app
        self.formats = tuple(formats)
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._pending = 0
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def add(self, slugs: Sequence[str]) -> None:
        """Queue *slugs* for rendering (returns at once); more than LIMIT are left alone."""
        if not slugs or len(slugs) > self.LIMIT or self._stop.is_set():
            return
        with self._idle:
            self._pending += len(slugs)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="rerender")
                self._thread.start()
        self._work.put(list(slugs))

    def wait_idle(self, seconds: float) -> bool:
        """Wait until everything queued is rendered; False if *seconds* pass first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, seconds)

    def close(self, seconds: float) -> bool:
        """Stop rendering before the store is closed: nothing more is requested, and the
        request in flight (if any) is waited for, up to *seconds*. A render left running
        into a closed store would only fail, logging as it goes, while the process exits.
        False if the request in flight outlasted *seconds*."""
        self._stop.set()
        self._work.put([])  # wakes a thread waiting for work
        with self._idle:
            thread = self._thread
        if thread is None:
            return True
        thread.join(seconds)
        return not thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            slugs = self._work.get()
            try:
                render_studies(self.app, slugs, self.formats, self._stop)
            except Exception as error:  # the study is rendered on its first request instead
                logging.getLogger("studygraph").warning("could not render %d changed studies ahead: %s", len(slugs), error)
            finally:
                with self._idle:
                    self._pending -= len(slugs)
                    self._idle.notify_all()
