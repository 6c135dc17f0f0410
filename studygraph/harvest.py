"""`studygraph harvest`: pull records from other catalogues into the store.

Sources, recognised from what the URL answers:

- a DCAT catalogue in any RDF syntax, page after page by its Hydra links (another
  studygraph's ``/catalog``, a ckanext-dcat ``/catalog.ttl``);
- a SPARQL endpoint (``.../sparql``): its ``dcat:Dataset``/``schema:Dataset``
  descriptions by CONSTRUCT, a page at a time;
- a sitemap (or sitemap index) of pages carrying schema.org JSON-LD;
- another studygraph's change feed (``/changes``), from the last change seen.

Everything goes through the one loader, so records are hashed, mapped and written one
transaction each, and a bad record is a rejection that stops nothing else. Each
harvested record keeps its provenance (the source's IRI for it, the harvested URL, the
time). Politeness: a timeout and a size limit on every response, retries with backoff
on errors and 429/5xx, a delay between requests, and conditional requests
(If-None-Match / If-Modified-Since) with validators remembered per URL.
"""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from xml.etree import ElementTree

import pyoxigraph
from pyoxigraph import NamedNode

from graph.loader import LoadEvent, LoadReport, Loader, load_fresh
from mappings.readers import read_bytes
from mappings.formats import RDF_MEDIA_TYPES
from mappings.identity import Identity, source_of
from mappings.readers.dcat import records_from_store, sniff_syntax
from mappings.records import Origin, ReadResult, Rejection, SourceRecord

HYDRA = "http://www.w3.org/ns/hydra/core#"
AS = "https://www.w3.org/ns/activitystreams#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
ACCEPT_RDF = "text/turtle, application/trig;q=0.95, application/n-quads;q=0.9, application/n-triples;q=0.9, application/rdf+xml;q=0.8, application/ld+json;q=0.7, application/xml;q=0.5, text/xml;q=0.5, */*;q=0.1"
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
STATE_FILE = "harvest.json"


class HarvestError(RuntimeError):
    pass


@dataclass
class Politeness:
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 1.0
    delay: float = 0.0
    max_bytes: int = 256 * 1024 * 1024
    user_agent: str = "studygraph-harvester/0.1"


@dataclass
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str]


class Fetcher:
    """HTTP GETs with timeouts, size limits, retries, a delay, and conditional requests."""

    def __init__(self, politeness: Politeness, validators: dict[str, dict[str, str]]) -> None:
        self.politeness = politeness
        self.validators = validators
        self._last = 0.0
        self.requests = 0

    def get(self, url: str, accept: str = ACCEPT_RDF, conditional: bool = False) -> Fetched | None:
        """The response, or None when a conditional request says the copy is current (304)."""
        headers = {"Accept": accept, "User-Agent": self.politeness.user_agent}
        if conditional and url in self.validators:
            known = self.validators[url]
            if known.get("etag"):
                headers["If-None-Match"] = known["etag"]
            if known.get("last_modified"):
                headers["If-Modified-Since"] = known["last_modified"]
        attempt = 0
        while True:
            wait = self._last + self.politeness.delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._last = time.monotonic()
            self.requests += 1
            try:
                request = urllib.request.Request(url, headers=headers)
                with urllib.request.urlopen(request, timeout=self.politeness.timeout) as response:
                    body = response.read(self.politeness.max_bytes + 1)
                    if len(body) > self.politeness.max_bytes:
                        raise HarvestError(f"{url}: response larger than {self.politeness.max_bytes} bytes")
                    fetched = Fetched(response.geturl(), response.status, response.headers.get_content_type(), body, dict(response.headers))
                    self.validators[url] = {k: v for k, v in (("etag", response.headers.get("ETag")), ("last_modified", response.headers.get("Last-Modified"))) if v}
                    return fetched
            except urllib.error.HTTPError as error:
                if error.code == 304:
                    return None
                retry = error.code == 429 or error.code >= 500
                problem = f"{url}: HTTP {error.code}"
                if not retry or attempt >= self.politeness.retries:
                    raise HarvestError(problem) from None
                pause = float(error.headers.get("Retry-After") or 0) if (error.headers.get("Retry-After") or "").isdigit() else 0
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                if attempt >= self.politeness.retries:
                    raise HarvestError(f"{url}: {getattr(error, 'reason', error)}") from None
                pause = 0.0
            attempt += 1
            time.sleep(max(pause, self.politeness.backoff * 2 ** (attempt - 1)))


@dataclass
class HarvestReport:
    load: LoadReport = field(default_factory=LoadReport)
    pages: int = 0
    deleted: int = 0
    errors: list[str] = field(default_factory=list)
    token: int | None = None
    #: Pages a conditional request found unchanged since the last harvest (304).
    unchanged_pages: int = 0
    #: What the next harvest of these sources starts from (tokens, HTTP validators).
    state: dict[str, Any] = field(default_factory=dict)


def harvest(
    url: str,
    store: Any,
    loader: Loader,
    *,
    prune: bool = False,
    since: str | None = None,
    politeness: Politeness | None = None,
    listener: Callable[[LoadEvent], None] | None = None,
    state_dir: Path | None = None,
    fresh_store: Path | None = None,
) -> HarvestReport:
    """Harvest *url* into the store behind *loader*.

    With *fresh_store* (a store directory that does not exist yet; *store* is then None)
    a catalogue, endpoint or sitemap harvest fills it with the bulk loader, as a local
    load of a fresh store does.
    """
    state = _load_state(state_dir)
    source_state = state.setdefault(url, {})
    fetcher = Fetcher(politeness or Politeness(), state.setdefault("validators", {}))
    report = HarvestReport()
    stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
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
        part = loader.load(tagged(items), note) if fresh_store is None else load_fresh(fresh_store, tagged(items), loader.urls, note)
        for key, value in part.counts.items():
            report.load.counts[key] += value
        report.load.rejections += part.rejections
        report.load.warnings += part.warnings

    try:
        kind = _source_kind(url)
        if kind == "sparql":
            load(_sparql_items(url, fetcher, report))
        else:
            first = fetcher.get(_with_since(url, since or source_state.get("token")) if kind == "changes" else url)
            if first is None:
                raise HarvestError(f"{url}: unexpected 304")
            if _is_sitemap(first):
                # A page that has not changed since the last harvest answers 304 and is
                # skipped; with --prune every page is read, to know what the source still has.
                load(_sitemap_items(first, fetcher, report, conditional=not prune))
            else:
                graph = _parse(first)
                if kind == "changes" or _is_change_feed(graph):
                    if store is None:
                        raise HarvestError("a change feed updates an existing store: harvest the catalogue first")
                    _harvest_changes(first, graph, fetcher, lambda items: _add(report, loader.load(tagged(items), note)), store, loader, report)
                    if report.token is not None:
                        source_state["token"] = report.token
                else:
                    token = _latest_change(graph)
                    load(_catalog_items(first, graph, fetcher, report))
                    if token is not None:
                        state.setdefault(_feed_url(url), {})["token"] = token
    except HarvestError as error:
        report.errors.append(str(error))
    if prune and not report.errors and store is not None:
        for name in store.harvested_from(url):
            if name not in seen and store.delete(name):
                report.deleted += 1
    elif prune and report.errors:
        report.errors.append("--prune skipped: the harvest did not complete, so vanished records cannot be told from unread ones")
    report.state = state
    save_state(state_dir, state)
    return report


def _add(report: HarvestReport, part: LoadReport) -> None:
    for key, value in part.counts.items():
        report.load.counts[key] += value
    report.load.rejections += part.rejections
    report.load.warnings += part.warnings


# -- catalogues -------------------------------------------------------------------------


def _catalog_items(first: Fetched, graph: pyoxigraph.Store, fetcher: Fetcher, report: HarvestReport) -> Iterator[ReadResult]:
    """The records of every page, following the Hydra links.

    The next page is fetched by a thread while this one is mapped, so the source renders
    page n+1 while we map page n; still one request at a time, as politeness wants.
    """
    pages: queue.Queue[tuple[Fetched, pyoxigraph.Store] | HarvestError | None] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def fetch_following(page: Fetched, triples: pyoxigraph.Store) -> None:
        visited = {page.url}
        try:
            while not stop.is_set():
                following = _next_page(triples, page.url)
                if following is None or following in visited:
                    break
                visited.add(following)
                fetched = fetcher.get(following)
                if fetched is None:
                    break
                page, triples = fetched, _parse(fetched)
                pages.put((page, triples))
        except HarvestError as error:
            pages.put(error)
            return
        pages.put(None)

    fetching = threading.Thread(target=fetch_following, args=(first, graph), name="harvest-fetch", daemon=True)
    fetching.start()
    try:
        current: tuple[Fetched, pyoxigraph.Store] | HarvestError | None = (first, graph)
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


def _next_page(page: pyoxigraph.Store, url: str) -> str | None:
    """The next page of a paged collection: Hydra ``next`` (or ckanext-dcat's ``nextPage``)."""
    for predicate in (HYDRA + "next", HYDRA + "nextPage"):
        for quad in page.quads_for_pattern(None, NamedNode(predicate), None):
            if isinstance(quad.object, NamedNode):
                return quad.object.value
    return None


def _with(page: pyoxigraph.Store, predicate: str) -> list:
    return list(page.quads_for_pattern(None, NamedNode(predicate), None))


# -- SPARQL endpoints ---------------------------------------------------------------------

_SELECT_DATASETS = """
SELECT DISTINCT ?dataset WHERE {
  { ?dataset a <http://www.w3.org/ns/dcat#Dataset> } UNION { ?dataset a <https://schema.org/Dataset> } UNION { ?dataset a <http://schema.org/Dataset> }
  FILTER(isIRI(?dataset))
} ORDER BY ?dataset LIMIT %d OFFSET %d
"""
_DESCRIBE_DATASETS = """
CONSTRUCT { ?dataset ?p ?o . ?o ?p2 ?o2 . ?record ?rp ?ro . ?catalog <http://www.w3.org/ns/dcat#dataset> ?dataset . ?catalog ?cp ?co }
WHERE {
  VALUES ?dataset { %s }
  { ?dataset ?p ?o OPTIONAL { ?o ?p2 ?o2 FILTER(!isLiteral(?o)) } }
  UNION { ?record <http://xmlns.com/foaf/0.1/primaryTopic> ?dataset ; ?rp ?ro }
  UNION { ?catalog <http://www.w3.org/ns/dcat#dataset> ?dataset ; ?cp ?co FILTER(isLiteral(?co)) }
}
"""
SPARQL_PAGE = 200


def _sparql_items(url: str, fetcher: Fetcher, report: HarvestReport) -> Iterator[ReadResult]:
    offset = 0
    while True:
        select = _SELECT_DATASETS % (SPARQL_PAGE, offset)
        fetched = fetcher.get(f"{url}?{urllib.parse.urlencode({'query': select})}", accept="application/sparql-results+json")
        if fetched is None:
            return
        try:
            bindings = json.loads(fetched.body)["results"]["bindings"]
        except (ValueError, KeyError) as error:
            raise HarvestError(f"{url}: not SPARQL JSON results ({error})") from None
        datasets = [b["dataset"]["value"] for b in bindings if b.get("dataset", {}).get("type") == "uri"]
        if not datasets:
            return
        values = " ".join(str(NamedNode(d)) for d in datasets)
        described = fetcher.get(f"{url}?{urllib.parse.urlencode({'query': _DESCRIBE_DATASETS % values})}", accept="application/n-triples, text/turtle;q=0.9")
        if described is None:
            return
        report.pages += 1
        yield from records_from_store(_parse(described), url)
        if len(datasets) < SPARQL_PAGE:
            return
        offset += SPARQL_PAGE


# -- sitemaps -----------------------------------------------------------------------------


def _sitemap_items(first: Fetched, fetcher: Fetcher, report: HarvestReport, conditional: bool = False) -> Iterator[ReadResult]:
    pending = [first]
    while pending:
        sitemap = pending.pop(0)
        report.pages += 1
        try:
            root = ElementTree.fromstring(sitemap.body)
        except ElementTree.ParseError as error:
            raise HarvestError(f"{sitemap.url}: not a sitemap ({error})") from None
        locations = [e.text.strip() for e in root.iter(f"{SITEMAP_NS}loc") if e.text]
        if root.tag == f"{SITEMAP_NS}sitemapindex":
            for location in locations:
                fetched = fetcher.get(location, accept="application/xml, text/xml")
                if fetched is not None:
                    pending.append(fetched)
            continue
        for location in locations:
            try:
                page = fetcher.get(location, accept="text/html", conditional=conditional)
                if page is None:
                    report.unchanged_pages += 1
            except HarvestError as error:
                yield Rejection(Origin(location), str(error))
                continue
            if page is not None:
                yield from read_bytes(page.body, location, "html")


# -- change feeds -------------------------------------------------------------------------


def _harvest_changes(first: Fetched, graph: pyoxigraph.Store, fetcher: Fetcher, load, store: Any, loader: Loader, report: HarvestReport) -> None:
    page, triples = first, graph
    while True:
        report.pages += 1
        activities = _activities(triples)
        for sequence, kind, target in activities:
            if kind == "Delete":
                # The record harvested from this source under that IRI, whatever its slug here.
                held = store.find_records([Identity(source_of(page.url), target)])
                if held and store.delete(next(iter(held.values()))):
                    report.deleted += 1
            else:
                document = target.split("#", 1)[0]
                try:
                    fetched = fetcher.get(document, accept="application/n-quads, text/turtle;q=0.9", conditional=True)
                except HarvestError as error:
                    load([Rejection(Origin(document), str(error))])
                    continue
                if fetched is not None:
                    load(records_from_store(_parse(fetched), document))
            report.token = sequence
        following = _next_page(triples, page.url)
        latest = _latest_change(triples)
        if latest is not None and (report.token is None or latest > report.token) and not activities:
            report.token = latest
        if following is None:
            return
        fetched = fetcher.get(following)
        if fetched is None:
            return
        page, triples = fetched, _parse(fetched)


def _activities(page: pyoxigraph.Store) -> list[tuple[int, str, str]]:
    """(sequence, Create|Update|Delete, object IRI) of each activity on a feed page."""
    objects = {q.subject.value: q.object.value for q in _with(page, AS + "object")}
    found = []
    for activity, target in objects.items():
        kinds = [q.object.value[len(AS):] for q in page.quads_for_pattern(NamedNode(activity), NamedNode(RDF_TYPE), None) if q.object.value.startswith(AS)]
        sequences = [int(q.object.value) for q in page.quads_for_pattern(NamedNode(activity), None, None) if q.predicate.value.endswith("#changeSequence")]
        if kinds:
            found.append((sequences[0] if sequences else 0, kinds[0], target))
    return sorted(found)


def _is_change_feed(page: pyoxigraph.Store) -> bool:
    """A change feed lists activities, or (when empty) is a page with a latest-change
    token and no datasets."""
    if _with(page, AS + "object"):
        return True
    return _latest_change(page) is not None and not _with(page, "http://www.w3.org/ns/dcat#dataset")


def _latest_change(page: pyoxigraph.Store) -> int | None:
    for quad in page:
        if quad.predicate.value.endswith("#latestChange"):
            return int(quad.object.value)
    return None


# -- helpers ------------------------------------------------------------------------------


def _source_kind(url: str) -> str:
    path = urllib.parse.urlsplit(url).path.rstrip("/")
    if path.endswith("/sparql"):
        return "sparql"
    if path.endswith("/changes"):
        return "changes"
    return "catalog"


def _feed_url(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/changes"


def _with_since(url: str, since: Any) -> str:
    if since in (None, ""):
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}{urllib.parse.urlencode({'since': str(since)})}"


def _is_sitemap(fetched: Fetched) -> bool:
    head = fetched.body[:2048]
    return b"<urlset" in head or b"<sitemapindex" in head


def _parse(fetched: Fetched) -> pyoxigraph.Store:
    """The page's statements in an in-memory store (parsed in Rust, queried with SPARQL)."""
    syntax = RDF_MEDIA_TYPES.get(fetched.content_type)
    if syntax is None:
        syntax = sniff_syntax(fetched.body[:4096])
    if syntax is None:
        raise HarvestError(f"{fetched.url}: not RDF ({fetched.content_type})")
    page = pyoxigraph.Store()
    try:
        page.load(fetched.body, format=syntax, base_iri=fetched.url)
        return page
    except (SyntaxError, ValueError, OSError) as error:
        raise HarvestError(f"{fetched.url}: the RDF does not parse ({error})") from None


def _load_state(directory: Path | None) -> dict[str, Any]:
    if directory is None:
        return {}
    try:
        return json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def save_state(directory: Path | None, state: dict[str, Any]) -> None:
    if directory is None:
        return
    temporary = directory / f".{STATE_FILE}.tmp"
    temporary.write_text(json.dumps(state, indent=1), encoding="utf-8")
    temporary.replace(directory / STATE_FILE)
