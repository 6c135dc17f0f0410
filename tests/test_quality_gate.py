"""The quality gate at publish time and what people see of it: `load`/the write API under
--validate, findings kept per record and replaced with it, `studygraph validate`,
/shapes, /validation, the ``quality`` and ``rule`` filters and the study page for holders
of the token."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import rdflib
from conftest import BASE, RECORDS, REFERENCE, run_cli
from test_validation import BROKEN, EXPECTED, broken_records

from studygraph.graph.embedded import open_catalogue
from studygraph.mappings.validation import load_profile, results_from_json
from studygraph.server.app import ServerSettings, create_app

TOKEN = "quality-token"
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
DQV = rdflib.Namespace("http://www.w3.org/ns/dqv#")


def slugs(store: Path) -> set[str]:
    done = run_cli("slugs", "--store", str(store))
    assert done.returncode == 0, done.stderr
    return set(done.stdout.decode().split())


@pytest.mark.parametrize("existing", [False, True], ids=["fresh store", "existing store"])
def test_under_error_each_broken_record_is_refused_with_its_rule_and_the_rest_loads(tmp_path, existing):
    store = tmp_path / "store"
    if existing:  # the transactional path: a store that already holds a record
        seed = tmp_path / "seed.jsonl"
        seed.write_text(BROKEN.read_text().splitlines()[0].replace('"well-formed"', '"seed-record"') + "\n")
        assert run_cli("load", str(seed), "--store", str(store), "--base-url", BASE, "-q").returncode == 0
    done = run_cli("load", str(BROKEN), "--store", str(store), "--base-url", BASE, "--validate", "error", "-q")
    assert done.returncode == 1
    stderr = done.stderr.decode()
    lines = BROKEN.read_text().splitlines()
    for number, line in enumerate(lines, 1):
        slug = json.loads(line)["extra_data"]["slug"]
        if slug in EXPECTED:
            refusal = next(x for x in stderr.splitlines() if x.startswith(f"rejected: {BROKEN}:{number} "))
            assert "(profile)" in refusal and EXPECTED[slug] in refusal, refusal
    assert slugs(store) == {"well-formed"} | ({"seed-record"} if existing else set())


def test_under_warn_everything_loads_and_the_findings_are_kept_and_replaced(tmp_path):
    store = tmp_path / "store"
    done = run_cli("load", str(BROKEN), "--store", str(store), "--base-url", BASE)
    assert done.returncode == 0, done.stderr
    assert "profile: 8 violations in 6 records" in done.stdout.decode()
    assert f"violation: {BROKEN}:5 [sponsor-no-name] Agent-name\n" in done.stderr.decode()
    opened = open_catalogue(store)
    try:
        assert opened.index is not None
        kept = {slug: results_from_json(opened.index.findings(slug)) for slug in [*EXPECTED, "well-formed"]}
        quality = {c.key: c.count for c in opened.index.facet_counts("quality")}
    finally:
        opened.close()
    for slug, rule in EXPECTED.items():
        assert rule in {r.rule for r in kept[slug] if r.severity == "Violation"}, slug
    assert all(r.severity == "Warning" for r in kept["well-formed"])
    assert quality == {"violations": 6, "warnings": 7}
    # The short description fixed: its violation goes with the old version.
    fixed = [json.loads(line) for line in BROKEN.read_text().splitlines() if '"short-description"' in line][0]
    fixed["dataset_schema"]["description"] = "A description long enough for every reader and for Google Dataset Search."
    newer = tmp_path / "fixed.jsonl"
    newer.write_text(json.dumps(fixed) + "\n")
    assert run_cli("load", str(newer), "--store", str(store), "-q").returncode == 0
    opened = open_catalogue(store)
    try:
        assert "Study-description-length" not in {r.rule for r in results_from_json(opened.index.findings("short-description"))}
        assert {c.key: c.count for c in opened.index.facet_counts("quality")}["violations"] == 5
    finally:
        opened.close()
    # --validate=off keeps nothing for what it writes.
    fixed["dataset_schema"]["description"] += " Changed again."
    newer.write_text(json.dumps(fixed) + "\n")
    assert run_cli("load", str(newer), "--store", str(store), "-q", "--validate", "off").returncode == 0
    opened = open_catalogue(store)
    try:
        assert opened.index.findings("short-description") is None
    finally:
        opened.close()


def test_validate_reports_files_by_record_and_rule_and_exits_1_on_violations(tmp_path):
    done = run_cli("validate", str(BROKEN), "--base-url", BASE, "--format", "json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["checked"] == 7 and report["violations"] == 8 and not report["conforms"]
    by_record = {r["record"]: r for r in report["records"]}
    for slug, rule in EXPECTED.items():
        assert rule in {f["rule"] for f in by_record[slug]["findings"]}
        assert by_record[slug]["where"].startswith(f"{BROKEN}:")
        finding = next(f for f in by_record[slug]["findings"] if f["rule"] == rule)
        assert finding["focus"].startswith(f"<{BASE}/items/{slug}") and finding["message"]
    rules = {r["rule"]: r for r in report["rules"]}
    assert rules["Study-description-length"]["records"] == 2 and rules["Study-description-length"]["severity"] == "Violation"
    text = run_cli("validate", str(BROKEN), "--base-url", BASE)
    assert text.returncode == 1 and b"does not conform" in text.stdout and b"Agent-name" in text.stdout
    page = run_cli("validate", str(BROKEN), "--base-url", BASE, "--format", "html")
    assert page.returncode == 1 and b"<h1>Validation report" in page.stdout and b"PeriodOfTime-order" in page.stdout


def test_validate_passes_the_shared_records_and_checks_a_store(tmp_path):
    done = run_cli("validate", str(RECORDS), "--base-url", BASE)
    assert done.returncode == 0, done.stdout.decode()[-2000:]
    assert b"0 violations" in done.stdout
    store = tmp_path / "store"
    assert run_cli("load", str(BROKEN), "--store", str(store), "--base-url", BASE, "-q").returncode == 0
    stored = run_cli("validate", "--store", str(store), "--format", "json")
    assert stored.returncode == 1
    from_store = {r["record"]: {f["rule"] for f in r["findings"] if f["severity"] == "Violation"} for r in json.loads(stored.stdout)["records"]}
    from_files = {r["record"]: {f["rule"] for f in r["findings"] if f["severity"] == "Violation"}
                  for r in json.loads(run_cli("validate", str(BROKEN), "--base-url", BASE, "--format", "json").stdout)["records"]}
    assert from_store == from_files
    # A store written with --validate=off keeps no findings: the repairs are found by
    # mapping the kept originals again.
    unchecked = tmp_path / "unchecked"
    assert run_cli("load", str(BROKEN), "--store", str(unchecked), "--base-url", BASE, "-q", "--validate", "off").returncode == 0
    again = run_cli("validate", "--store", str(unchecked), "--format", "json")
    assert {r["record"]: {f["rule"] for f in r["findings"] if f["severity"] == "Violation"} for r in json.loads(again.stdout)["records"]} == from_files


def test_validate_with_other_shapes(tmp_path):
    google = run_cli("validate", str(BROKEN), "--base-url", BASE, "--shapes", "google", "--format", "json")
    rules = {r["rule"] for r in json.loads(google.stdout)["rules"]}
    assert rules and all(rule.startswith("Google-") for rule in rules)
    reference = REFERENCE / "google-dataset-shapes" / "googleRequired.ttl"
    done = run_cli("validate", str(RECORDS), "--base-url", BASE, "--shapes", str(reference), "--format", "json")
    report = json.loads(done.stdout)
    assert report["profile"] == "googleRequired.ttl" and report["checked"] == 43  # the 42 records and the seed page
    broken_shapes = tmp_path / "closed.ttl"
    broken_shapes.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> . <http://x.org/S> sh:targetClass <http://x.org/C> ; sh:closed true .")
    refused = run_cli("validate", str(BROKEN), "--base-url", BASE, "--shapes", str(broken_shapes))
    assert refused.returncode == 1 and b"sh:closed" in refused.stderr


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    store = tmp_path_factory.mktemp("quality") / "store"
    done = run_cli("load", str(BROKEN), str(RECORDS), "--store", str(store), "--base-url", BASE, "-q")
    assert done.returncode == 0, done.stderr
    opened = open_catalogue(store)
    yield create_app(opened, ServerSettings(base_url=BASE, token=TOKEN)).test_client()
    opened.close()


def test_the_shapes_are_served_as_rdf_and_html_and_named_by_the_profile(served):
    turtle = served.get("/shapes", headers={"Accept": "text/turtle"})
    assert turtle.status_code == 200
    shapes = rdflib.Graph().parse(data=turtle.data, format="turtle")
    profile = load_profile("studygraph", BASE)
    for rule in profile.rules.values():
        assert (rdflib.URIRef(rule.iri), SH.message, None) in shapes, rule.key
    page = served.get("/shapes", headers={"Accept": "text/html"}).data.decode()
    assert all(f'id="{key}"' in page for key in profile.rules)
    described = rdflib.Graph().parse(data=served.get("/profiles/full", headers={"Accept": "text/turtle"}).data, format="turtle")
    assert (None, rdflib.URIRef("http://www.w3.org/ns/dx/prof/hasArtifact"), rdflib.URIRef(f"{BASE}/shapes")) in described


def test_validation_counts_the_findings_by_rule_in_html_and_rdf(served):
    graph = rdflib.Graph().parse(data=served.get("/validation", headers={"Accept": "text/turtle"}).data, format="turtle")
    report = rdflib.URIRef(f"{BASE}/validation")
    assert (report, rdflib.RDF.type, SH.ValidationReport) in graph
    assert graph.value(report, SH.conforms).toPython() is False
    counts = {}
    for measurement in graph.objects(report, DQV.hasQualityMeasurement):
        of = graph.value(measurement, DQV.isMeasurementOf)
        key = str(of).rsplit("#", 1)[1] if of is not None else str(graph.value(measurement, rdflib.RDFS.seeAlso)).rsplit("=", 1)[1]
        counts[key] = graph.value(measurement, DQV.value).toPython()
    assert counts["violations"] == 6
    assert counts["Study-description-length"] == 2 and counts["Agent-name"] == 1
    page = served.get("/validation", headers={"Accept": "text/html"}).data.decode()
    assert 'href="/items?rule=Study-description-length">2</a>' in page and 'href="/shapes#Agent-name"' in page


def test_the_listing_filters_by_quality_and_rule(served):
    page = served.get("/items?quality=violations", headers={"Accept": "text/html"}).data.decode()
    listed = set(re.findall(r'href="/items/([a-z0-9-]+)"', page))
    assert listed == set(EXPECTED)
    page = served.get("/items?rule=PeriodOfTime-order", headers={"Accept": "text/html"}).data.decode()
    assert set(re.findall(r'href="/items/([a-z0-9-]+)"', page)) == {"end-before-start"}


def test_the_study_page_shows_findings_to_holders_of_the_token_only(served):
    private = served.get("/items/sponsor-no-name", headers={"Accept": "text/html", "Authorization": f"Bearer {TOKEN}"})
    assert private.status_code == 200 and private.headers["Cache-Control"] == "private, no-store"
    assert "Agent-name" in private.data.decode() and 'class="findings"' in private.data.decode()
    public = served.get("/items/sponsor-no-name", headers={"Accept": "text/html"})
    assert public.status_code == 200 and "Agent-name" not in public.data.decode() and 'class="findings"' not in public.data.decode()
    wrong = served.get("/items/sponsor-no-name", headers={"Accept": "text/html", "Authorization": "Bearer nope"})
    assert 'class="findings"' not in wrong.data.decode()


def test_the_write_api_takes_the_mode_as_a_parameter_or_a_header(served):
    def body(suffix: str) -> bytes:
        """The broken records as new records (slugs of their own: unchanged ones are not checked again)."""
        records = broken_records()
        for record in records:
            record["extra_data"]["slug"] += suffix
        return "\n".join(json.dumps(r) for r in records).encode()

    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-ndjson"}
    answer = served.post("/api/records?validate=error", data=body("-2"), headers=headers).get_json()
    reasons = " ".join(r["reason"] for r in answer["rejections"])
    assert len(answer["rejections"]) == 6 and all(rule in reasons for rule in EXPECTED.values())
    assert answer["new"] == 1
    by_header = served.post("/api/records", data=body("-3"), headers={**headers, "Studygraph-Validate": "error"}).get_json()
    assert len(by_header["rejections"]) == 6
    warned = served.post("/api/records", data=body("-4"), headers=headers).get_json()
    assert warned["rejections"] == [] and {f["slug"] for f in warned["findings"] if f["violations"]} == {f"{s}-4" for s in EXPECTED}
    assert served.post("/api/records?validate=maybe", data=body("-5"), headers=headers).status_code == 400


HARVESTED = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
<{base}> a dcat:Catalog ; dct:title "A catalogue" ; dcat:dataset <{base}/d/long>, <{base}/d/short>, <{base}/d/backwards> .
<{base}/d/long> a dcat:Dataset ; dct:title "A well described cohort" ;
    dct:description "A birth cohort followed from 1990 to 2000, with questionnaires every other year." .
<{base}/d/short> a dcat:Dataset ; dct:title "A survey" ; dct:description "A survey." .
<{base}/d/backwards> a dcat:Dataset ; dct:title "A backwards study" ;
    dct:description "A study whose period is given backwards by its catalogue, end before start." ;
    dct:temporal [ a dct:PeriodOfTime ; dcat:startDate "2000-01-01" ; dcat:endDate "1990-12-31" ] .
"""


def test_a_harvest_under_error_refuses_what_breaks_the_profile_and_keeps_the_rest(static_site, tmp_path):
    static_site.put("/catalog.ttl", HARVESTED)
    store = tmp_path / "store"
    done = run_cli("harvest", f"{static_site.base}/catalog.ttl", "--store", str(store), "--base-url", BASE, "--validate", "error", "-q")
    assert done.returncode == 1
    stderr = done.stderr.decode()
    assert "Study-description-length" in stderr and "PeriodOfTime-order" in stderr
    assert slugs(store) == {"long"}
    warned = run_cli("harvest", f"{static_site.base}/catalog.ttl", "--store", str(store), "-q")
    assert warned.returncode == 0 and slugs(store) == {"long", "short", "backwards"}
    opened = open_catalogue(store)
    try:
        assert "Study-description-length" in {r.rule for r in results_from_json(opened.index.findings("short"))}
    finally:
        opened.close()


def test_a_store_checked_by_worker_processes_gives_the_same_report(tmp_path, monkeypatch):
    import functools

    from studygraph import validation_report
    from studygraph.mappings.urls import Urls
    from studygraph.mappings.validation import Gate

    store = tmp_path / "store"
    assert run_cli("load", str(BROKEN), str(RECORDS), "--store", str(store), "--base-url", BASE, "-q").returncode == 0
    monkeypatch.setattr(validation_report, "PARALLEL_FROM", 0)
    monkeypatch.setattr(validation_report, "TASK_SIZE", 7)
    urls, checks = Urls(BASE), Gate("warn", load_profile("studygraph", BASE))
    opened = open_catalogue(store, read_only=True)
    try:
        alone = validation_report.validate_store(opened, urls, checks)
        shared = validation_report.validate_store(opened, urls, checks, workers=2,
                                                  reopen=functools.partial(open_catalogue, store, read_only=True))
    finally:
        opened.close()
    assert shared.checked == alone.checked == 50
    assert validation_report.as_json(shared) == validation_report.as_json(alone)
