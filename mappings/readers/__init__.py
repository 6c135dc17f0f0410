"""Readers: study records from files, folders, stdin or bytes, in any supported format.

Every write path (the CLI, the HTTP write API, a harvest) starts here, so this is where
inputs are opened, decompressed and recognised once, and where bad input is turned into
:class:`~mappings.records.Rejection` objects instead of exceptions: one bad file, line
or element never stops the rest of a load (and an error a reader did not foresee costs
the rest of its input, never the load).

Formats (``FORMATS``), recognised by content unless ``format=`` forces one:

- ``harmony``: Harmony records as one JSON object, a JSON array or JSON Lines;
- ``harmony-page``: a saved Harmony item page (a React Server Components payload);
- ``jsonld``: schema.org Datasets in JSON-LD;
- ``html``: an HTML page with JSON-LD script blocks;
- ``dcat``: DCAT / schema.org RDF from another catalogue (Turtle, TriG, N-Triples,
  N-Quads, RDF/XML), one record per dataset.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from studygraph.mappings.readers import dcat, flight, harmony, html, jsonld
from studygraph.mappings.readers.sources import (
    BOM,
    HEAD_SIZE,
    JSON_WHITESPACE,
    READ_ERRORS,
    InputError,
    Prefetched,
    ReadProgress,
    describe,
    expand_paths,
    open_input,
)
from studygraph.mappings.records import Origin, ReadResult, Rejection, SourceRecord

__all__ = ["FORMATS", "ReadProgress", "ReadResult", "Rejection", "SourceRecord", "read_bytes", "read_paths", "sniff_format"]

FORMATS: tuple[str, ...] = ("harmony", "harmony-page", "jsonld", "html", "dcat")

_READERS: dict[str, Callable[[str, BinaryIO], Iterator[ReadResult]]] = {
    harmony.FORMAT: harmony.read,
    flight.FORMAT: flight.read,
    jsonld.FORMAT: jsonld.read,
    html.FORMAT: html.read,
    dcat.FORMAT: dcat.read,
}
_HARMONY_KEYS = (b'"dataset_schema"', b'"extra_data"', b'"_provenance"')
_JSONLD_KEYS = (b'"@context"', b'"@graph"')
_RDF_XML = re.compile(rb"<rdf:RDF\b|http://www\.w3\.org/1999/02/22-rdf-syntax-ns#")
_HTML_MARKERS = re.compile(rb"<(?:!doctype\s+html|html|head|body|script|meta)\b", re.IGNORECASE)


def sniff_format(head: bytes) -> str | None:
    """The format of an input judging by its first bytes, or None if none fits.

    JSON is Harmony when a Harmony key shows, JSON-LD when ``@context``/``@graph`` does,
    and Harmony otherwise (so that the Harmony reader can say what is missing)."""
    text = head.removeprefix(BOM).lstrip(JSON_WHITESPACE)
    first = text[:1]
    if first in (b"{", b"["):
        if any(key in text for key in _HARMONY_KEYS):
            return harmony.FORMAT
        return jsonld.FORMAT if any(key in text for key in _JSONLD_KEYS) else harmony.FORMAT
    if first == b"<":
        if _HTML_MARKERS.search(text[:4096]) and not _RDF_XML.search(text[:4096]):
            return html.FORMAT
        return dcat.FORMAT if dcat.sniff_syntax(text) is not None else None
    if text[:7].lower() in (b"@prefix", b"prefix ") or text[:5].lower() in (b"@base", b"base "):
        return dcat.FORMAT
    if flight.ROW_START.match(text):
        return flight.FORMAT
    return None


def read_paths(paths: Iterable[str], format: str | None = None, progress: ReadProgress | None = None) -> Iterator[ReadResult]:
    """Read every record from ``paths``: files (``.gz`` or not), folders (their files,
    recursively, sorted, hidden ones skipped) and ``-`` for stdin.

    Each input is sniffed on its own unless ``format`` is given. Bad input yields
    Rejections and reading goes on; only an unknown ``format`` raises (ValueError).
    A *progress* is told the inputs' sizes up front and follows the reading."""
    _check_format(format)
    return _read_paths(paths, format, progress)


def read_bytes(data: bytes, name: str = "<body>", format: str | None = None) -> Iterator[ReadResult]:
    """Read records from an in-memory body (e.g. an HTTP upload) named ``name``."""
    _check_format(format)
    return _read_input(name, data, format)


def _check_format(format: str | None) -> None:
    if format is not None and format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")


def _read_paths(paths: Iterable[str], format: str | None, progress: ReadProgress | None) -> Iterator[ReadResult]:
    inputs = list(expand_paths(paths))  # names only: sizes are known before reading
    if progress is not None:
        for path in inputs:
            if not isinstance(path, Rejection):
                progress.plan(path)
    for path in inputs:
        if isinstance(path, Rejection):
            yield path
        else:
            yield from _read_input(path, None, format, progress)


def _read_input(name: str, data: bytes | None, format: str | None, progress: ReadProgress | None = None) -> Iterator[ReadResult]:
    """Open, sniff and read one input, turning every failure into a Rejection."""
    try:
        with open_input(name, data, progress) as stream:
            source = Prefetched(stream, HEAD_SIZE)
            head = source.head
            if not head.removeprefix(BOM).strip():
                if source.error is not None:
                    raise source.error
                yield Rejection(Origin(name), "empty input")
                return
            chosen = format or sniff_format(head)
            if chosen is None:
                yield Rejection(Origin(name), "unrecognised format (use --format)")
                return
            buffered = io.BufferedReader(source, buffer_size=HEAD_SIZE)
            yield from _READERS[chosen](name, buffered)  # type: ignore[arg-type]
    except InputError as exc:
        yield Rejection(Origin(name, line=exc.line), exc.reason)
    except READ_ERRORS as exc:
        yield Rejection(Origin(name), describe(exc))
    except Exception as exc:  # noqa: BLE001 - whatever a reader did not foresee costs this input only
        yield Rejection(Origin(name), f"could not be read ({type(exc).__name__}: {str(exc)[:300]})")
