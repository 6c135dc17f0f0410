"""The one configuration object, built from CLI flags and ``STUDYGRAPH_*`` variables.

Flags win over environment variables, which win over the defaults below. Every command
reads its settings from a :class:`Config`; nothing else looks at the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from studygraph.server.connections import Limits

#: The server's own defaults for what one client may take: written once, there.
_LIMITS = Limits()

DEFAULT_STORE = "./data/store"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Config:
    #: Directory of the embedded store, or the URL of a SPARQL 1.1 store server
    #: (Oxigraph server's root, Virtuoso's /sparql, or any endpoint: graph.locations).
    store: str = DEFAULT_STORE
    #: With a store server: where the search index, change log and shared values live
    #: (postgresql://…?schema=NAME, shared by every worker and host; or a directory).
    index: str | None = None
    #: With a store server: its dialect (oxigraph, virtuoso, generic; guessed from the
    #: URL), the endpoints it puts elsewhere than the dialect's paths, and credentials
    #: for its updates (Virtuoso: HTTP digest; others: basic).
    store_dialect: str | None = None
    store_query_url: str | None = None
    store_update_url: str | None = None
    store_graph_store_url: str | None = None
    store_user: str | None = None
    store_password: str | None = None
    #: With a store server: seconds after which it stops a query on its own (Oxigraph
    #: server's --timeout-s); a public query given up at our deadline keeps its place
    #: in the query pool until then, since the store still runs it.
    store_timeout: float | None = None
    #: With a store server: requests each process sends it at once (pages, writes); more
    #: wait for a connection. Public SPARQL is bounded apart, by query_workers.
    store_connections: int = 8
    #: Base URL the IRIs are minted under; recorded in the store on its first load.
    base_url: str | None = None
    #: What writes do with the studygraph profile's findings (mappings.validation.MODES):
    #: ``off``, ``warn`` (kept and reported) or ``error`` (a violating record is refused).
    validate: str = "warn"
    #: Processes that map and check records while a fresh store is filled (graph.ordered_pool).
    #: 1 maps in the loading process: on two cores more do not pay, as the store's bulk
    #: loader already keeps both busy (BENCHMARKS.md "Mapping in worker processes").
    load_processes: int = 1
    #: Bearer token that guards writes (server write API); without one, writes are refused.
    token: str | None = None
    #: Address and port `studygraph serve` listens on.
    host: str = "127.0.0.1"
    port: int = 8000
    #: Worker threads of the WSGI server, in each worker process.
    threads: int = 16
    #: Worker processes of `serve` on one port (server.workers); over the embedded store,
    #: more than one serves it read-only (writes refused) while the supervisor holds it.
    workers: int = 1
    #: SQLite file of rendered representations, shared by the workers of one host
    #: (default: representations.sqlite in the store folder).
    cache: str | None = None
    #: Largest request body accepted, in bytes.
    max_body_bytes: int = 64 * 1024 * 1024
    #: What one client may take of `serve` (server.connections.Limits says each): open
    #: connections, seconds for a request's headers and for its body, seconds of silence,
    #: bytes of headers, bytes of a streamed response buffered per client.
    connection_limit: int = _LIMITS.connection_limit
    header_timeout: float = _LIMITS.header_timeout
    body_timeout: float = _LIMITS.body_timeout
    idle_timeout: int = _LIMITS.idle_timeout
    max_header_bytes: int = _LIMITS.max_header_bytes
    stream_buffer_bytes: int = _LIMITS.stream_buffer_bytes
    #: Dumps (/dump.nq.gz) built at once; other requests for one get 503 + Retry-After.
    dump_builds: int = 1
    #: Seconds a public SPARQL query may run before its worker is killed (503).
    query_deadline: float = 10.0
    #: Public SPARQL queries evaluated at once, on threads of the query process.
    query_workers: int = 8
    #: Public SPARQL queries that may wait for a place; beyond them, 503. Keep workers +
    #: queue below the thread count, so waiting queries never hold every thread.
    query_queue: int = 4
    #: Memory the query process may take, all its queries together (its heap and private
    #: writable mappings, RLIMIT_DATA): "4G", "512M", "65536K" or bytes; "0" for no limit.
    #: A query that grows past it gets 503, like one past the deadline.
    query_memory: str = "4G"
    #: Longest public SPARQL query, in bytes (longer ones get 413). The guard reads each
    #: query in the web process before it runs; real queries are far shorter.
    max_query_bytes: int = 256 * 1024
    #: Rows (or triples) after which a SPARQL result is cut.
    max_rows: int = 100_000
    #: SPARQL endpoints public queries may call with SERVICE (space-separated IRIs).
    allowed_services: str = ""
    #: Free disk space (bytes) below which writes to the store are refused, so the
    #: database never runs out of room mid-write and writes resume once room is made.
    min_free_bytes: int = 64 * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **flags: object) -> Config:
        """Defaults, overridden by ``STUDYGRAPH_<FIELD>`` variables, overridden by *flags*.

        A flag given as None counts as not given.
        """
        environ = os.environ if environ is None else environ
        # Field name -> value, of the type of whichever field it is: only known at run time.
        values: dict[str, Any] = {}
        for item in fields(cls):
            variable = f"STUDYGRAPH_{item.name.upper()}"
            if environ.get(variable):
                values[item.name] = environ[variable]
        values.update({k: v for k, v in flags.items() if v is not None})
        for item in fields(cls):
            given = values.get(item.name)
            if item.type in ("int", "float") and isinstance(given, str):
                values[item.name] = int(given) if item.type == "int" else float(given)
        return replace(cls(), **values)


_SIZE = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def byte_size(text: str) -> int:
    """Bytes in a size such as "4G", "512M", "65536K" or "1048576" (binary units; an
    optional trailing "B", "iB" is ignored); ValueError if it is not one."""
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (cleaned[:-1], cleaned[-1]) if cleaned[-1:] in _SIZE else (cleaned, "")
    if not number.replace(".", "", 1).isdigit():
        raise ValueError(f"not a size: {text!r} (say 4G, 512M or a number of bytes)")
    return int(float(number) * _SIZE[unit])
