"""A response body read within a size limit, decompressed as it streams.

urllib does not decompress: a server that sends ``Content-Encoding: gzip`` (asked or
not) hands us the compressed bytes, and a sitemap is often published as ``.gz``. Left
compressed, such a body would be decompressed whole later (the readers open gzip
transparently), so a kilobyte-sized gzip bomb would become gigabytes in memory. Here the
body is inflated chunk by chunk with :mod:`zlib` and reading stops as soon as the
*decompressed* size passes the limit; a gzip inside the gzip is inflated the same way,
so what leaves this module is never compressed.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

from .errors import HarvestError

CHUNK = 64 * 1024
#: Most bytes one step of decompression produces.
SLICE = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
#: Layers of compression taken off one body; a body gzipped more often than this is refused.
MAX_LAYERS = 3


class TooLarge(HarvestError):
    """A body larger than the limit (once decompressed)."""


def _inflater(encoding: str) -> zlib._Decompress:
    """A decompressor for a Content-Encoding (``gzip`` or ``deflate``): zlib's automatic
    header detection (wbits 47) takes gzip and zlib streams alike."""
    return zlib.decompressobj(47 if encoding in ("gzip", "x-gzip", "deflate") else -15)


class Inflating:
    """Collects a body of at most *limit* bytes after removing one layer of *encoding*."""

    def __init__(self, url: str, limit: int, encoding: str | None) -> None:
        self.url = url
        self.limit = limit
        self.encoding = encoding
        self._inflate = _inflater(encoding) if encoding else None
        self._raw_deflate = False
        self._fed = False
        self.body = bytearray()

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk as it came over the wire; :class:`TooLarge` past the limit."""
        if self._inflate is None or self.encoding is None:  # (there is an inflater exactly when there is an encoding)
            self._append(chunk)
            return
        self._fed = self._fed or bool(chunk)
        data = chunk
        while data:
            try:
                # At most a slice at a time, so memory grows with the body, not by leaps.
                out = self._inflate.decompress(data, min(SLICE, self.limit + 1 - len(self.body)))
            except zlib.error as error:
                if self.encoding == "deflate" and not self.body and not self._raw_deflate:
                    # Some servers send raw deflate under "deflate": try once without a header.
                    self._raw_deflate, self._inflate = True, _inflater("raw")
                    continue
                raise HarvestError(f"{self.url}: the {self.encoding} data is corrupt ({error})") from None
            self._append(out)
            if self._inflate.eof:
                # Concatenated gzip members: the rest starts another one.
                data = self._inflate.unused_data
                self._inflate = _inflater(self.encoding) if data else self._inflate
                continue
            data = self._inflate.unconsumed_tail

    def finish(self) -> bytes:
        if self._inflate is not None:
            if self._fed and not self._inflate.eof:
                raise HarvestError(f"{self.url}: the {self.encoding} data ends too soon")
            self._append(self._inflate.flush())
        return bytes(self.body)

    def _append(self, data: bytes) -> None:
        if len(self.body) + len(data) > self.limit:
            raise TooLarge(f"{self.url}: larger than {describe_size(self.limit)}" + (" once decompressed" if self.encoding else "") + " (--max-size)")
        self.body += data


def read_body(stream: BinaryIO, url: str, limit: int, encoding: str | None) -> bytes:
    """The body of *stream* without its Content-Encoding (``gzip``/``deflate``, or none),
    at most *limit* bytes as sent and as decompressed; then any gzip layers the body itself
    carries (a ``.gz`` document) are taken off the same way."""
    encoding = (encoding or "").strip().lower() or None
    if encoding in ("identity",):
        encoding = None
    if encoding not in (None, "gzip", "x-gzip", "deflate"):
        raise HarvestError(f"{url}: the response is encoded as {encoding!r}, which a harvest does not decode")
    received = 0
    collected = Inflating(url, limit, encoding)
    while chunk := stream.read(CHUNK):
        received += len(chunk)
        if received > limit:
            raise TooLarge(f"{url}: larger than {describe_size(limit)} (--max-size)")
        collected.feed(chunk)
    return ungzip(collected.finish(), url, limit)


def ungzip(body: bytes, url: str, limit: int) -> bytes:
    """*body* with the gzip layers it starts with removed, each bounded by *limit*."""
    for _ in range(MAX_LAYERS):
        if not body.startswith(GZIP_MAGIC):
            return body
        inflating = Inflating(url, limit, "gzip")
        for start in range(0, len(body), CHUNK):
            inflating.feed(body[start:start + CHUNK])
        body = inflating.finish()
    if body.startswith(GZIP_MAGIC):
        raise HarvestError(f"{url}: gzip inside gzip more than {MAX_LAYERS} times")
    return body


def describe_size(size: int) -> str:
    """``1 MiB``, ``256 MiB``, ``1500 bytes``: how a size limit is named in messages."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"


def parse_size(text: str) -> int:
    """Bytes from ``1048576``, ``512K``, ``256M``, ``1G`` (binary units; ``KiB``/``MB``… too)."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    factor = 1
    for suffix, multiple in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30)):
        if value.endswith(suffix):
            value, factor = value[:-1], multiple
            break
    try:
        size = int(float(value) * factor)
    except ValueError:
        raise ValueError(f"{text!r} is not a size (bytes, or a number with K, M or G)") from None
    if size <= 0:
        raise ValueError(f"{text!r}: a size must be positive")
    return size
