"""Which catalogue a deployment names: the embedded store in a directory, or a SPARQL
store server with its index in a directory or in PostgreSQL.

``--store DIR`` is the embedded store (its index in the same folder). ``--store URL``
is a store server (graph.remote), and ``--index`` then says where the search index,
change log and shared values live: ``postgresql://…?schema=name`` for a deployment of
several workers or hosts, or a directory for one host. This is the only place that
tells the kinds apart; everything else holds a graph.catalogue.Location or Catalogue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .catalogue import Location
from .embedded import EmbeddedLocation
from .index_place import index_components
from .remote.endpoints import RemoteEndpoints
from .remote.location import RemoteLocation

#: ``scheme://``: a URL, not a directory.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://")


class LocationError(ValueError):
    """The store and index given do not name a catalogue (a usage error)."""


@dataclass(frozen=True)
class StoreAddress:
    """What names a store server beyond its URL: endpoints it puts elsewhere, its
    dialect, its credentials (every field optional)."""

    dialect: str | None = None
    query_url: str | None = None
    update_url: str | None = None
    graph_store_url: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    #: Requests one process sends the store at once (graph.remote.endpoints).
    connections: int = 8


def is_remote(store: str) -> bool:
    """Whether *store* is the URL of a store server rather than a directory."""
    return bool(_URL.match(store))


def location(store: str, index: str | None = None, address: StoreAddress | None = None, *, min_free_bytes: int = 0) -> Location:
    """The catalogue named by *store* (a directory or a URL) and *index*."""
    if not is_remote(store):
        if index is not None and Path(index) != Path(store):
            raise LocationError(
                f"--index {_shown(index)}: the embedded store keeps its index in its own folder; "
                "a separate index goes with a store server (--store http://…)"
            )
        return EmbeddedLocation(Path(store), min_free_bytes=min_free_bytes)
    if not store.startswith(("http://", "https://")):
        raise LocationError(f"--store {_shown(store)}: a store server is reached over http:// or https://")
    if index is None:
        raise LocationError(
            f"--store {_shown(store)} is a store server: say where its index goes with --index "
            "(postgresql://…?schema=NAME, shared by every worker; or a directory, for one host)"
        )
    given = address or StoreAddress()
    try:
        endpoints = RemoteEndpoints.parse(
            store, dialect=given.dialect, query_url=given.query_url, update_url=given.update_url,
            graph_store_url=given.graph_store_url, user=given.user, password=given.password, connections=given.connections,
        )
    except ValueError as error:
        raise LocationError(str(error)) from None
    return RemoteLocation(endpoints, index_components(index))


def _shown(url: str) -> str:
    """*url* without a password, for messages."""
    return re.sub(r"(://[^/@:]*):[^/@]*@", r"\1:***@", url)
