"""What a reader hands to the mapping: a record with where it came from, or why not.

Every reader turns bytes into :class:`SourceRecord` objects holding the record in the
Harmony shape (``{"dataset_schema": {...}, "extra_data": {...}, "parent": ..., ...}``),
whatever the input format was, so there is one mapping. A record a reader cannot make
sense of becomes a :class:`Rejection` naming the place and the reason; the reader then
goes on with the next record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Origin:
    """Where a record was read: a file (or ``-``) and a line or an index in it."""

    source: str
    line: int | None = None
    index: int | None = None

    def __str__(self) -> str:
        if self.line is not None:
            return f"{self.source}:{self.line}"
        if self.index is not None:
            return f"{self.source}[{self.index}]"
        return self.source


@dataclass
class SourceRecord:
    """One study record in the Harmony shape, as read, before mapping."""

    data: dict[str, Any]
    origin: Origin
    format: str
    provenance: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rejection:
    """A record (or a piece of input) that could not be read or mapped."""

    origin: Origin
    reason: str
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.origin}"
        if self.field:
            where += f" ({self.field})"
        return f"{where}: {self.reason}"


ReadResult = SourceRecord | Rejection


class RecordError(ValueError):
    """A record that cannot be mapped at all (no name, no usable key, a value that
    cannot be written as JSON): it is rejected, naming the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def value_at(data: Any, path: str) -> Any:
    """The value at a dotted *path* (``extra_data.slug``) of a record, or None."""
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data
