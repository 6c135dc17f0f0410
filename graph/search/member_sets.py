"""Sets of studies as bitsets (Python ints: bit *i* is the study of id *i*), to count a
broad search's facets and years without reading every membership of its matches.

A search matching most of a catalogue used to count the ~25 facet memberships of each
matching (or each other) study: at a million studies, tens of millions of increments,
most of two seconds. The top of a facet only needs the counts of a few dozen nodes,
found by walking the facet's nodes in descending maintained count (graph.search.
facet_tops); each such count is ``(matches & members).bit_count()``, one AND and one
popcount in C over an int of N bits (~80 µs at a million), given the node's member set.
Member sets are read from the text index's doclist of the node's token and kept, per
generation of the index, in a cache bounded by bytes; so are the studies of each span
of years (first decade, last decade), which give the years facet the same way. Reading
a member set costs a Python step per member, so each search may read only so many
(:class:`Reads`); past that it counts memberships, and the sets it read stay kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping

from .facet_tops import MaintainedCounts, walk_tops
from .schema import Facet

#: Bytes of bitsets one index keeps (each is N/8 bytes: 125 KB at a million studies).
DEFAULT_BUDGET = 128 * 1024 * 1024
#: A search matching at least 1/BROAD of the index counts its facets from bitsets ...
BROAD = 8
#: ... unless a facet's walk would count more nodes than this (few studies of each node
#: match, so many nodes stay in reach of the top): then the memberships are counted.
WALK_VISITS = 250
#: A search may read this many ids (times the studies indexed) into member sets not kept.
READ_SHARE = 2


def search_reads(everything: int) -> Reads:
    """What one search over an index of *everything* studies may read into member sets."""
    return Reads(everything * READ_SHARE)


class OverBudget(Exception):
    """A search would read more ids into member sets than its :class:`Reads` allow."""


class Reads:
    """How many ids one search may still read into member sets not kept yet.

    A member set costs a Python step per member to read (~0.4 µs: at a million studies
    a facet's walk can want tens of millions, fifteen seconds, right after a write). A
    search that would read more gives up the bitsets and counts memberships instead,
    keeping what it read: later searches go on from there, and once the sets they need
    are kept, they count in milliseconds."""

    def __init__(self, left: int) -> None:
        self.left = left

    def spend(self, ids: int) -> bool:
        """Take *ids* from what is left; False (nothing taken) if fewer are left."""
        if ids > self.left:
            return False
        self.left -= ids
        return True


def is_broad(matches: int, everything: int) -> bool:
    """Whether a search with *matches* of *everything* studies counts from bitsets."""
    return matches > 0 and matches * BROAD >= everything


def tops_from_bitsets(
    facets: Mapping[str, Facet], limit: int, maintained: MaintainedCounts, matches: int,
    members: Callable[[Facet, int, int], int],
) -> dict[str, list[tuple[int, int]]] | None:
    """Each facet's candidates for its top (graph.search.facet_tops.walk_tops), a node's
    count being ``matches & members(facet, node, its maintained count)``; None if a
    facet's walk is too long, or *members* raises OverBudget."""

    def count_of(facet: Facet, most: int, node: int) -> int:
        return (matches & members(facet, node, most)).bit_count()

    try:
        return walk_tops(facets, limit, maintained, count_of, WALK_VISITS)
    except OverBudget:
        return None

_ZERO, _ONE = ord("0"), ord("1")


def bitset(ids: Iterable[int], top: int) -> int:
    """The set of *ids* (each from 0 to *top*) as an int. The bits are written as the
    digits of a binary numeral and parsed once in C: a Python loop of one item
    assignment per id, the cheapest way to set bits the standard library offers."""
    digits = bytearray([_ZERO]) * (top + 1)
    for id_ in ids:
        digits[top - id_] = _ONE
    return int(digits, 2)


class BitsetCache:
    """Bitsets by name, each kept with the generation it was read in; the least recently
    used go first once more than *budget* bytes are kept. Shared by a process's threads."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self._kept: OrderedDict[Hashable, tuple[int, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, generation: int | None, name: Hashable, read: Callable[[], int], cost: int = 0, reads: Reads | None = None) -> int:
        """The bitset *name* of *generation*, read by *read* unless kept (a None generation:
        an index that keeps nothing, read afresh). Reading it takes *cost* ids from
        *reads*, if given: OverBudget if fewer are left."""
        if generation is None:
            return read()
        with self._lock:
            known = self._kept.get(name)
            if known is not None and known[0] == generation:
                self._kept.move_to_end(name)
                return known[1]
        if reads is not None and not reads.spend(cost):
            raise OverBudget(name)
        value = read()
        size = _size(value)
        with self._lock:
            old = self._kept.pop(name, None)
            if old is not None:
                self._bytes -= _size(old[1])
            if size <= self.budget:
                self._kept[name] = (generation, value)
                self._bytes += size
                while self._bytes > self.budget:
                    _, (_, dropped) = self._kept.popitem(last=False)
                    self._bytes -= _size(dropped)
        return value


def _size(bits: int) -> int:
    return bits.bit_length() // 8 + 1
