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
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import pycountry
import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat

from studygraph import queries
from studygraph.mappings import multilingual
from studygraph.mappings.keys import is_slug, slugify
from studygraph.mappings.namespaces import ADMS, DC, DCAT, DCT, EU_LANGUAGE, FOAF, RDF, RDFS, SCHEMA_HTTP, SKOS, VCARD
from studygraph.mappings.namespaces import SCHEMA as SCHEMA_ORG
from studygraph.mappings.records import Origin, ReadResult, Rejection, SourceRecord

FORMAT = "dcat"
#: schema.org terms are read in both spellings of its namespace.
SCHEMA = (SCHEMA_ORG, SCHEMA_HTTP)
RDF_TYPE = RDF + "type"
RDF_JSON = RDF + "JSON"
#: A country of the EU authority table, under its current or its older (``/mdr/``) IRI.
_COUNTRY = re.compile(r"^https?://publications\.europa\.eu/(?:mdr/)?(?:resource/)?authority/country/([A-Z]{3})$")
_ISSUED = (DCT + "issued", *(ns + "datePublished" for ns in SCHEMA))
_MODIFIED = (DCT + "modified", *(ns + "dateModified" for ns in SCHEMA))


def _schema_terms(*names: str) -> frozenset[str]:
    return frozenset(ns + name for ns in SCHEMA for name in names)


#: The properties of a dataset, a distribution and a contact point that the rebuilt
#: record carries; any other is reported (:class:`_Dropped`).
_DATASET_PROPERTIES = frozenset({
    RDF_TYPE, DC + "language", ADMS + "identifier",
    *(DCT + p for p in ("title", "description", "identifier", "issued", "modified", "publisher", "creator", "temporal", "license", "spatial", "language", "accessRights")),
    *(DCAT + p for p in ("landingPage", "keyword", "theme", "distribution", "contactPoint")), ADMS + "contactPoint",
}) | _schema_terms("name", "description", "url", "identifier", "sameAs", "keywords", "publisher", "creator", "sponsor", "funder",
                   "temporalCoverage", "license", "inLanguage", "datePublished", "dateModified", "distribution", "contactPoint", "about")
_DISTRIBUTION_PROPERTIES = frozenset({
    RDF_TYPE, *(DCT + p for p in ("title", "description", "identifier", "format", "license", "issued", "modified")),
    *(DCAT + p for p in ("accessURL", "downloadURL", "mediaType", "byteSize")),
}) | _schema_terms("name", "description", "contentUrl", "encodingFormat", "license", "contentSize", "datePublished", "dateModified")
_CONTACT_PROPERTIES = frozenset({RDF_TYPE, VCARD + "fn", VCARD + "hasEmail", VCARD + "hasURL"}) | _schema_terms("name", "email", "url")
#: Where the name of an agent or a place is read from, first found first.
_LABEL_PROPERTIES = (FOAF + "name", *(ns + "name" for ns in SCHEMA), SKOS + "prefLabel", DCT + "title", RDFS + "label", VCARD + "fn")
_PERIOD_PROPERTIES = frozenset({RDF_TYPE, DCAT + "startDate", DCAT + "endDate"}) | _schema_terms("startDate", "endDate")


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
    rows = [(row["dataset"], row["json"]) for row in queries.solutions(store.query(queries.load("kept_originals"), use_default_graph_as_union=True))]
    kept: list[tuple[Any, dict[str, Any]]] = []
    for dataset, text in rows:
        try:
            record = json.loads(text.value) if text is not None else None
        except (ValueError, RecursionError):  # not JSON, or nested past the parser
            record = None
        if not isinstance(record, dict):
            break  # not every dataset kept its original: read the statements
        kept.append((dataset, record))
    else:
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
        mapped = graph.record(subject)
        if mapped is None:
            yield Rejection(origin, "dataset without a title", field="dct:title")
            continue
        yield SourceRecord(mapped, origin, FORMAT, provenance)


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
        except (ValueError, RecursionError):
            return None
        if not isinstance(record, dict):
            return None
        found.append((dataset, record))
    return found


class _Graph:
    """The statements of a page indexed both ways. The objects of a subject's property are
    kept as an ordered set (a dict), so a dataset with 100,000 keywords is read in linear
    time."""

    def __init__(self, triples: Iterable[tuple[Any, Any, Any]]) -> None:
        self.out: dict[Any, dict[str, dict[Any, None]]] = defaultdict(lambda: defaultdict(dict))
        self.into: dict[Any, list[tuple[str, Any]]] = defaultdict(list)
        for s, p, o in triples:
            objects = self.out[s][p.value]
            if o not in objects:
                objects[o] = None
                self.into[o].append((p.value, s))

    def datasets(self) -> list[Any]:
        wanted = {DCAT + "Dataset", *(ns + "Dataset" for ns in SCHEMA)}
        return [s for s, props in self.out.items() if any(t.value in wanted for t in props.get(RDF_TYPE, []))]

    def values(self, subject: Any, *predicates: str) -> list[Any]:
        found: dict[Any, None] = {}
        for predicate in predicates:
            found.update(self.out.get(subject, {}).get(predicate, {}))
        return list(found)

    def texts(self, subject: Any, *predicates: str) -> list[str]:
        return [v.value for v in self.values(subject, *predicates) if isinstance(v, Literal)]

    def label(self, node: Any) -> str | None:
        if isinstance(node, Literal):
            return node.value
        names = self.texts(node, *_LABEL_PROPERTIES)
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
                            except (ValueError, RecursionError):
                                continue
                            if isinstance(data, dict):
                                return data
        return None

    def record(self, dataset: Any) -> dict[str, Any] | None:
        """A Harmony-shaped record rebuilt from the DCAT and schema.org statements.

        Titles and descriptions keep every language (:mod:`mappings.multilingual`); the
        source's own dates, themes, distributions and contact points have fields of
        their own; whatever the record cannot carry is listed in ``extra_data.unmapped``
        (property path and number of values), for the mapping to report.
        """
        titles = self.language_texts(dataset, DCT + "title", *(ns + "name" for ns in SCHEMA))
        if not titles:
            return None
        name = multilingual.primary(multilingual.record_value(titles)) or titles[0].value
        dropped = _Dropped()
        descriptions = self.language_texts(dataset, DCT + "description", *(ns + "description" for ns in SCHEMA))
        urls = [v.value for v in self.values(dataset, DCAT + "landingPage", *(ns + "url" for ns in SCHEMA)) if not isinstance(v, BlankNode)]
        keywords = self.texts(dataset, DCAT + "keyword", *(ns + "keywords" for ns in SCHEMA))
        themes = self._themes(dataset, keywords, dropped)
        schema: dict[str, Any] = {
            "@context": "https://schema.org/",
            "@type": "Dataset",
            "name": multilingual.record_value(titles),
            "description": multilingual.record_value(descriptions) if descriptions else "",
            "url": _unique(urls),
            "keywords": _unique(keywords),
            "identifier": _unique(self._identifiers(dataset, dropped)),
        }
        for field, predicates in (
            ("publisher", (DCT + "publisher", *(ns + "publisher" for ns in SCHEMA))),
            ("creator", (DCT + "creator", *(ns + "creator" for ns in SCHEMA))),
            ("sponsor", tuple(ns + "sponsor" for ns in SCHEMA)),
            ("funder", tuple(ns + "funder" for ns in SCHEMA)),
        ):
            names = _unique(self._labels(dataset, predicates, dropped))
            if names:
                schema[field] = [{"@type": "Organization", "name": name} for name in names]
        catalogues = _unique(n for n in (self.label(s) for p, s in self.into.get(dataset, []) if p == DCAT + "dataset") if n)
        if catalogues:
            schema["includedInDataCatalog"] = [{"@type": "DataCatalog", "name": name} for name in catalogues]
        period = self._period(dataset, dropped)
        if period:
            schema["temporalCoverage"] = period
        licences = [v.value for v in self.values(dataset, DCT + "license", *(ns + "license" for ns in SCHEMA)) if not isinstance(v, BlankNode)]
        if licences:
            schema["license"] = _unique(licences)
        for field, predicates in (("datePublished", _ISSUED), ("dateModified", _MODIFIED)):
            dates = self.texts(dataset, *predicates)
            if dates:
                schema[field] = dates[0]
            if len(dates) > 1:
                dropped.add(predicates[0], values=len(dates) - 1)
        extra: dict[str, Any] = {"name": name, "slug": _slug_of(dataset, name)}
        countries = [_alpha2(m.group(1)) for m in (_COUNTRY.search(v.value) for v in self.values(dataset, DCT + "spatial") if isinstance(v, NamedNode)) if m]
        if any(countries):
            extra["country_codes"] = [c for c in countries if c]
        places = [v for v in self.values(dataset, DCT + "spatial") if not (isinstance(v, NamedNode) and _COUNTRY.search(v.value))]
        place_names = self._names(places, DCT + "spatial", dropped)
        if place_names:
            extra["geographic_coverage"] = "; ".join(place_names)
        languages = self._languages(dataset, dropped)
        if languages:
            extra["language_codes"] = languages
        access = [self.label(v) or (v.value if isinstance(v, NamedNode) else None) for v in self.values(dataset, DCT + "accessRights")]
        if any(access):
            extra["data_access"] = next(a for a in access if a)
        if urls:
            extra["urls"] = _unique(urls)
        if themes:
            extra["themes"] = themes
        for field, predicates, read in (
            ("distributions", (DCAT + "distribution", *(ns + "distribution" for ns in SCHEMA)), self._distribution),
            # adms:contactPoint is DCAT-AP 1.0's name for it, still published.
            ("contact_points", (DCAT + "contactPoint", ADMS + "contactPoint", *(ns + "contactPoint" for ns in SCHEMA)), self._contact_point),
        ):
            found = [read(node, path, dropped) for path in predicates for node in self.values(dataset, path)]
            if found:
                extra[field] = found
        dropped.unread(self.out.get(dataset, {}), _DATASET_PROPERTIES)
        if dropped:
            extra["unmapped"] = dropped.record_form(dataset)
        return {"dataset_schema": schema, "extra_data": extra}

    def language_texts(self, subject: Any, *predicates: str) -> list[multilingual.Text]:
        """The literals of *predicates* with their language tags (None where untagged)."""
        found = [multilingual.Text(v.value, v.language) for v in self.values(subject, *predicates) if isinstance(v, Literal) and v.value.strip()]
        return list(dict.fromkeys(found))

    def _labels(self, subject: Any, predicates: tuple[str, ...], dropped: _Dropped) -> list[str]:
        """The names of the agents *predicates* point at (see :meth:`_names`)."""
        return [name for predicate in predicates for name in self._names(self.values(subject, predicate), predicate, dropped)]

    def _names(self, nodes: list[Any], predicate: str, dropped: _Dropped) -> list[str]:
        """One name of each node (agent or place): all an organisation node or a place
        keeps. Unnamed nodes and the rest of the named ones' descriptions are reported."""
        names = []
        for node in nodes:
            name = self.label(node)
            if name is None:
                dropped.add(predicate)
                continue
            names.append(name)
            self._named(node, predicate, dropped)
        return names

    def _named(self, node: Any, predicate: str, dropped: _Dropped) -> None:
        """Report what a node read only for its name says besides that one name."""
        properties = self.out.get(node, {})
        dropped.unread(properties, frozenset({RDF_TYPE, *_LABEL_PROPERTIES}), predicate)
        names = [(p, len([v for v in properties.get(p, []) if isinstance(v, Literal)])) for p in _LABEL_PROPERTIES]
        used = False
        for name_property, count in names:
            if count:
                dropped.add(predicate, name_property, values=count if used else count - 1)
                used = True

    def _identifiers(self, dataset: Any, dropped: _Dropped) -> list[str]:
        identifiers = [v.value for v in self.values(dataset, DCT + "identifier", *(ns + "identifier" for ns in SCHEMA)) if not isinstance(v, BlankNode)]
        for node in self.values(dataset, ADMS + "identifier"):
            notations = [node.value] if isinstance(node, Literal) else self.texts(node, SKOS + "notation")
            identifiers += notations
            dropped.add(ADMS + "identifier", values=0 if notations else 1)
        for same in self.values(dataset, *(ns + "sameAs" for ns in SCHEMA)):
            if isinstance(same, NamedNode) and "doi.org/" in same.value:
                identifiers.append(same.value)
            else:
                dropped.add(SCHEMA[0] + "sameAs")
        return identifiers

    def _themes(self, dataset: Any, keywords: list[str], dropped: _Dropped) -> list[dict[str, Any]]:
        """Themes named by an IRI stay themes (with the source's label, if any); a theme
        given only as text is a keyword."""
        themes: list[dict[str, Any]] = []
        known = {k.lower() for k in keywords}
        for theme in self.values(dataset, DCAT + "theme", *(ns + "about" for ns in SCHEMA)):
            label = self.label(theme)
            if isinstance(theme, NamedNode):
                labels = self.language_texts(theme, SKOS + "prefLabel", RDFS + "label", *(ns + "name" for ns in SCHEMA), DCT + "title")
                themes.append({"iri": theme.value, **({"label": multilingual.record_value(labels)} if labels else {})})
            elif label and label.lower() not in known:
                keywords.append(label)
                known.add(label.lower())
            elif not label:
                dropped.add(DCAT + "theme")
        return themes

    def _languages(self, dataset: Any, dropped: _Dropped) -> list[str]:
        """Language codes (or names: ``"English"``) as the mapping reads them, from EU
        authority IRIs, other IRIs ending in a code (``…/iso639-1/en``) and literals."""
        codes: list[str] = []
        for value in self.values(dataset, DCT + "language", DC + "language", *(ns + "inLanguage" for ns in SCHEMA)):
            if isinstance(value, Literal):
                code = value.value.strip() or None
            elif isinstance(value, NamedNode) and value.value.startswith(EU_LANGUAGE):
                segment = value.value[len(EU_LANGUAGE):]
                code = _language(segment) or segment
            else:
                segment = urlsplit(value.value).path.rstrip("/").rsplit("/", 1)[-1] if isinstance(value, NamedNode) else ""
                code = segment if re.fullmatch(r"[A-Za-z]{2,3}", segment) else self.label(value)
            if code:
                codes.append(code)
            else:
                dropped.add(DCT + "language")
        return _unique(codes)

    def _distribution(self, node: Any, predicate: str, dropped: _Dropped) -> dict[str, Any]:
        """One distribution in the record's form (see :mod:`mappings.distributions`)."""
        titles = self.language_texts(node, DCT + "title", *(ns + "name" for ns in SCHEMA))
        descriptions = self.language_texts(node, DCT + "description", *(ns + "description" for ns in SCHEMA))
        entry = {
            "iri": node.value if isinstance(node, NamedNode) else None,
            "identifier": self._iris_or_texts(node, DCT + "identifier"),
            "title": multilingual.record_value(titles) if titles else None,
            "description": multilingual.record_value(descriptions) if descriptions else None,
            "access_url": self._iris_or_texts(node, DCAT + "accessURL"),
            "download_url": self._iris_or_texts(node, DCAT + "downloadURL", *(ns + "contentUrl" for ns in SCHEMA)),
            "media_type": [self._format(v) for v in self.values(node, DCAT + "mediaType", *(ns + "encodingFormat" for ns in SCHEMA))],
            "format": [self._format(v) for v in self.values(node, DCT + "format")],
            "license": self._iris_or_texts(node, DCT + "license", *(ns + "license" for ns in SCHEMA)),
            "byte_size": next(iter(self.texts(node, DCAT + "byteSize", *(ns + "contentSize" for ns in SCHEMA))), None),
            "issued": next(iter(self.texts(node, *_ISSUED)), None),
            "modified": next(iter(self.texts(node, *_MODIFIED)), None),
        }
        dropped.unread(self.out.get(node, {}), _DISTRIBUTION_PROPERTIES, predicate)
        return {k: v for k, v in entry.items() if v not in (None, [], "")}

    def _contact_point(self, node: Any, predicate: str, dropped: _Dropped) -> dict[str, Any]:
        """One contact point in the record's form (see :mod:`mappings.contact_points`)."""
        names = self.language_texts(node, VCARD + "fn", *(ns + "name" for ns in SCHEMA))
        emails = []
        for value in self.values(node, VCARD + "hasEmail", *(ns + "email" for ns in SCHEMA)):
            # vCard 4 in RDF may wrap the address: vcard:hasEmail [ vcard:hasValue <mailto:…> ].
            inner = self.values(value, VCARD + "hasValue") if isinstance(value, BlankNode) else [value]
            emails += [v.value for v in inner if not isinstance(v, BlankNode)]
        entry = {
            "iri": node.value if isinstance(node, NamedNode) else None,
            "name": multilingual.record_value(names) if names else None,
            "email": _unique(emails),
            "url": self._iris_or_texts(node, VCARD + "hasURL", *(ns + "url" for ns in SCHEMA)),
        }
        dropped.unread(self.out.get(node, {}), _CONTACT_PROPERTIES, predicate)
        return {k: v for k, v in entry.items() if v not in (None, [], "")}

    def _iris_or_texts(self, subject: Any, *predicates: str) -> list[str]:
        """Values given as IRIs or as text, as text: web addresses come both ways
        (``<http://…>``, ``"http://…"``, ``"…"^^xsd:anyURI``), the mapping checks them."""
        return _unique(v.value for v in self.values(subject, *predicates) if not isinstance(v, BlankNode))

    def _format(self, value: Any) -> dict[str, str]:
        """A media type or format: an IRI (with its label), a text, or a node with an
        ``rdf:value`` (ckanext-dcat's ``dct:IMT``) and a label."""
        if isinstance(value, Literal):
            return {"value": value.value}
        entry = {"iri": value.value} if isinstance(value, NamedNode) else {}
        texts = self.texts(value, RDF + "value")
        label = self.label(value)
        if texts:
            entry["value"] = texts[0]
        if label:
            entry["label"] = label
        return entry

    def _period(self, dataset: Any, dropped: _Dropped) -> str | None:
        """The first period with a start or an end (a record has one); others reported."""
        period = None
        for node in self.values(dataset, DCT + "temporal"):
            start = self.texts(node, DCAT + "startDate", *(ns + "startDate" for ns in SCHEMA))
            end = self.texts(node, DCAT + "endDate", *(ns + "endDate" for ns in SCHEMA))
            if period is None and (start or end):
                period = f"{start[0] if start else '..'}/{end[0] if end else '..'}"
                dropped.unread(self.out.get(node, {}), _PERIOD_PROPERTIES, DCT + "temporal")
            else:
                dropped.add(DCT + "temporal")
        if period is not None:
            return period
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


class _Dropped:
    """What a record rebuilt from DCAT could not carry: property paths (from the
    dataset: ``dcat:distribution`` then ``spdx:checksum``) and how many values each."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, ...], int] = {}

    def __bool__(self) -> bool:
        return bool(self.counts)

    def add(self, *path: str, values: int = 1) -> None:
        if values:
            self.counts[path] = self.counts.get(path, 0) + values

    def unread(self, properties: dict[str, Any], read: frozenset[str], *prefix: str) -> None:
        """Count the values of every property not in *read*."""
        for predicate, values in properties.items():
            if predicate not in read:
                self.add(*prefix, predicate, values=len(values))

    def record_form(self, dataset: Any) -> dict[str, Any]:
        return {
            "dataset": dataset.value if isinstance(dataset, NamedNode) else None,
            "properties": [{"path": list(path), "values": count} for path, count in self.counts.items()],
        }
