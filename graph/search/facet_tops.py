"""Which nodes top each facet over a set of matching studies: shared by both indexes
(graph.search.reader, graph.postgres.index), which differ only in how they count.

An index counts the packed memberships (``node << FACET_BITS | facet``) of the matching
studies, or, when more than half of the catalogue matches, of the other studies (the
complement), whose counts come off the maintained ones. A facet then needs only its
top *limit* nodes. Over the complement they are found by walking the facet's nodes in
descending maintained count: a node's count over the matches is its maintained count
less its complement count, so never more than its maintained count, and the walk stops
at the first node whose maintained count is below the limit-th count found so far. The
broad query that the complement serves visits a few dozen nodes per facet, not every
node of the catalogue (tens of thousands at a million studies, each a dict entry made
and subtracted per query before). The same walk serves a broad search counted from
bitsets (graph.search.member_sets), where each visited node is counted on its own.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from .schema import FACET_BITS, Facet

_MASK = (1 << FACET_BITS) - 1


@dataclass(frozen=True)
class MaintainedCounts:
    """Every node's maintained count in every facet, each facet's in descending order."""

    by_facet: dict[int, list[tuple[int, int]]]

    @classmethod
    def of(cls, rows: Iterable[tuple[int, int, int]]) -> MaintainedCounts:
        """From (facet id, node id, count) rows."""
        by_facet: dict[int, list[tuple[int, int]]] = {}
        for facet, node, count in rows:
            by_facet.setdefault(facet, []).append((count, node))
        for counts in by_facet.values():
            counts.sort(reverse=True)
        return cls(by_facet)


def top_candidates(
    counted: Counter[int], facets: Mapping[str, Facet], limit: int, complement_of: MaintainedCounts | None = None,
) -> dict[str, list[tuple[int, int]]]:
    """Per facet, the (count, node id) pairs that can make its top *limit*: every node at
    or above the limit-th largest count (ties are settled by label afterwards). *counted*
    holds packed memberships counted over the matching studies, or, with *complement_of*,
    over the studies that do not match."""
    if complement_of is not None:
        def count_of(facet: Facet, most: int, node: int) -> int:
            return most - counted.get((node << FACET_BITS) | facet.id, 0)

        walked = walk_tops(facets, limit, complement_of, count_of)
        assert walked is not None  # no bound on the walk
        return walked
    per_facet: dict[int, list[tuple[int, int]]] = {}
    for value, count in counted.items():
        per_facet.setdefault(value & _MASK, []).append((count, value >> FACET_BITS))
    return {name: _at_or_above_floor(per_facet.get(facet.id, []), limit) for name, facet in facets.items()}


def walk_tops(
    facets: Mapping[str, Facet], limit: int, maintained: MaintainedCounts, count_of: Callable[[Facet, int, int], int],
    most_visits: int | None = None,
) -> dict[str, list[tuple[int, int]]] | None:
    """As :func:`top_candidates`, by walking each facet's nodes in descending maintained
    count and asking ``count_of(facet, maintained count, node)`` for each node's count
    over the matches (never more than its maintained count); None if a facet would visit
    more than *most_visits* nodes (the caller then counts some other way)."""
    tops = {}
    for name, facet in facets.items():
        found = _walk(facet, maintained.by_facet.get(facet.id, ()), limit, count_of, most_visits)
        if found is None:
            return None
        tops[name] = found
    return tops


def _walk(
    facet: Facet, maintained: Iterable[tuple[int, int]], limit: int, count_of: Callable[[Facet, int, int], int], most_visits: int | None,
) -> list[tuple[int, int]] | None:
    found: list[tuple[int, int]] = []
    best: list[int] = []  # a min-heap of the *limit* largest counts so far
    for visits, (most, node) in enumerate(maintained):
        if len(best) == limit and most < best[0]:
            break  # this node and every later one stay below the floor
        if most_visits is not None and visits >= most_visits:
            return None
        count = count_of(facet, most, node)
        if count <= 0:
            continue
        found.append((count, node))
        if len(best) < limit:
            heapq.heappush(best, count)
        elif count > best[0]:
            heapq.heapreplace(best, count)
    return _at_or_above_floor(found, limit)


def _at_or_above_floor(candidates: list[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """Only the nodes that can make the top need labels."""
    if len(candidates) <= limit:
        return candidates
    floor = heapq.nlargest(limit, (count for count, _ in candidates))[-1]
    return [candidate for candidate in candidates if candidate[0] >= floor]
