"""The feeds blueprint, for other catalogues: the change feed, the full dump, sitemaps,
robots.txt and the VoID description.

A harvester that has our whole catalogue keeps in step by reading ``/changes`` from the
last sequence number it saw (or from a time): each entry names a study, the kind of
change and when. Deleted studies answer 410 Gone at their URL, so a harvester that only
follows links learns of deletions too.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from flask import Blueprint, Response, render_template, request
from pyoxigraph import Literal, NamedNode, Triple

from studygraph.mappings.feed import ACTIVITIES, CHANGE_SEQUENCE, FEED_PATH, LATEST_CHANGE, OBJECT, PUBLISHED, SINCE_PARAMETER
from studygraph.mappings.namespaces import AS, HYDRA, RDF, XSD, vocab_namespace

from . import errors, params
from .document_responses import RENDER_VERSION
from .dump import DumpBusy
from .dump import send as send_dump
from .http import etag_for
from .negotiated import Asked, negotiated_route
from .negotiation import FORMATS, content_type
from .representations import serialise
from .services import current_services
from .void import void_triples

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
CHANGES_PAGE = 1000


blueprint = Blueprint("feeds", __name__)


@negotiated_route(blueprint, "/changes")
def changes(asked: Asked) -> Response:
    services = current_services()
    store, base_url = services.store, services.urls.base
    chosen = asked.format()
    after, time = params.since(request.args)
    # The page's own IRI names where it starts in canonical form (a date as UTC).
    since = time if time is not None else str(after) if (request.args.get("since") or "").strip() else ""
    log = store.changes
    entries = log.since(after=after, time=time, limit=CHANGES_PAGE) if log is not None else []
    latest = log.latest() if log is not None else 0
    if chosen.name == "html":
        body: str | bytes = render_template("changes.html", entries=entries, latest=latest, since=since,
                               next=f"/changes?since={entries[-1].sequence}" if len(entries) == CHANGES_PAGE else None)
    else:
        body = serialise(change_triples(base_url, since, entries, latest), chosen.name, base_url)
    response = Response(body, content_type=content_type(chosen))
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "no-cache"
    return response


@blueprint.route("/dump.nq.gz", methods=["GET", "HEAD"])
def dump() -> Response:
    """The whole dataset as gzipped N-Quads: a file per store state (server.dump)."""
    dumps = current_services().dumps
    try:
        current = dumps.current()
    except DumpBusy as busy:
        return errors.answer(503, f"{busy}: the dump of the store's current state is being built",
                             headers={"Retry-After": str(busy.retry_after)})
    return send_dump(current)


@blueprint.route("/sitemap.xml")
def sitemap_index() -> Response:
    """A sitemap index: one sitemap per 50,000 studies (the sitemap protocol's limit)."""
    services = current_services()
    store, base_url, sitemap_size = services.store, services.urls.base, services.settings.sitemap_size
    index = store.index
    count = index.count() if index is not None else 0
    parts = max(1, -(-count // sitemap_size))
    entries = "".join(f"<sitemap><loc>{escape(base_url)}/sitemap-{n}.xml</loc></sitemap>" for n in range(parts))
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{SITEMAP_NS}">{entries}</sitemapindex>\n'
    return Response(body, content_type="application/xml; charset=utf-8")


@blueprint.route("/sitemap-<part>.xml")
def sitemap(part: str) -> Response:
    services = current_services()
    store, base_url, sitemap_size = services.store, services.urls.base, services.settings.sitemap_size
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


@blueprint.route("/robots.txt")
def robots() -> Response:
    base_url = current_services().urls.base
    return Response(f"User-agent: *\nDisallow: /sparql\nDisallow: /api/\nSitemap: {base_url}/sitemap.xml\n", content_type="text/plain; charset=utf-8")


@negotiated_route(blueprint, "/.well-known/void")
def void(asked: Asked) -> Response:
    """The VoID description, figures computed once per store state (server.void)."""
    services = current_services()
    urls, void_cache = services.urls, services.void
    offered = tuple(f for f in FORMATS if f.rdf)
    chosen = asked.format(offered, default_accept="text/turtle")
    figures = void_cache.figures()
    body = serialise(void_triples(figures, urls.base), chosen.name, urls.base,
                     root=f"{urls.base}/.well-known/void#dataset", context_url=f"{urls.base}/context.jsonld")
    response = Response(body, content_type=content_type(chosen))
    response.set_etag(etag_for(RENDER_VERSION, "void", str(figures.state), chosen.variant))
    response.headers["Vary"] = "Accept"
    return response


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
