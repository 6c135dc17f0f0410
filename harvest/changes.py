"""Harvesting another studygraph's change feed (``/changes``): from the last change seen,
created and replaced records are fetched, deleted ones deleted."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pyoxigraph
from pyoxigraph import NamedNode

from studygraph.graph.catalogue import Catalogue
from studygraph.mappings.feed import CHANGE_SEQUENCE, DELETE, LATEST_CHANGE, OBJECT
from studygraph.mappings.formats import accept_header
from studygraph.mappings.identity import Identity, source_of
from studygraph.mappings.namespaces import AS, DCAT, RDF
from studygraph.mappings.readers.dcat import records_from_store
from studygraph.mappings.records import ReadResult
from studygraph.mappings.terms import term_value

from .errors import HarvestError, HarvestLimit, rejection
from .fetch import Fetched, Fetcher
from .rdf import fingerprint, next_page_of_walk, parse, statements_with, whole_number
from .report import HarvestReport
from .walk import Walk

RDF_TYPE = RDF + "type"
ACCEPT_RECORD = accept_header((("nq", 1), ("ttl", 0.9)))


def harvest_changes(
    first: Fetched,
    graph: pyoxigraph.Store,
    fetcher: Fetcher,
    load: Callable[[Iterable[ReadResult]], None],
    store: Catalogue,
    delete: Callable[[str], bool],
    report: HarvestReport,
) -> None:
    """Apply every page of the feed from *first* on, following its next links until a
    page has none or links to a page read before; ``report.token`` is the last change
    applied. Records are written by *load* and deleted by *delete* (the loader's)."""
    walk = Walk("change feed page")
    walk.visit(first.url, fingerprint(graph))
    page, triples = first, graph
    while True:
        report.pages += 1
        activities = _activities(triples, page.url)
        for sequence, kind, target in activities:
            if kind == DELETE:
                # The record harvested from this source under that IRI, whatever its slug here.
                held = store.find_records([Identity(source_of(page.url), target)])
                if held and delete(next(iter(held.values()))):
                    report.deleted += 1
            else:
                load(_record(target.split("#", 1)[0], fetcher))
            report.token = sequence
        latest = latest_change(triples, page.url)
        if latest is not None and (report.token is None or latest > report.token) and not activities:
            report.token = latest
        following = next_page_of_walk(walk, triples, fetcher, report.notices)
        if following is None:
            return
        page, triples = following


def _record(document: str, fetcher: Fetcher) -> list[ReadResult]:
    """The records of a changed record's document; a document that fails is a rejection."""
    try:
        fetched = fetcher.get(document, accept=ACCEPT_RECORD, conditional=True)
        return [] if fetched is None else list(records_from_store(parse(fetched), document))
    except HarvestLimit:
        raise
    except HarvestError as error:
        return [rejection(document, error)]


def _activities(page: pyoxigraph.Store, url: str) -> list[tuple[int, str, str]]:
    """(sequence, Create|Update|Delete, object IRI) of each activity on a feed page."""
    objects = {q.subject: q.object.value for q in statements_with(page, OBJECT)}
    found = []
    for activity, target in objects.items():
        kinds = [term_value(q.object)[len(AS):] for q in page.quads_for_pattern(activity, NamedNode(RDF_TYPE), None) if term_value(q.object).startswith(AS)]
        sequence = whole_number(page, activity, CHANGE_SEQUENCE, url)
        if kinds:
            found.append((sequence or 0, kinds[0], target))
    return sorted(found)


def is_change_feed(page: pyoxigraph.Store, url: str) -> bool:
    """A change feed lists activities, or (when empty) is a page with a latest-change
    token and no datasets."""
    if statements_with(page, OBJECT):
        return True
    return latest_change(page, url) is not None and not statements_with(page, DCAT + "dataset")


def latest_change(page: pyoxigraph.Store, url: str) -> int | None:
    """The feed's latest change token (``sg:latestChange``); :class:`HarvestError` naming
    *url* when it is not a whole number."""
    return whole_number(page, None, LATEST_CHANGE, url)
