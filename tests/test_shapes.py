"""The published graphs validate against DCAT-AP 3.0.1 and Google Dataset Search shapes."""

from __future__ import annotations

import pytest
import rdflib
from conftest import BASE, REFERENCE
from pyshacl import validate

from studygraph.mappings.profile import map_record
from studygraph.mappings.urls import Urls

SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")


def _shapes(*names: str) -> rdflib.Graph:
    shapes = rdflib.Graph()
    for name in names:
        shapes.parse(REFERENCE / "dcat-ap-3.0.1" / name, format="turtle")
    return shapes


def _violations(data: rdflib.Graph, shapes: rdflib.Graph) -> list[str]:
    conforms, report, text = validate(data, shacl_graph=shapes, advanced=True, allow_warnings=True)
    found = []
    for result in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        if report.value(result, SH.resultSeverity) == SH.Violation:
            found.append(
                f"{report.value(result, SH.focusNode)} {report.value(result, SH.resultPath)}: "
                f"{report.value(result, SH.resultMessage)}"
            )
    return found


@pytest.fixture(scope="module")
def exported(records) -> rdflib.Graph:
    """Every real record's graph, as N-Triples parsed by rdflib (the SHACL engine's input)."""
    graph = rdflib.Graph()
    urls = Urls(BASE)
    for record in records:
        mapped = map_record(record, urls, issued="2026-11-27T10:00:00Z", modified="2026-11-27T10:00:00Z")
        graph.parse(data=mapped.graph.ntriples(), format="nt")
    return graph


def test_real_records_have_no_dcat_ap_violations(exported):
    assert _violations(exported, _shapes("shapes.ttl", "range.ttl")) == []


def test_the_shapes_catch_what_they_should():
    """A dataset with two publishers, no title and an untyped landing page is refused."""
    broken = rdflib.Graph().parse(
        data="""
        <http://x.org/d> a <http://www.w3.org/ns/dcat#Dataset> ;
            <http://purl.org/dc/terms/publisher> <http://x.org/p1>, <http://x.org/p2> ;
            <http://www.w3.org/ns/dcat#landingPage> <http://x.org/page> .
        """,
        format="turtle",
    )
    found = "\n".join(_violations(broken, _shapes("shapes.ttl", "range.ttl")))
    for expected in ("dct:title", "More than 1 values", "foaf:Document"):
        assert expected in found
