"""The answer for a document URL: profile and format chosen, validators, the cache, the body.

Every document — a study, a linked node, a list of nodes, a page of /catalog, a profile,
the vocabulary — is served by :func:`serve_document`, so they all negotiate, validate
(ETag, Last-Modified, 304) and cache alike, whichever blueprint routes to them.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, render_template, request
from pyoxigraph import Literal, NamedNode, Triple

from studygraph.mappings.namespaces import RDFS
from studygraph.mappings.urls import Urls

from . import documents, errors, params, views
from .cache import render_version, variant_key
from .documents import Document
from .http import document_headers, etag_for, not_modified
from .negotiated import Asked
from .negotiation import FORMATS, Format, UnknownProfile, choose_profile, content_type
from .representations import prefixes, serialise
from .services import current_services

#: Syntaxes a whole record graph is written in by the store itself (JSON-LD is ours: it is
#: compacted with the published context and nested). N-Quads and TriG of a document are
#: written as their triple subsets (Format.triples_as).
STORE_SERIALISED = frozenset({"ttl", "nt", "rdf"})
#: Part of every ETag: changes with the rendering code (see cache.render_version).
RENDER_VERSION = render_version()


def serve_document(load: Callable[[], Document | None], path: str, asked: Asked, offered=FORMATS) -> Response:
    """The representation of the document *load* reads, at *path*, in the format and
    profile the request asks for (404 in that format when there is no such document)."""
    services = current_services()
    available_profiles, urls, cache = services.profiles, services.urls, services.cache
    try:
        profile = choose_profile(available_profiles, request.args.get("_profile"), request.headers.get("Accept-Profile"))
        chosen = asked.format(offered)
    except UnknownProfile as error:
        raise params.ParameterError("_profile", f"unknown profile {params.quoted(str(error))}; ?_profile=alt lists the profiles") from None
    document = load()
    if document is None:
        return not_found(chosen, path)
    if profile is None:
        return _alternates(document, chosen, available_profiles, urls)
    # A linked node's page lists studies from the search index, page by page: that
    # list is not in the node's statements, so its validator comes from the page itself.
    listed = chosen.name == "html" and document.kind not in ("item", "vocab", "shapes", "validation")
    body = render(document, chosen, profile.token) if listed else None
    # A study published in several languages gets its page in the reader's language:
    # one variant (and ETag) per language chosen.
    language = views.page_language(document) if chosen.name == "html" and document.kind == "item" else None
    chosen_language = [f"lang={language}"] if language is not None else []
    etag = etag_for(RENDER_VERSION, document.version, chosen.variant, profile.token, *chosen_language, *([etag_for(body.decode())] if body is not None else []))
    response = Response(status=200, content_type=content_type(chosen))
    document_headers(
        response, path=path, chosen=chosen, offered=offered, profile=profile, etag=etag,
        modified=document.modified, cite_as=document.cite_as, base_url=urls.base,
    )
    if language is not None:
        response.headers["Vary"] += ", Accept-Language"
    if not_modified(request, etag, document.modified):
        response.status_code = 304
        return response
    if body is None:
        variant = variant_key(path, chosen.variant, profile.token, *chosen_language)
        body = cache.get(variant, etag)
        response.headers["X-Cache"] = "HIT" if body is not None else "MISS"
        if body is None:
            body = render(document, chosen, profile.token)
            # A page of /catalog changes with every write and every cursor: kept in
            # memory for a harvest in progress, not worth a row on disk.
            cache.put(variant, etag, body, persist=document.kind != "catalog")
    response.set_data(body)
    return response


def render(document: Document, chosen: Format, profile: str) -> bytes:
    """The body of *document* in *chosen* and *profile*."""
    services = current_services()
    store, urls, index = services.store, services.urls, services.index
    if document.graph is not None and profile == "full" and chosen.written_as in STORE_SERIALISED:
        # A study's document in a plain syntax: Oxigraph writes it (N-Quads and TriG of
        # a document are its triples: Format.triples_as).
        return store.document_bytes(document.graph, chosen.written_as, prefixes(urls.base))
    triples = documents.select(document.triples, profile)
    if chosen.name == "html":
        return views.render_html(document, urls, index).encode()
    return serialise(triples, chosen.name, urls.base, root=document.thing, context_url=f"{urls.base}/context.jsonld")


def not_found(chosen: Format, path: str) -> Response:
    """404 in the format asked for, so a client parsing Turtle gets Turtle."""
    return errors.document_error(chosen, 404, f"nothing is published at {path}")


def _alternates(document: Document, chosen: Format, available, urls: Urls) -> Response:
    """``?_profile=alt``: the profiles this document is offered in."""
    if chosen.name == "html":
        body: str | bytes = render_template("profiles.html", document=document, profiles=available, base=urls.base)
        return Response(body, content_type="text/html; charset=utf-8")
    page = NamedNode(urls.base + document.path)
    triples = [Triple(page, NamedNode(documents.PROF + "hasProfile"), NamedNode(p.uri)) for p in available]
    triples += [Triple(NamedNode(p.uri), NamedNode(RDFS + "label"), Literal(p.title)) for p in available]
    body = serialise(triples, chosen.name, urls.base)
    return Response(body, content_type=content_type(chosen))
