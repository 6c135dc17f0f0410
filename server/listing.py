"""Listings: the home page and ``/items`` (text search, facets, paging), in HTML and RDF.

Listings read the search index that sits beside the graph; their RDF forms are Hydra
collections with paging links, so a client can walk every page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Request
from pyoxigraph import Literal, NamedNode, Triple

from studygraph.mappings.namespaces import DCT, SCHEMA
from studygraph.mappings.node_kinds import LINKED_KINDS
from studygraph.mappings.validation import QUALITY_KIND, RULE_KIND

from . import params
from .documents import HYDRA, hydra_view

#: Facets offered, in display order, with their headings.
FACET_TITLES = {
    "keyword": "Keywords",
    "sponsor": "Sponsors and funders",
    "catalogue": "Catalogues",
    "source": "Sources",
    "country": "Countries",
    "study-design": "Study designs",
    # The profile's findings kept for each study (mappings.validation): /validation.
    QUALITY_KIND: "Quality",
    RULE_KIND: "Rules broken",
}
#: Page segment of the node each facet's keys name.
FACET_SEGMENTS = {kind.facet: kind.segment for kind in LINKED_KINDS if kind.facet is not None}


def facet_page(name: str, key: str) -> str:
    """The page about a facet's value: a node's page, a rule's shape, or /validation."""
    if name == RULE_KIND:
        return f"/shapes#{key}"
    if name == QUALITY_KIND:
        return "/validation"
    return f"/{FACET_SEGMENTS[name]}/{key}"
MAX_QUERY_CHARS = 500


def listing_params(request: Request, page_size: int) -> dict[str, Any]:
    """The search parameters of a request, validated (server.params: a bad page or year
    is a 400 naming it)."""
    text = (request.args.get("q") or "").strip()[:MAX_QUERY_CHARS] or None
    filters = {name: [v[:200] for v in request.args.getlist(name)[:20] if v] for name in FACET_TITLES}
    filters = {k: v for k, v in filters.items() if v}
    page = params.page(request.args)
    years = (params.year(request.args, "from"), params.year(request.args, "to"))
    return {"text": text, "filters": filters, "years": years if any(y is not None for y in years) else None, "page": page, "size": page_size}


def page_url(path: str, request: Request, page: int | None) -> str:
    """The URL of a page of this listing (*page* None: the collection, no page number)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "format")]
    if page is not None:
        args.append(("page", str(page)))
    return path + ("?" + urlencode(args) if args else "")


def hydra_triples(base_url: str, request: Request, result: Any) -> list[Triple]:
    """The page as a Hydra collection with a partial view: first/previous/next/last."""
    query = urlencode([(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "format")])
    triples = hydra_view(f"{base_url}/items", result.page, result.size, result.total, query)
    collection = triples[0].subject
    for hit in result.hits:
        member = NamedNode(f"{base_url}/items/{hit.slug}#id")
        triples += [
            Triple(collection, NamedNode(HYDRA + "member"), member),
            Triple(member, NamedNode(DCT + "title"), Literal(hit.title)),
            Triple(member, NamedNode(SCHEMA + "name"), Literal(hit.title)),
        ]
    return triples


def decade_links(request: Request, decades: list[Any]) -> list[dict[str, Any]]:
    """The years facet as links that narrow the listing to a decade (or widen it again)."""
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "from", "to")]
    chosen = (request.args.get("from"), request.args.get("to"))
    links = []
    for decade in decades:
        span = (str(decade.decade), str(decade.decade + 9))
        args = kept if chosen == span else [*kept, ("from", span[0]), ("to", span[1])]
        links.append({
            "label": f"{decade.decade}s",
            "count": decade.count,
            "href": "/items" + ("?" + urlencode(args) if args else ""),
            "chosen": chosen == span,
        })
    return links


def facet_links(request: Request, facets: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Facet values as links that add (or remove) a filter, for the HTML page."""
    groups = []
    for name, title in FACET_TITLES.items():
        chosen = set(request.args.getlist(name))
        values = []
        for facet in facets.get(name, []):
            args = [(k, v) for k, v in request.args.items(multi=True) if k != "page"]
            if facet.key in chosen:
                args = [(k, v) for k, v in args if not (k == name and v == facet.key)]
            else:
                args.append((name, facet.key))
            values.append({
                "label": facet.label,
                "count": facet.count,
                "href": "/items" + ("?" + urlencode(args) if args else ""),
                "chosen": facet.key in chosen,
                "page": facet_page(name, facet.key),
            })
        if values:
            groups.append({"name": name, "title": title, "options": values})
    return groups
