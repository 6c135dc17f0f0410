"""Values read out of a record's JSON, where a source may give one value or a list.

The parts of a record that hold several things (distributions, contact points, their
addresses) come as lists, a single value or nothing; a handler reads them the one way
these functions do, and reports what is not the JSON object it expected.
"""

from __future__ import annotations

from typing import Any, Iterator

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
