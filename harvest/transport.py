"""The HTTP client of a harvest: urllib, narrowed to what a harvest should do.

- Only ``http`` and ``https`` are opened: the default opener also opens ``file:``,
  ``ftp:`` and ``data:`` URLs, which a source could name to have local files read.
- Redirects are not followed here: a 3xx comes back as an :class:`urllib.error.HTTPError`
  and the fetcher decides, by the harvest's scope, whether to follow it.
- A response has a total time limit (a monotonic deadline), from its first header byte
  to its last body byte. urllib's ``timeout`` is per socket operation, so a source
  sending one byte every few seconds would otherwise never time out; here every read
  of the socket waits at most until the deadline. Connecting (and a TLS handshake) is
  bounded per operation by the time left when the request starts.

Proxies from the environment (``http_proxy`` …) are honoured, as urllib does.

The fetcher takes its transport as a parameter (anything with :class:`Transport`'s
``open``), so a caller may hand it another real one — an opener with other handlers, a
client bound to a loopback server — while the default stays this narrowed urllib.
"""

from __future__ import annotations

import functools
import http.client
import io
import socket
import time
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol


class _DeadlineReader(io.RawIOBase):
    """A socket's input that raises :class:`TimeoutError` once *deadline* has passed,
    however slowly the bytes come."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)  # counts as a reference to the socket
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the response took longer than its time limit")
        self._sock.settimeout(remaining)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _TimedSocket:
    """What :class:`http.client.HTTPResponse` needs of a socket (``makefile``), reading
    within a deadline; the connection keeps the real socket for sending and closing."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, deadline: float, **kwargs: Any) -> None:
        super().__init__(_TimedSocket(sock, deadline), *args, **kwargs)  # type: ignore[arg-type]


def _with_deadline(connection_class: Callable[..., http.client.HTTPConnection], deadline: float) -> Callable[..., http.client.HTTPConnection]:
    """A connection factory like *connection_class* whose responses end by *deadline*."""

    def connect(*args: Any, **kwargs: Any) -> http.client.HTTPConnection:
        connection = connection_class(*args, **kwargs)
        connection.response_class = functools.partial(_DeadlineResponse, deadline=deadline)  # type: ignore[assignment]
        return connection

    return connect


class DeadlineRequest(urllib.request.Request):
    """A request whose response must be complete by :attr:`deadline` (``time.monotonic``)."""

    def __init__(self, url: str, headers: dict[str, str], deadline: float) -> None:
        super().__init__(url, headers=headers)
        self.deadline = deadline


class Transport(Protocol):
    """What sends a harvest's requests: :meth:`urllib.request.OpenerDirector.open`'s
    contract. It answers a :class:`DeadlineRequest` with a response (``status``,
    ``headers``, ``geturl()``, ``read``), raises :class:`urllib.error.HTTPError` for
    every status from 300 (redirects are the fetcher's to follow) and
    :class:`urllib.error.URLError` or :class:`OSError` when nothing came back."""

    def open(self, request: DeadlineRequest, timeout: float) -> Any: ...


class _Deadlines(urllib.request.AbstractHTTPHandler):
    """Handler mix-in: open connections whose responses honour the request's deadline."""

    def do_open(self, http_class: Any, req: urllib.request.Request, **kwargs: Any) -> http.client.HTTPResponse:
        if not isinstance(req, DeadlineRequest):
            raise TypeError(f"a harvest opener sends DeadlineRequests only, not {type(req).__name__}")
        return super().do_open(_with_deadline(http_class, req.deadline), req, **kwargs)


class _HTTPHandler(_Deadlines, urllib.request.HTTPHandler):
    pass


class _HTTPSHandler(_Deadlines, urllib.request.HTTPSHandler):
    pass


def harvest_opener(proxies: dict[str, str] | None = None) -> urllib.request.OpenerDirector:
    """An opener for http(s) only, without automatic redirects, with response deadlines,
    through *proxies* (scheme -> proxy URL; default: the environment's).

    Built by hand: :func:`urllib.request.build_opener` would add the file, FTP, data and
    redirect handlers. Any other scheme fails with ``URLError('unknown url type')``."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(proxies),
        urllib.request.UnknownHandler(),
        _HTTPHandler(),
        _HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener
