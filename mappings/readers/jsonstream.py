"""Reading the elements of a JSON array one at a time, in flat memory.

A catalogue dump can be one JSON array of millions of records; ``json.load`` would hold
all of it (several times over, as Python objects). :func:`iter_array` keeps only one
chunk of the input plus the element being decoded. Elements are decoded with
``json.JSONDecoder.raw_decode`` over a buffer that grows by chunks until the element is
complete; only when decoding fails does a small structural scan decide whether the
element is merely incomplete (read more) or really broken (report it and go on with the
next one), so one bad element does not lose the rest of the file.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from studygraph.mappings.readers.sources import CHUNK_SIZE, READ_ERRORS, describe

_WHITESPACE = re.compile(r"[ \t\r\n]*")
_STRUCTURE = re.compile(r'["{}\[\]]')
_STRING_STOP = re.compile(r'["\\]')
_SCALAR_END = re.compile(r"[,\]}\s]")


@dataclass(frozen=True)
class Element:
    """One array element: its 0-based index and its value, or why it could not be read."""

    index: int
    value: Any = None
    error: str | None = None


def iter_array(stream: BinaryIO, chunk_size: int = CHUNK_SIZE) -> Iterator[Element]:
    """Yield the elements of the JSON array in ``stream`` as they are read.

    A broken element yields an :class:`Element` with ``error`` set and reading goes on;
    a problem with the array itself (not an array, unexpected end, a read error) yields
    one last error element."""
    return _ArraySplitter(stream, chunk_size).elements()


class _ArraySplitter:
    def __init__(self, stream: BinaryIO, chunk_size: int) -> None:
        self._stream = stream
        self._chunk_size = chunk_size
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._raw_decode = json.JSONDecoder().raw_decode
        self._buf = ""
        self._pos = 0
        self._eof = False

    def _fill(self) -> None:
        """Append input, dropping what has been consumed. The read grows with the
        pending element so that a huge element costs linear, not quadratic, time."""
        size = max(self._chunk_size, len(self._buf) - self._pos)
        data = self._stream.read1(size)  # type: ignore[attr-defined]
        text = self._decoder.decode(data, final=not data)
        self._eof = not data
        self._buf = self._buf[self._pos :] + text
        self._pos = 0

    def _peek(self) -> str:
        """Skip whitespace; the next character, or "" at the end of the input."""
        while True:
            self._pos = _WHITESPACE.match(self._buf, self._pos).end()  # type: ignore[union-attr]
            if self._pos < len(self._buf) or self._eof:
                return self._buf[self._pos : self._pos + 1]
            self._fill()

    def elements(self) -> Iterator[Element]:
        index = 0
        try:
            if self._peek() != "[":
                yield Element(0, error="not a JSON array")
                return
            self._pos += 1
            if self._peek() == "]":
                self._pos += 1
            else:
                while True:
                    yield self._element(index)
                    index += 1
                    following = self._peek()
                    if following == ",":
                        self._pos += 1
                        continue
                    if following == "]":
                        self._pos += 1
                        break
                    where = "unexpected end of file" if not following else f"unexpected {following!r}"
                    yield Element(index, error=f"{where}: expected ',' or ']' after element {index - 1}")
                    return
            if self._peek():
                yield Element(index, error="extra data after the JSON array")
        except _Truncated:
            yield Element(index, error="unexpected end of file inside the element")
        except UnicodeDecodeError as exc:
            yield Element(index, error=f"invalid UTF-8 (byte 0x{exc.object[exc.start]:02x})")
        except READ_ERRORS as exc:
            yield Element(index, error=describe(exc))

    def _element(self, index: int) -> Element:
        """Decode the element at the current position, reading more input as needed."""
        if not self._peek():
            raise _Truncated
        while True:
            start = self._pos
            try:
                value, end = self._raw_decode(self._buf, start)
            except ValueError as exc:  # JSONDecodeError, or a number of over 4300 digits
                stop = _value_end(self._buf, start)
                if stop is None:
                    if self._eof:
                        raise _Truncated from None
                    self._fill()
                    continue
                self._pos = stop
                return Element(index, error=_invalid(exc, start))
            except RecursionError:
                stop = _value_end(self._buf, start)
                self._pos = stop if stop is not None else len(self._buf)
                return Element(index, error="invalid JSON: nested too deeply")
            if end == len(self._buf) and not self._eof:
                self._fill()  # a number may go on in the next chunk: decode again
                continue
            self._pos = end
            return Element(index, value)


def _invalid(error: ValueError, start: int) -> str:
    """Why an element is not JSON, placed within the element when the parser says where."""
    if isinstance(error, json.JSONDecodeError):
        return f"invalid JSON: {error.msg} (character {error.pos - start} of the element)"
    return f"invalid JSON: {error}"


class _Truncated(Exception):
    """The input ended inside an element."""


def _value_end(buf: str, pos: int) -> int | None:
    """Where the JSON value starting at ``pos`` ends, judged by brackets and strings
    only; None if it does not end within ``buf``."""
    if buf[pos] not in '{["':
        match = _SCALAR_END.search(buf, pos)
        return match.start() if match else None
    depth = 0
    i = pos
    while True:
        match = _STRUCTURE.search(buf, i)
        if match is None:
            return None
        char, i = match.group(), match.end()
        if char == '"':
            while True:
                stop = _STRING_STOP.search(buf, i)
                if stop is None:
                    return None
                i = stop.end() + (1 if stop.group() == "\\" else 0)
                if stop.group() == '"':
                    break
                if i > len(buf):
                    return None
        elif char in "{[":
            depth += 1
        else:
            depth -= 1
        if depth <= 0:
            return i
