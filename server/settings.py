"""The web server's settings: limits, page sizes and where its files go.

Kept apart from the app so the services object (server.services) and the CLI can name
the type without importing every blueprint.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerSettings:
    base_url: str
    #: Bearer token for the write API; without one, writes are refused.
    token: str | None = None
    #: What writes do with the profile's findings unless a request says (``?validate=``
    #: or the ``Studygraph-Validate`` header): mappings.validation.MODES.
    validate: str = "warn"
    #: Largest request body accepted (bytes); larger ones get 413.
    max_body_bytes: int = 64 * 1024 * 1024
    #: Longest URL (path and query) accepted; longer ones get 414.
    max_url_bytes: int = 8192
    page_size: int = 20
    #: Datasets (with their whole descriptions) on one page of /catalog.
    catalog_page_size: int = 100
    #: URLs per sitemap (the protocol allows 50,000).
    sitemap_size: int = 50_000
    cache_bytes: int = 256 * 1024 * 1024
    #: SQLite file of rendered representations kept across restarts (None: memory only).
    cache_path: str | None = None
    #: Directory the dump file (/dump.nq.gz) is built in, once per store state (None: a
    #: temporary directory of this process).
    dump_dir: str | None = None
    #: Dumps built at once (for different store states); a request that would start
    #: another, or that finds its dump being built, gets 503 with Retry-After.
    dump_builds: int = 1
