"""The documents behind the URLs: what each kind of URL describes, read through `graph`.

A :class:`Document` is the set of statements a URL publishes plus what HTTP needs to
know about it (a version for the ETag, a modification time, a DOI to cite). Profiles
select from the statements: DCAT-AP only, schema.org only, or both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from pyoxigraph import Literal, NamedNode, Triple

from studygraph.graph.catalogue import Catalogue
from studygraph.graph.search import CatalogueIndex, Hit
from studygraph.mappings.namespaces import DCAT, DCT, FOAF, HYDRA, PROF, RDF, RDFS, SCHEMA, SH, SKOS, XSD
from studygraph.mappings.node_kinds import LINKED_KINDS
from studygraph.mappings.terms import term_value
from studygraph.mappings.urls import AUTHORITIES, Urls
from studygraph.mappings.vocabulary import vocabulary_triples

from .http import parse_modified

_TYPE = NamedNode(RDF + "type")
#: Titles of the list documents of node kinds that are not concepts.
KIND_TITLES = {kind.segment: kind.title for kind in LINKED_KINDS if not kind.concept}
CATALOG_TITLE = "studygraph research-study catalogue"
CATALOG_DESCRIPTION = "Research studies gathered from several catalogues, published as DCAT and schema.org linked data."


@dataclass
class Document:
    kind: str
    key: str
    #: Path of the document URL (``/items/x``), the IRI of the thing it is about.
    path: str
    thing: str
    #: The statements, or a function that reads them: a representation served straight
    #: from the store (see :attr:`graph`) or from the cache never needs them.
    statements: list[Triple] | Callable[[], list[Triple]]
    version: str
    modified: dt.datetime | None = None
    cite_as: str | None = None
    #: The record graph at the heart of this document, when there is one.
    graph: str | None = None
    #: The language tags of a study's title and description ("" for untagged): the
    #: choice its HTML page makes by Accept-Language, known without reading the graph.
    languages: tuple[str, ...] = ()

    @property
    def triples(self) -> list[Triple]:
        if callable(self.statements):
            self.statements = self.statements()
        return self.statements

    def objects(self, subject: str, predicate: str) -> list:
        """The objects of (subject, predicate), from an index built on first use."""
        index = self.__dict__.get("_index")
        if index is None:
            index = {}
            for t in self.triples:
                index.setdefault((term_value(t.subject), t.predicate.value), []).append(t.object)
            self.__dict__["_index"] = index
        return index.get((subject, predicate), [])


#: Document kinds that are linked nodes, by URL segment: kind name for `Urls`.
NODE_SEGMENTS: dict[str, str] = {kind.segment: kind.name for kind in LINKED_KINDS if kind.authority is None}
#: Kinds whose things are EU authority entries rather than IRIs of ours.
AUTHORITY_SEGMENTS: dict[str, str] = AUTHORITIES


def item(store: Catalogue, urls: Urls, slug: str) -> Document | None:
    """A study's document: its record graph and the descriptions of what it names."""
    name = urls.item(slug)
    head = store.head(name)
    if head is None:
        return None
    direct_writes, last_direct_write = store.direct_write_stamp()
    return Document(
        "item", slug, f"/items/{slug}", name + "#id", lambda: store.document_triples(name), f"{direct_writes}\0{head.content_hash}",
        _latest(parse_modified(head.modified), parse_modified(last_direct_write)), head.doi, graph=name, languages=head.languages,
    )


def _latest(*moments: dt.datetime | None) -> dt.datetime | None:
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


#: Search-index link kind of the things each node segment lists.
INDEX_KINDS: dict[str, str] = {kind.segment: kind.name for kind in LINKED_KINDS}
#: Studies listed on one page of a node's document.
NODE_PAGE_SIZE = 50
#: Nodes listed on one page of a list document (``/keywords``).
LIST_PAGE_SIZE = 100
SCHEME_TITLES = {kind.segment: kind.title for kind in LINKED_KINDS if kind.concept}


def node_thing(urls: Urls, segment: str, key: str) -> str:
    """The IRI of the thing a node document (``/{segment}/{key}``) is about."""
    if segment in AUTHORITY_SEGMENTS:
        return AUTHORITY_SEGMENTS[segment] + key.upper()
    return urls.thing(NODE_SEGMENTS[segment], key)


def node(store: Catalogue, urls: Urls, segment: str, key: str, index: CatalogueIndex | None = None, page: int = 1) -> Document | None:
    """A linked node's document: its shared description (graph.descriptions) and one page
    of the studies that name it, each by the very statement its record makes
    (``<study> dcat:theme <keyword>``, ``<study> schema:sponsor <organisation>``), with
    its title, as a Hydra-paged collection: a client walks keyword -> studies -> sponsors
    with the properties it already knows, and no inverse vocabulary of ours."""
    thing = node_thing(urls, segment, key)
    triples = store.description_triples(thing)
    if not triples:
        return None
    path = f"/{segment}/{key}"
    document = NamedNode(urls.base + path)
    triples.append(Triple(document, NamedNode(FOAF + "primaryTopic"), NamedNode(thing)))
    if index is not None and segment in INDEX_KINDS:
        total, hits = index.linked(INDEX_KINDS[segment], key, page=page, size=NODE_PAGE_SIZE)
        triples += _studies(store, urls, NamedNode(thing), hits)
        triples += hydra_view(urls.base + path, page, NODE_PAGE_SIZE, total)
        triples += [Triple(document, NamedNode(HYDRA + "member"), NamedNode(urls.item(hit.slug) + "#id")) for hit in hits]
    return Document(segment, key, path, thing, triples, content_version(triples))


def _studies(store: Catalogue, urls: Urls, thing: NamedNode, hits: list[Hit]) -> list[Triple]:
    """What each listed study's record says of *thing*, and the study's title."""
    triples = []
    for hit in hits:
        triples += store.links_to(thing.value, [urls.item(hit.slug)])
        triples.append(Triple(NamedNode(urls.item(hit.slug) + "#id"), NamedNode(DCT + "title"), Literal(hit.title)))
    return triples


def node_list(urls: Urls, index: CatalogueIndex | None, segment: str, page: int = 1) -> Document | None:
    """The list document of one kind of node (``/keywords``): a Hydra collection of the
    nodes studies name, by label, a page at a time; for concepts also their
    ``skos:ConceptScheme`` (``/keywords#scheme``), whose top concepts they are."""
    if index is None or segment not in INDEX_KINDS:
        return None
    total, nodes = index.nodes(INDEX_KINDS[segment], page=page, size=LIST_PAGE_SIZE)
    path = f"/{segment}"
    collection = NamedNode(urls.base + path)
    title = SCHEME_TITLES.get(segment) or KIND_TITLES[segment]
    triples = [Triple(collection, NamedNode(DCT + "title"), Literal(title))]
    scheme = NamedNode(f"{urls.base}{path}#scheme") if segment in SCHEME_TITLES else None
    if scheme is not None:
        triples += [
            Triple(collection, NamedNode(FOAF + "primaryTopic"), scheme),
            Triple(scheme, _TYPE, NamedNode(SKOS + "ConceptScheme")),
            Triple(scheme, NamedNode(DCT + "title"), Literal(title)),
        ]
    triples += hydra_view(urls.base + path, page, LIST_PAGE_SIZE, total)
    for entry in nodes:
        member = NamedNode(node_thing(urls, segment, entry.key))
        triples += [
            Triple(collection, NamedNode(HYDRA + "member"), member),
            Triple(member, NamedNode(SKOS + "prefLabel" if scheme else RDFS + "label"), Literal(entry.label)),
        ]
        if scheme is not None:
            triples.append(Triple(scheme, NamedNode(SKOS + "hasTopConcept"), member))
    thing = scheme.value if scheme is not None else collection.value
    return Document("list", segment, path, thing, triples, content_version(triples))


def related(store: Catalogue, urls: Urls, slug: str) -> Document | None:
    """A study that records name (as parent, ancestor or part) but that is not in this
    catalogue: what they say of it (its name, in ``/related/{slug}``) and their own
    statements linking it (its parts, what it is part of), so the link is not dead."""
    thing = urls.item(slug) + "#id"
    triples = store.description_triples(thing) + store.links_to(thing)
    if not triples:
        return None
    study = NamedNode(thing)
    for link in list(triples):
        if link.object == study:
            linking = term_value(link.subject)
            triples += [Triple(link.subject, NamedNode(DCT + "title"), Literal(t)) for t in store.objects_of(linking.removesuffix("#id"), linking, DCT + "title")]
    document = NamedNode(urls.item(slug))
    triples += [Triple(document, NamedNode(FOAF + "primaryTopic"), study), Triple(study, _TYPE, NamedNode(SCHEMA + "Dataset"))]
    return Document("related", slug, f"/items/{slug}", thing, triples, content_version(triples))


def profile(urls: Urls, available: tuple[Any, ...], token: str) -> Document | None:
    """A profile of ours (``/profiles/full``, named by ``Link: rel="profile"``), described
    with W3C PROF: what it is a profile of, its token."""
    chosen = next((p for p in available if p.token == token and p.uri.startswith(urls.base + "/")), None)
    if chosen is None:
        return None
    thing = NamedNode(chosen.uri)
    triples = [
        Triple(thing, _TYPE, NamedNode(PROF + "Profile")),
        Triple(thing, NamedNode(DCT + "title"), Literal(chosen.title)),
        Triple(thing, NamedNode(PROF + "hasToken"), Literal(chosen.token)),
        Triple(thing, NamedNode(DCT + "description"), Literal(
            "Every study is described in DCAT 3 / DCAT-AP 3 and in schema.org at once; the other profiles select one vocabulary.")),
    ]
    for other in available:
        if other is not chosen:
            triples.append(Triple(thing, NamedNode(PROF + "isProfileOf"), NamedNode(other.uri)))
    # The profile's rules, as SHACL: its validation resource (conneg-by-profile's PROF).
    shapes = NamedNode(f"{urls.base}/profiles/{token}#shapes")
    triples += [
        Triple(thing, NamedNode(PROF + "hasResource"), shapes),
        Triple(shapes, _TYPE, NamedNode(PROF + "ResourceDescriptor")),
        Triple(shapes, NamedNode(PROF + "hasRole"), NamedNode("http://www.w3.org/ns/dx/prof/role/validation")),
        Triple(shapes, NamedNode(PROF + "hasArtifact"), NamedNode(f"{urls.base}/shapes")),
        Triple(shapes, NamedNode(DCT + "conformsTo"), NamedNode(SH)),
        Triple(shapes, NamedNode(DCT + "format"), Literal("text/turtle")),
    ]
    return Document("profile", token, f"/profiles/{token}", chosen.uri, triples, content_version(triples))


@dataclass(frozen=True)
class CatalogPage:
    """Where a page of /catalog starts: after a slug, before one ("" = the last page), or
    at the beginning; and the ``modified_since`` filter (an xsd:dateTime, UTC)."""

    after: str | None = None
    before: str | None = None
    modified_since: str | None = None

    def query(self, **cursor: str) -> str:
        args = {k: v for k, v in (("modified_since", self.modified_since),) if v}
        args.update(cursor)
        return urlencode(args)


def catalog(store: Catalogue, urls: Urls, index: CatalogueIndex | None, page: CatalogPage, size: int) -> Document:
    """The root ``dcat:Catalog``: this whole catalogue, its source catalogues, and one
    page of its datasets with their whole descriptions (as at ``/items/{slug}``), so a harvester reads the catalogue a page at a time.

    Pages are in slug order with keyset cursors (``?after=``/``?before=``), linked as a
    Hydra partial collection view; the page also gives the change-feed token to follow
    the catalogue from then on."""
    thing = NamedNode(urls.catalog)
    doc = NamedNode(f"{urls.base}/catalog")
    publisher = NamedNode(f"{urls.base}/catalog#publisher")
    homepage = NamedNode(f"{urls.base}/")
    a = _TYPE
    triples = [
        Triple(doc, NamedNode(FOAF + "primaryTopic"), thing),
        Triple(thing, a, NamedNode(DCAT + "Catalog")),
        Triple(thing, a, NamedNode(SCHEMA + "DataCatalog")),
        Triple(thing, NamedNode(DCT + "title"), Literal(CATALOG_TITLE)),
        Triple(thing, NamedNode(SCHEMA + "name"), Literal(CATALOG_TITLE)),
        Triple(thing, NamedNode(DCT + "description"), Literal(CATALOG_DESCRIPTION)),
        Triple(thing, NamedNode(SCHEMA + "description"), Literal(CATALOG_DESCRIPTION)),
        Triple(thing, NamedNode(DCT + "publisher"), publisher),
        Triple(publisher, a, NamedNode(FOAF + "Agent")),
        Triple(publisher, NamedNode(FOAF + "name"), Literal(CATALOG_TITLE)),
        Triple(thing, NamedNode(FOAF + "homepage"), homepage),
        Triple(homepage, a, NamedNode(FOAF + "Document")),
        Triple(thing, NamedNode(DCAT + "themeTaxonomy"), NamedNode(urls.keyword_scheme)),
        Triple(NamedNode(urls.keyword_scheme), a, NamedNode(SKOS + "ConceptScheme")),
        Triple(NamedNode(urls.keyword_scheme), NamedNode(DCT + "title"), Literal("Keywords")),
        Triple(thing, NamedNode("http://rdfs.org/ns/void#inDataset"), NamedNode(f"{urls.base}/.well-known/void#dataset")),
        Triple(doc, NamedNode("http://www.w3.org/2000/01/rdf-schema#seeAlso"), NamedNode(f"{urls.base}/.well-known/void")),
    ]
    rows: list[tuple[str, str, str]] = []
    total = 0
    if index is not None:
        for source in index.facet_counts("catalogue", limit=1000):
            # Each source catalogue whole (title, description, publisher), on every
            # page: DCAT-AP wants every dcat:Catalog described, not only those whose
            # datasets happen to be on the page.
            node = urls.thing("catalogue", source.key)
            triples.append(Triple(thing, NamedNode(DCAT + "catalog"), NamedNode(node)))
            triples += store.description_triples(node)
        rows, total = index.catalogue_page(after=page.after, before=page.before, size=size, modified_since=page.modified_since)
        for slug, _, _ in rows:
            dataset, record = NamedNode(urls.item(slug) + "#id"), NamedNode(urls.item(slug))
            triples += [
                Triple(thing, NamedNode(DCAT + "dataset"), dataset),
                Triple(thing, NamedNode(DCAT + "record"), record),
                Triple(thing, NamedNode(SCHEMA + "dataset"), dataset),
            ]
            triples += store.document_triples(urls.item(slug))
    triples += _catalog_paging(urls, page, rows, total, size)
    latest = store.changes.latest() if store.changes is not None else None
    if latest is not None:
        token = Literal(str(latest), datatype=NamedNode(XSD + "integer"))
        triples.append(Triple(doc, NamedNode(f"{urls.base}/vocab#latestChange"), token))
        # The page is a function of the store's state (its latest change) and the cursor:
        # no need to hash thousands of statements for a validator.
        version = f"catalog\0{latest}\0{page!r}\0{size}"
    else:
        version = content_version(triples)
    return Document("catalog", "", "/catalog", urls.catalog, triples, version)


def _catalog_paging(urls: Urls, page: CatalogPage, rows: list, total: int, size: int) -> list[Triple]:
    def link(**cursor: str) -> NamedNode:
        query = page.query(**cursor)
        return NamedNode(f"{urls.base}/catalog" + (f"?{query}" if query else ""))

    collection = link()
    current = link(**({"after": page.after} if page.after else {"before": page.before} if page.before is not None else {}))
    triples = [
        Triple(collection, _TYPE, NamedNode(HYDRA + "Collection")),
        Triple(collection, NamedNode(HYDRA + "totalItems"), Literal(str(total), datatype=NamedNode(XSD + "integer"))),
        Triple(collection, NamedNode(HYDRA + "view"), current),
        Triple(current, _TYPE, NamedNode(HYDRA + "PartialCollectionView")),
        Triple(current, NamedNode(HYDRA + "first"), collection),
        Triple(current, NamedNode(HYDRA + "last"), link(before="")),
    ]
    if rows:
        full_forward_page = page.before is None and len(rows) == size
        ends_before_a_record = bool(page.before)
        if full_forward_page or ends_before_a_record:
            triples.append(Triple(current, NamedNode(HYDRA + "next"), link(after=rows[-1][0])))
        if page.after is not None or page.before is not None:
            triples.append(Triple(current, NamedNode(HYDRA + "previous"), link(before=rows[0][0])))
    return triples


def hydra_view(collection_url: str, page: int, size: int, total: int, query: str = "") -> list[Triple]:
    """Hydra paging of a collection: its size and first/previous/next/last pages."""
    last = max(1, -(-total // size))
    collection = NamedNode(collection_url + (f"?{query}" if query else ""))
    joiner = "&" if query else ""

    def page_url(number: int) -> NamedNode:
        return NamedNode(f"{collection_url}?{query}{joiner}page={number}")

    view = page_url(page)
    triples = [
        Triple(collection, _TYPE, NamedNode(HYDRA + "Collection")),
        Triple(collection, NamedNode(HYDRA + "totalItems"), Literal(str(total), datatype=NamedNode(XSD + "integer"))),
        Triple(collection, NamedNode(HYDRA + "view"), view),
        Triple(view, _TYPE, NamedNode(HYDRA + "PartialCollectionView")),
        Triple(view, NamedNode(HYDRA + "first"), page_url(1)),
        Triple(view, NamedNode(HYDRA + "last"), page_url(last)),
    ]
    if page > 1:
        triples.append(Triple(view, NamedNode(HYDRA + "previous"), page_url(page - 1)))
    if page < last:
        triples.append(Triple(view, NamedNode(HYDRA + "next"), page_url(page + 1)))
    return triples


def vocabulary(urls: Urls) -> Document:
    triples = vocabulary_triples(urls.base)
    return Document("vocab", "", "/vocab", f"{urls.base}/vocab", triples, content_version(triples))


def content_version(triples: list[Triple]) -> str:
    """A document's version: the hash of its sorted statements (part of its ETag)."""
    return hashlib.sha256("\n".join(sorted(map(str, triples))).encode()).hexdigest()


# -------------------------------------------------------------------------- profiles


def _is_schema(triple: Triple) -> bool:
    if triple.predicate == _TYPE:
        return term_value(triple.object).startswith(SCHEMA)
    return triple.predicate.value.startswith(SCHEMA)


PROFILE_FILTERS: dict[str, Callable[[Triple], bool]] = {
    "full": lambda triple: True,
    "dcat-ap": lambda triple: not _is_schema(triple),
    "schema": _is_schema,
}


def select(triples: list[Triple], profile: str) -> list[Triple]:
    keep = PROFILE_FILTERS[profile]
    return [t for t in triples if keep(t)]
