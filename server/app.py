"""The Flask application: content-negotiated documents, listings, feeds, SPARQL and the
write API, one blueprint per page kind.

Read paths go only through `graph` (the store and its search index) and `queries`;
writes go through the one loader. The application is created around an open store by
:func:`create_app`; the CLI's ``serve`` command runs it on a production WSGI server.
"""

from __future__ import annotations

import threading

from flask import Flask, Response, request

from studygraph.graph.catalogue import Catalogue
from studygraph.graph.query_runner import QueryRunner
from studygraph.mappings.urls import Urls

from . import api, auth, document_routes, errors, federation, listing_routes, quality, sparql
from .cache import RepresentationCache, open_disk_cache
from .dump import DumpFiles
from .http import security_headers
from .negotiation import profiles
from .prerender import BackgroundRenderer
from .services import EXTENSION, Services, current_services
from .settings import ServerSettings
from .sparql import SparqlSettings
from .void import VoidCache

__all__ = ["ServerSettings", "create_app", "stop_background_work"]


def create_app(
    store: Catalogue,
    settings: ServerSettings,
    pool: QueryRunner | None = None,
    sparql_settings: SparqlSettings | None = None,
) -> Flask:
    """A Flask app publishing the catalogue *store* (its graphs, search index and change
    log) under ``settings.base_url``.

    With a query *pool* (graph.query_pool) the app also serves SPARQL at /sparql.
    """
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.jinja_env.autoescape = True
    urls = Urls(settings.base_url)
    cache = RepresentationCache(settings.cache_bytes, open_disk_cache(settings.cache_path) if settings.cache_path else None)
    app.extensions[EXTENSION] = Services(
        store=store, index=store.index, settings=settings, urls=urls, cache=cache, profiles=profiles(urls.base),
        writes=threading.Lock(), renderer=BackgroundRenderer(app),
        dumps=DumpFiles(store, settings.dump_dir, builds=settings.dump_builds), void=VoidCache(store, urls.base),
        sparql=sparql_settings or SparqlSettings(), pool=pool,
    )
    errors.register(app, messages={413: f"request body larger than {settings.max_body_bytes} bytes"})
    app.register_error_handler(404, _nothing_published)
    # The token is checked before any view runs, so a refused request's body is never read.
    app.before_request(auth.guard(settings.token))
    app.before_request(_limit_url)
    app.after_request(_cors)
    for blueprint in (document_routes.blueprint, listing_routes.blueprint, quality.blueprint, api.blueprint, federation.blueprint):
        app.register_blueprint(blueprint)
    if pool is not None:
        app.register_blueprint(sparql.blueprint)
    return app


def stop_background_work(app: Flask, seconds: float = 10.0) -> bool:
    """Stop what *app* does on threads of its own (studies rendered after a write, VoID
    figures), waiting up to *seconds* for each: called before the store is closed, so no
    thread reads a closed store while the process exits. False if one was still busy."""
    services: Services = app.extensions[EXTENSION]
    rendered = services.renderer.close(seconds)
    counted = services.void.close(seconds)
    return rendered and counted


def _limit_url() -> Response | None:
    """414 for a URL longer than the settings allow, before any view reads it."""
    max_url_bytes = current_services().settings.max_url_bytes
    if len(request.full_path.encode()) > max_url_bytes:
        return errors.answer(414, f"URL longer than {max_url_bytes} bytes")
    return None


def _cors(response: Response) -> Response:
    """Every read may be made from any origin; every answer gets the security headers."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "Link, ETag, Content-Location, Vary"
    response.headers["X-Content-Type-Options"] = "nosniff"
    security_headers(response)
    return response


def _nothing_published(error: Exception) -> Response:
    return errors.answer(404, f"nothing is published at {request.path}")
