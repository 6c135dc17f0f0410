"""The query pool's hand-back of results: small ones through the pipe, large ones spooled."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph

from graph.query_pool import INLINE_BYTES, QueryJob, QueryPool, _SpillingBuffer


def test_a_small_result_stays_in_memory(tmp_path):
    spool = tmp_path / "spool"
    out = _SpillingBuffer(str(spool))
    out.write(b"a" * 100)
    out.write(b"b" * 100)
    assert out.finish() == b"a" * 100 + b"b" * 100
    assert not spool.exists()


def test_a_large_result_moves_to_the_spool_file_whole(tmp_path):
    spool = tmp_path / "spool"
    out = _SpillingBuffer(str(spool))
    pieces = [bytes([n % 251]) * 10_000 for n in range(INLINE_BYTES // 10_000 + 5)]
    for piece in pieces:
        out.write(piece)
    assert out.finish() is None
    assert spool.read_bytes() == b"".join(pieces)


def test_the_pool_returns_small_results_inline_and_large_ones_in_a_file(tmp_path):
    source = pyoxigraph.Store(str(tmp_path / "store"))
    graph = pyoxigraph.NamedNode("http://example.org/g")
    for n in range(5000):
        source.add(pyoxigraph.Quad(pyoxigraph.NamedNode(f"http://example.org/s{n}"), pyoxigraph.NamedNode("http://example.org/p"),
                                   pyoxigraph.Literal("x" * 100), graph))
    source.flush()
    pool = QueryPool(lambda target: source.backup(str(target)), size=1, deadline=30, spool_dir=str(tmp_path))
    try:
        small = pool.run(QueryJob("SELECT ?s WHERE { ?s ?p ?o } LIMIT 3", "json", 100_000))
        assert small.path is None and small.rows == 3 and b'"s"' in small.data
        large = pool.run(QueryJob("SELECT ?s ?o WHERE { ?s ?p ?o }", "tsv", 100_000))
        assert large.data is None and large.rows == 5000
        assert Path(large.path).stat().st_size > INLINE_BYTES
        Path(large.path).unlink()
    finally:
        pool.close()
