"""The documents blueprint: one URL per study and per linked node, the profiles, the
vocabulary and the JSON-LD context, each negotiated (server.negotiated) and served by
:func:`server.document_responses.serve_document`.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, request

from studygraph.mappings.keys import is_slug
from studygraph.mappings.validation import results_from_json

from . import auth, documents, errors, params, views
from .document_responses import RENDER_VERSION, not_found, serve_document
from .http import etag_for
from .negotiated import Asked, negotiated_route
from .negotiation import FORMATS, Format
from .representations import context
from .services import current_services

blueprint = Blueprint("documents", __name__)


@negotiated_route(blueprint, "/items/<slug>")
def study(slug: str, asked: Asked) -> Response:
    services = current_services()
    store, urls = services.store, services.urls
    suffix = asked.suffix
    if not is_slug(slug):
        found = is_slug(slug.lower()) and (documents.item(store, urls, slug.lower()) or documents.related(store, urls, slug.lower()))
        return _canonical(slug, suffix) if found else not_found(suffix or FORMATS[0], request.path)
    document = documents.item(store, urls, slug)
    if document is None:
        gone = store.changes.deleted(slug) if store.changes is not None else None
        if gone is not None:
            response = errors.plain(f"/items/{slug} was deleted at {gone.time}\n", 410)
            response.headers["Vary"] = "Accept"
            return response
        document = documents.related(store, urls, slug)
    if document is not None and document.kind == "item" and _holds_token() and asked.format().name == "html":
        return _page_with_findings(document, slug)
    return serve_document(lambda: document, f"/items/{slug}", asked)


def _holds_token() -> bool:
    token = current_services().settings.token
    return token is not None and auth.carries(request.headers.get("Authorization"), token)


def _page_with_findings(document: documents.Document, slug: str) -> Response:
    """A study's page for a holder of the write token: with the profile's findings kept
    for it. Private: never cached, by us or on the way."""
    services = current_services()
    kept = services.index.findings(slug) if services.index is not None else None
    body = views.render_html(document, services.urls, services.index, findings=results_from_json(kept))
    response = Response(body, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Vary"] = "Accept, Authorization"
    return response


@negotiated_route(blueprint, "/<segment>/<key>")
def linked_node(segment: str, key: str, asked: Asked) -> Response:
    services = current_services()
    store, urls, index = services.store, services.urls, services.index
    suffix = asked.suffix
    if segment not in documents.NODE_SEGMENTS and segment not in documents.AUTHORITY_SEGMENTS:
        abort(404)
    if not is_slug(key):
        found = is_slug(key.lower()) and store.description_triples(documents.node_thing(urls, segment, key.lower()))
        return _canonical(key, suffix) if found else not_found(suffix or FORMATS[0], request.path)
    page = params.page(request.args)
    return serve_document(lambda: documents.node(store, urls, segment, key, index, page), f"/{segment}/{key}", asked)


@negotiated_route(blueprint, "/profiles/<token>")
def profile_document(token: str, asked: Asked) -> Response:
    services = current_services()
    urls, available_profiles = services.urls, services.profiles
    return serve_document(lambda: documents.profile(urls, available_profiles, token), f"/profiles/{token}", asked)


def _canonical(key: str, suffix: Format | None) -> Response:
    """A permanent redirect to the canonical, lower-case form of a key: keys are
    matched without regard to case (``/countries/GBR``)."""
    path = request.path.rsplit("/", 1)[0] + "/" + key.lower() + (suffix.suffix if suffix else "")
    query = request.query_string.decode("latin-1")
    response = Response(status=301)
    response.headers["Location"] = path + (f"?{query}" if query else "")
    response.headers["Vary"] = "Accept"
    return response


@negotiated_route(blueprint, "/vocab")
def vocab(asked: Asked) -> Response:
    urls = current_services().urls
    return serve_document(lambda: documents.vocabulary(urls), "/vocab", asked)


@blueprint.route("/context.jsonld", methods=["GET", "HEAD"])
def jsonld_context() -> Response:
    urls = current_services().urls
    response = Response(json.dumps(context(urls.base), indent=1), content_type="application/ld+json")
    response.set_etag(etag_for(RENDER_VERSION, urls.base, "context"))
    return response
