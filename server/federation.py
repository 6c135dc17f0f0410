"""Feeds for other catalogues: the change feed, the full dump, sitemaps, robots.txt.

A harvester that has our whole catalogue keeps in step by reading ``/changes`` from the
last sequence number it saw (or from a time): each entry names a study, the kind of
change and when. Deleted studies answer 410 Gone at their URL, so a harvester that only
follows links learns of deletions too.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import queue
import threading
from typing import Any, Iterator

from xml.sax.saxutils import escape

from flask import Flask, Response, render_template, request
from pyoxigraph import Literal, NamedNode, Triple

from mappings.terms import RDF, XSD

from .documents import HYDRA
from .negotiation import SUFFIX_RULE, NotAcceptable, choose_format, split_suffix
from .representations import serialise

AS = "https://www.w3.org/ns/activitystreams#"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
ACTIVITY = {"created": "Create", "replaced": "Update", "deleted": "Delete"}
CHANGES_PAGE = 1000


SITEMAP_SIZE = 50_000


def register(app: Flask, *, store: Any, base_url: str, not_acceptable, content_type, sitemap_size: int = SITEMAP_SIZE) -> None:
    @app.route("/changes", methods=["GET", "HEAD"])
    @app.route("/changes" + SUFFIX_RULE, methods=["GET", "HEAD"])
    def changes(ext: str | None = None) -> Response:
        _, suffix = split_suffix("changes" + (ext or ""))
        try:
            chosen = choose_format(suffix, request.args.get("format"), request.headers.get("Accept"))
        except NotAcceptable as error:
            return not_acceptable(error)
        since = (request.args.get("since") or "").strip()
        after, time = 0, None
        if since.isdigit():
            after = int(since)
        elif since:
            try:
                moment = dt.datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError:
                return Response("since= takes a change token (a number) or an ISO date/datetime\n", 400, content_type="text/plain; charset=utf-8")
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.timezone.utc)
            time = moment.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        log = store.changes
        entries = log.since(after=after, time=time, limit=CHANGES_PAGE) if log is not None else []
        latest = log.latest() if log is not None else 0
        if chosen.name == "html":
            body = render_template("changes.html", entries=entries, latest=latest, since=since,
                                   next=f"/changes?since={entries[-1].sequence}" if len(entries) == CHANGES_PAGE else None)
        else:
            body = serialise(change_triples(base_url, since, entries, latest), chosen.name, base_url)
        response = Response(body, content_type=content_type(chosen))
        response.headers["Vary"] = "Accept"
        response.headers["Cache-Control"] = "no-cache"
        return response

    @app.route("/dump.nq.gz", methods=["GET", "HEAD"])
    def dump() -> Response:
        """The whole dataset as gzipped N-Quads, streamed as it is written."""
        if request.method == "HEAD":
            return Response(content_type="application/n-quads", headers={"Content-Encoding": "gzip"})
        response = Response(_gzipped_export(store), content_type="application/gzip")
        response.headers["Content-Disposition"] = 'attachment; filename="dump.nq.gz"'
        return response

    @app.route("/sitemap.xml")
    def sitemap_index() -> Response:
        """A sitemap index: one sitemap per 50,000 studies (the sitemap protocol's limit)."""
        index = store.index
        count = index.count() if index is not None else 0
        parts = max(1, -(-count // sitemap_size))
        entries = "".join(f"<sitemap><loc>{escape(base_url)}/sitemap-{n}.xml</loc></sitemap>" for n in range(parts))
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">{entries}</sitemapindex>\n'
        return Response(body, content_type="application/xml; charset=utf-8")

    @app.route("/sitemap-<int:number>.xml")
    def sitemap(number: int) -> Response:
        index = store.index
        rows = index.sitemap_page(number, sitemap_size) if index is not None else []
        if not rows and number > 0:
            return Response("no such sitemap\n", 404, content_type="text/plain; charset=utf-8")
        entries = "".join(
            f"<url><loc>{escape(base_url)}/items/{escape(slug)}</loc><lastmod>{escape(modified)}</lastmod></url>"
            for slug, modified in rows
        )
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{SITEMAP_NS}">{entries}</urlset>\n'
        return Response(body, content_type="application/xml; charset=utf-8")

    @app.route("/robots.txt")
    def robots() -> Response:
        return Response(f"User-agent: *\nDisallow: /sparql\nDisallow: /api/\nSitemap: {base_url}/sitemap.xml\n", content_type="text/plain; charset=utf-8")


def change_triples(base_url: str, since: str, entries: list, latest: int) -> list[Triple]:
    """A page of the change feed: Activity Streams activities, Hydra paging by token."""
    page = NamedNode(f"{base_url}/changes" + (f"?since={since}" if since else ""))
    a = NamedNode(RDF + "type")
    triples = [
        Triple(page, a, NamedNode(HYDRA + "PartialCollectionView")),
        Triple(page, NamedNode(f"{base_url}/vocab#latestChange"), Literal(str(latest), datatype=NamedNode(XSD + "integer"))),
    ]
    if len(entries) == CHANGES_PAGE:
        triples.append(Triple(page, NamedNode(HYDRA + "next"), NamedNode(f"{base_url}/changes?since={entries[-1].sequence}")))
    for entry in entries:
        activity = NamedNode(f"{base_url}/changes#{entry.sequence}")
        triples += [
            Triple(page, NamedNode(HYDRA + "member"), activity),
            Triple(activity, a, NamedNode(AS + ACTIVITY[entry.kind])),
            Triple(activity, NamedNode(AS + "object"), NamedNode(f"{base_url}/items/{entry.slug}#id")),
            Triple(activity, NamedNode(AS + "published"), Literal(entry.time, datatype=NamedNode(XSD + "dateTime"))),
            Triple(activity, NamedNode(f"{base_url}/vocab#changeSequence"), Literal(str(entry.sequence), datatype=NamedNode(XSD + "integer"))),
        ]
    return triples


def _gzipped_export(store: Any) -> Iterator[bytes]:
    """Run the export in a thread, gzip it, and yield the compressed bytes as they come."""
    chunks: queue.Queue[bytes | None | BaseException] = queue.Queue(maxsize=16)
    cancelled = threading.Event()

    class Pipe(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data) -> int:
            if cancelled.is_set():
                raise BrokenPipeError("the client went away")
            chunks.put(bytes(data))
            return len(data)

    def produce() -> None:
        try:
            with gzip.GzipFile(fileobj=Pipe(), mode="wb", compresslevel=6) as compressed:
                store.export(io.BufferedWriter(_Forward(compressed), buffer_size=1 << 20), "nq")
            chunks.put(None)
        except BaseException as error:  # handed to the consumer
            chunks.put(error)

    threading.Thread(target=produce, name="dump", daemon=True).start()
    try:
        while True:
            item = chunks.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        cancelled.set()
        while not chunks.empty():
            chunks.get_nowait()


class _Forward(io.RawIOBase):
    """A raw stream that forwards writes to another file object (the gzip writer)."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.target.write(data)
        return len(data)
