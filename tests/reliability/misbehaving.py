"""Loopback HTTP sources that misbehave on purpose, for harvest tests.

Each answer is a function of the request handler, so a test says exactly what the
source does (loop, drip, redirect, compress); the source counts the requests it saw.
"""

from __future__ import annotations

import http.server
import threading
import urllib.parse
import zlib
from collections.abc import Callable, Iterator

import pytest

Answer = Callable[["http.server.BaseHTTPRequestHandler"], None]

CATALOG_PAGE = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
<{page}> a hydra:PartialCollectionView {next} .
<{base}/catalog> a dcat:Catalog ; dcat:dataset <{base}/dataset/{slug}> .
<{base}/dataset/{slug}> a dcat:Dataset ; dct:title "{title}" ; dct:description "Harvested from a source that misbehaves." .
"""


def catalog_page(base: str, page: str, slug: str, title: str, next_url: str | None = None) -> bytes:
    """A page of a DCAT catalogue with one dataset, Hydra-linked to *next_url*."""
    following = f"; hydra:next <{next_url}>" if next_url else ""
    return CATALOG_PAGE.format(base=base, page=page, slug=slug, title=title, next=following).encode()


def json_ld_page(name: str) -> bytes:
    """An HTML page whose schema.org JSON-LD describes one dataset."""
    return (
        f'<!doctype html><html><head><title>{name}</title><script type="application/ld+json">'
        f'{{"@context": "https://schema.org", "@type": "Dataset", "name": "{name}", "description": "A study."}}'
        "</script></head><body></body></html>"
    ).encode()


def sitemap(locations: list[str], index: bool = False) -> bytes:
    tag, item = ("sitemapindex", "sitemap") if index else ("urlset", "url")
    entries = "".join(f"<{item}><loc>{loc}</loc></{item}>" for loc in locations)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{tag} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</{tag}>\n'.encode()


def gzip_stream(size: int, chunk: int = 1 << 20) -> Iterator[bytes]:
    """*size* zero bytes, gzipped as they are produced (a bomb: kilobytes that inflate to *size*)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(chunk)
    for _ in range(size // chunk):
        out = compressor.compress(zeros)
        if out:
            yield out
    yield compressor.flush()


class Source:
    """A loopback HTTP server answering each path with a function the test gives; it
    records every request path (query included) it saw."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.requests: list[str] = []
        #: Set when the test ends: dripping answers stop.
        self.stopping = threading.Event()
        source = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                source.requests.append(self.path)
                answer = source.answers.get(self.path) or source.answers.get(urllib.parse.urlsplit(self.path).path)
                try:
                    if answer is None:
                        send(self, b"not here\n", status=404, content_type="text/plain")
                    else:
                        answer(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the harvester gave up on this answer: that is what the test wants

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, path: str, answer: Answer) -> str:
        """Answer requests for *path* (exactly, or any query on it) with *answer*; its URL."""
        self.answers[path] = answer
        return self.base + path

    def document(self, path: str, body: bytes, content_type: str = "text/turtle", headers: dict[str, str] | None = None) -> str:
        """Serve a fixed *body* at *path*; its URL."""
        return self.answer(path, lambda handler: send(handler, body, content_type=content_type, headers=headers))

    def count(self, path: str) -> int:
        """Requests seen for *path* (any query)."""
        return sum(1 for seen in self.requests if urllib.parse.urlsplit(seen).path == path)

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


def send(handler: http.server.BaseHTTPRequestHandler, body: bytes, status: int = 200, content_type: str = "text/turtle",
         headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def query_number(handler: http.server.BaseHTTPRequestHandler, name: str, default: int = 0) -> int:
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(handler.path).query).get(name)
    return int(values[0]) if values and values[0].isdigit() else default


@pytest.fixture
def misbehaving() -> Iterator[Callable[[], Source]]:
    """Start sources on loopback (as many as the test wants); all stop at the end."""
    started: list[Source] = []

    def start() -> Source:
        started.append(Source())
        return started[-1]

    yield start
    for source in started:
        source.stop()
