"""The studygraph profile and its validator: the compiled SHACL engine agrees with pySHACL,
the shared records pass the profile, and each kind of broken record gets its finding."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import rdflib
from conftest import BASE, REFERENCE
from pyshacl import validate

from studygraph.mappings import shacl
from studygraph.mappings.profile import map_record
from studygraph.mappings.urls import Urls
from studygraph.mappings.validation import PROFILES, SHAPES_FOLDER, load_profile, profile_turtle, violations

SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
BROKEN = Path(__file__).parent / "fixtures" / "validation" / "broken.jsonl"
#: Each hand-made broken record (by slug) and the rule it must break.
EXPECTED = {
    "no-description": "Study-description-length",
    "short-description": "Study-description-length",
    "end-before-start": "PeriodOfTime-order",
    "sponsor-no-name": "Agent-name",
    "bad-doi": "Study-identifier-doi",
    "distribution-no-url": "Distribution-accessURL",
}
SCHEMA_HTTPS = {"http://schema.org/": "https://schema.org/"}


def broken_records() -> list[dict]:
    return [json.loads(line) for line in BROKEN.read_text(encoding="utf-8").splitlines() if line.strip()]


def mapped_all(records: list[dict]) -> list:
    urls = Urls(BASE)
    return [map_record(r, urls, issued="2026-11-27T10:00:00Z", modified="2026-11-27T10:00:00Z") for r in records]


@pytest.fixture(scope="module")
def mapped(records) -> list:
    """The shared records and the broken ones, mapped."""
    return mapped_all(records + broken_records())


def statements(record) -> list[tuple[str, str, str]]:
    return [*record.graph.statements, *record.graph.described()]


def pyshacl_findings(record, shapes_text: str) -> set[tuple]:
    """(focus, path, component, value) of each result pySHACL reports; blank values and
    complex paths as None, as :func:`ours` gives them."""
    data = rdflib.Graph().parse(data=record.graph.ntriples(), format="nt")
    _, report, _ = validate(data, shacl_graph=rdflib.Graph().parse(data=shapes_text, format="turtle"), allow_warnings=True)
    found = set()
    for result in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        path, value = report.value(result, SH.resultPath), report.value(result, SH.value)
        found.add((
            report.value(result, SH.focusNode).n3(),
            path.n3() if isinstance(path, rdflib.URIRef) else None,
            str(report.value(result, SH.sourceConstraintComponent)).rsplit("#", 1)[1],
            value.n3() if value is not None and not isinstance(value, rdflib.BNode) else None,
        ))
    return found


def ours(findings) -> set[tuple]:
    return {
        (f.focus, f.path if f.path and f.path.startswith("<") else None, f.component,
         f.value if f.value and not f.value.startswith("_:") else None)
        for f in findings
    }


@pytest.mark.parametrize("files", [
    ("dcat-ap-3.0.1/shapes.ttl", "dcat-ap-3.0.1/range.ttl"),
    ("dcat-ap-3.0.1/shapes_recommended.ttl",),
    ("google-dataset-shapes/googleRequired.ttl",),
    ("google-dataset-shapes/googleRecommended.ttl",),
])
def test_the_compiled_engine_finds_what_pyshacl_finds_with_the_reference_shapes(mapped, files):
    text = "\n".join((REFERENCE / f).read_text(encoding="utf-8") for f in files)
    shapes = shacl.compile_shapes(text, rename=SCHEMA_HTTPS)
    reference_text = text.replace("http://schema.org/", "https://schema.org/")
    total = 0
    for record in mapped:
        expected = pyshacl_findings(record, reference_text)
        total += len(expected)
        assert ours(shapes.validate(statements(record))) == expected, record.slug
    if "Recommended" in files[0] or "recommended" in files[0]:
        assert total > 0  # the comparison compared something


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_the_compiled_engine_finds_what_pyshacl_finds_with_our_own_shapes(mapped, name):
    shapes_text = profile_turtle(name)
    profile = load_profile(name, BASE)
    absolute = rdflib.Graph().parse(data=shapes_text, format="turtle", publicID=f"{BASE}/shapes").serialize(format="turtle")
    for record in mapped:
        assert ours(profile.shapes.validate(statements(record))) == pyshacl_findings(record, absolute), record.slug


def test_every_shared_record_passes_the_studygraph_profile(records):
    profile = load_profile("studygraph", BASE)
    for record in mapped_all(records):
        assert violations(profile.check_mapped(record)) == [], record.slug


def test_each_broken_record_breaks_its_rule_and_the_well_formed_one_none():
    profile = load_profile("studygraph", BASE)
    by_slug = {m.slug: violations(profile.check_mapped(m)) for m in mapped_all(broken_records())}
    assert by_slug.pop("well-formed") == []
    assert set(by_slug) == set(EXPECTED)
    for slug, rule in EXPECTED.items():
        assert rule in {f.rule for f in by_slug[slug]}, (slug, by_slug[slug])
        finding = next(f for f in by_slug[slug] if f.rule == rule)
        assert finding.message == profile.rules[rule].message or finding.message.startswith(profile.rules[rule].message)
        assert finding.focus.startswith(f"<{BASE}/items/{slug}")


def test_findings_name_the_value_and_path():
    """The DOI rule reports the identifier that broke it, under dct:identifier."""
    profile = load_profile("studygraph", BASE)
    bad = next(m for m in mapped_all(broken_records()) if m.slug == "bad-doi")
    found = [f for f in profile.check_mapped(bad) if f.rule == "Study-identifier-doi"]
    assert {f.value for f in found} == {'"https://doi.org/not-a-doi"', '"doi:banana"'}
    assert {f.path for f in found} == {"<http://purl.org/dc/terms/identifier>"}


def test_google_recommended_findings_match_the_reference_shapes(mapped):
    """`--shapes google` warns where googleRecommended.ttl finds something, except where
    google.ttl differs on purpose (its header): url, keywords as DefinedTerms, creator,
    identifiers and licences given as IRIs, countries as places."""
    ours_google = load_profile("google", BASE)
    reference = (REFERENCE / "google-dataset-shapes" / "googleRecommended.ttl").read_text().replace("http://schema.org/", "https://schema.org/")
    differ = {"<https://schema.org/url>", "<https://schema.org/keywords>", "<https://schema.org/creator>"}
    compared = 0
    as_iris = {"<https://schema.org/identifier>", "<https://schema.org/license>"}
    country = f"<{shacl.RDF}type>", "<https://schema.org/Country>"
    for record in mapped:
        countries = {s for s, p, o in statements(record) if (p, o) == country}
        expected = {(focus, path) for focus, path, component, value in pyshacl_findings(record, reference)
                    if path not in differ and not (component == "OrConstraintComponent" and (
                        (path in as_iris and value.startswith("<")) or value in countries))}
        got = {(f.focus, f.path) for f in ours_google.check(statements(record)) if f.severity == "Warning" and f.path not in differ}
        assert got == expected, record.slug
        compared += len(expected)
    assert compared > 100


def test_every_rule_the_mapping_names_is_a_rule_of_the_profile():
    profile = load_profile("studygraph", BASE)
    source = "\n".join(p.read_text() for p in (SHAPES_FOLDER.parent).glob("*.py"))
    named = set(re.findall(r'rule="([A-Za-z-]+)"', source))
    assert named and named <= set(profile.rules)


def test_unimplemented_shacl_is_refused_with_its_name():
    text = """@prefix sh: <http://www.w3.org/ns/shacl#> .
    <http://x.org/s> a sh:NodeShape ; sh:targetClass <http://x.org/C> ; sh:closed true ."""
    with pytest.raises(shacl.ShapesError, match="sh:closed"):
        shacl.compile_shapes(text)


def test_value_checks_on_hand_written_data():
    """lessThanOrEquals, pattern, in, datatype and nodeKind on a small graph."""
    shapes = shacl.compile_shapes("""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://x.org/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
        ex:S a sh:NodeShape ; sh:targetClass ex:C ;
          sh:property [ sh:path ex:start ; sh:lessThanOrEquals ex:end ] ;
          sh:property [ sh:path ex:code ; sh:pattern "^[A-Z]{3}$" ; sh:in ("ABC" "DEF") ] ;
          sh:property [ sh:path ex:n ; sh:datatype xsd:integer ; sh:maxCount 1 ] ;
          sh:property [ sh:path ex:link ; sh:nodeKind sh:IRI ] .
    """)
    ok = [("<http://x.org/a>", f"<{shacl.RDF}type>", "<http://x.org/C>"),
          ("<http://x.org/a>", "<http://x.org/start>", '"2010-01-01"^^<http://www.w3.org/2001/XMLSchema#date>'),
          ("<http://x.org/a>", "<http://x.org/end>", '"2011-01-01"^^<http://www.w3.org/2001/XMLSchema#date>'),
          ("<http://x.org/a>", "<http://x.org/code>", '"ABC"'),
          ("<http://x.org/a>", "<http://x.org/n>", '"3"^^<http://www.w3.org/2001/XMLSchema#integer>'),
          ("<http://x.org/a>", "<http://x.org/link>", "<http://x.org/b>")]
    assert shapes.validate(ok) == []
    bad = [ok[0],
           ("<http://x.org/a>", "<http://x.org/start>", '"2012-01-01"^^<http://www.w3.org/2001/XMLSchema#date>'), ok[2],
           ("<http://x.org/a>", "<http://x.org/code>", '"XYZ"'), ("<http://x.org/a>", "<http://x.org/code>", '"abc"'),
           ("<http://x.org/a>", "<http://x.org/n>", '"3.5"^^<http://www.w3.org/2001/XMLSchema#decimal>'),
           ("<http://x.org/a>", "<http://x.org/n>", '"x"^^<http://www.w3.org/2001/XMLSchema#integer>'),
           ("<http://x.org/a>", "<http://x.org/link>", '"http://x.org/b"')]
    components = sorted(f.component for f in shapes.validate(bad))
    assert components == sorted([
        "LessThanOrEqualsConstraintComponent", "InConstraintComponent", "InConstraintComponent", "PatternConstraintComponent",
        "DatatypeConstraintComponent", "DatatypeConstraintComponent", "MaxCountConstraintComponent", "NodeKindConstraintComponent",
    ])
