"""The search index's values: what a record contributes, and what a search returns.

Plain data, shared by the reader, the writer and the callers (the loader builds an
:class:`IndexEntry` per record; the server shows :class:`Hit` and :class:`FacetCount`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from studygraph.mappings.nodes import Link
from studygraph.mappings.profile import RecordSummary

if TYPE_CHECKING:
    from studygraph.mappings.profile import MappedRecord
    from studygraph.mappings.validation import Result


class SearchIndexError(RuntimeError):
    """The index file is missing, of another schema version, read-only, or closed."""


@dataclass(frozen=True)
class IndexEntry:
    """What one record contributes to the index: its summary, its catalogue-record stamps
    and, when it was validated, its findings and the links they make (facets ``rule`` and
    ``quality``: mappings.validation)."""

    summary: RecordSummary
    modified: str
    content_hash: str
    #: The profile's findings, None when the record was not validated.
    findings: tuple[Result, ...] | None = None
    quality: tuple[Link, ...] = ()

    @classmethod
    def of(cls, mapped: MappedRecord, modified: str, findings: tuple[Result, ...] | None = None,
           quality: tuple[Link, ...] = ()) -> IndexEntry:
        """The entry of a freshly mapped record (the loader knows *modified*, the mapping does not)."""
        return cls(mapped.summary, modified, mapped.content_hash, findings, quality)

    @property
    def links(self) -> tuple[Link, ...]:
        """The record's links to nodes, then to the rules it breaks."""
        return self.summary.links + self.quality if self.quality else self.summary.links


@dataclass(frozen=True)
class RecordHead:
    """What a study's URL answers with before its body: the validators (content hash and
    modification time, for the ETag and Last-Modified), its DOI (``Link: cite-as``) and
    the languages its page is offered in. Kept in the index with the record, so a
    cached page is served, or a 304 given, without asking the store."""

    content_hash: str
    modified: str
    doi: str | None
    languages: tuple[str, ...]


def languages_column(languages: tuple[str, ...]) -> str:
    """A record's languages as the index keeps them (a JSON array: "" is a language too)."""
    return json.dumps(list(languages), separators=(",", ":"))


def record_head(row: tuple[str, str, str | None, str | None] | None) -> RecordHead | None:
    """The head of an index row (content_hash, modified, doi, languages); None when there
    is no row, or the row was written before heads were kept (languages NULL)."""
    if row is None or row[3] is None:
        return None
    return RecordHead(row[0], row[1], row[2], tuple(json.loads(row[3])))


@dataclass(frozen=True)
class Hit:
    """One study in a result page: what a listing shows without reading the graph."""

    slug: str
    title: str
    snippet: str
    start_year: int | None
    end_year: int | None
    modified: str


@dataclass(frozen=True)
class FacetCount:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class DecadeCount:
    """How many of the studies listed cover some of the ten years from *decade*."""

    decade: int
    count: int


@dataclass
class SearchResult:
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetCount]]
    page: int
    size: int
    #: The years facet: studies per decade their coverage overlaps, oldest first.
    decades: list[DecadeCount] = field(default_factory=list)

