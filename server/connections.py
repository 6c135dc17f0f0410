"""The HTTP server: Waitress, set up so that slow and idle clients cannot take it down.

Why Waitress (measured side by side with gunicorn's threaded worker: BENCHMARKS.md,
"Slow clients"): Waitress reads requests and writes responses in one asynchronous loop
and gives a request to a worker thread only once it has arrived whole, so a client that
sends its headers a byte at a time holds a socket, not a thread; and it sends a file
response (``wsgi.file_wrapper``: the dump, spooled SPARQL results) from the file in that
loop, so a client that does not read holds no thread either. gunicorn's gthread worker
reads the headers in the worker thread, with no deadline: 16 slow clients hold its 16
threads. Waitress also takes a listening socket bound beforehand, so the N stateless
worker processes of a scale-out can share one port.

What Waitress lacks is added here, with the limits of :class:`Limits`:

- **deadlines for reading a request**: Waitress closes a connection only when it has
  been idle for ``channel_timeout``, and a byte every few seconds is not idle. Here a
  request's headers must have arrived within ``header_timeout`` of its first byte (or of
  the connection, for its first request), and its body within ``body_timeout`` of the
  headers; otherwise the connection is closed.
- **an idle deadline in mid-response**: Waitress never closes a connection whose response
  is being written, so a client that stopped reading a streamed response larger than the
  per-client buffer (``stream_buffer_bytes``) held its worker thread for ever. Here it is
  closed after ``idle_timeout`` without progress, which frees the thread.
- **a clean refusal past the connection cap**: at ``connection_limit`` Waitress stops
  accepting, and new clients wait in the listen queue without an answer. Here they are
  accepted and answered 503 with ``Retry-After``, and the connection is closed.
- **the token before the body**: a request the app will refuse whatever its body holds
  (server.auth: a write without the token) is handed to the app as soon as its headers
  are in, without its body, and the connection is closed after the answer; for a moment
  the rest of what the client sends is read and dropped, so that closing does not reset
  the connection before the client has read the refusal.
"""

from __future__ import annotations

import logging
import resource
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

logger = logging.getLogger("studygraph.connections")

#: How long a connection whose request body was refused keeps reading (and dropping)
#: what the client still sends, after the answer, before it is closed.
LINGER_SECONDS = 2.0
#: File descriptors kept for everything but client connections (stores, logs, spools).
SPARE_FILES = 256


@dataclass(frozen=True)
class Limits:
    """What one client may take of the server (settings: studygraph.config)."""

    #: Open client connections; past it, a new one is answered 503 and closed.
    connection_limit: int = 1000
    #: Seconds from a request's first byte (a connection's opening, for its first
    #: request) until its headers must have arrived.
    header_timeout: float = 20.0
    #: Seconds from the end of a request's headers until its body must have arrived.
    body_timeout: float = 120.0
    #: Seconds a connection may go without sending or receiving a byte, also while a
    #: response is being written to it.
    idle_timeout: int = 60
    #: Largest request line and headers, in bytes (431 past it).
    max_header_bytes: int = 64 * 1024
    #: Bytes of a streamed (not file) response buffered for one client before the worker
    #: thread writing it waits for the client to read.
    stream_buffer_bytes: int = 4 * 1024 * 1024
    #: Seconds a client refused at the connection cap is told to wait.
    retry_after: int = 5


#: (method, path, Authorization header) -> whether the app will refuse the request.
RefusesBody = Callable[[str, str, "str | None"], bool]


class Parser(HTTPRequestParser):
    """Waitress's request parser, timing the request and stopping at the headers of a
    request whose body the app would refuse (:attr:`refuses_body`)."""

    refuses_body: RefusesBody = staticmethod(lambda method, path, authorization: False)
    #: Waitress's receiver of the body (chunked or of a known length), None before and without one.
    body_rcv: Any

    def __init__(self, adj: Adjustments) -> None:
        super().__init__(adj)
        self.started = time.monotonic()
        self.headers_ended: float | None = None
        self.refused = False

    def received(self, data: bytes) -> int:
        consumed = super().received(data)
        if self.headers_finished and self.headers_ended is None:
            self.headers_ended = time.monotonic()
            if not self.completed and self.error is None and self.refuses_body(self.command, self.path, self.headers.get("AUTHORIZATION")):
                self._without_body()
                return len(data)
        return consumed

    def _without_body(self) -> None:
        """Complete the request now, with an empty body, to be answered and the
        connection closed (what follows on it is the refused body, not a request)."""
        if self.body_rcv is not None:
            self.body_rcv.getbuf().close()
        self.body_rcv = None
        self.chunked = False
        self.content_length = 0
        self.headers["CONTENT_LENGTH"] = "0"
        self.headers["CONNECTION"] = "close"
        self.connection_close = True
        self.expect_continue = False
        self.refused = True
        self.completed = True

    def deadline(self, limits: Limits) -> float:
        """When this request must be complete (monotonic seconds)."""
        if self.headers_ended is None:
            return self.started + limits.header_timeout
        return self.headers_ended + limits.body_timeout


class Channel(HTTPChannel):
    """One client connection: Waitress's, with deadlines and a lingering close."""

    limits: Limits = Limits()

    def __init__(self, server: Any, sock: socket.socket, addr: Any, adj: Adjustments, map: Any = None) -> None:
        super().__init__(server, sock, addr, adj, map)
        self.opened = time.monotonic()
        self.served = False
        self.refused_body = False
        self.linger_until: float | None = None
        #: When a byte of output was last sent, or output last became pending: a client
        #: is stalled when output has waited for it longer than ``idle_timeout``.
        self.progress = self.opened

    def service(self) -> None:
        """Serve the first request in line (in a worker thread); noted before its answer
        is written, so the loop knows how to close the connection after it."""
        self.served = True
        self.refused_body = self.refused_body or getattr(self.requests[0], "refused", False)
        super().service()

    def write_soon(self, data: Any) -> int:
        if not self.total_outbufs_len:
            self.progress = time.monotonic()
        return super().write_soon(data)

    def _flush_some(self, do_close: bool = True) -> bool:
        sent = super()._flush_some(do_close=do_close)
        if sent:
            self.progress = time.monotonic()
        return sent

    def stalled(self, now: float) -> bool:
        """Whether a response has waited longer than ``idle_timeout`` for the client to
        read any of it."""
        return bool(self.requests and self.total_outbufs_len) and now - self.progress > self.limits.idle_timeout

    def overdue(self, now: float) -> bool:
        """Whether the request being read (or the first one) is past its deadline."""
        if self.linger_until is not None:
            return now > self.linger_until
        if self.request is not None and not self.request.completed:
            return now > self.request.deadline(self.limits)
        return not self.served and not self.requests and now > self.opened + self.limits.header_timeout

    def end(self) -> None:
        """Cut the connection (from the server's maintenance), to be closed by the loop.

        ``will_close`` alone waits for a write pass, which never comes for a client that
        does not read (its socket never becomes writable); closing the socket here would
        free its descriptor during the loop's pass, and a connection accepted in that
        same pass would take it and be closed by the stale poll event. Shut down, the
        socket reports hang-up on the next poll and the loop closes it; a worker thread
        waiting for this client to read then wakes and stops (ClientDisconnected)."""
        self.will_close = True
        if self.socket is not None:
            try:
                self.socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- the lingering close after a refused body

    def handle_close(self) -> None:
        if self.refused_body and self.linger_until is None and self.connected and self.socket is not None:
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            else:
                self.linger_until = time.monotonic() + LINGER_SECONDS
                self.will_close = self.close_when_flushed = False
                return
        super().handle_close()

    def readable(self) -> bool:
        return True if self.linger_until is not None else super().readable()

    def writable(self) -> bool:
        return False if self.linger_until is not None else super().writable()

    def handle_read(self) -> None:
        if self.linger_until is None:
            return super().handle_read()
        try:
            data = self.socket.recv(self.adj.recv_bytes)
        except BlockingIOError:
            return None
        except OSError:
            data = b""
        if not data or time.monotonic() > self.linger_until:
            HTTPChannel.handle_close(self)
        return None


class Server(TcpWSGIServer):
    """Waitress's TCP server, refusing connections past the cap and enforcing deadlines."""

    limits: Limits = Limits()
    #: When (time.time()) waitress next closes idle channels.
    next_channel_cleanup: float

    def readable(self) -> bool:
        now = time.time()
        if now >= self.next_channel_cleanup:
            self.next_channel_cleanup = now + self.adj.cleanup_interval
            self.maintenance(now)
        return self.accepting

    def handle_accept(self) -> None:
        if len(self.active_channels) < self.limits.connection_limit:
            return super().handle_accept()
        try:
            accepted = self.accept()
        except OSError:
            return None
        if accepted is not None:
            refuse(accepted[0], self.limits.retry_after)
        return None

    def maintenance(self, now: float) -> None:
        """Waitress's (close connections idle for ``idle_timeout`` with no request in
        flight), then: requests past their deadline, and connections idle for
        ``idle_timeout`` while their response waits for them to read."""
        super().maintenance(now)
        monotonic = time.monotonic()
        for channel in list(self.active_channels.values()):
            if channel.overdue(monotonic) or channel.stalled(monotonic):
                channel.end()


def refuse(connection: socket.socket, retry_after: int) -> None:
    """Answer a connection past the cap with 503 and close it, without reading a request."""
    body = b"the server has too many open connections; try again shortly\n"
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nRetry-After: {retry_after}\r\nConnection: close\r\n\r\n"
    ).encode()
    try:
        connection.setblocking(False)
        connection.send(head + body)
        connection.shutdown(socket.SHUT_WR)
        # Drop what the client sent already, so that closing sends FIN, not a reset
        # that could discard the answer before the client reads it.
        connection.recv(65536)
    except OSError:
        pass
    finally:
        connection.close()


def create(
    app: Callable, *, host: str, port: int, threads: int, limits: Limits, refuses_body: RefusesBody,
    max_body_bytes: int, ident: str = "studygraph", listen_socket: socket.socket | None = None,
) -> Any:
    """A server for *app*, not yet running (``.run()`` serves until SIGTERM/SIGINT).

    *refuses_body(method, path, authorization)* tells which requests the app will refuse
    whatever their body (server.auth.body_refused). *listen_socket*, bound beforehand,
    is served instead of binding *host*:*port* (for worker processes sharing a port)."""
    raise_open_file_limit(limits.connection_limit + SPARE_FILES)
    adjustments = Adjustments(
        host=host, port=port, threads=threads, ident=ident,
        max_request_body_size=max_body_bytes, clear_untrusted_proxy_headers=True,
        connection_limit=limits.connection_limit, channel_timeout=limits.idle_timeout,
        # Deadlines are checked this often (seconds): a second late at most.
        cleanup_interval=1,
        max_request_header_size=limits.max_header_bytes, outbuf_high_watermark=limits.stream_buffer_bytes,
        # poll(), not select(): select cannot watch descriptors past 1024.
        asyncore_use_poll=True,
    )
    parser = type("Parser", (Parser,), {"refuses_body": staticmethod(refuses_body)})
    channel = type("Channel", (Channel,), {"parser_class": parser, "limits": limits})
    server_class = type("Server", (Server,), {"channel_class": channel, "limits": limits})
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(threads)
    #: Waitress's socket map: file descriptor -> the dispatcher reading it.
    sockets: dict[int, Any] = {}
    if listen_socket is not None:
        info = (listen_socket.family, listen_socket.type, listen_socket.proto, listen_socket.getsockname())
        servers = [server_class(app, sockets, True, listen_socket, dispatcher=dispatcher, adj=adjustments, bind_socket=False, sockinfo=info)]
    else:
        servers = [server_class(app, sockets, dispatcher=dispatcher, adj=adjustments, sockinfo=info) for info in adjustments.listen]
    if len(servers) == 1:
        return servers[0]
    listening = [(s.effective_host, s.effective_port) for s in servers]
    return MultiSocketServer(sockets, adjustments, listening, dispatcher, servers[-1].log_info)


def raise_open_file_limit(wanted: int) -> None:
    """Raise this process's soft limit on open files towards *wanted* (up to the hard
    limit): each connection is one, and the common default soft limit is 1024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        logger.warning("open files are limited to %s: fewer than the %s connections allowed need", target, wanted)
