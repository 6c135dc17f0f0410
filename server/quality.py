"""The quality blueprint: the profile's shapes (``/shapes``) and the catalogue's findings
by rule (``/validation``), each negotiated like every other document.

``/shapes`` is the studygraph profile as SHACL (mappings/shapes, under this catalogue's
base URL), named by the ``full`` profile's PROF description as its validation resource.
``/validation`` counts, from the search index, the studies breaking each rule (as kept
when they were written, under ``--validate``), as HTML and as an ``sh:ValidationReport``
whose per-rule counts are DQV quality measurements; each rule links to its shape and to
the listing of the studies that break it (``/items?rule=KEY``).
"""

from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, Response
from pyoxigraph import Literal, NamedNode, RdfFormat, Triple, parse

from studygraph.graph.catalogue import CatalogueIndex
from studygraph.mappings.namespaces import DCT, DQV, RDF, RDFS, SH, XSD
from studygraph.mappings.urls import Urls
from studygraph.mappings.validation import QUALITY_KIND, RULE_KIND, load_profile, profile_turtle, shapes_document

from .document_responses import serve_document
from .documents import Document, content_version
from .negotiated import Asked, negotiated_route
from .services import current_services

blueprint = Blueprint("quality", __name__)
_TYPE = NamedNode(RDF + "type")
#: More than the profile has rules: every rule's count is listed.
RULE_LIMIT = 500


DCT_TITLE = NamedNode(DCT + "title")


def shapes(urls: Urls) -> Document:
    """The studygraph profile's shapes, as written, under this catalogue's ``/shapes``."""
    triples, version = _shape_statements(urls.base)
    return Document("shapes", "", "/shapes", shapes_document(urls.base), list(triples), version)


@lru_cache(maxsize=4)
def _shape_statements(base_url: str) -> tuple[tuple[Triple, ...], str]:
    """The shapes' statements and their version: read once (they change with the code only)."""
    document = shapes_document(base_url)
    triples = [quad.triple for quad in parse(profile_turtle("studygraph"), RdfFormat.TURTLE, base_iri=document)]
    triples.append(Triple(NamedNode(document), DCT_TITLE, Literal("The studygraph profile: SHACL shapes of what a study's metadata must and should say")))
    triples.append(Triple(NamedNode(document), NamedNode(DCT + "conformsTo"), NamedNode(SH)))
    return tuple(triples), content_version(triples)


def validation(urls: Urls, index: CatalogueIndex | None) -> Document:
    """The catalogue's findings by rule, from the index's maintained counts."""
    profile = load_profile("studygraph", urls.base)
    report = NamedNode(f"{urls.base}/validation")
    counts = index.facet_counts(RULE_KIND, limit=RULE_LIMIT) if index is not None else []
    quality = {c.key: c.count for c in (index.facet_counts(QUALITY_KIND, limit=10) if index is not None else [])}
    triples = [
        Triple(report, _TYPE, NamedNode(SH + "ValidationReport")),
        Triple(report, DCT_TITLE, Literal("Findings of the studygraph profile in this catalogue, by rule")),
        Triple(report, NamedNode(SH + "conforms"), Literal("false" if quality.get("violations") else "true", datatype=NamedNode(XSD + "boolean"))),
        Triple(report, NamedNode(DCT + "conformsTo"), NamedNode(shapes_document(urls.base))),
        Triple(report, NamedNode(DQV + "computedOn"), NamedNode(urls.catalog)),
    ]
    for count in counts:
        rule = profile.rules.get(count.key)
        measurement = NamedNode(f"{urls.base}/validation#{count.key}")
        triples += [
            Triple(report, NamedNode(DQV + "hasQualityMeasurement"), measurement),
            Triple(measurement, _TYPE, NamedNode(DQV + "QualityMeasurement")),
            Triple(measurement, NamedNode(DQV + "isMeasurementOf"), NamedNode(rule.iri if rule else f"{shapes_document(urls.base)}#{count.key}")),
            Triple(measurement, NamedNode(DQV + "value"), Literal(str(count.count), datatype=NamedNode(XSD + "integer"))),
            Triple(measurement, NamedNode(RDFS + "label"), Literal(count.label)),
            Triple(measurement, NamedNode(RDFS + "seeAlso"), NamedNode(f"{urls.base}/items?rule={count.key}")),
        ]
        if rule is not None:
            triples.append(Triple(measurement, NamedNode(SH + "resultSeverity"), NamedNode(SH + rule.severity)))
    for key, total in sorted(quality.items()):
        measurement = NamedNode(f"{urls.base}/validation#{key}")
        triples += [
            Triple(report, NamedNode(DQV + "hasQualityMeasurement"), measurement),
            Triple(measurement, _TYPE, NamedNode(DQV + "QualityMeasurement")),
            Triple(measurement, NamedNode(RDFS + "label"), Literal(f"Studies with {key}")),
            Triple(measurement, NamedNode(DQV + "value"), Literal(str(total), datatype=NamedNode(XSD + "integer"))),
            Triple(measurement, NamedNode(RDFS + "seeAlso"), NamedNode(f"{urls.base}/items?quality={key}")),
        ]
    return Document("validation", "", "/validation", str(report.value), triples, content_version(triples))


@negotiated_route(blueprint, "/shapes")
def shapes_route(asked: Asked) -> Response:
    urls = current_services().urls
    return serve_document(lambda: shapes(urls), "/shapes", asked)


@negotiated_route(blueprint, "/validation")
def validation_route(asked: Asked) -> Response:
    services = current_services()
    return serve_document(lambda: validation(services.urls, services.index), "/validation", asked)
