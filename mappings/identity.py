"""A record's identity: the source it came from and what that source calls it.

A slug is a readable URL segment, not an identity: two catalogues may both publish a
dataset whose IRI ends in ``/dataset/data``, and one DCAT file may describe ``…#ds1`` and
``…#ds2``. So every record carries its identity in the store, and a load or a harvest
replaces a stored record only when the identities match; a record that wants a slug
already held by another identity is published under the slug with a short, stable suffix
made from its own identity (:func:`disambiguated`), and the clash is reported.

- *source*: ``local`` for records read from files, stdin or the write API; for a harvest,
  the origin (``scheme://host[:port]``) of the harvested URL, so a catalogue and its
  change feed (``…/catalog``, ``…/changes``) are one source;
- *identifier*: the record's own IRI at its source when it has one (DCAT and schema.org
  datasets, another studygraph's ``…/items/x#id``), else the slug it publishes (Harmony's
  public key: ``/items/{slug}`` there), else the identifier it publishes (Harmony's
  ``harmony_id`` or ``uuid``), else its name's slug.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .records import value_at

#: The source of every record that was not harvested.
LOCAL = "local"

#: Record fields that hold an identifier the source publishes, most specific first.
_PUBLISHED_IDENTIFIERS = ("extra_data.slug", "extra_data.harmony_id", "extra_data.uuid")


@dataclass(frozen=True, slots=True)
class Identity:
    """Which record a record is: its source and what the source calls it. A load keeps
    one per record it has seen (its duplicates and slug claims): slots keep that small."""

    source: str
    identifier: str

    def __str__(self) -> str:
        return self.identifier if self.source == LOCAL else f"{self.identifier} (from {self.source})"

    def digest(self, length: int) -> str:
        """*length* hex digits that stand for this identity, the same on every machine."""
        return hashlib.sha256(f"{self.source}\n{self.identifier}".encode()).hexdigest()[:length]


def source_of(harvest_url: str | None) -> str:
    """The source a harvested URL belongs to: its origin; ``local`` without one."""
    if not harvest_url:
        return LOCAL
    try:
        parts = urlsplit(harvest_url)
    except ValueError:  # not a URL at all (an unclosed "[" of an IPv6 host): it stands for itself
        return harvest_url
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else harvest_url


def record_identity(data: dict[str, Any], provenance: Mapping[str, Any], fallback: str) -> Identity:
    """The identity of a record as read, with its provenance (``url``: its IRI at the
    source; ``harvest_source``: the harvested URL). *fallback* is its slug, used when the
    record names nothing better."""
    source = source_of(provenance.get("harvest_source"))
    own_iri = provenance.get("url")
    if isinstance(own_iri, str) and own_iri:
        return Identity(source, own_iri)
    for path in _PUBLISHED_IDENTIFIERS:
        value = value_at(data, path)
        if isinstance(value, str) and value.strip():
            return Identity(source, value.strip())
    return Identity(source, fallback)


#: Hex digits of the first suffix tried; one more each time that one is taken too.
SUFFIX_DIGITS = 6


def disambiguated(slug: str, identity: Identity, attempt: int) -> str:
    """The slug to try on the *attempt*-th clash (0: the slug as wanted)."""
    if attempt == 0:
        return slug
    return f"{slug[:100].rstrip('-')}-{identity.digest(SUFFIX_DIGITS + attempt - 1)}"
