"""The Flask application: content-negotiated documents, listings, and the write API.

Read paths go only through `graph` (the store and its search index) and `queries`;
writes go through the one loader. The application is created around an open store by
:func:`create_app`; the CLI's ``serve`` command runs it on a production WSGI server.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Callable

from flask import Flask, Response, abort, render_template, request
from pyoxigraph import Literal, NamedNode, Triple

from graph.catalogue import Catalogue
from graph.query_pool import QueryPool
from mappings.keys import is_slug
from mappings.terms import RDFS
from mappings.urls import Urls

from . import api, auth, documents, errors, federation, listing, params, sparql, views
from .cache import RepresentationCache, open_disk_cache, render_version, variant_key
from .documents import Document
from .dump import DumpFiles
from .http import document_headers, etag_for, not_modified, security_headers
from .negotiation import (
    FORMATS,
    SUFFIX_RULE,
    Format,
    NotAcceptable,
    UnknownProfile,
    choose_format,
    choose_profile,
    content_type,
    profiles,
    split_suffix,
)
from .prerender import BackgroundRenderer
from .representations import context, prefixes, serialise
from .sparql import SparqlSettings
from .void import VoidCache, void_triples

#: Syntaxes a whole record graph is written in by the store itself (JSON-LD is ours: it is
#: compacted with the published context and nested). N-Quads and TriG of a document are
#: written as their triple subsets (Format.triples_as).
STORE_SERIALISED = frozenset({"ttl", "nt", "rdf"})
#: Part of every ETag: changes with the rendering code (see cache.render_version).
RENDER_VERSION = render_version()


@dataclass(frozen=True)
class ServerSettings:
    base_url: str
    #: Bearer token for the write API; without one, writes are refused.
    token: str | None = None
    #: Largest request body accepted (bytes); larger ones get 413.
    max_body_bytes: int = 64 * 1024 * 1024
    #: Longest URL (path and query) accepted; longer ones get 414.
    max_url_bytes: int = 8192
    page_size: int = 20
    #: Datasets (with their whole descriptions) on one page of /catalog.
    catalog_page_size: int = 100
    #: URLs per sitemap (the protocol allows 50,000).
    sitemap_size: int = 50_000
    cache_bytes: int = 256 * 1024 * 1024
    #: SQLite file of rendered representations kept across restarts (None: memory only).
    cache_path: str | None = None
    #: Directory the dump file (/dump.nq.gz) is built in, once per store state (None: a
    #: temporary directory of this process).
    dump_dir: str | None = None
    #: Dumps built at once (for different store states); a request that would start
    #: another, or that finds its dump being built, gets 503 with Retry-After.
    dump_builds: int = 1


def create_app(
    store: Catalogue,
    settings: ServerSettings,
    pool: QueryPool | None = None,
    sparql_settings: SparqlSettings | None = None,
) -> Flask:
    """A Flask app publishing the catalogue *store* (its graphs, search index and change
    log) under ``settings.base_url``.

    With a query *pool* (graph.query_pool) the app also serves SPARQL at /sparql.
    """
    index = store.index
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.jinja_env.autoescape = True
    urls = Urls(settings.base_url)
    cache = RepresentationCache(settings.cache_bytes, open_disk_cache(settings.cache_path) if settings.cache_path else None)
    available_profiles = profiles(urls.base)
    app.extensions["studygraph"] = {"store": store, "settings": settings, "urls": urls, "cache": cache}
    errors.register(app, messages={413: f"request body larger than {settings.max_body_bytes} bytes"})
    # The token is checked before any view runs, so a refused request's body is never read.
    app.before_request(auth.guard(settings.token))

    @app.before_request
    def limit_url() -> Any:
        if len(request.full_path.encode()) > settings.max_url_bytes:
            return errors.answer(414, f"URL longer than {settings.max_url_bytes} bytes")
        return None

    @app.after_request
    def cors(response: Response) -> Response:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Expose-Headers"] = "Link, ETag, Content-Location, Vary"
        response.headers["X-Content-Type-Options"] = "nosniff"
        security_headers(response)
        return response

    def serve_document(load: Callable[[], Document | None], path: str, suffix: Format | None, offered=FORMATS) -> Response:
        try:
            profile = choose_profile(available_profiles, request.args.get("_profile"), request.headers.get("Accept-Profile"))
            chosen = choose_format(suffix, request.args.get("format"), request.headers.get("Accept"), offered)
        except UnknownProfile as error:
            raise params.ParameterError("_profile", f"unknown profile {params.quoted(str(error))}; ?_profile=alt lists the profiles") from None
        except NotAcceptable as error:
            return _not_acceptable(error)
        document = load()
        if document is None:
            return _not_found(chosen, path)
        if profile is None:
            return _alternates(document, chosen, available_profiles, urls)
        # A linked node's page lists studies from the search index, page by page: that
        # list is not in the node's statements, so its validator comes from the page itself.
        listed = chosen.name == "html" and document.kind not in ("item", "vocab")
        body = render(document, chosen, profile.token) if listed else None
        # A study published in several languages gets its page in the reader's language:
        # one variant (and ETag) per language chosen.
        language = views.page_language(document) if chosen.name == "html" and document.kind == "item" else None
        chosen_language = [f"lang={language}"] if language is not None else []
        etag = etag_for(RENDER_VERSION, document.version, chosen.variant, profile.token, *chosen_language, *([etag_for(body.decode())] if listed else []))
        response = Response(status=200, content_type=_content_type(chosen))
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
        if document.graph is not None and profile == "full" and chosen.written_as in STORE_SERIALISED:
            # A study's document in a plain syntax: Oxigraph writes it (N-Quads and TriG of
            # a document are its triples: Format.triples_as).
            return store.document_bytes(document.graph, chosen.written_as, prefixes(urls.base))
        triples = documents.select(document.triples, profile)
        if chosen.name == "html":
            return views.render_html(document, urls, index).encode()
        return serialise(triples, chosen.name, urls.base, root=document.thing, context_url=f"{urls.base}/context.jsonld")

    @app.route("/items/<key>", methods=["GET", "HEAD"])
    def study(key: str) -> Response:
        slug, suffix = split_suffix(key)
        if not is_slug(slug):
            found = is_slug(slug.lower()) and (documents.item(store, urls, slug.lower()) or documents.related(store, urls, slug.lower()))
            return _canonical(slug, suffix) if found else _not_found(suffix or FORMATS[0], request.path)
        document = documents.item(store, urls, slug)
        if document is None:
            gone = store.changes.deleted(slug) if store.changes is not None else None
            if gone is not None:
                response = _plain(f"/items/{slug} was deleted at {gone.time}\n", 410)
                response.headers["Vary"] = "Accept"
                return response
            document = documents.related(store, urls, slug)
        return serve_document(lambda: document, f"/items/{slug}", suffix)

    @app.route("/<segment>/<key>", methods=["GET", "HEAD"])
    def linked_node(segment: str, key: str) -> Response:
        if segment not in documents.NODE_SEGMENTS and segment not in documents.AUTHORITY_SEGMENTS:
            abort(404)
        key, suffix = split_suffix(key)
        if not is_slug(key):
            found = is_slug(key.lower()) and store.description_triples(documents.node_thing(urls, segment, key.lower()))
            return _canonical(key, suffix) if found else _not_found(suffix or FORMATS[0], request.path)
        page = params.page(request.args)
        return serve_document(lambda: documents.node(store, urls, segment, key, index, page), f"/{segment}/{key}", suffix)

    @app.route("/<segment>", methods=["GET", "HEAD"])
    def node_list(segment: str) -> Response:
        segment, suffix = split_suffix(segment)
        if segment not in documents.INDEX_KINDS:
            abort(404)
        page = params.page(request.args)
        return serve_document(lambda: documents.node_list(urls, index, segment, page), f"/{segment}", suffix)

    @app.route("/profiles/<key>", methods=["GET", "HEAD"])
    def profile_document(key: str) -> Response:
        token, suffix = split_suffix(key)
        return serve_document(lambda: documents.profile(urls, available_profiles, token), f"/profiles/{token}", suffix)

    def _canonical(key: str, suffix: Format | None) -> Response:
        """A permanent redirect to the canonical, lower-case form of a key: keys are
        matched without regard to case (``/countries/GBR``)."""
        path = request.path.rsplit("/", 1)[0] + "/" + key.lower() + (suffix.suffix if suffix else "")
        query = request.query_string.decode("latin-1")
        response = Response(status=301)
        response.headers["Location"] = path + (f"?{query}" if query else "")
        response.headers["Vary"] = "Accept"
        return response

    @app.route("/vocab", methods=["GET", "HEAD"])
    @app.route("/vocab" + SUFFIX_RULE, methods=["GET", "HEAD"])
    def vocab(ext: str | None = None) -> Response:
        _, suffix = split_suffix("vocab" + (ext or ""))
        return serve_document(lambda: documents.vocabulary(urls), "/vocab", suffix)

    @app.route("/catalog", methods=["GET", "HEAD"])
    @app.route("/catalog" + SUFFIX_RULE, methods=["GET", "HEAD"])
    def catalog(ext: str | None = None) -> Response:
        _, suffix = split_suffix("catalog" + (ext or ""))
        page = documents.CatalogPage(
            after=params.cursor(request.args, "after") or None,
            before=params.cursor(request.args, "before"),
            modified_since=params.optional_moment(request.args, "modified_since"),
        )
        return serve_document(lambda: documents.catalog(store, urls, index, page, settings.catalog_page_size), "/catalog", suffix)

    @app.route("/context.jsonld", methods=["GET", "HEAD"])
    def jsonld_context() -> Response:
        response = Response(json.dumps(context(urls.base), indent=1), content_type="application/ld+json")
        response.set_etag(etag_for(RENDER_VERSION, urls.base, "context"))
        return response

    @app.route("/", methods=["GET", "HEAD"])
    def home() -> Response:
        if index is None:
            return _plain("no search index\n", 503)
        counts = {name: index.facet_counts(name, limit=10) for name in listing.FACET_TITLES}
        body = render_template("home.html", total=index.count(), facets=listing.facet_links(request, counts))
        return Response(body, content_type="text/html; charset=utf-8")

    @app.route("/items", methods=["GET", "HEAD"])
    @app.route("/items" + SUFFIX_RULE, methods=["GET", "HEAD"])
    def items(ext: str | None = None) -> Response:
        _, suffix = split_suffix("items" + (ext or ""))
        try:
            chosen = choose_format(suffix, request.args.get("format"), request.headers.get("Accept"))
            search = listing.listing_params(request, settings.page_size)
        except NotAcceptable as error:
            return _not_acceptable(error)
        result = index.search(**search)
        path = "/items"
        if chosen.name == "html":
            kept = [(k, v) for k, v in request.args.items(multi=True) if k not in ("from", "to", "page")]
            alternates = [
                {"href": listing.page_url(f"{path}{f.suffix}", request, result.page), "media_type": f.media_type, "label": f.label}
                for f in FORMATS if f.rdf
            ]
            body = render_template(
                "items.html", result=result, search_text=search["text"], facets=listing.facet_links(request, result.facets),
                pager=views.pager(result.page, result.size, result.total), kept=kept, years=search["years"] or (None, None),
                decades=listing.decade_links(request, result.decades), formats=alternates,
            )
        else:
            triples = listing.hydra_triples(urls.base, request, result)
            body = serialise(triples, chosen.name, urls.base, root=f"{urls.base}{listing.page_url(path, request, None)}", context_url=f"{urls.base}/context.jsonld")
        response = Response(body, content_type=_content_type(chosen))
        response.headers["Vary"] = "Accept"
        response.headers["Content-Location"] = listing.page_url(f"{path}{chosen.suffix}", request, result.page)
        return response

    writes = threading.Lock()
    authorised = api.bearer_guard(settings.token)
    renderer = BackgroundRenderer(app)
    app.extensions["studygraph"]["renderer"] = renderer
    api.register(app, store=store, urls=urls, pool=pool, writes=writes, forget=cache.forget, written=renderer.add)

    dumps = DumpFiles(store, settings.dump_dir, builds=settings.dump_builds)
    app.extensions["studygraph"]["dumps"] = dumps
    federation.register(app, store=store, base_url=urls.base, not_acceptable=_not_acceptable, content_type=_content_type,
                        sitemap_size=settings.sitemap_size, dumps=dumps)
    void_cache = VoidCache(store, urls.base)

    @app.route("/.well-known/void", methods=["GET", "HEAD"])
    @app.route("/.well-known/void" + SUFFIX_RULE, methods=["GET", "HEAD"])
    def void(ext: str | None = None) -> Response:
        _, suffix = split_suffix("void" + (ext or ""))
        offered = tuple(f for f in FORMATS if f.rdf)
        try:
            chosen = choose_format(suffix, request.args.get("format"), request.headers.get("Accept") or "text/turtle", offered)
        except NotAcceptable as error:
            return _not_acceptable(error)
        figures = void_cache.figures()
        body = serialise(void_triples(figures, urls.base), chosen.name, urls.base,
                         root=f"{urls.base}/.well-known/void#dataset", context_url=f"{urls.base}/context.jsonld")
        response = Response(body, content_type=_content_type(chosen))
        response.set_etag(etag_for(RENDER_VERSION, "void", str(figures.state), chosen.variant))
        response.headers["Vary"] = "Accept"
        return response

    if pool is not None:
        sparql.register(
            app, store=store, pool=pool, settings=sparql_settings or SparqlSettings(), base_url=urls.base,
            authorised=authorised, writes=writes,
        )

    @app.errorhandler(404)
    def page_not_found(error: Exception) -> Response:
        return errors.answer(404, f"nothing is published at {request.path}")

    return app


_content_type = content_type


def _plain(text: str, status: int) -> Response:
    return errors.plain(text, status)


def _not_acceptable(error: NotAcceptable) -> Response:
    listing = "\n".join(f"{f.media_type} ({f.suffix}, ?format={f.name})" for f in error.offered)
    response = _plain(f"406 Not Acceptable: {error.reason}\nAvailable:\n{listing}\n", 406)
    response.headers["Vary"] = "Accept"
    return response


def _not_found(chosen: Format, path: str) -> Response:
    """404 in the format asked for, so a client parsing Turtle gets Turtle."""
    return errors.document_error(chosen, 404, f"nothing is published at {path}")


def _alternates(document: Document, chosen: Format, available, urls: Urls) -> Response:
    """``?_profile=alt``: the profiles this document is offered in."""
    if chosen.name == "html":
        body = render_template("profiles.html", document=document, profiles=available, base=urls.base)
        return Response(body, content_type="text/html; charset=utf-8")
    page = NamedNode(urls.base + document.path)
    triples = [Triple(page, NamedNode(documents.PROF + "hasProfile"), NamedNode(p.uri)) for p in available]
    triples += [Triple(NamedNode(p.uri), NamedNode(RDFS + "label"), Literal(p.title)) for p in available]
    body = serialise(triples, chosen.name, urls.base)
    return Response(body, content_type=_content_type(chosen))
