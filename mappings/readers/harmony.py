"""Harmony records as JSON: one object, an array of objects, or JSON Lines.

The Harmony "Academic Resource Discovery" record is the shape every reader produces, so
this reader mostly checks it and unwraps the ``{"record": ..., "_provenance": ...}``
envelope that exports use. Arrays and JSON Lines stream (one record in memory at a
time); only a single pretty-printed object is read whole, because it is one record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import chain
from typing import Any, BinaryIO

from studygraph.mappings.readers.jsonstream import iter_array
from studygraph.mappings.readers.sources import BOM, CHUNK_SIZE, JSON_WHITESPACE, READ_ERRORS, describe, parse_json_document
from studygraph.mappings.records import Origin, ReadResult, Rejection, SourceRecord

FORMAT = "harmony"


def harmony_record(obj: Any, origin: Origin, fmt: str) -> ReadResult:
    """Check one parsed record and put it in the Harmony shape, unwrapping
    ``{"record": ..., "_provenance": ...}``; anything else becomes a Rejection."""
    if not isinstance(obj, dict):
        return Rejection(origin, "record is not a JSON object")
    provenance: dict[str, Any] = {}
    if "record" in obj and "dataset_schema" not in obj and "extra_data" not in obj:
        record = obj["record"]
        if not isinstance(record, dict):
            return Rejection(origin, "record is not a JSON object", field="record")
        if isinstance(obj.get("_provenance"), dict):
            provenance = obj["_provenance"]
        obj = record
    if "dataset_schema" not in obj and "extra_data" not in obj:
        return Rejection(origin, "not a Harmony record: no dataset_schema, extra_data or record key")
    data = dict(obj)
    for key in ("dataset_schema", "extra_data"):
        value = data.setdefault(key, {})
        if value is None:
            data[key] = {}
        elif not isinstance(value, dict):
            return Rejection(origin, f"{key} is not a JSON object", field=key)
    return SourceRecord(data=data, origin=origin, format=fmt, provenance=provenance)


def read(source: str, stream: BinaryIO) -> Iterator[ReadResult]:
    """Read Harmony records from ``stream``, choosing array, JSON Lines or one object."""
    lead = stream.peek(CHUNK_SIZE).removeprefix(BOM).lstrip(JSON_WHITESPACE)[:1]  # type: ignore[attr-defined]
    if lead == b"[":
        for element in iter_array(stream):
            origin = Origin(source, index=element.index)
            if element.error is not None:
                yield Rejection(origin, element.error)
            else:
                yield harmony_record(element.value, origin, FORMAT)
    else:
        yield from _read_lines_or_object(source, stream)


class _Lines:
    """The lines of a stream; a read error ends them and is kept for the caller."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.count = 0
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[bytes]:
        try:
            for line in self._stream:
                self.count += 1
                yield line
        except READ_ERRORS as exc:
            self.error = exc


def _read_lines_or_object(source: str, stream: BinaryIO) -> Iterator[ReadResult]:
    """JSON Lines if the first (or, when that is broken, the second) non-blank line is
    JSON by itself; otherwise one object spread over many lines, read whole."""
    lines = _Lines(stream)
    rest = iter(lines)
    pending: list[bytes] = []
    probes: list[bytes] = []
    for line in rest:
        pending.append(line)
        if line.strip():
            probes.append(line)
            if _is_json(line) or len(probes) == 2:
                break
    if not _looks_like_json_lines(probes):
        if lines.error is not None:
            raise lines.error
        yield harmony_record(parse_json_document(b"".join(pending) + stream.read()), Origin(source), FORMAT)
        return
    for number, line in enumerate(chain(pending, rest), 1):
        result = _parse_line(line, Origin(source, line=number))
        if result is not None:
            yield result
    if lines.error is not None:
        yield Rejection(Origin(source, line=lines.count + 1), describe(lines.error))


def _looks_like_json_lines(probes: list[bytes]) -> bool:
    """Whether the first non-blank lines (one or two) say "JSON Lines"."""
    if not probes or _is_json(probes[0]):
        return True
    return len(probes) == 2 and probes[1].lstrip().startswith(b"{") and _is_json(probes[1])


def _is_json(line: bytes) -> bool:
    try:
        json.loads(line.removeprefix(BOM))
    except (ValueError, RecursionError):  # also UnicodeDecodeError
        return False
    return True


def _parse_line(line: bytes, origin: Origin) -> ReadResult | None:
    """One JSON Lines line: a record, a Rejection, or None for a blank line."""
    line = line.removeprefix(BOM)
    try:
        text = line.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        return Rejection(origin, f"invalid UTF-8 (byte 0x{line[exc.start]:02x} at column {exc.start + 1})")
    if not text:
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return Rejection(origin, f"invalid JSON: {exc.msg} (column {exc.colno})")
    except ValueError as exc:  # a number Python will not read: over 4300 digits
        return Rejection(origin, f"invalid JSON: {exc}")
    except RecursionError:
        return Rejection(origin, "invalid JSON: nested too deeply")
    return harmony_record(obj, origin, FORMAT)
