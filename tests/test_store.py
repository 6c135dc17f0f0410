"""`studygraph load / delete / remap / export / stats` against real on-disk stores."""

from __future__ import annotations

import gzip
import json
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pyoxigraph
import pytest
from conftest import BASE, RECORDS, run_cli, studygraph_command
from pyoxigraph import NamedNode

from studygraph.graph.catalogue import Catalogue
from studygraph.graph.embedded import open_catalogue
from studygraph.mappings.identity import LOCAL, Identity
from studygraph.mappings.profile import map_record
from studygraph.mappings.urls import Urls

SEED_SLUG = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
DCT = "http://purl.org/dc/terms/"
SCHEMA = "https://schema.org/"


def load(store: Path, *paths: str, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return run_cli("load", *paths, "--store", str(store), "--base-url", BASE, *extra)


def stats(store: Path) -> dict:
    result = run_cli("stats", "--store", str(store), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def record_line(slug: str, name: str, **extra) -> str:
    record = {"dataset_schema": {"name": name, "description": f"About {name}."}, "extra_data": {"slug": slug, **extra}}
    return json.dumps({"record": record}) + "\n"


def open_store(store: Path) -> Catalogue:
    return open_catalogue(store, read_only=True)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    """A store holding every record in ../shared/records (loaded once for this module)."""
    store = tmp_path_factory.mktemp("loaded") / "store"
    result = load(store, str(RECORDS))
    assert result.returncode == 0, result.stderr.decode()
    assert b"43 new, 0 replaced, 0 unchanged, 0 rejected" in result.stdout
    return store


def test_shared_records_load_with_nothing_rejected(loaded):
    figures = stats(loaded)
    assert figures["records"] == 43
    assert figures["nodes"]["items"] >= 43
    assert figures["nodes"]["organizations"] > 10
    assert figures["nodes"]["keywords"] > 100


def test_seed_record_graph(loaded):
    store = open_store(loaded)
    graph = NamedNode(f"{BASE}/items/{SEED_SLUG}")
    study = NamedNode(f"{BASE}/items/{SEED_SLUG}#id")

    def objects(subject, predicate):
        return [q.object for q in store.quads._store.quads_for_pattern(subject, NamedNode(predicate), None, graph)]

    assert [o.value for o in objects(study, DCT + "title")] == [
        "Stakeholder Engagement Focus Groups on Digital Mental Health and Peer Support, 2022"
    ]
    (description,) = objects(study, DCT + "description")
    assert description.value.startswith("Background:  Digital mental health (DMH) delivered via peer support")
    assert description.value.endswith("Togetherall (specifically).")
    assert "$" not in description.value[:3]
    keywords = objects(study, "http://www.w3.org/ns/dcat#theme")
    assert len(keywords) == 4
    for keyword in keywords:
        # A keyword is described once, in its own graph, not in the study's.
        assert not objects(keyword, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
        described = store.quads._store.quads_for_pattern(keyword, NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), None, NamedNode(keyword.value.removesuffix("#id")))
        assert "http://www.w3.org/2004/02/skos/core#Concept" in {q.object.value for q in described}
    assert [o.value for o in objects(study, SCHEMA + "sponsor")] == [
        f"{BASE}/organizations/economic-and-social-research-council#id"
    ]
    assert [o.value for o in objects(study, SCHEMA + "includedInDataCatalog")] == [f"{BASE}/catalogues/uk-data-service#id"]
    assert NamedNode("https://doi.org/10.5255/UKDA-SN-856193") in objects(study, SCHEMA + "sameAs")
    (period,) = objects(study, DCT + "temporal")
    dates = {p: [o.value for o in objects(period, "http://www.w3.org/ns/dcat#" + p)] for p in ("startDate", "endDate")}
    assert dates == {"startDate": ["2022-08-19"], "endDate": ["2022-12-01"]}
    store.close()


def test_loading_again_changes_nothing(loaded):
    before = stats(loaded)
    result = load(loaded, str(RECORDS))
    assert result.returncode == 0
    assert b"0 new, 0 replaced, 43 unchanged, 0 rejected" in result.stdout
    assert stats(loaded) == before


def test_a_changed_record_is_replaced_whole(tmp_path):
    store = tmp_path / "store"
    first = tmp_path / "v1.jsonl"
    first.write_text(record_line("s1", "Study one", country_codes=["GB"]) + record_line("s2", "Study two"))
    assert load(store, str(first)).returncode == 0
    before = stats(store)["quads"]
    second = tmp_path / "v2.jsonl"
    second.write_text(record_line("s1", "Study one, revised"))
    result = load(store, str(second))
    assert b"0 new, 1 replaced, 0 unchanged" in result.stdout
    opened = open_store(store)
    titles = [q.object.value for q in opened.quads._store.quads_for_pattern(NamedNode(f"{BASE}/items/s1#id"), NamedNode(DCT + "title"), None)]
    issued = opened.record_states([f"{BASE}/items/s1"])[f"{BASE}/items/s1"]
    opened.close()
    assert titles == ["Study one, revised"]
    assert stats(store)["quads"] < before  # the country went with the old version
    assert issued.issued <= issued.modified


def test_delete_removes_the_record_and_nodes_only_it_named(tmp_path):
    store = tmp_path / "store"
    records = tmp_path / "r.jsonl"
    shared = [{"@type": "Organization", "name": "Shared Council"}]
    lines = []
    for slug, sponsors in (("a", shared), ("b", shared + [{"@type": "Organization", "name": "Only B Trust"}])):
        record = {"dataset_schema": {"name": f"Study {slug}", "description": "x", "sponsor": sponsors}, "extra_data": {"slug": slug}}
        lines.append(json.dumps(record))
    records.write_text("\n".join(lines) + "\n")
    assert load(store, str(records)).returncode == 0
    assert stats(store)["nodes"]["organizations"] == 2
    result = run_cli("delete", "b", "--store", str(store))
    assert result.returncode == 0 and b"deleted b" in result.stdout
    figures = stats(store)
    assert figures["records"] == 1
    assert figures["nodes"]["organizations"] == 1
    missing = run_cli("delete", "b", "--store", str(store))
    assert missing.returncode == 1 and b"no record 'b'" in missing.stderr


def test_remap_rebuilds_every_graph_from_the_kept_originals(loaded, tmp_path):
    copy = tmp_path / "store"
    opened = open_catalogue(loaded, read_only=True)
    copy.mkdir()
    opened.quads._store.backup(str(copy / opened.quads.database.name))
    opened.close()
    shutil.copy(loaded / "settings.json", copy / "settings.json")
    store = open_catalogue(copy)
    # Damage one graph as a mapping bug would: drop its title.
    graph = NamedNode(f"{BASE}/items/{SEED_SLUG}")
    for quad in list(store.quads._store.quads_for_pattern(None, NamedNode(DCT + "title"), None, graph)):
        store.quads._store.remove(quad)
    store.close()
    result = run_cli("remap", "--store", str(copy))
    assert result.returncode == 0, result.stderr
    assert b"43 replaced" in result.stdout
    assert stats(copy) == stats(loaded)


@pytest.mark.parametrize("fmt", ["nq", "trig", "jsonld", "nt", "ttl", "rdf"])
def test_export_parses_back(loaded, fmt):
    result = run_cli("export", "--store", str(loaded), "--format", fmt)
    assert result.returncode == 0, result.stderr
    rdf_format = {"nq": "N_QUADS", "trig": "TRIG", "jsonld": "JSON_LD", "nt": "N_TRIPLES", "ttl": "TURTLE", "rdf": "RDF_XML"}[fmt]
    parsed = list(pyoxigraph.parse(result.stdout, format=getattr(pyoxigraph.RdfFormat, rdf_format)))
    if fmt in ("nq", "trig", "jsonld"):
        assert len(parsed) == stats(loaded)["quads"]
        urls = Urls(BASE)
        assert all(q.graph_name.value.startswith(f"{BASE}/items/") or urls.is_description_graph(q.graph_name.value) for q in parsed)
    else:
        assert len(parsed) > 1000


def test_bad_input_is_rejected_and_the_rest_loaded(tmp_path):
    store = tmp_path / "store"
    source = tmp_path / "mixed.jsonl"
    source.write_text(
        record_line("good-1", "Good one")
        + "{broken json\n"
        + "[1, 2]\n"
        + json.dumps({"dataset_schema": {"description": "nameless"}, "extra_data": {}}) + "\n"
        + record_line("good-2", "Good two")
    )
    truncated = tmp_path / "cut.jsonl.gz"
    truncated.write_bytes(gzip.compress((record_line("g3", "Good three") * 50).encode())[:-30])
    result = load(store, str(source), str(truncated))
    assert result.returncode == 1
    err = result.stderr.decode()
    assert f"{source}:2" in err
    assert f"{source}:3" in err
    assert f"{source}:4 (name): record has no name" in err
    assert str(truncated) in err
    assert stats(store)["records"] == 3
    assert b"3 new" in result.stdout


def test_dry_run_writes_nothing(tmp_path):
    store = tmp_path / "store"
    result = load(store, str(RECORDS), extra=("--dry-run",))
    assert result.returncode == 0
    assert b"would have loaded 43 records" in result.stdout
    assert not store.exists()


def test_a_store_refuses_another_base_url(loaded):
    result = run_cli("load", str(RECORDS), "--store", str(loaded), "--base-url", "http://other.example")
    assert result.returncode != 0
    assert b"publishes under https://catalogue.example.org" in result.stderr


@pytest.mark.parametrize("base_url", ["not a url", "ftp://example.org", "http://example.org/a b", "http://example.org/?x=1", "http://"])
def test_a_base_url_that_cannot_start_iris_is_refused(tmp_path, base_url):
    result = run_cli("load", str(RECORDS), "--store", str(tmp_path / "store"), "--base-url", base_url)
    assert result.returncode != 0
    assert b"the base URL must be an absolute http(s) URL" in result.stderr
    assert not (tmp_path / "store" / "graph").exists()


def _kill_after_warning(args: list[str], lines: list[str], marker: str) -> None:
    """Start a load reading stdin, feed it *lines*, and kill it once *marker* is on stderr.

    The marker is a warning about a record the loader has just written (warnings are
    printed after the write), so the kill lands while later records are in flight.
    """
    process = subprocess.Popen(args, stdin=subprocess.PIPE, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)

    def feed() -> None:  # from a thread: the load's stderr is read meanwhile, or both pipes fill
        try:
            process.stdin.write("".join(lines).encode())
            process.stdin.flush()
        except BrokenPipeError:
            pass  # killed before it read everything: the point

    threading.Thread(target=feed, daemon=True).start()
    for line in process.stderr:
        if marker in line.decode():
            break
    else:
        pytest.fail(f"the load ended before printing {marker!r}")
    process.send_signal(signal.SIGKILL)
    process.wait()


def _lines(count: int, odd: int) -> list[str]:
    """*count* records; record *odd* has an empty URL, which the loader warns about."""
    return [
        record_line(f"r{i}", f"Record {i}", **({"urls": [""]} if i == odd else {}))
        for i in range(count)
    ]


def test_a_killed_load_leaves_whole_records_and_a_rerun_finishes(tmp_path):
    store = tmp_path / "store"
    seed = tmp_path / "seed.jsonl"
    seed.write_text(record_line("first", "First"))
    assert load(store, str(seed)).returncode == 0  # not fresh: the transactional path
    lines = _lines(1500, odd=300)
    args = [*studygraph_command(), "load", "-", "--store", str(store)]
    _kill_after_warning(args, lines, "[r300]")
    opened = open_store(store)
    names = {g.value for g in opened.quads._store.named_graphs() if g.value.startswith(f"{BASE}/items/")}
    # Every graph present is whole: as many quads as mapping its record alone gives.
    for name in names:
        slug = name.rsplit("/", 1)[1]
        line = next((l for l in lines if f'"slug": "{slug}"' in l), record_line("first", "First"))
        expected = map_record(
            json.loads(line)["record"], Urls(BASE), issued="2026-01-01T00:00:00Z", modified="2026-01-01T00:00:00Z", source_name="-",
            source_format="harmony", identity=Identity(LOCAL, slug),
        )
        assert len(list(opened.quads._store.quads_for_pattern(None, None, None, NamedNode(name)))) == len(expected.graph.statements)
    opened.close()
    assert 300 < len(names) < 1501
    source = tmp_path / "all.jsonl"
    source.write_text("".join(lines))
    result = load(store, str(source))
    assert result.returncode == 0
    assert stats(store)["records"] == 1501


def test_a_killed_fresh_load_leaves_no_store_and_a_rerun_finishes(tmp_path):
    store = tmp_path / "store"
    lines = _lines(3000, odd=100)
    _kill_after_warning([*studygraph_command(), "load", "-", "--store", str(store)], lines, "[r100]")
    assert not store.exists()
    assert list(tmp_path.glob(".store.loading-*"))
    source = tmp_path / "all.jsonl"
    source.write_text("".join(lines))
    assert load(store, str(source)).returncode == 0
    assert stats(store)["records"] == 3000
    assert not list(tmp_path.glob(".store.loading-*"))


def test_slugs_lists_every_record_from_the_index_alone(loaded, tmp_path):
    """`studygraph slugs` answers from the search index, never opening the graph database
    (a read-only opening of RocksDB beside a serving writer is unsafe): it answers the same
    with the database moved away."""
    listed = run_cli("slugs", "--store", str(loaded))
    assert listed.returncode == 0, listed.stderr
    slugs = listed.stdout.decode().split()
    assert len(slugs) == 43 and slugs == sorted(slugs) and SEED_SLUG in slugs
    copy = tmp_path / "index-only"
    copy.mkdir()
    shutil.copy(loaded / "search.sqlite", copy / "search.sqlite")
    shutil.copy(loaded / "settings.json", copy / "settings.json")
    again = run_cli("slugs", "--store", str(copy))
    assert again.returncode == 0 and again.stdout.decode().split() == slugs
    assert run_cli("slugs", "--store", str(tmp_path / "nothing")).returncode == 1
