"""Harvesting a DCAT catalogue page by page, following its Hydra links."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import pyoxigraph

from studygraph.mappings.readers.dcat import records_from_store
from studygraph.mappings.records import ReadResult

from .errors import HarvestError
from .fetch import Fetched, Fetcher
from .rdf import fingerprint, next_page_of_walk
from .report import HarvestReport
from .walk import Walk

_Page = tuple[Fetched, pyoxigraph.Store]


def catalog_items(first: Fetched, graph: pyoxigraph.Store, fetcher: Fetcher, report: HarvestReport) -> Iterator[ReadResult]:
    """The records of every page, following the Hydra links until a page has none, or
    links to a page read before (by URL or content: see :mod:`harvest.walk`).

    The next page is fetched by a thread while this one is mapped, so the source renders
    page n+1 while we map page n; still one request at a time, as politeness wants.
    """
    pages: queue.Queue[_Page | HarvestError | None] = queue.Queue(maxsize=1)
    stop = threading.Event()
    walk = Walk("catalogue page")
    walk.visit(first.url, fingerprint(graph))

    def fetch_following(triples: pyoxigraph.Store) -> None:
        try:
            while not stop.is_set():
                following = next_page_of_walk(walk, triples, fetcher, report.notices)
                if following is None:
                    break
                pages.put(following)
                triples = following[1]
        except HarvestError as error:
            pages.put(error)
            return
        pages.put(None)

    fetching = threading.Thread(target=fetch_following, args=(graph,), name="harvest-fetch", daemon=True)
    fetching.start()
    try:
        current: _Page | HarvestError | None = (first, graph)
        while current is not None:
            if isinstance(current, HarvestError):
                raise current
            page, triples = current
            report.pages += 1
            yield from records_from_store(triples, page.url)
            current = pages.get()
    finally:
        stop.set()
        while fetching.is_alive():
            try:
                pages.get_nowait()
            except queue.Empty:
                fetching.join(0.1)
