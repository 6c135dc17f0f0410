"""Values read out of a record's JSON, where a source may give one value or a list.

The parts of a record that hold several things (distributions, contact points, their
addresses) come as lists, a single value or nothing; a handler reads them the one way
these functions do, and reports what is not the JSON object it expected. Lists may be
long (a record with 100,000 keywords), so nothing here looks a value up in a list.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from .nodes import Context


def as_list(value: Any) -> list[Any]:
    """*value* as a list: itself if it is one, [] if it is empty or missing."""
    return value if isinstance(value, list) else [value] if value else []


def objects(ctx: Context, field_name: str, what: str, values: list[Any]) -> Iterator[dict[str, Any]]:
    """The JSON objects among *values*; anything else is dropped with a warning."""
    for value in values:
        if isinstance(value, dict):
            yield value
        else:
            ctx.graph.warn(field_name, f"not {what}: {value!r}; dropped")


def distinct(values: Iterable[Any]) -> list[Any]:
    """*values* in order, each once (``1`` and ``1.0`` are one value, as ``==`` has it).

    Found by hashing, so a long list costs linear time; a JSON object or list, which
    cannot be hashed, is keyed by its JSON text with sorted keys."""
    seen: dict[Any, Any] = {}
    for value in values:
        seen.setdefault(_key(value), value)
    return list(seen.values())


def _key(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return (type(value), json.dumps(value, sort_keys=True, default=repr))
    return value
