"""A serving store moves its database to a fresh copy when RocksDB's MANIFEST grows
(graph.database_directory): nothing is lost, readers carry on, the old copy goes, and
every opening finds the copy in use."""

from __future__ import annotations

import shutil

import pytest

from studygraph.graph import database_directory
from studygraph.graph.embedded import EmbeddedStore, StoreError, read_settings

G = "http://example.org/g"


def _write(store: EmbeddedStore, n: int) -> None:
    store.update(f'INSERT DATA {{ GRAPH <{G}> {{ <http://example.org/s{n}> <http://example.org/p> "{n}" }} }}')


def _subjects(store: EmbeddedStore) -> int:
    return len(store.graph_triples(G))


def _grow_until_rolled(store: EmbeddedStore, scratch, start: int = 0) -> int:
    """Write, and checkpoint after each write as a serving store does, until the
    database has moved; returns the number of writes made."""
    first = store.database
    n = start
    while store.database == first:
        _write(store, n)
        n += 1
        store.checkpoint(scratch / f"checkpoint-{n}")
        assert n - start < 2000, "the MANIFEST never passed the roll size"
    return n


def test_a_growing_manifest_moves_the_database_to_a_fresh_copy_losing_nothing(tmp_path):
    path = tmp_path / "store"
    store = EmbeddedStore(path, roll_bytes=64 * 1024)
    held = store._store.quads_for_pattern(None, None, None)  # a reader that spans the roll
    written = _grow_until_rolled(store, tmp_path)
    assert store.database.name == "graph-1" and read_settings(path)[database_directory.SETTING] == "graph-1"
    assert database_directory.manifest_bytes(store.database) < 64 * 1024
    assert _subjects(store) == written
    list(held)  # the old handle still reads
    written = _grow_until_rolled(store, tmp_path, written)
    assert store.database.name == "graph-2"
    assert not (path / "graph").exists(), "the directory rolled away from two rolls ago is removed"
    assert (path / "graph-1").is_dir(), "the one just left stays for readers still on it"
    _write(store, written)
    store.close()
    reopened = EmbeddedStore(path)
    assert reopened.database.name == "graph-2" and _subjects(reopened) == written + 1
    assert not (path / "graph-1").exists(), "an opening removes every other database directory"
    reopened.close()
    assert _subjects(EmbeddedStore(path, read_only=True)) == written + 1


def test_a_roll_cut_short_leaves_the_store_as_it_was(tmp_path):
    """A crash between the copy and the settings leaves a half-made directory, which the
    next opening removes; the store is still the one the settings name."""
    path = tmp_path / "store"
    store = EmbeddedStore(path)
    _write(store, 1)
    store._store.backup(str(path / "graph-7"))
    store.close()
    reopened = EmbeddedStore(path)
    assert reopened.database.name == "graph" and _subjects(reopened) == 1
    assert not (path / "graph-7").exists()


def test_a_store_whose_database_directory_is_missing_is_refused_not_recreated_empty(tmp_path):
    path = tmp_path / "store"
    store = EmbeddedStore(path, roll_bytes=0)
    _write(store, 1)  # any MANIFEST is past 0 bytes: the write rolls
    assert store.database.name == "graph-1"
    store.close()
    shutil.rmtree(path / "graph-1")  # as a disk fault or a careless hand would
    with pytest.raises(StoreError, match="graph-1 is missing"):
        EmbeddedStore(path)
