"""What the rest of the code uses of a catalogue's search index, whatever keeps it.

The embedded catalogue keeps its index in one SQLite file (:class:`.index.SearchIndex`);
a catalogue served by many workers keeps it in PostgreSQL
(``graph.postgres.PostgresSearchIndex``). Both give the same answers for the same
entries; the catalogue, the loader and the server hold a :class:`CatalogueIndex`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from .model import FacetCount, Hit, IndexEntry, RecordHead, SearchResult


class CatalogueIndex(Protocol):
    """Search, facets and node listings over the records' summaries, written in batches."""

    def count(self) -> int:
        """How many records are indexed."""

    def catalogue_page(
        self, *, after: str | None = None, before: str | None = None, size: int = 100, modified_since: str | None = None
    ) -> tuple[list[tuple[str, str, str]], int]:
        """One keyset page of (slug, title, modified) in slug order, and the total."""

    def sitemap_page(self, number: int, size: int = 50_000) -> list[tuple[str, str]]:
        """The (slug, modified) of sitemap page *number* (from 0), slug order."""

    def slugs(self) -> list[str]:
        """Every indexed slug, in slug order."""

    def hashes(self, slugs: Iterable[str]) -> dict[str, str]:
        """The stored content hashes of the given slugs."""

    def head(self, slug: str) -> RecordHead | None:
        """What a study's URL needs before its body (:class:`RecordHead`); None when the
        study is not indexed, or was indexed before heads were kept."""

    def label(self, kind: str, key: str) -> str | None:
        """The label of a node some study links to, else None."""

    def findings(self, slug: str) -> str | None:
        """The profile's findings kept for a record (a JSON array, mappings.validation),
        or None when it was not validated or is not indexed."""

    def linked(self, kind: str, key: str, page: int = 1, size: int = 20) -> tuple[int, list[Hit]]:
        """The studies linking a node, by title: (total, one page)."""

    def nodes(self, kind: str, page: int = 1, size: int = 100) -> tuple[int, list[FacetCount]]:
        """The nodes of one kind that studies link, by label: (total, one page)."""

    def facet_counts(self, facet: str, limit: int = 20) -> list[FacetCount]:
        """The maintained, unfiltered counts of one facet."""

    def search(
        self,
        text: str | None = None,
        filters: Mapping[str, Sequence[str]] = {},
        years: tuple[int | None, int | None] | None = None,
        page: int = 1,
        size: int = 20,
        facet_limit: int = 20,
    ) -> SearchResult:
        """One page of matching studies with facet counts, from one snapshot."""

    def replace(self, entries: Iterable[IndexEntry]) -> None:
        """Insert or replace each entry's record, the batch in one transaction."""

    def forget_heads(self, slugs: Iterable[str] | None = None) -> None:
        """Mark the heads of *slugs* (of every record: None) unknown: their graphs are
        about to be written by something other than the loader."""

    def delete(self, slug: str) -> bool:
        """Remove a record; False if it was not indexed."""

    def clear(self) -> None:
        """Empty the index."""

    def optimize(self) -> None:
        """Compact after a bulk load."""

    def close(self) -> None: ...
