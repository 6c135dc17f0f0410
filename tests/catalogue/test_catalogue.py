"""The catalogue interface (graph.catalogue.Catalogue), the same for every backend:
records replaced and deleted through the loader, queries and exports over the graphs,
the change log and the search index kept in step with the graphs, and writes killed
midway settled from the graphs at the next opening."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pyoxigraph
import pytest
from conftest import ROOT, wait_for

from studygraph.graph.catalogue import Catalogue
from studygraph.graph.loader import Loader, recover
from studygraph.mappings.identity import LOCAL, Identity
from studygraph.mappings.profile import map_record
from studygraph.mappings.readers import read_bytes
from studygraph.mappings.urls import Urls

from .conftest import BASE, Backend

URLS = Urls(BASE)
TITLE = "http://purl.org/dc/terms/title"


def record(slug: str, name: str, keywords: tuple[str, ...] = ()) -> dict:
    return {"dataset_schema": {"name": name, "description": f"About {name}.", "keywords": list(keywords)}, "extra_data": {"slug": slug}}


def load(catalogue: Catalogue, *records: dict) -> dict[str, int]:
    body = "\n".join(json.dumps({"record": r}) for r in records).encode()
    return Loader(catalogue, URLS).load(read_bytes(body, "records.jsonl")).counts


def in_step(catalogue: Catalogue) -> tuple[set[str], set[str]]:
    """(slugs the index lists, slugs whose record graph exists)."""
    assert catalogue.index is not None
    graphs = {name.rsplit("/", 1)[1] for name in catalogue.record_hashes()}
    return set(catalogue.index.slugs()), graphs


def test_a_record_is_written_to_graph_index_and_feed(catalogue: Catalogue) -> None:
    assert load(catalogue, record("a", "Alpha study", ("sleep",)))["new"] == 1
    assert catalogue.objects_of(URLS.item("a"), URLS.item("a") + "#id", TITLE) == ["Alpha study"]
    assert in_step(catalogue) == ({"a"}, {"a"})
    assert catalogue.index is not None and [h.slug for h in catalogue.index.search("alpha").hits] == ["a"]
    assert catalogue.changes is not None
    assert [(c.slug, c.kind) for c in catalogue.changes.since()] == [("a", "created")]
    assert catalogue.changes.pending() == []


def test_loading_again_replaces_exactly_the_record_graph(catalogue: Catalogue) -> None:
    load(catalogue, record("a", "Alpha study"), record("b", "Beta study"))
    counts = load(catalogue, record("a", "Alpha study, second edition"), record("b", "Beta study"))
    assert (counts["replaced"], counts["unchanged"]) == (1, 1)
    assert catalogue.objects_of(URLS.item("a"), URLS.item("a") + "#id", TITLE) == ["Alpha study, second edition"]
    assert catalogue.index is not None and [h.slug for h in catalogue.index.search("second").hits] == ["a"]
    assert catalogue.changes is not None
    assert [(c.slug, c.kind) for c in catalogue.changes.since()][-1] == ("a", "replaced")


def test_a_delete_drops_graph_index_entry_and_shared_nodes_and_tells_the_feed(catalogue: Catalogue) -> None:
    load(catalogue, record("a", "Alpha study", ("rare keyword",)), record("b", "Beta study"))
    keyword = f"{BASE}/keywords/rare-keyword#id"
    assert catalogue.description_triples(keyword)
    assert Loader(catalogue, URLS).delete(URLS.item("a")) is True
    assert Loader(catalogue, URLS).delete(URLS.item("a")) is False
    assert catalogue.graph_triples(URLS.item("a")) == []
    assert catalogue.description_triples(keyword) == []  # no record names it any more
    assert in_step(catalogue) == ({"b"}, {"b"})
    assert catalogue.changes is not None and catalogue.changes.deleted("a") is not None


def test_queries_read_the_union_of_the_record_graphs(catalogue: Catalogue) -> None:
    load(catalogue, record("a", "Alpha study"), record("b", "Beta study"))
    rows = catalogue.query(f"SELECT ?title WHERE {{ ?s <{TITLE}> ?title }} ORDER BY ?title")
    assert isinstance(rows, pyoxigraph.QuerySolutions)
    assert [row["title"].value for row in rows] == ["Alpha study", "Beta study"]
    bound = catalogue.query(f"SELECT ?s ?title WHERE {{ ?s <{TITLE}> ?title }}", {"s": pyoxigraph.NamedNode(URLS.item("b") + "#id")})
    assert isinstance(bound, pyoxigraph.QuerySolutions) and [row["title"].value for row in bound] == ["Beta study"]
    assert catalogue.stats().records == 2


def test_an_export_round_trips_every_record_graph(catalogue: Catalogue) -> None:
    load(catalogue, record("a", "Alpha study"), record("b", "Beta study"))
    out = io.BytesIO()
    catalogue.export(out, "nq")
    quads = list(pyoxigraph.parse(out.getvalue(), format=pyoxigraph.RdfFormat.N_QUADS))
    graphs = {q.graph_name.value for q in quads if isinstance(q.graph_name, pyoxigraph.NamedNode)}
    assert {URLS.item("a"), URLS.item("b")} <= graphs
    assert len(quads) == catalogue.stats().quads


def test_a_write_stopped_after_its_graph_is_settled_from_the_graph(backend: Backend, tmp_path: Path) -> None:
    """The state a crash leaves between the backend and the index, made exactly: the
    write noted as pending and its graph written (by the backend alone), nothing else;
    and a deletion stopped after the index, before the graph."""
    path = tmp_path / "store"
    catalogue = backend.open(path)
    catalogue.set_base_url(BASE)
    load(catalogue, record("kept", "Kept study"), record("gone", "Deleted study"))
    assert catalogue.changes is not None and catalogue.index is not None
    latest = catalogue.changes.latest()
    half = map_record(record("half", "Half written"), URLS, issued="2026-01-01T00:00:00Z", modified="2026-01-01T00:00:00Z",
                      identity=Identity(LOCAL, "half"))
    from studygraph.graph.loader import _write
    from studygraph.graph.search import IndexEntry

    catalogue.changes.intend([("half", "created")])
    catalogue.quads.replace([_write(half, IndexEntry.of(half, "2026-01-01T00:00:00Z"), "created")])
    catalogue.changes.intend([("gone", "deleted")])
    catalogue.index.delete("gone")
    assert in_step(catalogue) == ({"kept"}, {"kept", "gone", "half"})
    catalogue.close()

    reopened = backend.open(path)
    try:
        assert recover(reopened, URLS) == 2
        assert in_step(reopened) == ({"kept", "gone", "half"}, {"kept", "gone", "half"})
        assert reopened.changes is not None and reopened.changes.pending() == []
        # The feed tells of the write that reached the graph, not of the deletion that did not.
        assert [(c.slug, c.kind) for c in reopened.changes.since(after=latest)] == [("half", "created")]
    finally:
        reopened.close()


WRITER = """
import importlib, json, sys
from studygraph.graph.loader import Loader
from studygraph.mappings.readers import read_bytes
from studygraph.mappings.urls import Urls
module, function = sys.argv[2].split(":")
catalogue = getattr(importlib.import_module(module), function)(sys.argv[1])
loader = Loader(catalogue, Urls(sys.argv[3]))
for line in sys.stdin:
    loader.load(read_bytes(line.encode(), "stdin.jsonl"))
    print("written", flush=True)
"""


def test_a_writer_killed_midway_leaves_a_catalogue_that_recovery_makes_consistent(backend: Backend, tmp_path: Path) -> None:
    path = tmp_path / "store"
    first = backend.open(path)
    first.set_base_url(BASE)
    load(first, record("seed", "Seed study"))
    first.close()
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(path), backend.opener, BASE], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT)
    written: list[bytes] = []

    def feed() -> None:
        try:
            for i in range(2000):
                assert process.stdin is not None
                process.stdin.write((json.dumps({"record": record(f"r{i}", f"Record {i}")}) + "\n").encode())
                process.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    def count() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            written.append(line)

    threading.Thread(target=feed, daemon=True).start()
    threading.Thread(target=count, daemon=True).start()
    wait_for(lambda: len(written) > 30, "part of the writes to be made", seconds=120)
    process.send_signal(signal.SIGKILL)
    process.wait()

    reopened = backend.open(path)
    try:
        recover(reopened, URLS)
        indexed, graphs = in_step(reopened)
        assert indexed == graphs and len(graphs) > 30 and "seed" in graphs
        assert reopened.changes is not None and reopened.changes.pending() == []
        announced = {c.slug for c in reopened.changes.since(limit=10_000)}
        assert announced == graphs  # the feed announces every record there is, and no other
    finally:
        reopened.close()


def test_a_worker_never_serves_a_description_another_worker_changed(backend: Backend, catalogue: Catalogue, tmp_path: Path) -> None:
    """Workers over a store server keep the shared descriptions they read; a write by
    any of them (here: the orphaned keyword dropped, then described again) reaches the
    others' next read."""
    if backend.name == "embedded":
        pytest.skip("one process owns an embedded store: its cache is told of every write")
    other = backend.open(tmp_path / "store")
    try:
        keyword = f"{BASE}/keywords/rare-keyword#id"
        load(catalogue, record("a", "Alpha study", ("rare keyword",)), record("b", "Beta study"))
        assert other.description_triples(keyword)  # read, and kept, by the other worker
        assert Loader(catalogue, URLS).delete(URLS.item("a")) is True
        assert other.description_triples(keyword) == []
        load(catalogue, record("c", "Gamma study", ("Rare keyword",)))
        assert other.description_triples(keyword) == catalogue.description_triples(keyword) != []
    finally:
        other.close()
