"""The URL scheme: where each kind of thing lives under the base URL.

A thing's IRI is its document URL plus ``#id``; the document URL is also the record's
``dcat:CatalogRecord`` and, for studies, the record's named graph. Every layer that needs
a URL asks this module, so the scheme is written down once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

#: Linked-node kinds and the path segment their documents live under.
NODE_KINDS: dict[str, str] = {
    "item": "items",
    "organization": "organizations",
    "catalogue": "catalogues",
    "keyword": "keywords",
    "source": "sources",
    "instrument": "instruments",
    "study-design": "study-designs",
    "variable": "variables",
}


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

    def slug_of(self, graph_iri: str) -> str | None:
        """The slug of a study's document URL, or None if it is not one."""
        prefix = f"{self.base}/items/"
        return graph_iri[len(prefix):] if graph_iri.startswith(prefix) else None
