"""Linked nodes: the shared things a study points at, each with its own URL.

Each function writes a node's type and labels and returns the node's IRI as a term. The
record graph files those statements under the node (see :mod:`mappings.record_graph`):
they are kept once, in the node's own graph, while any record names the node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import catalogues, funders, identifiers, keys
from .namespaces import DCAT, DCT, FOAF, OWL, SCHEMA, SKOS
from .node_kinds import LINKED_KINDS
from .record_graph import RecordGraph
from .terms import InvalidTerm, iri, literal
from .urls import Urls

#: Labels of the concept schemes of each concept kind.
SCHEME_TITLES = {kind.name: kind.title for kind in LINKED_KINDS if kind.concept}


@dataclass(frozen=True)
class Link:
    """A study's link to a linked node, kept for the search index and node pages."""

    role: str
    kind: str
    key: str
    label: str


@dataclass
class Context:
    """What a field handler needs: the graph being written, the URL scheme, the study."""

    graph: RecordGraph
    urls: Urls
    doc_iri: str
    links: dict[Link, None] = field(default_factory=dict)

    def link(self, role: str | None, kind: str, key: str, label: str) -> None:
        if role:
            self.links[Link(role, kind, key, label)] = None

    def mark(self) -> tuple[int, int]:
        """A point to :meth:`undo` back to: the statements and links made so far."""
        return self.graph.mark(), len(self.links)

    def undo(self, mark: tuple[int, int]) -> None:
        """Take back the statements and links made since *mark*."""
        statements, links = mark
        self.graph.undo(statements)
        while len(self.links) > links:
            self.links.popitem()

    @property
    def doc(self) -> str:
        return f"<{self.doc_iri}>"

    @property
    def study(self) -> str:
        return f"<{self.doc_iri}#id>"

    def local(self, fragment: str) -> str:
        """A term for a thing described only inside this record (``<doc#fragment>``)."""
        return f"<{self.doc_iri}#{fragment}>"

    def vocab(self, term: str) -> str:
        """A term of the project vocabulary."""
        return f"<{self.urls.vocab}{term}>"

    def add(self, subject: str, predicate: str, obj: str) -> None:
        self.graph.add(subject, predicate, obj)

    def label(self, subject: str, text: str, *predicates: str) -> None:
        value = literal(text)
        for predicate in predicates:
            self.graph.add(subject, f"<{predicate}>", value)

    def web_iri(self, field_name: str, value: Any) -> str | None:
        """A published web address as an IRI term, repaired where it can be (with a
        warning naming *field_name*), or None with a warning when it cannot be used."""
        if not isinstance(value, str):
            self.graph.warn(field_name, f"not a URL: {value!r}; dropped")
            return None
        try:
            url, note = identifiers.web_url(value)
            term = iri(url)
        except (ValueError, InvalidTerm) as error:
            self.graph.warn(field_name, f"{error}; dropped")
            return None
        if note:
            self.graph.warn(field_name, note)
        return term


def organisation(ctx: Context, name: str, kind: str = "Organization", role: str | None = None) -> str | None:
    """An organisation (or person) node keyed by its normalised name; an organisation of
    the funder table is also the same as its ROR record, in both vocabularies."""
    label = keys.organisation_label(name)
    key = keys.slugify(label)
    if not key:
        return None
    ctx.link(role, "organization", key, label)
    node = f"<{ctx.urls.thing('organization', key)}>"
    person = kind == "Person"
    ctx.graph.typed(node, FOAF + "Agent", FOAF + ("Person" if person else "Organization"), SCHEMA + kind)
    ctx.label(node, label, FOAF + "name", SCHEMA + "name")
    known = None if person else funders.lookup(label)
    if known and known.ror:
        ror = iri(known.ror)
        ctx.add(node, f"<{OWL}sameAs>", ror)
        ctx.add(node, f"<{SCHEMA}sameAs>", ror)
    return node


@dataclass(frozen=True)
class KeywordTerms:
    """A keyword's node and the literals a study gives it: its label (lower-cased, as in
    the node) and the text as published."""

    node: str
    label: str
    text: str


def keyword(ctx: Context, text: str) -> KeywordTerms | None:
    """A keyword as a ``skos:Concept`` in the catalogue's keyword scheme; returns its
    node and the literals the study gives it."""
    described = _describe_keyword(text, ctx.urls)
    if described is None:
        return None
    terms, link, statements = described
    ctx.links[link] = None
    ctx.graph.add_all(statements)
    return terms


@keys.remembered_for_short_text
def _describe_keyword(text: str, urls: Urls) -> tuple[KeywordTerms, Link, tuple[tuple[str, str, str], ...]] | None:
    """A keyword's terms, its link and the statements describing its node: the same in
    every record that uses the keyword (a study uses some twenty, from a shared
    vocabulary), so they are made once per keyword."""
    label = keys.keyword_label(text)
    key = keys.slugify(label)
    if not key:
        return None
    node = f"<{urls.thing('keyword', key)}>"
    scratch = Context(RecordGraph("", urls), urls, "")
    scratch.graph.typed(node, SKOS + "Concept", SCHEMA + "DefinedTerm")
    scratch.label(node, label, SKOS + "prefLabel", SCHEMA + "name")
    _in_scheme(scratch, node, "keyword")
    terms = KeywordTerms(node, literal(label), literal(keys.clean_text(text)))
    return terms, Link("keyword", "keyword", key, label), tuple(scratch.graph.described())


def concept(ctx: Context, kind: str, code: str, label: str | None = None) -> str | None:
    """A source, instrument or study design as a concept of its own scheme."""
    key = keys.slugify(code)
    if not key:
        return None
    ctx.link(kind, kind, key, label or keys.clean_text(code))
    node = f"<{ctx.urls.thing(kind, key)}>"
    ctx.graph.typed(node, SKOS + "Concept", SCHEMA + "DefinedTerm")
    ctx.label(node, label or keys.clean_text(code), SKOS + "prefLabel", SCHEMA + "name")
    if label:
        ctx.add(node, f"<{SKOS}notation>", literal(code.strip()))
    _in_scheme(ctx, node, kind)
    return node


def source(ctx: Context, code: str) -> str | None:
    known = catalogues.by_code(code)
    return concept(ctx, "source", code, known.name if known else None)


def catalogue(ctx: Context, name: str) -> str | None:
    """The catalogue a study is listed in, as a ``dcat:Catalog`` that lists the study.

    DCAT-AP wants a catalogue to have a publisher; a catalogue is taken to be published
    by the organisation of the same name.
    """
    known = catalogues.by_name(name)
    label = known.name if known else keys.clean_text(name)
    key = keys.slugify(label)
    if not key:
        return None
    ctx.link("catalogue", "catalogue", key, label)
    node = f"<{ctx.urls.thing('catalogue', key)}>"
    ctx.graph.typed(node, DCAT + "Catalog", SCHEMA + "DataCatalog")
    ctx.label(node, label, DCT + "title", SCHEMA + "name")
    ctx.add(node, f"<{DCT}description>", literal(f"Studies catalogued by {label}."))
    publisher = organisation(ctx, label)
    if publisher:
        ctx.add(node, f"<{DCT}publisher>", publisher)
    if known:
        homepage = iri(known.homepage)
        ctx.add(node, f"<{FOAF}homepage>", homepage)
        ctx.graph.typed(homepage, FOAF + "Document")
    ctx.add(node, f"<{DCAT}dataset>", ctx.study)
    return node


def _in_scheme(ctx: Context, node: str, kind: str) -> None:
    scheme = f"<{ctx.urls.scheme(kind)}>"
    ctx.add(node, f"<{SKOS}inScheme>", scheme)
    ctx.graph.typed(scheme, SKOS + "ConceptScheme")
    ctx.label(scheme, SCHEME_TITLES[kind], DCT + "title")
