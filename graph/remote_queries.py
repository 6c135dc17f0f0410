"""Public SPARQL queries sent to a store server's query service (Oxigraph server,
Virtuoso, or any SPARQL 1.1 store), with every promise of the embedded query pool.

The web tier cannot kill a remote query, and neither store stops a streamed answer
cleanly: Oxigraph server may write a 200 whose body is cut (or simply never ends when
its ``--timeout-s`` does not reach the evaluation), and Virtuoso answers 200 with partial
results flagged only by ``X-SQL-State: S1TAT`` (its "anytime" timeout), and cuts every
answer at its ``ResultSetMaxRows`` saying so only in ``X-SPARQL-MaxRows``. So the store
is asked for a format read here in full (SPARQL results JSON for solutions, N-Triples for
graphs), parsed as it arrives within the deadline, and written again in the client's
format by graph.sparql_results (the same writers, row cap and truncation flag as the
embedded pool), to memory or a spool file, before the web tier answers: a client gets the
whole result, a result cut at the row cap and flagged, or a 503, never a cut 200.

Deadline: each query has one, counted from when the request arrived. The store is told
its share where it has a parameter for it (Virtuoso's ``timeout``, in ms); Oxigraph's
server has only its own ``--timeout-s``, which the operator keeps short. The client
deadline is enforced here in any case: connect and read timeouts within what is left,
and a timer that shuts the response down at the deadline, however slowly the store
trickles its answer.

Concurrency: at most *size* queries are sent at once (Oxigraph server keeps a thread per
request for as long as it runs) and *queue* more may wait, within their deadline, for a
place; beyond that, PoolBusy. A query given up at the deadline keeps its place until the
store's own timeout has passed too (*store_timeout*), since the store is still running it.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import IO, Any, cast
from urllib.parse import urlencode

import pyoxigraph
import urllib3

from studygraph.graph.query_pool import (
    PoolBusy,
    QueryFailed,
    QueryJob,
    QueryResult,
    QueryStopped,
    QueryTimeout,
    SpillingBuffer,
    wait_for_place,
)
from studygraph.graph.sparql_results import write_results

#: The kinds of store, each with its own protocol extensions.
STORE_KINDS = ("oxigraph", "virtuoso", "generic")

SOLUTIONS_MEDIA = "application/sparql-results+json"
GRAPH_MEDIA = "application/n-triples"
#: Virtuoso's own graphs (its quad-map schema, LDP, its service description): its default
#: graph is the union of every graph it holds, and GRAPH ?g sees them all; both are kept
#: to the catalogue's graphs, as the public endpoint promises.
VIRTUOSO_SYSTEM_GRAPHS = ("http://www.openlinksw.com/schemas/virtrdf#", "http://www.w3.org/ns/ldp#", "http://localuriqaserver/sparql")
#: Share of what is left of the deadline Virtuoso is given as its own ``timeout``: its
#: "anytime" stop overshoots by a second or more (measured: 1 s asked, 2 s taken), and
#: its partial answer (S1TAT) must arrive in time to become a 503 of ours.
VIRTUOSO_SHARE = 0.5
#: How much of a store's error answer is read and passed on.
ERROR_BYTES = 2000


class RemoteQueryPool:
    """Public queries sent to the SPARQL query service at *query_url* over pooled
    keep-alive HTTP, *size* at a time with *queue* waiting, each within *deadline*
    seconds. *kind* ("oxigraph", "virtuoso" or "generic") says how to ask for the union
    default graph and the store's own timeout; *store_timeout* is the store's own query
    timeout (Oxigraph's ``--timeout-s``), if it has one."""

    def __init__(
        self, query_url: str, *, kind: str = "generic", size: int = 8, queue: int = 0, deadline: float = 10.0,
        store_timeout: float | None = None, connect_timeout: float = 2.0, spool_dir: str | None = None,
        user: str | None = None, password: str | None = None,
    ) -> None:
        if kind not in STORE_KINDS:
            raise ValueError(f"unknown store kind {kind!r}; use one of {', '.join(STORE_KINDS)}")
        self.query_url = query_url
        self.kind = kind
        self.size = size
        self.queue = queue
        self.deadline = deadline
        self.store_timeout = store_timeout
        self.connect_timeout = connect_timeout
        headers = urllib3.make_headers(keep_alive=True, basic_auth=f"{user}:{password}" if user and password else None)
        self._http = urllib3.PoolManager(num_pools=2, maxsize=size, block=False, retries=False, headers=headers)
        self._root = tempfile.mkdtemp(prefix="studygraph-remote-sparql-", dir=spool_dir)
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._admitted = 0
        self._running = 0
        #: Queries given up at the client deadline so far.
        self.timed_out = 0
        #: Queries sent to the store so far.
        self.sent = 0

    def refresh(self) -> None:
        """Nothing to do: every query reads the store as it is when the query arrives."""

    def close(self) -> None:
        self._http.clear()
        shutil.rmtree(self._root, ignore_errors=True)

    def run(self, job: QueryJob, started: float | None = None) -> QueryResult:
        until = (time.monotonic() if started is None else started) + self.deadline
        with self._lock:
            if self._admitted >= self.size + self.queue:
                raise PoolBusy("all query places are taken")
            self._admitted += 1
            try:
                wait_for_place(self._freed, until, lambda: self._running < self.size)
                self._running += 1
            finally:
                self._admitted -= 1
        sent = time.monotonic()
        abandoned = False
        try:
            return self._ask(job, until)
        except QueryTimeout:
            # Given up by us at the deadline, rather than stopped by the store itself.
            abandoned = time.monotonic() >= until
            self.timed_out += abandoned
            raise
        finally:
            # A query given up is still running on the store until its own timeout: its
            # place stays taken until then, so the store never holds more than *size*.
            hold = sent + self.store_timeout - time.monotonic() if abandoned and self.store_timeout else 0.0
            if hold > 0:
                timer = threading.Timer(hold, self._free)
                timer.daemon = True
                timer.start()
            else:
                self._free()

    def _free(self) -> None:
        with self._lock:
            self._running -= 1
            self._freed.notify()

    def _timeout(self) -> QueryTimeout:
        return QueryTimeout(f"the query ran past the {self.deadline:g} s deadline and was stopped")

    def _ask(self, job: QueryJob, until: float) -> QueryResult:
        """Send *job*, read and re-serialise its answer before *until*."""
        left = until - time.monotonic()
        if left <= 0:
            raise self._timeout()
        graph = job.form in ("CONSTRUCT", "DESCRIBE")
        with self._lock:
            self.sent += 1
        try:
            response = self._http.request(
                "POST", self.query_url, body=urlencode(self._fields(job, left)),
                headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": GRAPH_MEDIA if graph else SOLUTIONS_MEDIA},
                timeout=urllib3.Timeout(connect=min(self.connect_timeout, left), read=left), preload_content=False,
            )
        except urllib3.exceptions.TimeoutError:
            raise self._timeout() from None
        except urllib3.exceptions.HTTPError as error:
            raise QueryFailed(f"the SPARQL store did not answer ({type(error).__name__})", syntax=False) from None
        # However slowly the body comes, reading it ends at the deadline.
        stop = threading.Timer(max(until - time.monotonic(), 0), response.shutdown)
        stop.daemon = True
        stop.start()
        whole = False
        try:
            self._check_answer(response)
            spool = os.path.join(self._root, f"result-{next(self._numbers)}")
            out = SpillingBuffer(spool)
            started = time.monotonic()
            try:
                result: Any = _Triples(response) if graph else pyoxigraph.parse_query_results(cast(IO[bytes], response), pyoxigraph.QueryResultsFormat.JSON)
                rows, truncated = write_results(result, out, job.format, job.max_rows, job.prefixes, within_cap=job.within_cap)
            except Exception:
                out.finish()
                _remove(spool)
                if time.monotonic() >= until:
                    raise self._timeout() from None
                # A 200 whose body does not parse to its end: the store stopped midway.
                raise QueryTimeout("the store stopped answering midway (its own timeout, or a failure)") from None
            inline = out.finish()
            whole = not truncated
            # The store cut the answer at its own row cap (Virtuoso's ResultSetMaxRows).
            truncated = truncated or "X-SPARQL-MaxRows" in response.headers
            return QueryResult(None if inline is not None else spool, rows, truncated, time.monotonic() - started, inline)
        finally:
            stop.cancel()
            if whole:
                response.release_conn()  # read to its end: the connection is kept alive
            else:
                response.close()  # the rest of the answer is not wanted: never reuse that connection

    def _fields(self, job: QueryJob, left: float) -> list[tuple[str, str]]:
        """The protocol request: the query (with the base IRI and, for Virtuoso, its
        system graph left out of the union), the dataset, and the store's own options."""
        prologue = ""
        union = job.union_default_graph and not job.default_graphs
        if self.kind == "virtuoso":
            for system in VIRTUOSO_SYSTEM_GRAPHS:
                prologue += f"DEFINE input:named-graph-exclude <{system}>\n"
                if union:
                    prologue += f"DEFINE input:default-graph-exclude <{system}>\n"
        if job.base_iri:
            prologue += f"BASE <{_iri(job.base_iri)}>\n"
        fields = [("query", prologue + job.query)]
        fields += [("default-graph-uri", g) for g in job.default_graphs]
        fields += [("named-graph-uri", g) for g in job.named_graphs]
        if self.kind == "oxigraph" and union:
            fields.append(("union-default-graph", ""))
        if self.kind == "virtuoso":
            share = left * VIRTUOSO_SHARE if self.store_timeout is None else min(left * VIRTUOSO_SHARE, self.store_timeout)
            fields.append(("timeout", str(max(int(share * 1000), 1))))
        return fields

    def _check_answer(self, response: urllib3.BaseHTTPResponse) -> None:
        """Raise for an answer that is not a whole result: an error status, or Virtuoso's
        partial result at its timeout."""
        if response.status == 200:
            if response.headers.get("X-SQL-State") == "S1TAT":
                raise QueryTimeout("the store stopped the query at its deadline")
            return
        text = response.read(ERROR_BYTES).decode("utf-8", "replace").strip()
        if response.status in (503, 504) or "timeout" in text.lower() or "exceeds the limit" in text:
            raise QueryStopped(f"the store stopped the query: {text.splitlines()[0] if text else response.status}")
        raise QueryFailed(text or f"the SPARQL store answered {response.status}", syntax=response.status == 400)


class _Triples:
    """The triples of an N-Triples answer as a graph result for write_results: iterable,
    and serialisable as the line formats are."""

    def __init__(self, source: Any) -> None:
        self._quads = pyoxigraph.parse(source, pyoxigraph.RdfFormat.N_TRIPLES)

    def __iter__(self) -> Iterator[pyoxigraph.Triple]:
        return (quad.triple for quad in self._quads)

    def serialize(self, out: Any, format: pyoxigraph.RdfFormat) -> None:
        pyoxigraph.serialize(iter(self), out, format)


def _iri(value: str) -> str:
    """*value* as the inside of an IRI reference, refused if it could end one early."""
    if any(c in value for c in '<>"{}|^`\\ \n\r\t'):
        raise ValueError(f"not an IRI: {value!r}")
    return value


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
