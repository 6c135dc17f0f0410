"""One pooled keep-alive HTTP client for one SPARQL store (urllib3).

Every request goes through :meth:`SparqlClient.request`, which adds the credentials
(basic, or digest once the store has challenged), applies the timeouts and turns any
answer that is not a success into a :class:`RemoteStoreError` naming the method, URL and
status — never a password (the URLs kept carry none: graph.remote.endpoints).
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Iterator, Mapping

import urllib3

from .digest import DigestAuth
from .endpoints import RemoteEndpoints

#: How much of an error answer an exception quotes.
ERROR_EXCERPT = 600
#: Result format asked of a query: JSON. pyoxigraph 0.5's XML results parser trims the
#: white space around a literal's text ("Britain. " came back as "Britain."), and
#: Virtuoso writes a tab inside a literal raw in TSV; its JSON says "typed-literal"
#: (SPARQL 1.0's JSON), which pyoxigraph reads with the datatype kept.
RESULTS_JSON = "application/sparql-results+json"


class RemoteStoreError(RuntimeError):
    """The store refused or failed a request (or could not be reached)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SparqlClient:
    """Query, Update and Graph Store requests to one store over pooled connections."""

    def __init__(self, endpoints: RemoteEndpoints) -> None:
        self.endpoints = endpoints
        # block: at most endpoints.connections requests at once; the others wait for one
        # (up to the read timeout), so the store never sees more than that per process.
        self._http = urllib3.PoolManager(
            num_pools=4, maxsize=endpoints.connections, block=True,
            timeout=urllib3.Timeout(connect=endpoints.connect_timeout, read=endpoints.read_timeout),
            retries=urllib3.Retry(total=2, connect=2, read=0, status=0, redirect=0, allowed_methods=frozenset({"GET"})),
        )
        self._digest = DigestAuth(endpoints.user, endpoints.password) if endpoints.user and endpoints.password and endpoints.dialect == "virtuoso" else None
        self._basic = (
            "Basic " + base64.b64encode(f"{endpoints.user}:{endpoints.password}".encode()).decode()
            if endpoints.user and endpoints.password and self._digest is None else None
        )

    # -- the three protocols

    def query(self, sparql: str, accept: str = RESULTS_JSON, *, union: bool = False) -> urllib3.BaseHTTPResponse:
        """POST a query (form-encoded); the answer unread, to be streamed or read whole.
        *union*: over the union of the named graphs (Oxigraph's parameter; Virtuoso's
        default graph is that union already)."""
        fields = {"query": sparql}
        if union and self.endpoints.dialect == "oxigraph":
            fields["union-default-graph"] = ""
        body = urllib.parse.urlencode(fields).encode()
        return self.request("POST", self.endpoints.query_url, body=body, stream=True,
                            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": accept})

    def update(self, update: str) -> None:
        """POST one SPARQL Update request (``application/sparql-update``)."""
        self.request("POST", self.endpoints.update_url, body=update.encode("utf-8"), auth=True,
                     headers={"Content-Type": "application/sparql-update"})

    def graph_url(self, graph: str | None) -> str:
        """The Graph Store URL of a named graph (None: the default graph)."""
        if self.endpoints.graph_store_url is None:
            raise RemoteStoreError(f"no Graph Store Protocol URL is configured for {self.endpoints.query_url}")
        target = {"graph": graph} if graph is not None else {"default": ""}
        return f"{self.endpoints.graph_store_url}?{urllib.parse.urlencode(target)}"

    def graph_store(self, method: str, url: str, *, body: bytes | None = None, media_type: str | None = None,
                    accept: str | None = None, missing_ok: bool = False) -> urllib3.BaseHTTPResponse:
        """A Graph Store Protocol request to *url* (from :meth:`graph_url` or the store
        URL itself); with *missing_ok* a 404 is answered, not raised."""
        headers = {}
        if media_type:
            headers["Content-Type"] = media_type
        if accept:
            headers["Accept"] = accept
        return self.request(method, url, body=body, headers=headers, stream=method == "GET", auth=method != "GET",
                            allowed=(404,) if missing_ok else ())

    # -- one request

    def request(self, method: str, url: str, *, body: bytes | None = None, headers: Mapping[str, str] | None = None,
                stream: bool = False, auth: bool = False, allowed: tuple[int, ...] = ()) -> urllib3.BaseHTTPResponse:
        """Send a request; the answer (read whole unless *stream*). A failure or any
        status but 2xx (and *allowed*) is a RemoteStoreError naming method, URL and status."""
        sent = dict(headers or {})
        response = self._send(method, url, body, sent, stream, auth)
        if response.status == 401 and self._digest is not None and self._digest.challenged(response.headers.get("WWW-Authenticate")):
            response.drain_conn()
            response = self._send(method, url, body, sent, stream, auth)
        if 200 <= response.status < 300 or response.status in allowed:
            return response
        # A preloaded answer's body is in .data (read() gives nothing more).
        body = response.read(ERROR_EXCERPT * 2) if stream else response.data[: ERROR_EXCERPT * 2]
        detail = body.decode("utf-8", "replace").strip()[:ERROR_EXCERPT]
        response.release_conn()
        raise RemoteStoreError(f"{method} {_shown(url)} answered {response.status}: {detail}", response.status)

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str], stream: bool, auth: bool) -> urllib3.BaseHTTPResponse:
        if auth or self._basic is not None:
            credentials = self._digest.header(method, url) if self._digest is not None else self._basic
            if credentials is not None:
                headers["Authorization"] = credentials
        try:
            return self._http.request(method, url, body=body, headers=headers, preload_content=not stream, redirect=False,
                                      pool_timeout=self.endpoints.read_timeout)
        except urllib3.exceptions.HTTPError as error:
            raise RemoteStoreError(f"{method} {_shown(url)} failed: {type(error).__name__}: {_reason(error)}") from None

    def close(self) -> None:
        self._http.clear()


def read_all(response: urllib3.BaseHTTPResponse) -> bytes:
    """The whole body of a streamed answer; the connection goes back to the pool."""
    try:
        return response.read()
    finally:
        response.release_conn()


def chunks(response: urllib3.BaseHTTPResponse, size: int = 1 << 16) -> Iterator[bytes]:
    """A streamed answer's body, piece by piece; the connection goes back to the pool."""
    try:
        yield from response.stream(size)
    finally:
        response.release_conn()


def _shown(url: str) -> str:
    """A URL as an error shows it: without its query string (which may hold a query)."""
    return url.split("?", 1)[0]


def _reason(error: urllib3.exceptions.HTTPError) -> str:
    reason = getattr(error, "reason", None)
    return str(reason or error)
