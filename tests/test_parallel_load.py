"""A fresh store is filled the same whether its records are mapped in this process or by
worker processes (graph.ordered_pool): the same records, slugs, versions, rejections
and events, in the same order."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import pytest
from conftest import run_cli

from studygraph.graph import ordered_pool
from studygraph.graph.embedded import EmbeddedLocation
from studygraph.graph.loader import LoadEvent, load_fresh
from studygraph.graph.ordered_pool import OrderedPool
from studygraph.mappings.readers import read_paths
from studygraph.mappings.urls import Urls

URLS = Urls("https://parallel.example.org")
STAMP = re.compile(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"')


def test_results_come_in_input_order_from_the_workers() -> None:
    pool = OrderedPool(math.factorial, 2, start_after=3, chunk=2)
    assert list(pool.map(range(60))) == [math.factorial(n) for n in range(60)]


def test_one_process_runs_everything_here() -> None:
    pool = OrderedPool(math.factorial, 1)
    assert list(pool.map(range(5))) == [1, 1, 2, 6, 24]


def test_an_error_in_a_worker_ends_the_iteration_with_that_error() -> None:
    pool = OrderedPool(math.sqrt, 2, start_after=0, chunk=1)
    results = pool.map([4.0, 9.0, -1.0, 16.0])
    assert [next(results), next(results)] == [2.0, 3.0]
    with pytest.raises(ValueError, match="math domain error"):
        next(results)


def record(slug: str, description: str = "Fine.", **extra: object) -> dict:
    return {"dataset_schema": {"name": f"Study {slug}", "description": description, "keywords": ["health", slug]},
            "extra_data": {"slug": slug, **extra}}


def mixed_file(tmp_path: Path) -> Path:
    """Good records around every kind of decision that depends on order: a rejected
    line, a record met again changed and unchanged, two records wanting one slug."""
    lines = [json.dumps(record(f"study-{n}")) for n in range(12)]
    lines.insert(3, "{not json")
    lines.insert(5, json.dumps({"dataset_schema": {"name": "Surrogate", "description": "broken \ud800 text"}, "extra_data": {"slug": "bad"}}))
    lines.append(json.dumps(record("study-2", "Changed.")))
    lines.append(json.dumps(record("study-4")))
    lines.append(json.dumps({"record": record("shared"), "_provenance": {"url": "https://a.example.org/shared"}}))
    lines.append(json.dumps({"record": record("shared"), "_provenance": {"url": "https://b.example.org/shared"}}))
    lines += [json.dumps(record(f"late-{n}")) for n in range(8)]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def loaded(path: Path, store: Path, processes: int) -> tuple[list[tuple], list[tuple], str]:
    events: list[LoadEvent] = []
    report = load_fresh(EmbeddedLocation(store), read_paths([str(path)]), URLS, events.append, processes=processes)
    catalogue = EmbeddedLocation(store).open()
    try:
        out = io.BytesIO()
        catalogue.export(out, "nq")
        quads = sorted(STAMP.sub('""', line) for line in out.getvalue().decode().splitlines())
    finally:
        catalogue.close()
    happened = [(e.outcome, e.origin, e.slug, [str(w) for w in e.warnings]) for e in events]
    rejections = [(r.origin.source, r.origin.line, r.field, r.reason) for r in report.rejections]
    return happened, rejections, "\n".join(quads)


def test_workers_fill_the_same_store_with_the_same_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = mixed_file(tmp_path)
    here = loaded(path, tmp_path / "here", processes=1)
    monkeypatch.setattr(ordered_pool, "START_AFTER", 2)  # past the second record, workers map
    monkeypatch.setattr(ordered_pool, "CHUNK", 3)
    pooled = loaded(path, tmp_path / "pooled", processes=2)
    assert pooled[0] == here[0]
    assert [outcome for outcome, *_ in here[0]].count("replaced") == 1 and [o for o, *_ in here[0]].count("unchanged") == 1
    assert pooled[1] == here[1] and len(here[1]) == 2
    assert pooled[2] == here[2]
    assert "/items/shared-" in here[2]  # the second record wanting "shared" got a suffixed slug


def test_studygraph_load_maps_in_the_processes_asked_for(tmp_path: Path) -> None:
    """Past the records mapped in process (ordered_pool.START_AFTER), the rest come back
    from the workers: every one loaded, a bad one reported with its line."""
    count = ordered_pool.START_AFTER + 2 * ordered_pool.CHUNK + 5
    lines = [json.dumps(record(f"cli-{n}")) for n in range(count)]
    lines.insert(count - 3, json.dumps({"dataset_schema": {"name": "Surrogate", "description": "broken \ud800 text"}, "extra_data": {"slug": "bad"}}))
    path = tmp_path / "many.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("load", str(path), "--store", str(tmp_path / "store"), "-q", env={"STUDYGRAPH_LOAD_PROCESSES": "2"})
    assert result.returncode == 1, result.stderr.decode()
    assert f"{count} new, 0 replaced, 0 unchanged, 1 rejected" in result.stdout.decode()
    assert f"rejected: {path}:{count - 2} (dataset_schema.description)" in result.stderr.decode()
    slugs = run_cli("slugs", "--store", str(tmp_path / "store"))
    assert sorted(slugs.stdout.decode().split()) == sorted(f"cli-{n}" for n in range(count))
