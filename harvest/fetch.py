"""Fetching the documents of a harvest, politely and within limits.

Politeness towards the source: one request at a time, ``--delay`` between requests,
retries with exponential backoff on connection errors, timeouts, 429 and 5xx (waiting as
long as ``Retry-After`` asks, up to a cap), and conditional requests
(If-None-Match / If-Modified-Since) with the validators remembered per URL.

Limits that make every harvest end, whatever the source does:

- each response must be complete within ``--timeout`` seconds (total, not between bytes);
- each body is at most ``--max-size`` bytes, as sent and once decompressed;
- at most ``--max-pages`` documents per harvest (a retry is the same document);
- the whole harvest fetches nothing after ``--max-time`` seconds: no request, no wait for
  a retry or a ``Retry-After``, and no response may run past that moment;
- only http(s) URLs on the allowed origins are fetched, redirects included (the
  :class:`~harvest.scope.Scope`), and at most :data:`MAX_REDIRECTS` in a row.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import time
import urllib.error
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from studygraph.mappings.formats import SYNTAX_BY_NAME, accept_header

from .body import describe_size, read_body
from .errors import HarvestError, HarvestLimit
from .scope import Scope
from .transport import DeadlineRequest, Transport, harvest_opener

ACCEPT_RDF = accept_header(
    (("ttl", 1), ("trig", 0.95), ("nq", 0.9), ("nt", 0.9), ("rdf", 0.8), ("jsonld", 0.7)),
    *(f"{broader};q=0.5" for broader in SYNTAX_BY_NAME["rdf"].broader), "*/*;q=0.1",
)
MAX_REDIRECTS = 10
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass
class Politeness:
    #: Seconds one response may take, from sending the request to its last byte.
    timeout: float = 30.0
    #: Further attempts after a connection error, a timeout, 429 or 5xx.
    retries: int = 3
    #: Seconds before the first retry; doubled for each further one.
    backoff: float = 1.0
    #: Seconds between the start of one request and the next.
    delay: float = 0.0
    #: Largest body, as sent and once decompressed.
    max_bytes: int = 256 * 1024 * 1024
    #: Documents one harvest fetches at the most.
    max_pages: int = 100_000
    #: Seconds after which a harvest fetches nothing more.
    max_time: float = 6 * 3600.0
    #: Longest ``Retry-After`` waited for; a source asking for more is given up on.
    max_retry_after: float = 120.0
    user_agent: str = "studygraph-harvester/0.1"


@dataclass
class Fetched:
    url: str
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str]


class _Retry(Exception):
    """A failure worth another attempt: its one-line message, and how long the source
    asked us to wait (``Retry-After``), if it did."""

    def __init__(self, message: str, asked_wait: float | None = None) -> None:
        super().__init__(message)
        self.asked_wait = asked_wait


class Fetcher:
    """GETs for one harvest: in scope, one at a time, within the limits of *politeness*,
    sent by *transport* (default: :func:`~harvest.transport.harvest_opener`)."""

    def __init__(
        self,
        politeness: Politeness,
        validators: dict[str, dict[str, str]],
        scope: Scope,
        clock: Callable[[], float] = time.monotonic,
        transport: Transport | None = None,
    ) -> None:
        self.politeness = politeness
        self.validators = validators
        self.scope = scope
        self._clock = clock
        self._opener = transport if transport is not None else harvest_opener()
        self._last = float("-inf")
        self.deadline = clock() + politeness.max_time
        #: Documents fetched (or being fetched), and requests sent (retries and redirects too).
        self.documents = 0
        self.requests = 0

    def get(self, url: str, accept: str = ACCEPT_RDF, conditional: bool = False) -> Fetched | None:
        """The response, or None when a conditional request says the copy is current (304).

        :class:`HarvestError` (one line, naming the URL) when the source fails or the URL
        is out of scope; :class:`HarvestLimit` when the harvest's own limits are reached."""
        self.scope.check(url)
        if self.documents >= self.politeness.max_pages:
            raise HarvestLimit(f"{url}: not fetched: the harvest has read its limit of {self.politeness.max_pages} pages (--max-pages)")
        self.documents += 1
        headers = {"Accept": accept, "User-Agent": self.politeness.user_agent}
        if conditional and url in self.validators:
            known = self.validators[url]
            if known.get("etag"):
                headers["If-None-Match"] = known["etag"]
            if known.get("last_modified"):
                headers["If-Modified-Since"] = known["last_modified"]
        attempt = 0
        while True:
            try:
                fetched = self._follow(url, headers)
            except _Retry as problem:
                if attempt >= self.politeness.retries:
                    raise HarvestError(str(problem)) from None
                attempt += 1
                self._wait_to_retry(url, problem, self.politeness.backoff * 2 ** (attempt - 1))
                continue
            if fetched is not None:
                self.validators[url] = {
                    key: value for key, value in (("etag", fetched.headers.get("ETag")), ("last_modified", fetched.headers.get("Last-Modified"))) if value
                }
            return fetched

    def _follow(self, url: str, headers: dict[str, str]) -> Fetched | None:
        """One attempt: the request, and the redirects it leads to (each checked by the scope)."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            location = self._request(current, headers)
            if not isinstance(location, str):
                return location
            self.scope.check(location, how="redirected")
            current = location
        raise HarvestError(f"{url}: more than {MAX_REDIRECTS} redirects")

    def _request(self, url: str, headers: dict[str, str]) -> Fetched | str | None:
        """One request: the response, None for 304, or the URL a redirect points to."""
        self._pause(url)
        self.requests += 1
        now = self._clock()
        deadline = min(now + self.politeness.timeout, self.deadline)
        limit = "--max-time" if deadline == self.deadline else "--timeout"
        request = DeadlineRequest(url, headers, deadline)
        try:
            with self._opener.open(request, timeout=max(deadline - now, 0.001)) as response:
                body = read_body(response, url, self.politeness.max_bytes, response.headers.get("Content-Encoding"))
                headers_seen = dict(response.headers)
                return Fetched(response.geturl(), response.status, response.headers.get_content_type(), body, headers_seen)
        except urllib.error.HTTPError as error:
            try:
                return self._answer(url, error)
            finally:
                error.close()
        except (TimeoutError, ConnectionError, urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            if not isinstance(reason, TimeoutError):
                raise _Retry(f"{url}: {_describe(reason)}") from None
            if limit == "--max-time":
                raise HarvestLimit(f"{url}: {self._time_limit()} passed during the response") from None
            raise _Retry(f"{url}: no complete response within {_seconds(self.politeness.timeout)} (--timeout)") from None
        except http.client.IncompleteRead:
            raise _Retry(f"{url}: the response ended before its last byte") from None
        except http.client.HTTPException as error:
            raise HarvestError(f"{url}: not a valid HTTP response ({_describe(error)})") from None
        except ValueError as error:
            raise HarvestError(f"{url}: cannot be requested ({error})") from None

    def _answer(self, url: str, error: urllib.error.HTTPError) -> str | None:
        """What an HTTP error status means for the harvest: a redirect's target, None for
        304, a :class:`_Retry`, or a :class:`HarvestError`."""
        if error.code == 304:
            return None
        if error.code in REDIRECTS and error.headers.get("Location"):
            return urllib.parse.urldefrag(urllib.parse.urljoin(url, error.headers["Location"].strip()))[0]
        problem = f"{url}: HTTP {error.code}"
        if error.code == 429 or error.code >= 500:
            raise _Retry(problem, retry_after(error.headers.get("Retry-After")))
        raise HarvestError(problem)

    def _pause(self, url: str) -> None:
        """Keep ``--delay`` between requests; never wait past the deadline."""
        self._sleep_until(self._last + self.politeness.delay, f"{url}: not fetched: waiting --delay would pass {self._time_limit()}")
        if self._clock() >= self.deadline:
            raise HarvestLimit(f"{url}: not fetched: {self._time_limit()} has passed")
        self._last = self._clock()

    def _wait_to_retry(self, url: str, problem: _Retry, backoff: float) -> None:
        asked = problem.asked_wait
        if asked is not None and asked > self.politeness.max_retry_after:
            raise HarvestError(f"{problem}: asked to retry after {_seconds(asked)}, longer than a harvest waits ({_seconds(self.politeness.max_retry_after)})")
        wait = max(backoff, asked or 0.0)
        self._sleep_until(
            self._clock() + wait,
            f"{problem}: a retry in {_seconds(wait)} would pass {self._time_limit()}",
        )

    def _time_limit(self) -> str:
        return f"the harvest's time limit (--max-time {_seconds(self.politeness.max_time)})"

    def _sleep_until(self, moment: float, too_late: str) -> None:
        if moment > self.deadline:
            raise HarvestLimit(too_late)
        wait = moment - self._clock()
        if wait > 0:
            time.sleep(wait)


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delay-seconds or an HTTP date), if it
    says anything we can read."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _describe(reason: Any) -> str:
    """A connection failure in a few words (``Connection refused``), not a repr."""
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    text = str(reason) or type(reason).__name__
    return text.splitlines()[0] if text else type(reason).__name__


def _seconds(value: float) -> str:
    return f"{value:g} s"


__all__ = ["ACCEPT_RDF", "Fetched", "Fetcher", "Politeness", "describe_size", "retry_after"]
