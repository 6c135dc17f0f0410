"""Feeds for other catalogues: the change feed, the full dump, sitemaps, robots.txt.

A harvester that has our whole catalogue keeps in step by reading ``/changes`` from the
last sequence number it saw (or from a time): each entry names a study, the kind of
change and when. Deleted studies answer 410 Gone at their URL, so a harvester that only
follows links learns of deletions too.
"""

from __future__ import annotations

from typing import Any

from xml.sax.saxutils import escape

from flask import Flask, Response, render_template, request
from pyoxigraph import Literal, NamedNode, Triple

from mappings.feed import ACTIVITIES, CHANGE_SEQUENCE, FEED_PATH, LATEST_CHANGE, OBJECT, PUBLISHED, SINCE_PARAMETER
from mappings.namespaces import AS, HYDRA, RDF, XSD, vocab_namespace

from . import errors, params
from .dump import DumpBusy, DumpFiles
from .dump import send as send_dump
from .negotiation import SUFFIX_RULE, NotAcceptable, choose_format, split_suffix
from .representations import serialise

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
CHANGES_PAGE = 1000


SITEMAP_SIZE = 50_000


def register(app: Flask, *, store: Any, base_url: str, not_acceptable, content_type, dumps: DumpFiles,
             sitemap_size: int = SITEMAP_SIZE) -> None:
    @app.route("/changes", methods=["GET", "HEAD"])
    @app.route("/changes" + SUFFIX_RULE, methods=["GET", "HEAD"])
    def changes(ext: str | None = None) -> Response:
        _, suffix = split_suffix("changes" + (ext or ""))
        try:
            chosen = choose_format(suffix, request.args.get("format"), request.headers.get("Accept"))
        except NotAcceptable as error:
            return not_acceptable(error)
        after, time = params.since(request.args)
        # The page's own IRI names where it starts in canonical form (a date as UTC).
        since = time if time is not None else str(after) if (request.args.get("since") or "").strip() else ""
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
        """The whole dataset as gzipped N-Quads: a file per store state (server.dump)."""
        try:
            current = dumps.current()
        except DumpBusy as busy:
            return errors.answer(503, f"{busy}: the dump of the store's current state is being built",
                                 headers={"Retry-After": str(busy.retry_after)})
        return send_dump(current)

    @app.route("/sitemap.xml")
    def sitemap_index() -> Response:
        """A sitemap index: one sitemap per 50,000 studies (the sitemap protocol's limit)."""
        index = store.index
        count = index.count() if index is not None else 0
        parts = max(1, -(-count // sitemap_size))
        entries = "".join(f"<sitemap><loc>{escape(base_url)}/sitemap-{n}.xml</loc></sitemap>" for n in range(parts))
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">{entries}</sitemapindex>\n'
        return Response(body, content_type="application/xml; charset=utf-8")

    @app.route("/sitemap-<part>.xml")
    def sitemap(part: str) -> Response:
        number = params.sitemap_number(part)
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
    page = NamedNode(f"{base_url}{FEED_PATH}" + (f"?{SINCE_PARAMETER}={since}" if since else ""))
    a = NamedNode(RDF + "type")
    triples = [
        Triple(page, a, NamedNode(HYDRA + "PartialCollectionView")),
        Triple(page, NamedNode(vocab_namespace(base_url) + LATEST_CHANGE), Literal(str(latest), datatype=NamedNode(XSD + "integer"))),
    ]
    if len(entries) == CHANGES_PAGE:
        triples.append(Triple(page, NamedNode(HYDRA + "next"), NamedNode(f"{base_url}{FEED_PATH}?{SINCE_PARAMETER}={entries[-1].sequence}")))
    for entry in entries:
        activity = NamedNode(f"{base_url}{FEED_PATH}#{entry.sequence}")
        triples += [
            Triple(page, NamedNode(HYDRA + "member"), activity),
            Triple(activity, a, NamedNode(AS + ACTIVITIES[entry.kind])),
            Triple(activity, NamedNode(OBJECT), NamedNode(f"{base_url}/items/{entry.slug}#id")),
            Triple(activity, NamedNode(PUBLISHED), Literal(entry.time, datatype=NamedNode(XSD + "dateTime"))),
            Triple(activity, NamedNode(vocab_namespace(base_url) + CHANGE_SEQUENCE), Literal(str(entry.sequence), datatype=NamedNode(XSD + "integer"))),
        ]
    return triples
