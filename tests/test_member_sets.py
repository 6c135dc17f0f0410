"""Bitsets of studies and their cache (graph.search.member_sets)."""

from __future__ import annotations

from studygraph.graph.search.member_sets import BitsetCache, bitset


def test_a_bitset_has_exactly_the_bits_of_its_ids():
    ids = [0, 1, 7, 8, 63, 64, 999]
    bits = bitset(iter(ids), 999)
    assert [i for i in range(1000) if bits >> i & 1] == ids
    assert bitset([], 10) == 0 and bitset([5], 5) == 32


def test_the_cache_reads_again_for_another_generation_and_drops_the_least_recently_used():
    reads: list[str] = []

    def reader(name: str, value: int):
        def read() -> int:
            reads.append(name)
            return value
        return read

    big = 1 << 8000  # about 1 KB
    cache = BitsetCache(budget=2500)
    assert cache.get(1, "a", reader("a", big)) == big
    assert cache.get(1, "a", reader("a", 0)) == big and reads == ["a"]  # kept
    assert cache.get(2, "a", reader("a", big | 1)) == big | 1 and reads == ["a", "a"]  # another generation: read again
    cache.get(2, "b", reader("b", big))
    cache.get(2, "a", reader("a", 0))  # a is now the most recently used
    cache.get(2, "c", reader("c", big))  # over budget: b goes, not a
    assert reads == ["a", "a", "b", "c"]
    cache.get(2, "a", reader("a", 0))
    cache.get(2, "b", reader("b", big))
    assert reads == ["a", "a", "b", "c", "b"]
    assert cache.get(None, "a", reader("a", 7)) == 7  # no generation: never kept
    assert cache.get(None, "a", reader("a", 8)) == 8
