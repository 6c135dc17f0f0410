"""DCAT (and schema.org) RDF from other catalogues, read back into records.

A harvested catalogue page — another studygraph's ``/catalog``, a ckanext-dcat
``catalog.ttl``, a SPARQL CONSTRUCT result — is an RDF graph describing many datasets.
Each ``dcat:Dataset`` or ``schema:Dataset`` with a title becomes one record. When the
page carries the record as first published (studygraph's ``sg:sourceRecord`` on the
catalogue record), that record is taken as it is, so a studygraph-to-studygraph harvest
loses nothing; otherwise the record is rebuilt in the Harmony shape from the DCAT and
schema.org statements, which the mapping then maps like any other record.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, BinaryIO, Iterable, Iterator
from urllib.parse import urlsplit

import pycountry
import pyoxigraph
from pyoxigraph import Literal, NamedNode, RdfFormat

import queries
from mappings.keys import is_slug, slugify
from mappings.terms import ADMS, DCAT, DCT, EU_COUNTRY, EU_LANGUAGE, FOAF, RDF, SKOS
from mappings.terms import SCHEMA as SCHEMA_ORG
from mappings.records import Origin, ReadResult, Rejection, SourceRecord

FORMAT = "dcat"
#: schema.org terms are read in both spellings of its namespace.
SCHEMA = (SCHEMA_ORG, "http://schema.org/")
RDF_TYPE = RDF + "type"
RDF_JSON = RDF + "JSON"


def sniff_syntax(head: bytes) -> RdfFormat | None:
    """The RDF syntax of a document by its first bytes.

    TriG reads Turtle and N-Triples too, so text that is neither XML nor JSON is tried as
    TriG first and as N-Quads if that fails (see :func:`records_from_rdf`).
    """
    text = head.lstrip()
    if text.startswith((b"<?xml", b"<rdf:RDF")):
        return RdfFormat.RDF_XML
    if text.startswith((b"{", b"[")):
        return RdfFormat.JSON_LD
    if text.startswith((b"@prefix", b"@base", b"PREFIX", b"BASE", b"prefix", b"base", b"<", b"_:", b"#")):
        return RdfFormat.TRIG
    return None


def read(source: str, stream: BinaryIO, syntax: RdfFormat | None = None) -> Iterator[ReadResult]:
    data = stream.read()
    syntax = syntax or sniff_syntax(data[:4096])
    if syntax is None:
        yield Rejection(Origin(source), "not an RDF document this reader knows (Turtle, TriG, N-Triples, N-Quads, RDF/XML)")
        return
    yield from records_from_rdf(data, syntax, source)


def records_from_rdf(data: bytes, syntax: RdfFormat, source: str, base_iri: str | None = None) -> Iterator[ReadResult]:
    """Every dataset described in an RDF document, as records (or rejections)."""
    base = base_iri or (source if "://" in source else None)
    try:
        quads = list(pyoxigraph.parse(data, format=syntax, base_iri=base))
    except (SyntaxError, ValueError) as error:
        try:
            if syntax != RdfFormat.TRIG:
                raise
            quads = list(pyoxigraph.parse(data, format=RdfFormat.N_QUADS, base_iri=base))
        except (SyntaxError, ValueError):
            yield Rejection(Origin(source), f"the RDF does not parse: {error}")
            return
    yield from records_from_triples(((q.subject, q.predicate, q.object) for q in quads), source)


def records_from_store(store: pyoxigraph.Store, source: str) -> Iterator[ReadResult]:
    """The datasets of a parsed page held in an in-memory store.

    A page from another studygraph carries every record as first published; one query
    finds them without turning the page's statements into Python objects. Other pages
    are read statement by statement (:func:`records_from_triples`).
    """
    rows = [(row["dataset"], row["json"]) for row in store.query(queries.load("kept_originals"), use_default_graph_as_union=True)]
    kept = []
    for dataset, text in rows:
        try:
            record = json.loads(text.value) if text is not None else None
        except ValueError:
            record = None
        if not isinstance(record, dict):
            kept = None
            break
        kept.append((dataset, record))
    if kept is not None:
        for index, (dataset, record) in enumerate(kept):
            provenance = {"url": dataset.value} if isinstance(dataset, NamedNode) else {}
            yield SourceRecord(record, Origin(source, index=index), FORMAT, provenance)
        return
    yield from records_from_triples(((q.subject, q.predicate, q.object) for q in store), source)


def records_from_triples(triples: Iterable[tuple[Any, Any, Any]], source: str) -> Iterator[ReadResult]:
    triples = list(triples)
    kept = _kept_originals(triples)
    if kept is not None:
        # Another studygraph: every dataset comes with its record as first published.
        for index, (subject, record) in enumerate(kept):
            yield SourceRecord(record, Origin(source, index=index), FORMAT, {"url": subject.value})
        return
    graph = _Graph(triples)
    for index, subject in enumerate(graph.datasets()):
        origin = Origin(source, index=index)
        provenance = {"url": subject.value} if isinstance(subject, NamedNode) else {}
        original = graph.source_record(subject)
        if original is not None:
            yield SourceRecord(original, origin, FORMAT, provenance)
            continue
        record = graph.record(subject)
        if record is None:
            yield Rejection(origin, "dataset without a title", field="dct:title")
            continue
        yield SourceRecord(record, origin, FORMAT, provenance)


def _kept_originals(triples: list[tuple[Any, Any, Any]]) -> list[tuple[Any, dict[str, Any]]] | None:
    """(dataset, original record) for every dataset, if each has one; else None.

    A quick pass that looks only at types, ``foaf:primaryTopic`` and source-record
    literals, so a page from another studygraph is read without indexing all of it.
    """
    datasets: list[Any] = []
    topics: dict[Any, Any] = {}
    originals: dict[Any, str] = {}
    wanted = {DCAT + "Dataset", *(ns + "Dataset" for ns in SCHEMA)}
    for s, p, o in triples:
        predicate = p.value
        if predicate == RDF_TYPE and o.value in wanted:
            datasets.append(s)
        elif predicate == FOAF + "primaryTopic":
            topics[o] = s
        elif predicate.endswith("#sourceRecord") and isinstance(o, Literal) and o.datatype.value == RDF_JSON:
            originals[s] = o.value
    found = []
    for dataset in dict.fromkeys(datasets):
        text = originals.get(topics.get(dataset))
        if text is None:
            return None
        try:
            record = json.loads(text)
        except ValueError:
            return None
        if not isinstance(record, dict):
            return None
        found.append((dataset, record))
    return found


class _Graph:
    def __init__(self, triples: Iterable[tuple[Any, Any, Any]]) -> None:
        self.out: dict[Any, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        self.into: dict[Any, list[tuple[str, Any]]] = defaultdict(list)
        for s, p, o in triples:
            if o not in self.out[s][p.value]:
                self.out[s][p.value].append(o)
                self.into[o].append((p.value, s))

    def datasets(self) -> list[Any]:
        wanted = {DCAT + "Dataset", *(ns + "Dataset" for ns in SCHEMA)}
        return [s for s, props in self.out.items() if any(t.value in wanted for t in props.get(RDF_TYPE, []))]

    def values(self, subject: Any, *predicates: str) -> list[Any]:
        found: list[Any] = []
        for predicate in predicates:
            for value in self.out.get(subject, {}).get(predicate, []):
                if value not in found:
                    found.append(value)
        return found

    def texts(self, subject: Any, *predicates: str) -> list[str]:
        return [v.value for v in self.values(subject, *predicates) if isinstance(v, Literal)]

    def label(self, node: Any) -> str | None:
        if isinstance(node, Literal):
            return node.value
        names = self.texts(node, FOAF + "name", *(ns + "name" for ns in SCHEMA), SKOS + "prefLabel", DCT + "title",
                           "http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2006/vcard/ns#fn")
        return names[0] if names else None

    def source_record(self, dataset: Any) -> dict[str, Any] | None:
        """The record as first published, when the catalogue record carries it (studygraph)."""
        for predicate, record in self.into.get(dataset, []):
            if predicate != FOAF + "primaryTopic":
                continue
            for p, values in self.out.get(record, {}).items():
                if p.endswith("#sourceRecord"):
                    for value in values:
                        if isinstance(value, Literal) and value.datatype.value == RDF_JSON:
                            try:
                                data = json.loads(value.value)
                            except ValueError:
                                continue
                            if isinstance(data, dict):
                                return data
        return None

    def record(self, dataset: Any) -> dict[str, Any] | None:
        """A Harmony-shaped record rebuilt from the DCAT and schema.org statements."""
        titles = self.texts(dataset, DCT + "title", *(ns + "name" for ns in SCHEMA))
        if not titles:
            return None
        descriptions = self.texts(dataset, DCT + "description", *(ns + "description" for ns in SCHEMA))
        urls = [v.value for v in self.values(dataset, DCAT + "landingPage", *(ns + "url" for ns in SCHEMA)) if isinstance(v, NamedNode)]
        identifiers = self.texts(dataset, DCT + "identifier", *(ns + "identifier" for ns in SCHEMA))
        for node in self.values(dataset, ADMS + "identifier"):
            identifiers += self.texts(node, SKOS + "notation")
        identifiers += [v.value for v in self.values(dataset, *(ns + "sameAs" for ns in SCHEMA)) if isinstance(v, NamedNode) and "doi.org/" in v.value]
        keywords = self.texts(dataset, DCAT + "keyword", *(ns + "keywords" for ns in SCHEMA))
        for theme in self.values(dataset, DCAT + "theme"):
            label = self.label(theme)
            if label and label.lower() not in {k.lower() for k in keywords}:
                keywords.append(label)
        schema: dict[str, Any] = {
            "@context": "https://schema.org/",
            "@type": "Dataset",
            "name": titles[0],
            "description": descriptions[0] if descriptions else "",
            "url": _unique(urls),
            "keywords": _unique(keywords),
            "identifier": _unique(identifiers),
        }
        for field, predicates in (
            ("publisher", (DCT + "publisher", *(ns + "publisher" for ns in SCHEMA))),
            ("creator", (DCT + "creator", *(ns + "creator" for ns in SCHEMA))),
            ("sponsor", tuple(ns + "sponsor" for ns in SCHEMA)),
            ("funder", tuple(ns + "funder" for ns in SCHEMA)),
        ):
            names = _unique(n for n in (self.label(v) for v in self.values(dataset, *predicates)) if n)
            if names:
                schema[field] = [{"@type": "Organization", "name": name} for name in names]
        catalogues = _unique(n for n in (self.label(s) for p, s in self.into.get(dataset, []) if p == DCAT + "dataset") if n)
        if catalogues:
            schema["includedInDataCatalog"] = [{"@type": "DataCatalog", "name": name} for name in catalogues]
        period = self._period(dataset)
        if period:
            schema["temporalCoverage"] = period
        licences = [v.value for v in self.values(dataset, DCT + "license") if isinstance(v, NamedNode)]
        for distribution in self.values(dataset, DCAT + "distribution"):
            licences += [v.value for v in self.values(distribution, DCT + "license") if isinstance(v, NamedNode)]
        if licences:
            schema["license"] = _unique(licences)
        extra: dict[str, Any] = {"name": titles[0], "slug": _slug_of(dataset, titles[0])}
        countries = [_alpha2(v.value[len(EU_COUNTRY):]) for v in self.values(dataset, DCT + "spatial") if isinstance(v, NamedNode) and v.value.startswith(EU_COUNTRY)]
        if any(countries):
            extra["country_codes"] = [c for c in countries if c]
        places = [self.label(v) for v in self.values(dataset, DCT + "spatial") if not (isinstance(v, NamedNode) and v.value.startswith(EU_COUNTRY))]
        if any(places):
            extra["geographic_coverage"] = "; ".join(p for p in places if p)
        languages = [_language(v.value[len(EU_LANGUAGE):]) for v in self.values(dataset, DCT + "language") if isinstance(v, NamedNode) and v.value.startswith(EU_LANGUAGE)]
        if any(languages):
            extra["language_codes"] = [l for l in languages if l]
        access = [self.label(v) for v in self.values(dataset, DCT + "accessRights")]
        if any(access):
            extra["data_access"] = next(a for a in access if a)
        if urls:
            extra["urls"] = _unique(urls)
        return {"dataset_schema": schema, "extra_data": extra}

    def _period(self, dataset: Any) -> str | None:
        for node in self.values(dataset, DCT + "temporal"):
            start = self.texts(node, DCAT + "startDate", *(ns + "startDate" for ns in SCHEMA))
            end = self.texts(node, DCAT + "endDate", *(ns + "endDate" for ns in SCHEMA))
            if start or end:
                return f"{start[0] if start else '..'}/{end[0] if end else '..'}"
        coverage = self.texts(dataset, *(ns + "temporalCoverage" for ns in SCHEMA))
        return coverage[0] if coverage else None


def _slug_of(dataset: Any, title: str) -> str:
    """The slug a dataset asks for: its IRI's fragment (``…/dcat#ds1``) or last path
    segment when that makes a readable key, else its title's. Only a wish: the loader
    keeps a record by its identity (its IRI and source) and gives a suffixed slug to a
    dataset whose wish another record already holds."""
    if isinstance(dataset, NamedNode):
        parts = urlsplit(dataset.value)
        for segment in (parts.fragment, parts.path.rstrip("/").rsplit("/", 1)[-1]):
            candidate = segment if is_slug(segment) else slugify(segment)
            if len(candidate) >= 3 and not candidate.isdigit():
                return candidate
    return slugify(title)


def _alpha2(code: str) -> str | None:
    found = pycountry.countries.get(alpha_3=code.upper())
    return found.alpha_2 if found else None


def _language(code: str) -> str | None:
    found = pycountry.languages.get(alpha_3=code.lower())
    return getattr(found, "alpha_2", None) or (found.alpha_3 if found else None)


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))
