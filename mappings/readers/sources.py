"""Turning paths, stdin and byte strings into readable, decompressed byte streams.

Readers only ever see one decoded byte stream per input, so gzip, stdin and directory
walking are handled once here. Read failures (a missing file, a truncated gzip) are
described here too, so every reader reports them in the same words.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from studygraph.mappings.records import Origin, Rejection

#: How much is read ahead to sniff the format, and the chunk size of streaming readers.
HEAD_SIZE = 64 * 1024
CHUNK_SIZE = 64 * 1024

BOM = b"\xef\xbb\xbf"
JSON_WHITESPACE = b" \t\r\n"
GZIP_MAGIC = b"\x1f\x8b"

#: Exceptions that mean "the bytes could not be read", as opposed to "they mean nothing".
READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)


class InputError(Exception):
    """Bad input found by a reader: a reason and, when known, the 1-based line."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


def describe(exc: BaseException) -> str:
    """A reason for a read failure that names the cause in plain words."""
    if isinstance(exc, EOFError):
        return f"truncated gzip data ({exc})"
    if isinstance(exc, (gzip.BadGzipFile, zlib.error)):
        return f"corrupt gzip data ({exc})"
    if isinstance(exc, OSError):
        return f"cannot read: {exc.strerror or exc}"
    return str(exc)


def decode_text(data: bytes) -> str:
    """Decode UTF-8 (dropping a BOM); an invalid byte becomes an :class:`InputError`
    naming its line, because the caller can do nothing better with the input."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        reason = f"invalid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        raise InputError(reason, line) from None


def parse_json_document(data: bytes) -> Any:
    """Parse a whole JSON document, turning syntax errors into :class:`InputError`."""
    text = decode_text(data)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg} (line {exc.lineno} column {exc.colno})", exc.lineno) from None
    except ValueError as exc:  # a number Python will not read: over 4300 digits
        raise InputError(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise InputError("invalid JSON: nested too deeply") from None


def expand_paths(paths: Iterable[str]) -> Iterator[str | Rejection]:
    """Yield the inputs named by ``paths``: ``-`` and files as given, directories as the
    sorted regular files inside them (recursively, without hidden files and folders).

    A folder that cannot be listed is a :class:`Rejection`, not an exception, so one bad
    folder does not stop a load."""
    for path in paths:
        if path == "-" or not os.path.isdir(path):
            yield path
            continue
        found: list[str] = []
        errors: list[OSError] = []
        for folder, dirs, files in os.walk(path, onerror=errors.append):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            found.extend(
                os.path.join(folder, name)
                for name in files
                if not name.startswith(".") and os.path.isfile(os.path.join(folder, name))
            )
        for error in errors:
            yield Rejection(Origin(error.filename or path), describe(error))
        yield from sorted(found, key=lambda p: os.path.relpath(p, path).split(os.sep))


class ReadProgress:
    """How far a read of files has got, in bytes of the files as stored (gzipped or
    not), for a progress bar; unknown when stdin is among the inputs."""

    def __init__(self) -> None:
        self.total = 0
        self.known = True
        self._finished = 0
        self._current: BinaryIO | None = None

    def plan(self, path: str) -> None:
        """Count an input that will be read."""
        if path == "-":
            self.known = False
            return
        try:
            self.total += os.path.getsize(path)
        except OSError:
            pass  # reported as a rejection when it is read

    def fraction(self) -> float | None:
        """The share of the bytes read so far (0..1), or None if it cannot be known."""
        if not self.known or not self.total:
            return None
        done = self._finished
        if self._current is not None:
            try:
                done += self._current.tell()
            except (OSError, ValueError):
                pass
        return min(1.0, done / self.total)

    def _opened(self, raw: BinaryIO) -> None:
        self._current = raw

    def _closed(self, raw: BinaryIO) -> None:
        try:
            self._finished += os.fstat(raw.fileno()).st_size
        except (OSError, ValueError):
            pass
        self._current = None


@contextmanager
def open_input(name: str, data: bytes | None = None, progress: ReadProgress | None = None) -> Iterator[BinaryIO]:
    """Open ``data`` (if given), stdin (``-``) or the file ``name`` as a decompressed
    byte stream. Gzip is recognised by its magic bytes, so ``.gz`` files and gzipped
    stdin or uploads all work; decompression streams. A *progress* follows the file."""
    if data is not None:
        raw: BinaryIO = io.BufferedReader(io.BytesIO(data))  # type: ignore[arg-type]
    elif name == "-":
        raw = sys.stdin.buffer
    else:
        raw = open(name, "rb")
    owned = raw is not sys.stdin.buffer
    following = progress is not None and data is None and owned
    if following:
        progress._opened(raw)  # type: ignore[union-attr]
    try:
        if raw.peek(2)[:2] == GZIP_MAGIC:  # type: ignore[attr-defined]
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield unzipped  # type: ignore[misc]
        else:
            yield raw
    finally:
        if following:
            progress._closed(raw)  # type: ignore[union-attr]
        if owned:
            raw.close()


class Prefetched(io.RawIOBase):
    """A stream whose first bytes (:attr:`head`) were read ahead for sniffing.

    A read error while reading ahead is held back and raised only when the reader gets
    past the head, so the records before a truncation are still read."""

    def __init__(self, inner: BinaryIO, size: int = HEAD_SIZE) -> None:
        super().__init__()
        self._inner = inner
        self._error: BaseException | None = None
        head = bytearray()
        try:
            while len(head) < size:
                chunk = inner.read1(size - len(head))  # type: ignore[attr-defined]
                if not chunk:
                    break
                head += chunk
        except READ_ERRORS as exc:
            self._error = exc
        #: The bytes read ahead (released once the reader has consumed them).
        self.head = bytes(head)
        self._pos = 0

    @property
    def error(self) -> BaseException | None:
        """The read error met while reading ahead, if any (raised after the head)."""
        return self._error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._pos < len(self.head):
            n = min(len(buffer), len(self.head) - self._pos)
            buffer[:n] = self.head[self._pos : self._pos + n]
            self._pos += n
            if self._pos == len(self.head):  # served: let the memory go
                self.head, self._pos = b"", 0
            return n
        if self._error is not None:
            raise self._error
        data = self._inner.read1(len(buffer))  # type: ignore[attr-defined]
        buffer[: len(data)] = data
        return len(data)
