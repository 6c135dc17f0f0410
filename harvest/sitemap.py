"""Harvesting a sitemap (or a sitemap index) of pages that carry schema.org JSON-LD.

A sitemap index lists sitemaps, and sitemaps list pages (sitemaps.org); an index listed
by an index is not followed, so an index that lists itself — under its own URL or ever
new ones — ends at once. Each sitemap is read once (by URL and by content), each page once.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from collections import deque
from collections.abc import Iterator
from xml.etree import ElementTree

from studygraph.mappings.readers import read_bytes
from studygraph.mappings.records import ReadResult

from .errors import HarvestError, HarvestLimit, rejection
from .fetch import Fetched, Fetcher
from .report import HarvestReport
from .walk import Walk

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ACCEPT_XML = "application/xml, text/xml"


def is_sitemap(fetched: Fetched) -> bool:
    head = fetched.body[:2048]
    return b"<urlset" in head or b"<sitemapindex" in head


def sitemap_items(first: Fetched, fetcher: Fetcher, report: HarvestReport, conditional: bool = False) -> Iterator[ReadResult]:
    """The records of the pages *first* lists (through its sitemaps, if it is an index).

    With *conditional*, a page that has not changed since the last harvest answers 304
    and is skipped."""
    walk = Walk("sitemap")
    walk.visit(first.url, _digest(first))
    pending: deque[tuple[Fetched, bool]] = deque([(first, False)])
    pages_read: set[str] = set()
    while pending:
        sitemap, listed_by_index = pending.popleft()
        report.pages += 1
        root = _root(sitemap)
        locations = _locations(root, sitemap.url)
        if root.tag == f"{SITEMAP_NS}sitemapindex":
            if listed_by_index:
                report.notices.append(f"{sitemap.url}: a sitemap index listed by a sitemap index: not followed")
            else:
                pending.extend((fetched, True) for fetched in _sitemaps(locations, sitemap.url, walk, fetcher, report))
            continue
        for location in locations:
            if location not in pages_read:
                pages_read.add(location)
                yield from _page(location, fetcher, report, conditional)


def _sitemaps(locations: list[str], index_url: str, walk: Walk, fetcher: Fetcher, report: HarvestReport) -> Iterator[Fetched]:
    """The sitemaps an index lists, fetched, without those read before (counted in one notice)."""
    repeated = 0
    for location in locations:
        if walk.again(location) is not None:
            repeated += 1
            continue
        fetched = fetcher.get(location, accept=ACCEPT_XML)
        if fetched is None:
            continue
        if walk.visit(fetched.url, _digest(fetched), location) is not None:
            repeated += 1
            continue
        yield fetched
    if repeated:
        report.notices.append(f"{index_url}: {repeated} of the sitemaps it lists were read before (same URL or content): not read again")


def _page(location: str, fetcher: Fetcher, report: HarvestReport, conditional: bool) -> Iterator[ReadResult]:
    """The records of one listed page; a page that fails is a rejection, the rest go on."""
    try:
        page = fetcher.get(location, accept="text/html", conditional=conditional)
    except HarvestLimit:
        raise
    except HarvestError as error:
        report.unread.append(location)
        yield rejection(location, error)
        return
    if page is None:
        report.unchanged_pages += 1
        return
    yield from read_bytes(page.body, location, "html")


def _root(sitemap: Fetched) -> ElementTree.Element:
    """The sitemap's XML root; :class:`HarvestError` for anything that is not a sitemap
    (XML errors, bad UTF-8, entity declarations — a sitemap has none, an entity bomb does)."""
    if b"<!ENTITY" in sitemap.body:
        raise HarvestError(f"{sitemap.url}: not a sitemap (it declares XML entities)")
    try:
        root = ElementTree.fromstring(sitemap.body)
    except ElementTree.ParseError as error:
        raise HarvestError(f"{sitemap.url}: not a sitemap ({error})") from None
    if root.tag not in (f"{SITEMAP_NS}sitemapindex", f"{SITEMAP_NS}urlset"):
        raise HarvestError(f"{sitemap.url}: not a sitemap (its root is <{root.tag}>)")
    return root


def _locations(root: ElementTree.Element, base: str) -> list[str]:
    """The ``<loc>`` URLs, relative ones resolved against the sitemap's URL."""
    found = []
    for element in root.iter(f"{SITEMAP_NS}loc"):
        text = (element.text or "").strip()
        if text:
            try:
                found.append(urllib.parse.urljoin(base, text))
            except ValueError:
                found.append(text)  # the fetcher refuses it, naming it
    return found


def _digest(fetched: Fetched) -> str:
    return hashlib.sha256(fetched.body).hexdigest()
