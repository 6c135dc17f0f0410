"""Saved Harmony item pages: React Server Components "flight" payloads.

The page is a sequence of rows ``ID:payload``. A payload ``T<hex>,`` is a text row of
exactly that many UTF-8 *bytes*, and the next row may follow it without a newline, so
rows are split on bytes, never on decoded characters or lines alone. Other rows run to
the end of the line. The study sits in some row's JSON as ``{"study": {...}}``, with long
strings moved out to text rows and referenced as ``"$<hex id>"``; this reader puts them
back and drops the ``"$undefined"`` placeholders, giving a plain Harmony record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from studygraph.mappings.readers.harmony import harmony_record
from studygraph.mappings.readers.sources import InputError
from studygraph.mappings.records import Origin, ReadResult, Rejection

FORMAT = "harmony-page"

#: A row's start, also used to sniff the format: an id (hex, empty for hints) and a
#: payload that begins like a flight payload.
ROW_START = re.compile(rb'([0-9a-f]{0,8}):(?=T[0-9a-f]+,|[A-Z"\[{]|null|true|false|-?[0-9])')
_TEXT_ROW = re.compile(rb"T([0-9a-f]+),")
_TAG = re.compile(rb"[A-Z]*")
_REFERENCE = re.compile(r"\$([0-9a-f]+)")
_UNDEFINED = "$undefined"


def read(source: str, stream: BinaryIO) -> Iterator[ReadResult]:
    """Yield the study (normally exactly one) of a saved item page."""
    origin = Origin(source)
    texts, rows = split_rows(stream.read())
    studies: dict[str, dict[str, Any]] = {}
    for line, payload in rows:
        if b'"study"' not in payload:
            continue
        try:
            value = json.loads(_TAG.sub(b"", payload, count=1))
        except ValueError as exc:
            raise InputError(f"row is not valid JSON ({exc})", line) from None
        for study in _find_studies(value):
            resolved = _resolve(study, texts)
            studies.setdefault(json.dumps(resolved, sort_keys=True), resolved)
    if not studies:
        yield Rejection(origin, "no study object (a \"study\" key holding dataset_schema/extra_data) in the page")
    for study in studies.values():
        yield harmony_record(study, origin, FORMAT)


class _TextRow:
    """A text row, decoded only when the study refers to it."""

    def __init__(self, row_id: str, data: bytes, declared: int, line: int) -> None:
        self.row_id, self.data, self.declared, self.line = row_id, data, declared, line

    def text(self) -> str:
        if len(self.data) < self.declared:
            reason = f"text row {self.row_id} is truncated: {len(self.data)} of {self.declared} bytes"
            raise InputError(reason, self.line)
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"invalid UTF-8 in text row {self.row_id} (offset {exc.start})", self.line) from None


def split_rows(data: bytes) -> tuple[dict[str, _TextRow], list[tuple[int, bytes]]]:
    """Split a payload into text rows (by id) and other rows (with their 1-based line)."""
    texts: dict[str, _TextRow] = {}
    rows: list[tuple[int, bytes]] = []
    pos, line, size = 0, 1, len(data)
    while pos < size:
        if data[pos] in b"\r\n":
            line += data[pos] == 0x0A
            pos += 1
            continue
        start = ROW_START.match(data, pos)
        text = _TEXT_ROW.match(data, start.end()) if start else None
        if start and text:
            row_id = start.group(1).decode("ascii")
            declared = int(text.group(1), 16)
            end = min(text.end() + declared, size)
            texts[row_id] = _TextRow(row_id, data[text.end() : end], declared, line)
        else:
            end = data.find(b"\n", pos)
            end = size if end < 0 else end
            if start:  # otherwise not a row (junk): skipped
                rows.append((line, data[start.end() : end]))
        line += data.count(b"\n", pos, end)
        pos = end
    return texts, rows


def _find_studies(value: Any) -> Iterator[dict[str, Any]]:
    """Every ``{"study": {...dataset_schema/extra_data...}}`` value inside ``value``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            study = item.get("study")
            if isinstance(study, dict) and ("dataset_schema" in study or "extra_data" in study):
                yield study
            else:
                stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))


def _resolve(value: Any, texts: dict[str, _TextRow]) -> Any:
    """Replace ``"$<id>"`` naming a text row by its text, unescape ``"$$"``, drop
    ``"$undefined"`` (a key holding it is dropped; in a list it becomes null)."""
    if isinstance(value, str):
        if value.startswith("$$"):
            return value[1:]
        ref = _REFERENCE.fullmatch(value)
        if ref and ref.group(1) in texts:
            return texts[ref.group(1)].text()
        return value
    if isinstance(value, dict):
        return {k: _resolve(v, texts) for k, v in value.items() if v != _UNDEFINED}
    if isinstance(value, list):
        return [None if v == _UNDEFINED else _resolve(v, texts) for v in value]
    return value
