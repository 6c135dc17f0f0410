"""The URL scheme: where each kind of thing lives under the base URL.

A thing's IRI is its document URL plus ``#id``; the document URL is also the record's
``dcat:CatalogRecord`` and, for studies, the record's named graph. Every layer that needs
a URL asks this module, so the scheme is written down once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .node_kinds import LINKED_KINDS

#: Kinds of thing with IRIs of ours (studies, linked nodes, variables) and the path
#: segment their documents live under.
NODE_KINDS: dict[str, str] = {
    "item": "items",
    **{kind.name: kind.segment for kind in LINKED_KINDS if kind.authority is None},
    "variable": "variables",
}


#: Authority tables whose entries the records link to, by the segment of the documents
#: that describe them here (``/countries/gbr``).
AUTHORITIES: dict[str, str] = {kind.segment: kind.authority for kind in LINKED_KINDS if kind.authority is not None}

#: Where shared descriptions of things that have no document of their own here are kept:
#: studies named by a record but described by another (``/related/{slug}``), and other
#: parties' web resources (licences, landing pages, the DOI registration agency).
RELATED_SEGMENT = "related"
WEB_GRAPH = "web"


#: Characters an IRI may not hold (RFC 3987), nor a base URL we mint IRIs under.
_NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def check_base_url(value: str) -> str:
    """*value* without a trailing slash, if it is an absolute http(s) URL with a host and
    no query or fragment (every IRI we mint starts with it); ValueError otherwise."""
    base = value.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment or _NOT_IN_IRI.search(base):
        raise ValueError(f"the base URL must be an absolute http(s) URL without query or fragment, not {value!r}")
    return base


@dataclass(frozen=True)
class Urls:
    """Document URLs and IRIs under one base URL (no trailing slash)."""

    base: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", check_base_url(self.base))

    def document(self, kind: str, key: str) -> str:
        return f"{self.base}/{NODE_KINDS[kind]}/{key}"

    def thing(self, kind: str, key: str) -> str:
        return self.document(kind, key) + "#id"

    def item(self, slug: str) -> str:
        """The document URL of a study: its catalogue record and its named graph."""
        return self.document("item", slug)

    @property
    def vocab(self) -> str:
        """The namespace of the project vocabulary (``/vocab#term``)."""
        return f"{self.base}/vocab#"

    @property
    def keyword_scheme(self) -> str:
        return f"{self.base}/keywords#scheme"

    def scheme(self, kind: str) -> str:
        """The ``skos:ConceptScheme`` that the concepts of one kind belong to."""
        return f"{self.base}/{NODE_KINDS[kind]}#scheme"

    @property
    def catalog(self) -> str:
        return f"{self.base}/catalog#id"

    def description_graph(self, thing: str) -> str:
        """The named graph holding the shared description of *thing* (an IRI).

        A record graph holds only the record's own statements; what it says about a
        shared thing (a keyword's label, a country's name) is kept once, in the graph of
        that thing's document, so the union default graph holds every triple once. A
        study named by another record is described apart from its own record graph
        (``/related/{slug}``), which is replaced whenever that study is loaded.
        """
        document, _, _ = thing.partition("#")
        if document.startswith(self.base + "/"):
            segments = document[len(self.base) + 1:].split("/")
            if segments[0] == NODE_KINDS["item"] and len(segments) == 2:
                return f"{self.base}/{RELATED_SEGMENT}/{segments[1]}"
            return document
        for segment, namespace in AUTHORITIES.items():
            if thing.startswith(namespace) and "/" not in thing[len(namespace):]:
                return f"{self.base}/{segment}/{thing[len(namespace):].lower()}"
        return f"{self.base}/{WEB_GRAPH}"

    def is_description_graph(self, name: str) -> bool:
        """Whether *name* is a graph :meth:`description_graph` names (not a record's)."""
        if not name.startswith(self.base + "/"):
            return False
        first = name[len(self.base) + 1:].split("/", 1)[0]
        return first != NODE_KINDS["item"] and (
            first in NODE_KINDS.values() or first in AUTHORITIES or first in (RELATED_SEGMENT, WEB_GRAPH, "vocab")
        )
