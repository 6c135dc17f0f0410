"""The search index beside the graph: full-text search, facets and node listings in SQLite.

Why not SPARQL: listing 20 of 100k studies with six facet counts means grouping every
link of every matching study, and text search means scanning every description; the
store can do both, but not in the tens of milliseconds a listing page needs. So every
write to the graph also writes the record's :class:`~mappings.profile.RecordSummary`
here, and the web server answers search, facets, paging and "studies linked to this
keyword/organisation" from this file alone.

Layout (one SQLite file, WAL mode, so the server's reader threads never wait for the
writer and never see half a batch):

- ``texts``: one FTS5 table, rowid = ``records.id``, ``unicode61`` with diacritics
  removed. Columns ``title``, ``description``, ``keywords`` hold the searchable text
  (stored once, here: snippets are read back from it). Column ``links`` holds one
  token per linked node (``\\ue000n{node}``, which also serves the filters of facets
  that take any role) and one per membership of a facet that takes only some roles
  (``\\ue000f{facet}x{node}``: a funder, not a publisher): FTS5 is the inverted index
  for filters and node listings. Building it costs a fraction of a B-tree row per link
  (FTS5 buffers doclists and merges them), where a ``links(node, record)`` table with
  its indexes made the write path four times slower. The tokens start with a
  private-use character, which user text can never contain (:func:`fts_query` keeps
  letters and digits only), so user words never match them, nor do user prefixes
  expand over them.
- ``records``: one narrow row per study (slug, title, sort key, years, modified, hash);
  ``record_facets``: its facet memberships packed into an int64 blob, for counting
  (:meth:`SearchIndex._count_matching`); ``record_links``: its (node, role) pairs as
  JSON, read only when the record is replaced or deleted.
- ``nodes``: linked nodes (kind, key, label) and ``refs``, how many studies link them,
  kept by the write code; a node is dropped when that reaches 0.
- ``facet_counts``: how many studies each node has in each facet, **maintained at
  write time** (one upsert per node and batch, from the batch's net deltas), so the
  unfiltered facets of the home page are read, never computed.

User text never reaches SQL or the FTS5 query language as syntax: SQL takes ``?``
parameters only (the few table and column names in SQL strings are constants), and
:func:`fts_query` turns text into quoted FTS5 strings.

The package, one module per job: :mod:`.model` (values), :mod:`.text` (normalisation and
FTS5 queries), :mod:`.schema` (tables, facet definitions, migration), :mod:`.reader` (the
query engine), :mod:`.writer` (the batch writer), :mod:`.sql` (transactions and
placeholders) and :mod:`.index` (the :class:`SearchIndex` object joining them).
"""

from .index import SearchIndex
from .model import DecadeCount, FacetCount, Hit, IndexEntry, RecordHead, SearchIndexError, SearchResult
from .protocol import CatalogueIndex
from .reader import BM25_WEIGHTS, MAX_FACET_LIMIT, MAX_PAGE_SIZE, TEXT_COLUMNS
from .schema import FACETS, SCHEMA_VERSION
from .text import MAX_QUERY_WORDS, SNIPPET_CHARS, fts_query, plain_text, snippet, sort_key

__all__ = [
    "BM25_WEIGHTS", "FACETS", "MAX_FACET_LIMIT", "MAX_PAGE_SIZE", "MAX_QUERY_WORDS", "SCHEMA_VERSION", "SNIPPET_CHARS",
    "TEXT_COLUMNS", "CatalogueIndex", "DecadeCount", "FacetCount", "Hit", "IndexEntry", "RecordHead", "SearchIndex", "SearchIndexError", "SearchResult",
    "fts_query", "plain_text", "snippet", "sort_key",
]
