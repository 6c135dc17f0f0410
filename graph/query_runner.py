"""What the SPARQL endpoint needs of whatever runs its public queries.

Two things do: the embedded query process over checkpoints of the store
(graph.query_pool.QueryPool) and a remote store's query service
(graph.remote_queries.RemoteQueryPool). The server (server.sparql) is typed with this
protocol only, so it keeps every promise (deadline, 503 rather than a cut 200, row cap)
whichever runs the query.
"""

from __future__ import annotations

from typing import Protocol

from studygraph.graph.query_pool import QueryJob, QueryResult


class QueryRunner(Protocol):
    def run(self, job: QueryJob, started: float | None = None) -> QueryResult:
        """Run *job* within the deadline counted from *started* (``time.monotonic()``);
        the result written whole, in its format, cut at ``job.max_rows``. Raises
        QueryStopped (QueryTimeout, QueryOutOfMemory), PoolBusy or QueryFailed."""
        ...

    def refresh(self) -> None:
        """Note a committed write: later queries see it."""
        ...

    def close(self) -> None: ...
