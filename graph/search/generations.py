"""Values of a whole index kept per state of it, shared by both indexes.

Each index bumps a generation in every write's own transaction (SQLite's ``state`` row,
PostgreSQL's ``totals``); a read takes the generation from its own snapshot and asks
for a value of that generation, so a kept value is never one of another state. The
years facet of every study, the maintained counts and the member sets of facet nodes
are kept this way: computed after a write, then reused by every read until the next.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class PerGeneration:
    """Named values, each kept with the generation it was computed in."""

    def __init__(self) -> None:
        self._values: dict[Hashable, tuple[int, Any]] = {}
        self._lock = threading.Lock()

    def kept(self, generation: int | None, name: Hashable) -> bool:
        """Whether the value *name* of *generation* is kept (computing it costs nothing)."""
        with self._lock:
            known = self._values.get(name)
        return generation is not None and known is not None and known[0] == generation

    def get(self, generation: int | None, name: Hashable, compute: Callable[[], T]) -> T:
        """The value *name* of *generation*, computed by *compute* unless kept. A None
        generation (an index that keeps none) is always computed afresh. Two readers may
        compute the same value at once; either result is right."""
        if generation is None:
            return compute()
        with self._lock:
            known = self._values.get(name)
        if known is not None and known[0] == generation:
            return known[1]
        value = compute()
        with self._lock:
            current = self._values.get(name)
            if current is None or current[0] <= generation:
                self._values[name] = (generation, value)
        return value
