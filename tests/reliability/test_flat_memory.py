"""What keeps a transactional load's memory flat, observed on a real store: the slug
claims of records already written are let go, and the store's write buffers are flushed
to disk every so many bytes written (bench/ingest --transactional measures the peak
RSS itself: under 600 MiB at 5k, 20k and 50k records)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic import generate

from studygraph.graph import loader as graph_loader
from studygraph.graph.catalogue import Catalogue
from studygraph.graph.embedded import open_catalogue
from studygraph.graph.loader import BATCH_SIZE, Loader
from studygraph.mappings.readers import read_bytes
from studygraph.mappings.urls import Urls

BASE = "https://catalogue.example.org"


def synthetic(count: int) -> bytes:
    return "\n".join(json.dumps({"record": record}) for record in generate(count, seed=3)).encode()


@pytest.fixture
def store(tmp_path: Path):
    opened = open_catalogue(tmp_path / "store")
    opened.set_base_url(BASE)
    yield opened
    opened.close()


def sst_files(store: Catalogue) -> int:
    return len(list(store.quads.database.glob("*.sst")))


def test_a_load_lets_go_of_the_claims_of_records_written(store: Catalogue) -> None:
    loader = Loader(store, Urls(BASE))
    report = loader.load(read_bytes(synthetic(2 * BATCH_SIZE + 10), "synthetic.jsonl"))
    assert report.counts["new"] == 2 * BATCH_SIZE + 10
    assert loader.slugs.claims == {}
    # A dry run writes nothing, so the store cannot answer for its claims: they are kept.
    dry = Loader(store, Urls(BASE), dry_run=True)
    dry.load(read_bytes(synthetic(BATCH_SIZE + 10).replace(b'"slug": "', b'"slug": "dry-'), "dry.jsonl"))
    assert len(dry.slugs.claims) == BATCH_SIZE + 10


def test_the_store_is_flushed_every_so_many_bytes_written(store: Catalogue, monkeypatch) -> None:
    Loader(store, Urls(BASE)).load(read_bytes(synthetic(50), "first.jsonl"))
    before = sst_files(store)
    Loader(store, Urls(BASE)).load(read_bytes(synthetic(100), "more.jsonl"))
    assert sst_files(store) == before  # under FLUSH_BYTES: still in the write buffers
    monkeypatch.setattr(graph_loader, "FLUSH_BYTES", 256 * 1024)
    Loader(store, Urls(BASE)).load(read_bytes(synthetic(300), "yet-more.jsonl"))
    assert sst_files(store) > before  # flushed to disk while the store is open
