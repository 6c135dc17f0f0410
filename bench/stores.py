"""What the benchmark scripts read from a loaded studygraph store: the base URL its IRIs
were minted under, its database directory, and every record's slug. Both are read without opening the graph, so
a store in use by a server is not disturbed."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path


def read_base_url(store: Path) -> str:
    """The base URL recorded in the store's settings by its first load (no trailing /)."""
    try:
        settings = json.loads((store / "settings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        sys.exit(f"cannot read {store / 'settings.json'}: {error}")
    base_url = settings.get("base_url")
    if not base_url:
        sys.exit(f"{store / 'settings.json'} records no base_url")
    return base_url.rstrip("/")


def database_of(store: Path) -> Path:
    """The store's RocksDB directory: ``graph``, or the fresh copy a serving store rolled
    to (graph.database_directory), named in its settings."""
    from graph.database_directory import current

    try:
        settings = json.loads((store / "settings.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        settings = {}
    return current(store, settings)


def read_slugs(store: Path) -> list[str]:
    """Every record's slug, from the search index (one row per record, kept in step with
    the graph), opened read-only."""
    index = store / "search.sqlite"
    if not index.is_file():
        sys.exit(f"no search index at {index}")
    connection = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
    try:
        slugs = [row[0] for row in connection.execute("SELECT slug FROM records ORDER BY id")]
    finally:
        connection.close()
    if not slugs:
        sys.exit(f"the store at {store} holds no records")
    return slugs
