"""One bad value never costs a load: through `studygraph load` (both write paths), the
write API and a harvest, the records around a bad one are loaded and the bad one is
reported with its place and field."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph
import pytest
from conftest import LiveServer, fetch, run_cli
from pyoxigraph import RdfFormat

BASE = "https://catalogue.example.org"
TOKEN = "reliability-token"


def good(n: int) -> str:
    return json.dumps({"dataset_schema": {"name": f"Good study {n}", "description": "Fine."}, "extra_data": {"slug": f"good-{n}"}})


def raw(record: dict, **numbers: str) -> str:
    """*record* as a JSON line, each ``"@NAME@"`` replaced by the JSON text given for
    NAME: how a number Python never writes (``1e400``) gets into a line."""
    line = json.dumps(record, ensure_ascii=True)
    for name, text in numbers.items():
        line = line.replace(f'"@{name}@"', text)
    return line


def named(name: str, **extra: object) -> dict:
    return {"dataset_schema": {"name": name, "description": "Has one bad value."}, "extra_data": {"slug": name.lower().replace(" ", "-"), **extra}}


#: (line, field reported, rejected?) — a value no JSON text can hold rejects its record;
#: a value that is merely unusable where it stands drops that field, with a warning.
BAD = (
    (raw(named("Huge sample", sample_size="@n@"), n="1e400"), "extra_data.sample_size", True),
    (raw(named("Huge start", start_year="@n@"), n="1e400"), "extra_data.start_year", True),
    (raw(named("Huge age", age_lower="@n@", end_year="@m@"), n="-1e400", m="NaN"), "extra_data.age_lower", True),
    (raw({"dataset_schema": {"name": "Huge size", "size": "@n@"}, "extra_data": {"slug": "huge-size"}}, n="1E+309"), "dataset_schema.size", True),
    (json.dumps({"dataset_schema": {"name": "Surrogate", "description": "broken \ud800 text"}, "extra_data": {"slug": "surrogate"}}), "dataset_schema.description", True),
    (json.dumps({"dataset_schema": {"name": "Surrogate keyword", "keywords": ["fine", "\udfff"]}, "extra_data": {"slug": "surrogate-keyword"}}), "dataset_schema.keywords[1]", True),
    (json.dumps({"record": named("Bad harvested"), "_provenance": {"harvested": "last Tuesday"}}), "provenance.harvested", False),
    (json.dumps({"dataset_schema": {"name": "Bad source date", "datePublished": "2020-\u0660\u0663", "dateModified": "soon"}, "extra_data": {"slug": "bad-source-date"}}), "datePublished", False),
)


def hostile_file(tmp_path: Path) -> tuple[Path, dict[int, tuple[str, bool]]]:
    """Good records with a bad one between each two: the file and {line: (field, rejected)}."""
    lines = [good(0)]
    bad: dict[int, tuple[str, bool]] = {}
    for number, (line, field, rejected) in enumerate(BAD, 1):
        lines.append(line)
        bad[len(lines)] = (field, rejected)
        lines.append(good(number))
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path, bad


def stored_slugs(store: Path) -> set[str]:
    result = run_cli("export", "--store", str(store), "--format", "nq")
    assert result.returncode == 0, result.stderr.decode()
    quads = pyoxigraph.parse(result.stdout, format=RdfFormat.N_QUADS)  # strict: the store re-parses
    return {q.graph_name.value.rsplit("/", 1)[1] for q in quads if q.graph_name.value.startswith(f"{BASE}/items/")}


def assert_reported(result, path: Path, bad: dict[int, tuple[str, bool]]) -> None:
    """Exit status 1; each bad line reported once with file:line and field; a summary."""
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    for line, (field, rejected) in bad.items():
        reports = [r for r in stderr.splitlines() if f"{path}:{line} " in r]
        assert reports, f"line {line} not reported:\n{stderr}"
        if rejected:
            assert any(r.startswith(f"rejected: {path}:{line} ({field}): ") for r in reports), reports
        else:
            assert any(r.startswith(f"warning: {path}:{line} [") and f"] {field}: " in r for r in reports), reports
    rejected = sum(1 for _, gone in bad.values() if gone)
    assert f"{rejected} rejected" in result.stdout.decode()


def expected_slugs() -> set[str]:
    kept = {"bad-harvested", "bad-source-date"}
    return {f"good-{n}" for n in range(len(BAD) + 1)} | kept


def test_a_fresh_store_is_bulk_loaded_with_every_good_record_around_bad_ones(tmp_path: Path) -> None:
    path, bad = hostile_file(tmp_path)
    store = tmp_path / "store"
    result = run_cli("load", str(path), "--store", str(store), "--base-url", BASE)
    assert_reported(result, path, bad)
    assert stored_slugs(store) == expected_slugs()


def test_an_existing_store_takes_every_good_record_around_bad_ones(tmp_path: Path) -> None:
    path, bad = hostile_file(tmp_path)
    store = tmp_path / "store"
    seed = tmp_path / "seed.jsonl"
    seed.write_text(good(100) + "\n")
    assert run_cli("load", str(seed), "--store", str(store), "--base-url", BASE, "-q").returncode == 0
    result = run_cli("load", str(path), "--store", str(store))  # not fresh: the transactional path
    assert_reported(result, path, bad)
    assert stored_slugs(store) == expected_slugs() | {"good-100"}


@pytest.fixture
def server(tmp_path: Path):
    store = tmp_path / "store"
    seed = tmp_path / "seed.jsonl"
    seed.write_text(good(100) + "\n")
    assert run_cli("load", str(seed), "--store", str(store), "--base-url", BASE, "-q").returncode == 0
    live = LiveServer(store, token=TOKEN)
    yield live
    live.stop()


def post(server: LiveServer, body: str) -> tuple[int, dict]:
    status, _, answer = fetch(f"{server.url}/api/records", data=body.encode("ascii"),
                              headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"})
    return status, json.loads(answer)


def test_the_write_api_answers_422_with_the_reasons_for_bad_records(server: LiveServer) -> None:
    rejected = [line for line, _, gone in BAD if gone]
    status, answer = post(server, "\n".join(rejected) + "\n")
    assert status == 422, answer
    fields = [field for _, field, gone in BAD if gone]
    assert [(r["where"], r["field"]) for r in answer["rejections"]] == [(f"request body:{n}", f) for n, f in enumerate(fields, 1)]
    assert all(r["reason"] for r in answer["rejections"])
    # The server is still well, and a body mixing good and bad records loads the good.
    status, answer = post(server, good(7) + "\n" + BAD[0][0] + "\n" + BAD[6][0] + "\n")
    assert status == 200, answer
    assert answer["new"] == 2 and answer["rejected"] == 1
    assert answer["rejections"][0]["where"] == "request body:2"
    assert fetch(f"{server.url}/items/good-7")[0] == 200
    assert fetch(f"{server.url}/items/bad-harvested")[0] == 200


#: Another catalogue's page: a dataset with a source date in Arabic-Indic digits, one
#: whose kept original record (another studygraph's sg:sourceRecord) has a sample size of
#: 1e400, and good ones around them.
CATALOGUE = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix sg: <{base}/vocab#> .
<{base}/catalog#id> a dcat:Catalog ; dct:title "Another catalogue" ;
  dcat:dataset <{base}/ds/first>, <{base}/ds/dated>, <{base}/ds/kept>, <{base}/ds/last> .
<{base}/ds/first> a dcat:Dataset ; dct:title "First harvested" ; dct:description "Fine." .
<{base}/ds/dated> a dcat:Dataset ; dct:title "Badly dated" ; dct:description "Its dates are not dates." ;
  dct:issued "2020-\u0660\u0663" ; dct:modified "2021-13-45T99:00:00Z" .
<{base}/ds/kept> a dcat:Dataset ; dct:title "Kept original" .
<{base}/items/kept> foaf:primaryTopic <{base}/ds/kept> ;
  sg:sourceRecord "{\\"dataset_schema\\":{\\"name\\":\\"Kept original\\"},\\"extra_data\\":{\\"sample_size\\":1e400}}"^^rdf:JSON .
<{base}/ds/last> a dcat:Dataset ; dct:title "Last harvested" ; dct:description "Fine." .
"""


@pytest.mark.parametrize("syntax", ["turtle", "jsonld"])
@pytest.mark.parametrize("existing", [False, True], ids=["fresh store", "existing store"])
def test_a_harvest_goes_on_past_a_bad_value(static_site, tmp_path: Path, syntax: str, existing: bool) -> None:
    page = CATALOGUE.replace("{base}", static_site.base)
    if syntax == "jsonld":
        quads = pyoxigraph.parse(page.encode(), format=RdfFormat.TURTLE)
        url = static_site.put("/catalog", pyoxigraph.serialize(quads, format=RdfFormat.JSON_LD), "application/ld+json")
    else:
        url = static_site.put("/catalog", page, "text/turtle")
    store = tmp_path / "store"
    if existing:
        seed = tmp_path / "seed.jsonl"
        seed.write_text(good(100) + "\n")
        assert run_cli("load", str(seed), "--store", str(store), "--base-url", BASE, "-q").returncode == 0
    result = run_cli("harvest", url, "--store", str(store), "--base-url", BASE)
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "(extra_data.sample_size): not a finite number" in stderr
    assert "datePublished: issued: " in stderr and "datePublished: modified: " in stderr
    assert "3 new" in result.stdout.decode() and "1 rejected" in result.stdout.decode()
    slugs = stored_slugs(store)
    assert {"first", "dated", "last"} <= slugs and "kept" not in slugs
