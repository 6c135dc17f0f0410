"""The synthetic-record generator (bench/synthetic.py, run as bench/generate.py) keeps the shape of the real records.

Benchmarks are only meaningful if the generated catalogue looks like the real one where it
costs: which fields are present, how much linked nodes are shared, the odd values the
mapping must survive. These tests pin that down (on 2000 records, a fraction of a second).
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

GENERATE_PY = Path(__file__).resolve().parents[1] / "bench" / "generate.py"


import synthetic as gen  # noqa: E402  (bench/ is on the tests' path)

N = 2000


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return list(gen.generate(N, seed=1))


def present(record: dict[str, Any], key: str) -> bool:
    """Is the field (``ds.x``, ``ed.x`` or a top-level key) there and non-empty?"""
    if key.startswith("ds."):
        obj, name = record["dataset_schema"], key[3:]
    elif key.startswith("ed."):
        obj, name = record["extra_data"], key[3:]
    else:
        obj, name = record, key
    return obj.get(name) not in (None, "", [], {})


def test_same_seed_same_records_other_seed_other_records() -> None:
    first = list(gen.generate(300, seed=7))
    assert first == list(gen.generate(300, seed=7))
    assert first != list(gen.generate(300, seed=8))


def test_prefix_does_not_depend_on_n() -> None:
    assert list(gen.generate(50, seed=3)) == list(gen.generate(400, seed=3))[:50]


def test_streams_lazily() -> None:
    """A huge N costs nothing until records are asked for (constant memory)."""
    head = list(itertools.islice(gen.generate(10**12, seed=1), 3))
    assert len(head) == 3


def test_every_record_is_a_harmony_record(records: list[dict[str, Any]]) -> None:
    for record in records:
        assert isinstance(record, dict)
        ds, ed = record["dataset_schema"], record["extra_data"]
        assert isinstance(ds["name"], str) and ds["name"]
        assert ds["@context"] == "https://schema.org/" and ds["@type"] == "Dataset"
        assert ed["name"] == ds["name"] and ed["urls"] == ds["url"] and ed["dois"] == ds["identifier"]
        assert re.fullmatch(r"[0-9a-f]{32}", ed["uuid"])
        assert record["parent"] == {} and isinstance(record["ancestors"], list)
        assert gen.DESCRIPTION_MIN <= len(ds["description"]) <= gen.DESCRIPTION_MAX
        json.dumps(record)  # plain JSON values only


def test_slugs_unique_including_child_datasets(records: list[dict[str, Any]]) -> None:
    slugs = [r["extra_data"]["slug"] for r in records]
    slugs += [c["extra_data"]["slug"] for r in records for c in r.get("child_datasets", [])]
    assert len(slugs) == len(set(slugs))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", s) for s in slugs)


def test_presence_rates_as_configured(records: list[dict[str, Any]]) -> None:
    expected = gen.expected_presence()
    for key, rate in expected.items():
        observed = sum(present(r, key) for r in records) / N
        assert abs(observed - rate) < 0.05, (key, observed, rate)


def test_configuration_matches_the_real_records() -> None:
    """The per-kind table was derived from the real files; its totals must agree."""
    expected = gen.expected_presence()
    for key, real in gen.REAL_PRESENCE.items():
        assert abs(expected[key] - real) < 0.02, (key, expected[key], real)


def test_keywords_shared_across_records(records: list[dict[str, Any]]) -> None:
    per_record = [set(r["dataset_schema"]["keywords"]) for r in records]
    counts = Counter(k for kws in per_record for k in kws)
    top_keyword, top_count = counts.most_common(1)[0]
    assert top_count >= N // 10, "the most popular keyword should recur in many records"
    assert sum(counts.values()) > 3 * len(counts), "keywords should repeat, not be unique"
    assert any(n == 1 for n in counts.values()), "a long tail of rare keywords too"


def test_organisations_shared_across_records(records: list[dict[str, Any]]) -> None:
    sponsors = Counter(o["name"] for r in records for o in r["dataset_schema"].get("sponsor", []))
    assert sponsors.most_common(1)[0][1] >= 10
    roles = ("sponsor", "funder", "publisher", "creator", "copyrightHolder")
    orgs = Counter(o["name"] for r in records for role in roles for o in r["dataset_schema"].get(role, []))
    assert orgs.most_common(1)[0][1] >= 50
    assert 100 < len(orgs) < 3000


def test_catalogues_and_sources_from_the_real_set(records: list[dict[str, Any]]) -> None:
    real_sources = {"ukds", "mhc", "closer", "ukllc", "adruk", "hdruk", "cls", "matilda"}
    sources = {s for r in records for s in r["extra_data"]["source"]}
    assert sources == real_sources
    names = {c["name"] for r in records for c in r["dataset_schema"].get("includedInDataCatalog", [])}
    assert names == {c["name"] for c in gen.CATALOGUES.values()}


def test_real_oddities_present(records: list[dict[str, Any]]) -> None:
    coverages = {r["dataset_schema"].get("temporalCoverage") for r in records} - {None}
    forms = {
        "open": r"\d{4}/\.\.",
        "years": r"\d{4}/\d{4}",
        "bare year": r"\d{4}",
        "dates": r"\d{4}-\d\d-\d\d/\d{4}-\d\d-\d\d",
        "datetimes": r"\d{4}-\d\d-\d\dT00:00:00Z/\d{4}-\d\d-\d\dT00:00:00Z",
        "date to datetime": r"\d{4}-\d\d-\d\d/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z",
    }
    for form, pattern in forms.items():
        assert any(re.fullmatch(pattern, c) for c in coverages), form

    dois = [d for r in records for d in r["extra_data"]["dois"]]
    assert any(d.startswith("10.") for d in dois)
    assert any(d.startswith("http://dx.doi.org/10.") for d in dois)
    assert any(d.startswith("https://doi.org/10.") for d in dois)
    assert any("%2F" in d for d in dois)

    codes = Counter(c for r in records for c in r["extra_data"]["country_codes"])
    assert codes.most_common(1)[0][0] == "GB" and 0 < codes["UK"] < codes["GB"] / 10

    urls = [u for r in records for u in r["dataset_schema"]["url"]]
    assert "" in urls
    assert any(u.endswith(")") for u in urls)


def test_ancestors_are_earlier_records_forming_trees(records: list[dict[str, Any]]) -> None:
    seen: dict[str, dict[str, Any]] = {}
    children: Counter[str] = Counter()
    for r in records:
        for ancestor in r["ancestors"]:
            uuid = ancestor["extra_data"]["uuid"]
            assert uuid in seen, "an ancestor is a record generated earlier"
            assert ancestor["dataset_schema"] == seen[uuid]["dataset_schema"]
        if r["ancestors"]:
            parent = seen[r["ancestors"][0]["extra_data"]["uuid"]]
            # nearest parent first: the rest of the chain is the parent's own ancestors
            assert [a["extra_data"]["uuid"] for a in r["ancestors"][1:]] == [
                a["extra_data"]["uuid"] for a in parent["ancestors"]
            ]
            children[parent["extra_data"]["uuid"]] += 1
        seen[r["extra_data"]["uuid"]] = r
    assert max(children.values()) >= 3, "parents have several children"


def test_cli_writes_record_lines(tmp_path: Path) -> None:
    out = tmp_path / "records.jsonl"
    subprocess.run([sys.executable, str(GENERATE_PY), "5", "--seed", "3", "--out", str(out)], check=True)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"record": r} for r in gen.generate(5, seed=3)]
    stdout = subprocess.run([sys.executable, str(GENERATE_PY), "5", "--seed", "3"],
                            check=True, capture_output=True).stdout.decode("utf-8")
    assert stdout.splitlines() == lines


def test_bundled_demo_records_are_the_generators() -> None:
    """`studygraph demo` no longer imports the generator: it serves a file made by it once.
    That file must stay what the generator makes (the first 300 records of seed 1), and
    small enough to ship in the package."""
    import gzip

    bundled = Path(__file__).resolve().parents[1] / "studygraph" / "examples" / "demo.jsonl.gz"
    assert bundled.stat().st_size < 256 * 1024
    lines = gzip.decompress(bundled.read_bytes()).decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"record": r} for r in gen.generate(300, seed=1)]
