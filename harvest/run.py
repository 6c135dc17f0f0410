"""`studygraph harvest`: pull records from other catalogues into the store.

Sources, recognised from what the URL answers:

- a DCAT catalogue in any RDF syntax, page after page by its Hydra links (another
  studygraph's ``/catalog``, a ckanext-dcat ``/catalog.ttl``): :mod:`.catalog`;
- a SPARQL endpoint (``.../sparql``): its ``dcat:Dataset``/``schema:Dataset``
  descriptions by CONSTRUCT, a page at a time: :mod:`.sparql`;
- a sitemap (or sitemap index) of pages carrying schema.org JSON-LD: :mod:`.sitemap`;
- another studygraph's change feed (``/changes``), from the last change seen:
  :mod:`.changes`.

Everything goes through the one loader, so records are hashed, mapped and written one
transaction each, and a bad record is a rejection that stops nothing else. Each
harvested record keeps its provenance (the source's IRI for it, the harvested URL, the
time). What is fetched, how politely and within which limits is :mod:`.fetch`'s
business; where a harvest may go is :mod:`.scope`'s; every walk reads each page
once (:mod:`.walk`). A source error is one line naming a URL; what was harvested
before it stays, and ``--prune`` is skipped.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from studygraph.graph.catalogue import Catalogue, Location
from studygraph.graph.loader import Loader, LoadEvent, load_fresh
from studygraph.mappings.feed import FEED_PATH, SINCE_PARAMETER
from studygraph.mappings.records import ReadResult, SourceRecord

from .catalog import catalog_items
from .changes import harvest_changes, is_change_feed, latest_change
from .errors import HarvestError, HarvestLimit
from .fetch import Fetcher, Politeness
from .rdf import parse
from .report import HarvestReport
from .scope import Scope
from .sitemap import is_sitemap, sitemap_items
from .sparql import sparql_items
from .state import load_state, save_state
from .transport import Transport

__all__ = ["HarvestError", "HarvestLimit", "HarvestReport", "Politeness", "harvest"]


def harvest(
    url: str,
    store: Catalogue | None,
    loader: Loader,
    *,
    prune: bool = False,
    since: str | None = None,
    politeness: Politeness | None = None,
    follow_hosts: Sequence[str] = (),
    listener: Callable[[LoadEvent], None] | None = None,
    fresh_store: Location | None = None,
    transport: Transport | None = None,
) -> HarvestReport:
    """Harvest *url* into the store behind *loader*.

    Links and redirects are followed only to *url*'s origin, or to those *follow_hosts*
    names (see :class:`~harvest.scope.Scope`). With *fresh_store* (where a store
    that does not exist yet goes; *store* is then None) a catalogue, endpoint or
    sitemap harvest fills it with the bulk loader, as a local load of a fresh store does.
    *transport* sends the requests (default: :func:`~harvest.transport.harvest_opener`);
    passing one in lets a caller choose how the harvest reaches the network.
    """
    state = load_state(store.state if store is not None else None)
    source_state = state.setdefault(url, {})
    report = HarvestReport()
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    seen: set[str] = set()

    def tagged(items: Iterable[ReadResult]) -> Iterator[ReadResult]:
        """The records with their provenance; a failing source ends the stream, keeping
        everything read before the failure."""
        try:
            for item in items:
                if isinstance(item, SourceRecord):
                    item.provenance = {**item.provenance, "harvest_source": url, "harvested": stamp}
                yield item
        except HarvestError as error:
            report.errors.append(str(error))

    def note(event: LoadEvent) -> None:
        if event.slug:
            seen.add(loader.urls.item(event.slug))
        if listener:
            listener(event)

    def load(items: Iterable[ReadResult]) -> None:
        report.add(loader.load(tagged(items), note) if fresh_store is None else load_fresh(fresh_store, tagged(items), loader.urls, note, validate=loader.gate.mode))

    fetcher: Fetcher | None = None
    try:
        fetcher = Fetcher(politeness or Politeness(), state.setdefault("validators", {}), Scope(url, follow_hosts), transport=transport)
        kind = _source_kind(url)
        if kind == "sparql":
            load(sparql_items(url, fetcher, report))
        else:
            first = fetcher.get(_with_since(url, since or source_state.get("token")) if kind == "changes" else url)
            if first is None:
                raise HarvestError(f"{url}: unexpected 304")
            if is_sitemap(first):
                # A page that has not changed since the last harvest answers 304 and is
                # skipped; with --prune every page is read, to know what the source still has.
                load(sitemap_items(first, fetcher, report, conditional=not prune))
            else:
                graph = parse(first)
                if kind == "changes" or is_change_feed(graph, first.url):
                    if store is None:
                        raise HarvestError(f"{url}: a change feed updates an existing store: harvest the catalogue first")
                    try:
                        harvest_changes(first, graph, fetcher, lambda items: report.add(loader.load(tagged(items), note)), store, loader.delete, report)
                    finally:
                        # Also when the feed failed or a limit stopped it: the next harvest
                        # resumes after the last change applied.
                        if report.token is not None:
                            source_state["token"] = report.token
                else:
                    token = latest_change(graph, first.url)
                    load(catalog_items(first, graph, fetcher, report))
                    if token is not None:
                        state.setdefault(_feed_url(url), {})["token"] = token
    except HarvestError as error:
        report.errors.append(str(error))
    if fetcher is not None:
        report.requests = fetcher.requests
    if prune and not report.errors and not report.unread and store is not None:
        for name in store.harvested_from(url):
            if name not in seen and loader.delete(name):
                report.deleted += 1
    elif prune and report.errors:
        report.errors.append("--prune skipped: the harvest did not complete, so vanished records cannot be told from unread ones")
    elif prune and report.unread:
        # A record whose page failed is still listed by the source: its copy here must
        # not be taken for a vanished one.
        report.errors.append(f"--prune skipped: {len(report.unread)} listed pages could not be read, "
                             "so vanished records cannot be told from unread ones")
    report.state = state
    save_state(store.state if store is not None else None, state)
    return report


# -- helpers ------------------------------------------------------------------------------


def _source_kind(url: str) -> str:
    path = urllib.parse.urlsplit(url).path.rstrip("/")
    if path.endswith("/sparql"):
        return "sparql"
    if path.endswith(FEED_PATH):
        return "changes"
    return "catalog"


def _feed_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{FEED_PATH}"


def _with_since(url: str, since: Any) -> str:
    if since in (None, ""):
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}{urllib.parse.urlencode({SINCE_PARAMETER: str(since)})}"
