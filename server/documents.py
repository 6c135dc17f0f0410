"""The documents behind the URLs: what each kind of URL describes, read through `graph`.

A :class:`Document` is the set of statements a URL publishes plus what HTTP needs to
know about it (a version for the ETag, a modification time, a DOI to cite). Profiles
select from the statements: DCAT-AP only, schema.org only, or both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Callable

from pyoxigraph import NamedNode, Triple

from graph.backend import GraphStore
from mappings.terms import EU_COUNTRY, EU_LANGUAGE, FOAF, RDF, SCHEMA
from mappings.urls import NODE_KINDS, Urls
from mappings.vocabulary import vocabulary_triples

from .http import parse_modified

_TYPE = NamedNode(RDF + "type")


@dataclass
class Document:
    kind: str
    key: str
    #: Path of the document URL (``/items/x``), the IRI of the thing it is about.
    path: str
    thing: str
    triples: list[Triple]
    version: str
    modified: dt.datetime | None = None
    cite_as: str | None = None

    def objects(self, subject: str, predicate: str) -> list:
        s, p = NamedNode(subject), NamedNode(predicate)
        return [t.object for t in self.triples if t.subject == s and t.predicate == p]


#: Document kinds that are linked nodes, by URL segment: kind name for `Urls`.
NODE_SEGMENTS: dict[str, str] = {segment: kind for kind, segment in NODE_KINDS.items() if kind not in ("item", "variable")}
#: Kinds whose things are EU authority entries rather than IRIs of ours.
AUTHORITY_SEGMENTS: dict[str, str] = {"countries": EU_COUNTRY, "languages": EU_LANGUAGE}


def item(store: GraphStore, urls: Urls, slug: str) -> Document | None:
    """A study's document: its record graph, as stored."""
    name = urls.item(slug)
    state = store.record_states([name]).get(name)
    if state is None:
        return None
    triples = store.graph_triples(name)
    thing = name + "#id"
    dois = [t.object.value for t in triples if t.subject.value == thing and t.predicate.value == SCHEMA + "sameAs" and t.object.value.startswith("https://doi.org/")]
    return Document(
        "item", slug, f"/items/{slug}", thing, triples, state.content_hash or "", parse_modified(state.modified), dois[0] if dois else None
    )


def node(store: GraphStore, urls: Urls, segment: str, key: str) -> Document | None:
    """A linked node's document: what the record graphs say about it."""
    if segment in AUTHORITY_SEGMENTS:
        thing = AUTHORITY_SEGMENTS[segment] + key.upper()
    else:
        thing = urls.thing(NODE_SEGMENTS[segment], key)
    triples = store.node_triples(thing)
    if not triples:
        return None
    page = NamedNode(f"{urls.base}/{segment}/{key}")
    triples.append(Triple(page, NamedNode(FOAF + "primaryTopic"), NamedNode(thing)))
    return Document(segment, key, f"/{segment}/{key}", thing, triples, _version(triples))


def vocabulary(urls: Urls) -> Document:
    triples = vocabulary_triples(urls.base)
    return Document("vocab", "", "/vocab", f"{urls.base}/vocab", triples, _version(triples))


def _version(triples: list[Triple]) -> str:
    return hashlib.sha256("\n".join(sorted(map(str, triples))).encode()).hexdigest()


# -------------------------------------------------------------------------- profiles


def _is_schema(triple: Triple) -> bool:
    if triple.predicate == _TYPE:
        return triple.object.value.startswith(SCHEMA)
    return triple.predicate.value.startswith(SCHEMA)


PROFILE_FILTERS: dict[str, Callable[[Triple], bool]] = {
    "full": lambda triple: True,
    "dcat-ap": lambda triple: not _is_schema(triple),
    "schema": _is_schema,
}


def select(triples: list[Triple], profile: str) -> list[Triple]:
    keep = PROFILE_FILTERS[profile]
    return [t for t in triples if keep(t)]
