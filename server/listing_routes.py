"""The listings blueprint: the home page, ``/items`` (search, facets, paging), the lists
of each kind of node (``/keywords``) and the paged ``dcat:Catalog`` at ``/catalog``.

Listings read the search index beside the graph (server.listing builds their parts);
the node lists and the catalogue are documents, served like every other
(server.document_responses).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request

from . import documents, errors, listing, params, views
from .document_responses import serve_document
from .negotiated import Asked, negotiated_route
from .negotiation import FORMATS, content_type
from .representations import serialise
from .services import current_services

blueprint = Blueprint("listings", __name__)


@negotiated_route(blueprint, "/<segment>")
def node_list(segment: str, asked: Asked) -> Response:
    services = current_services()
    urls, index = services.urls, services.index
    if segment not in documents.INDEX_KINDS:
        abort(404)
    page = params.page(request.args)
    return serve_document(lambda: documents.node_list(urls, index, segment, page), f"/{segment}", asked)


@negotiated_route(blueprint, "/catalog")
def catalog(asked: Asked) -> Response:
    services = current_services()
    store, urls, index, settings = services.store, services.urls, services.index, services.settings
    page = documents.CatalogPage(
        after=params.cursor(request.args, "after") or None,
        before=params.cursor(request.args, "before"),
        modified_since=params.optional_moment(request.args, "modified_since"),
    )
    return serve_document(lambda: documents.catalog(store, urls, index, page, settings.catalog_page_size), "/catalog", asked)


@blueprint.route("/", methods=["GET", "HEAD"])
def home() -> Response:
    index = current_services().index
    if index is None:
        return errors.plain("no search index\n", 503)
    counts = {name: index.facet_counts(name, limit=10) for name in listing.FACET_TITLES}
    body = render_template("home.html", total=index.count(), facets=listing.facet_links(request, counts))
    return Response(body, content_type="text/html; charset=utf-8")


@negotiated_route(blueprint, "/items")
def items(asked: Asked) -> Response:
    services = current_services()
    urls, index, settings = services.urls, services.index, services.settings
    chosen = asked.format()
    search = listing.listing_params(request, settings.page_size)
    if index is None:  # (answered as any failure is: a 500)
        raise RuntimeError("no search index to list /items from")
    result = index.search(**search)
    path = "/items"
    if chosen.name == "html":
        kept = [(k, v) for k, v in request.args.items(multi=True) if k not in ("from", "to", "page")]
        alternates = [
            {"href": listing.page_url(f"{path}{f.suffix}", request, result.page), "media_type": f.media_type, "label": f.label}
            for f in FORMATS if f.rdf
        ]
        body: str | bytes = render_template(
            "items.html", result=result, search_text=search["text"], facets=listing.facet_links(request, result.facets),
            pager=views.pager(result.page, result.size, result.total), kept=kept, years=search["years"] or (None, None),
            decades=listing.decade_links(request, result.decades), formats=alternates,
        )
    else:
        triples = listing.hydra_triples(urls.base, request, result)
        body = serialise(triples, chosen.name, urls.base, root=f"{urls.base}{listing.page_url(path, request, None)}", context_url=f"{urls.base}/context.jsonld")
    response = Response(body, content_type=content_type(chosen))
    response.headers["Vary"] = "Accept"
    response.headers["Content-Location"] = listing.page_url(f"{path}{chosen.suffix}", request, result.page)
    return response
