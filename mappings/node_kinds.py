"""The kinds of linked node: the shared things studies point at, each kind written once.

A record's sponsors, catalogues, keywords, sources, instruments and study designs become
nodes with documents of their own (``/keywords/{key}``); its countries and languages are
entries of the EU authority tables, with documents here too (``/countries/gbr``). Every
layer that names a kind — the URL scheme, the concept schemes, the search index's link
kinds, the node and list documents, their HTML labels, the listings' facets and VoID's
link sets — takes it from :data:`LINKED_KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .namespaces import EU_COUNTRY, EU_LANGUAGE


@dataclass(frozen=True)
class NodeKind:
    """One kind of linked node."""

    #: The kind's name: what ``Urls.thing`` and the search index's links call it.
    name: str
    #: The URL path segment its documents live under (``/organizations/{key}``).
    segment: str
    #: One of them, as a person reads it (the HTML page of a node).
    label: str
    #: Its list document's title; for a concept kind also its ``skos:ConceptScheme``'s.
    title: str
    #: Whether its nodes are ``skos:Concept``s in a scheme of their own (``/keywords#scheme``).
    concept: bool = False
    #: For entries of an authority table, the table's namespace (the things are its IRIs, not ours).
    authority: str | None = None
    #: The ``/items`` facet that filters by this kind, if there is one.
    facet: str | None = None


LINKED_KINDS: tuple[NodeKind, ...] = (
    NodeKind("organization", "organizations", "organisation", "Organisations", facet="sponsor"),
    NodeKind("catalogue", "catalogues", "catalogue", "Catalogues", facet="catalogue"),
    NodeKind("keyword", "keywords", "keyword", "Keywords", concept=True, facet="keyword"),
    NodeKind("source", "sources", "source", "Sources", concept=True, facet="source"),
    NodeKind("instrument", "instruments", "instrument", "Instruments", concept=True),
    NodeKind("study-design", "study-designs", "study design", "Study designs", concept=True, facet="study-design"),
    NodeKind("country", "countries", "country", "Countries", authority=EU_COUNTRY, facet="country"),
    NodeKind("language", "languages", "language", "Languages", authority=EU_LANGUAGE),
)
