"""Where a SPARQL store answers: query, update and Graph Store URLs, credentials, dialect.

A deployment names its store by one URL (``--store http://host:7878``) and overrides
only what its store puts elsewhere; the dialect fills in the rest, because the stores
tested disagree on paths and on what the default graph means:

- ``oxigraph``: ``/query``, ``/update``, ``/store``; the default graph is its own graph,
  so a query over every record graph asks for ``union-default-graph``;
- ``virtuoso``: ``/sparql`` to read; writes need a user, through ``/sparql-auth`` and
  ``/sparql-graph-crud-auth`` (HTTP digest); the default graph already is the union of
  every graph (its own system graphs included);
- ``generic``: the URL is both the query and the update endpoint; a Graph Store URL is
  given or none is used.

Credentials may come in the URL (``http://user:secret@host/``) or apart; they are
taken out of every URL kept here, so no URL printed in an error carries a password.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Literal

Dialect = Literal["oxigraph", "virtuoso", "generic"]
DIALECTS: tuple[Dialect, ...] = ("oxigraph", "virtuoso", "generic")

#: Paths each dialect puts its endpoints at, relative to the store's root URL.
_PATHS: dict[str, tuple[str, str, str | None]] = {
    "oxigraph": ("query", "update", "store"),
    "virtuoso": ("sparql", "sparql-auth", "sparql-graph-crud-auth"),
}


@dataclass(frozen=True)
class RemoteEndpoints:
    """One SPARQL store: its three endpoints, credentials, dialect and timeouts."""

    query_url: str
    update_url: str
    graph_store_url: str | None
    dialect: Dialect = "generic"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    #: Seconds to connect, and to wait for each read of an answer.
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    #: Requests one process sends the store at once (pages, writes; public SPARQL has its
    #: own bound, the query pool's places): more wait for a connection. Oxigraph server
    #: keeps a thread per request (and, with --timeout-s, one per query for the whole
    #: timeout), so workers x connections is what the store must hold.
    connections: int = 8

    @classmethod
    def parse(
        cls, url: str, *, dialect: str | None = None, query_url: str | None = None, update_url: str | None = None,
        graph_store_url: str | None = None, user: str | None = None, password: str | None = None, connections: int = 8,
    ) -> RemoteEndpoints:
        """The endpoints of the store at *url* (its root for oxigraph and virtuoso, the
        SPARQL endpoint itself for generic), with any URL given apart taking precedence."""
        chosen = dialect or guess_dialect(url)
        if chosen not in DIALECTS:
            raise ValueError(f"unknown store dialect {chosen!r}; use one of {', '.join(DIALECTS)}")
        root, url_user, url_password = _without_credentials(url)
        if chosen in _PATHS:
            base = _root_of(root, chosen)
            query_path, update_path, store_path = _PATHS[chosen]
            defaults: tuple[str, str, str | None] = (base + query_path, base + update_path, base + store_path if store_path else None)
        else:
            defaults = (root, root, None)
        return cls(
            query_url=query_url or defaults[0], update_url=update_url or defaults[1],
            graph_store_url=graph_store_url or defaults[2], dialect=chosen,  # type: ignore[arg-type]
            user=user or url_user, password=password or url_password, connections=connections,
        )


def guess_dialect(url: str) -> Dialect:
    """A Virtuoso URL names its /sparql endpoint; anything else is taken for Oxigraph
    server's root unless the dialect is given."""
    path = urllib.parse.urlsplit(url).path.rstrip("/")
    return "virtuoso" if path.endswith("/sparql") else "oxigraph"


def _root_of(url: str, dialect: str) -> str:
    """The store's root URL, ending in "/" (a Virtuoso URL may name its /sparql)."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path.rstrip("/")
    if dialect == "virtuoso" and path.endswith("/sparql"):
        path = path[: -len("/sparql")]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))


def _without_credentials(url: str) -> tuple[str, str | None, str | None]:
    """*url* without its user information, and that user and password (decoded)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("a store URL is http:// or https:// with a host")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password else None
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), user, password
