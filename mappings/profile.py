"""The mapping profile: one table row per record field, DCAT and schema.org side by side.

:data:`PROFILE` is the whole mapping, read top to bottom: which record fields each row
reads and the handler that writes them. A handler repairs what it can and drops what it
cannot with a warning naming the field, so a published oddity (an empty URL, ``"UK"`` as
a country, a year 999) never becomes a broken IRI or an invalid literal.
:func:`map_record` runs the table over one record, each row all or nothing
(:func:`write_field`): a value of a form no handler foresaw drops its row with a
warning, never the record. A value that cannot even be kept as the record's JSON (a lone
surrogate, ``1e400``) refuses the record, naming it (:mod:`mappings.canonical`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from . import authorities, identifiers, keys, multilingual, nodes, temporal
from .canonical import canonical_json
from .contact_points import write_contact_points
from .distributions import write_distributions
from .identity import Identity
from .namespaces import ADMS, DCAT, DCT, FOAF, PROV, RDF, RDFS, RELATORS, SCHEMA, SKOS, XSD
from .nodes import Context, Link
from .publication_dates import write_dates
from .record_graph import RecordGraph, Warning_
from .record_values import distinct
from .records import RecordError, value_at
from .shacl import is_literal, literal_parts
from .terms import InvalidTerm, boolean, curie, integer, iri, literal
from .urls import Urls

#: Bump when the profile changes what it writes: `studygraph remap` rebuilds every graph
#: whose hash was made by another version.
MAPPING_VERSION = "4"

Handler = Callable[[Context, list[Any]], None]

#: The ``dct:description`` of a record that has none (DCAT-AP requires one). It says so
#: plainly: the title is already the ``dct:title``, and text made up here would read as
#: the publisher's.
NO_DESCRIPTION = "No description was published for this dataset."


@dataclass(frozen=True)
class Field:
    """A row of the profile: the record paths it reads and the handler that writes them.

    The handler gets the values of all paths in one list (lists flattened, missing values
    left out), or with ``positional`` one value per path, None where missing.
    """

    name: str
    paths: tuple[str, ...]
    write: Handler
    positional: bool = False

    def values(self, data: dict[str, Any]) -> list[Any]:
        if self.positional:
            found = [value_at(data, path) for path in self.paths]
            return found if any(v is not None for v in found) else []
        return [v for path in self.paths for v in _values(data, path)]


@dataclass(frozen=True)
class RecordSummary:
    """What the search index and listings need of a record, without reading its graph."""

    slug: str
    title: str
    description: str
    keywords: tuple[str, ...]
    links: tuple[Link, ...]
    start_year: int | None
    end_year: int | None
    #: The first of the study's DOIs (``https://doi.org/…``, schema:sameAs), for ``Link: cite-as``.
    doi: str | None = None
    #: The language tags of its titles and descriptions ("" for untagged), sorted: which
    #: language variants its page has. With the DOI, what a cached page's validators need,
    #: so a warm request is answered from the index without reading the graph.
    languages: tuple[str, ...] = ()


@dataclass
class MappedRecord:
    """A record's graph, ready for the store, and its summary for the search index."""

    slug: str
    graph: RecordGraph
    content_hash: str
    summary: RecordSummary

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def warnings(self) -> list[Warning_]:
        return self.graph.warnings


def _p(namespace: str, term: str) -> str:
    return f"<{namespace}{term}>"


# ---------------------------------------------------------------------------- handlers


def _text_fields(field_name: str, *predicates: str) -> Handler:
    """Write the texts of the first path that has any with each predicate, as found:
    one per language, each with its tag (see :mod:`mappings.multilingual`)."""

    def write(ctx: Context, values: list[Any]) -> None:
        for value in values:
            if multilingual.write(ctx, ctx.study, field_name, value, *predicates):
                return

    return write


def _web_pages(field_name: str, predicates: tuple[str, ...], page_class: str | None) -> Handler:
    """Web addresses (landing pages, licences, images): each usable URL with each
    predicate, and typed as DCAT-AP's range rules want."""

    def write(ctx: Context, values: list[Any]) -> None:
        for value in distinct(values):
            url = ctx.web_iri(field_name, value)
            if url:
                for predicate in predicates:
                    ctx.add(ctx.study, f"<{predicate}>", url)
                if page_class:
                    ctx.graph.typed(url, page_class)

    return write


def _identifiers(ctx: Context, values: list[Any]) -> None:
    """DOIs become resolver IRIs and ADMS identifiers; other identifiers stay literals."""
    dois: dict[str, None] = {}
    for value in distinct(values):
        if not isinstance(value, str) or not value.strip():
            continue
        doi = identifiers.normalise_doi(value)
        if doi is None:
            ctx.add(ctx.study, _p(DCT, "identifier"), literal(value.strip()))
            ctx.add(ctx.study, _p(SCHEMA, "identifier"), literal(value.strip()))
        else:
            dois[doi] = None
    for number, doi in enumerate(dois, 1):
        try:
            resolver = iri(identifiers.doi_iri(doi))
        except InvalidTerm as error:
            ctx.graph.warn("identifier", str(error))
            continue
        node = ctx.local("doi" if number == 1 else f"doi-{number}")
        ctx.add(ctx.study, _p(DCT, "identifier"), literal(doi))
        ctx.add(ctx.study, _p(ADMS, "identifier"), node)
        ctx.graph.typed(node, ADMS + "Identifier")
        ctx.add(node, _p(SKOS, "notation"), literal(doi))
        ctx.add(node, _p(DCT, "creator"), iri("https://www.doi.org/"))
        ctx.graph.typed("<https://www.doi.org/>", FOAF + "Agent")
        ctx.label("<https://www.doi.org/>", "DOI Foundation", FOAF + "name")
        ctx.add(ctx.study, _p(SCHEMA, "identifier"), resolver)
        ctx.add(ctx.study, _p(SCHEMA, "sameAs"), resolver)


def _local_identifiers(ctx: Context, values: list[Any]) -> None:
    for value in distinct(values):
        if isinstance(value, str) and value.strip():
            ctx.add(ctx.study, _p(DCT, "identifier"), literal(value.strip()))


def _keywords(ctx: Context, values: list[Any]) -> None:
    for value in distinct(values):
        if not isinstance(value, str) or not value.strip():
            continue
        terms = nodes.keyword(ctx, value)
        if terms is None:
            ctx.graph.warn("keywords", f"keyword {value!r} has no letters or digits; dropped")
            continue
        ctx.add(ctx.study, _p(DCAT, "keyword"), terms.label)
        ctx.add(ctx.study, _p(SCHEMA, "keywords"), terms.text)
        ctx.add(ctx.study, _p(DCAT, "theme"), terms.node)


def _catalogues(ctx: Context, values: list[Any]) -> None:
    for value in values:
        name = _name_of(value)
        node = nodes.catalogue(ctx, name) if name else None
        if node is None:
            ctx.graph.warn("includedInDataCatalog", f"catalogue without a usable name: {value!r}")
            continue
        ctx.add(ctx.study, _p(SCHEMA, "includedInDataCatalog"), node)


def _attributions(role: str, schema_property: str, relator: str) -> Handler:
    """Sponsors and funders: a schema.org link and a PROV qualified attribution with a role."""

    def write(ctx: Context, values: list[Any]) -> None:
        for number, agent in enumerate(_agents(ctx, role, values), 1):
            ctx.add(ctx.study, _p(SCHEMA, schema_property), agent)
            attribution = ctx.local(f"{role}-{number}")
            ctx.add(ctx.study, _p(PROV, "qualifiedAttribution"), attribution)
            ctx.graph.typed(attribution, PROV + "Attribution")
            ctx.add(attribution, _p(PROV, "agent"), agent)
            ctx.add(attribution, _p(DCAT, "hadRole"), _p(RELATORS, relator))

    return write


def _agent_links(field_name: str, dct_property: str, schema_property: str, dct_max: int | None = None) -> Handler:
    """Publishers, creators, rights holders: the same link in both vocabularies.

    DCAT-AP allows one ``dct:publisher``; further publishers keep their schema.org link.
    """

    def write(ctx: Context, values: list[Any]) -> None:
        for number, agent in enumerate(_agents(ctx, field_name, values), 1):
            if dct_max is None or number <= dct_max:
                ctx.add(ctx.study, _p(DCT, dct_property), agent)
            ctx.add(ctx.study, _p(SCHEMA, schema_property), agent)

    return write


def _temporal(ctx: Context, values: list[Any]) -> None:
    """``dct:temporal`` from temporalCoverage, else from start_year/end_year."""
    coverage = values[0] if isinstance(values[0], str) and values[0].strip() else None
    period = None
    if coverage:
        try:
            period = temporal.parse_period(coverage)
        except ValueError as error:
            rule = "PeriodOfTime-order" if isinstance(error, temporal.PeriodOrderError) else None
            ctx.graph.warn("temporalCoverage", f"{error}; dropped", rule=rule)
        else:
            ctx.add(ctx.study, _p(SCHEMA, "temporalCoverage"), literal(coverage.strip()))
    if period is None:
        period = _period_from_years(ctx, values[1:3])
    if period is None:
        return
    end = period.end
    if end is not None and temporal.is_future(end, dt.date.today()):
        ctx.graph.warn("temporalCoverage", f"end {end.value} lies in the future; left open")
        end = None
    node = ctx.local("temporal")
    ctx.add(ctx.study, _p(DCT, "temporal"), node)
    ctx.graph.typed(node, DCT + "PeriodOfTime")
    for predicate, bound in (("startDate", period.start), ("endDate", end)):
        if bound is not None:
            ctx.add(node, _p(DCAT, predicate), literal(bound.value, bound.datatype))


def _period_from_years(ctx: Context, values: list[Any]) -> temporal.Period | None:
    # Bad years are reported once, by the start_year row.
    start, end = (_year(ctx, name, value, warn=False) for name, value in zip(("start_year", "end_year"), values))
    return None if start is None and end is None else temporal.Period(start, end)


def _year(ctx: Context, field_name: str, value: Any, warn: bool = True) -> temporal.Bound | None:
    if value is None or value == "":
        return None
    try:
        return temporal.parse_bound(f"{int(value):04d}")
    except (TypeError, ValueError) as error:
        if warn:
            ctx.graph.warn(field_name, f"not a year: {value!r} ({error}); dropped")
        return None


def _years(ctx: Context, values: list[Any]) -> None:
    for term, value in zip(("startYear", "endYear"), values):
        bound = _year(ctx, "start_year" if term == "startYear" else "end_year", value)
        if bound is not None:
            ctx.add(ctx.study, ctx.vocab(term), literal(bound.value, XSD + "gYear"))


def _countries(ctx: Context, values: list[Any]) -> None:
    seen = set()
    for value in distinct(values):
        if not isinstance(value, str) or not value.strip():
            continue
        try:
            country, note = authorities.country(value)
        except ValueError as error:
            ctx.graph.warn("country_codes", f"{error}; dropped")
            continue
        if note:
            ctx.graph.warn("country_codes", note)
        if country.iri in seen:
            continue
        seen.add(country.iri)
        ctx.link("country", "country", country.code.lower(), country.label)
        node = iri(country.iri)
        ctx.add(ctx.study, _p(DCT, "spatial"), node)
        ctx.add(ctx.study, _p(SCHEMA, "spatialCoverage"), node)
        ctx.graph.typed(node, DCT + "Location", SCHEMA + "Country")
        ctx.add(node, _p(SKOS, "prefLabel"), literal(country.label, language="en"))
        ctx.add(node, _p(SCHEMA, "name"), literal(country.label, language="en"))
        if country.alpha_2:
            ctx.add(node, _p(SKOS, "notation"), literal(country.alpha_2))


def _place(ctx: Context, values: list[Any]) -> None:
    text = next((v for v in values if isinstance(v, str) and v.strip()), None)
    if text is None:
        return
    node = ctx.local("place")
    ctx.add(ctx.study, _p(DCT, "spatial"), node)
    ctx.add(ctx.study, _p(SCHEMA, "spatialCoverage"), node)
    ctx.graph.typed(node, DCT + "Location", SCHEMA + "Place")
    ctx.label(node, text.strip(), RDFS + "label", SCHEMA + "name")


def _languages(ctx: Context, values: list[Any]) -> None:
    for value in distinct(values):
        if not isinstance(value, str) or not value.strip():
            continue
        try:
            language = authorities.language(value)
        except ValueError as error:
            ctx.graph.warn("language_codes", f"{error}; dropped")
            continue
        node = iri(language.iri)
        ctx.link("language", "language", language.code.lower(), language.label)
        ctx.add(ctx.study, _p(DCT, "language"), node)
        ctx.add(ctx.study, _p(SCHEMA, "inLanguage"), literal(language.alpha_2 or value.strip().lower()))
        ctx.graph.typed(node, DCT + "LinguisticSystem")
        ctx.add(node, _p(SKOS, "prefLabel"), literal(language.label, language="en"))


def _access_rights(ctx: Context, values: list[Any]) -> None:
    text = next((v for v in values if isinstance(v, str) and v.strip()), None)
    if text is None:
        return
    node = ctx.local("access")
    ctx.add(ctx.study, _p(DCT, "accessRights"), node)
    ctx.add(ctx.study, _p(SCHEMA, "conditionsOfAccess"), literal(text.strip()))
    ctx.graph.typed(node, DCT + "RightsStatement")
    ctx.label(node, text.strip(), RDFS + "label")
    try:
        url, _ = identifiers.web_url(text)
    except ValueError:
        return
    if " " not in text.strip():
        ctx.add(node, _p(RDFS, "seeAlso"), iri(url))


def _variables(ctx: Context, values: list[Any]) -> None:
    """Variables as ``schema:PropertyValue`` nodes inside the study's document."""
    seen: set[str] = set()
    for value in values:
        name = _name_of(value)
        key = keys.slugify(name) if name else ""
        if not name or not key:
            ctx.graph.warn("variableMeasured", f"variable without a usable name: {value!r}")
            continue
        if key in seen:
            continue
        seen.add(key)
        node = ctx.local(f"variable-{key}")
        ctx.add(ctx.study, _p(SCHEMA, "variableMeasured"), node)
        ctx.graph.typed(node, SCHEMA + "PropertyValue")
        ctx.label(node, name.strip(), SCHEMA + "name")
        description = value.get("description") if isinstance(value, dict) else None
        if isinstance(description, str) and description.strip():
            ctx.label(node, description.strip(), SCHEMA + "description")


def _related_studies(field_name: str, dct_property: str, schema_property: str) -> Handler:
    """Parents, ancestors and children: links to their study IRIs, labelled here.

    The label is ``rdfs:label``, a property a study's own graph never gives it: what
    this record says of the other study is kept apart from that study's own title (in
    ``/related/{slug}``), so the two never repeat one triple."""

    def write(ctx: Context, values: list[Any]) -> None:
        for value in values:
            if not isinstance(value, dict) or not value:
                continue
            slug, name = _slug_and_name(value)
            if slug is None:
                ctx.graph.warn(field_name, "related study without a slug or name; dropped")
                continue
            node = f"<{ctx.urls.thing('item', slug)}>"
            if node == ctx.study:
                continue
            ctx.add(ctx.study, _p(DCT, dct_property), node)
            ctx.add(ctx.study, _p(SCHEMA, schema_property), node)
            if name:
                ctx.label(node, name, RDFS + "label")

    return write


def _concepts(kind: str, predicate: str) -> Handler:
    def write(ctx: Context, values: list[Any]) -> None:
        for value in distinct(values):
            if not isinstance(value, str) or not value.strip():
                continue
            node = nodes.source(ctx, value) if kind == "source" else nodes.concept(ctx, kind, value)
            if node:
                ctx.add(ctx.study, ctx.vocab(predicate), node)

    return write


def _resource_type(ctx: Context, values: list[Any]) -> None:
    value = next((v for v in values if isinstance(v, str) and keys.slugify(v)), None)
    if value is None:
        return
    term = keys.slugify(value)
    node = ctx.vocab(term)
    ctx.add(ctx.study, _p(DCT, "type"), node)
    ctx.graph.typed(node, SKOS + "Concept")
    ctx.label(node, value.strip().lower(), SKOS + "prefLabel")
    ctx.add(node, _p(SKOS, "inScheme"), ctx.vocab("resourceTypes"))


def _text_property(term: str) -> Handler:
    def write(ctx: Context, values: list[Any]) -> None:
        value = next((v for v in values if isinstance(v, str) and v.strip()), None)
        if value is not None:
            ctx.add(ctx.study, ctx.vocab(term), literal(value.strip()))

    return write


def _boolean_property(term: str) -> Handler:
    def write(ctx: Context, values: list[Any]) -> None:
        value = next((v for v in values if isinstance(v, bool)), None)
        if value is not None:
            ctx.add(ctx.study, ctx.vocab(term), boolean(value))

    return write


def _count_property(term: str, field_name: str, placeholders: Iterable[int] = (), maximum: int | None = None) -> Handler:
    """A non-negative integer; placeholder values (0 people, age 999) are dropped."""
    dropped = frozenset(placeholders)

    def write(ctx: Context, values: list[Any]) -> None:
        for value in values:
            if value is None or value == "":
                continue
            try:
                number = int(value)
                if isinstance(value, float) and number != value:
                    raise ValueError
            except (TypeError, ValueError):
                ctx.graph.warn(field_name, f"not a whole number: {value!r}; dropped")
                return
            if number < 0 or number in dropped or (maximum is not None and number > maximum):
                ctx.graph.warn(field_name, f"{number} is a placeholder or out of range; dropped")
                return
            ctx.add(ctx.study, ctx.vocab(term), integer(number))
            return

    return write


def _source_dates(ctx: Context, values: list[Any]) -> None:
    """The dataset's own ``dct:issued``/``dct:modified`` as its source published them, on
    the study (the catalogue record, ``<doc>``, has ours: when we first and last wrote it)."""
    write_dates(ctx, ctx.study, "datePublished", *values)


def _themes(ctx: Context, values: list[Any]) -> None:
    """A source's themes (``dcat:theme <IRI>``) kept as those IRIs, not made keywords.

    DCAT-AP wants a theme to be a ``skos:Concept`` with a ``skos:prefLabel``: the label
    the source gives, else the last segment of the IRI (``ECON`` of the EU data themes).
    """
    for value in distinct(values):
        theme = value.get("iri") if isinstance(value, dict) else value
        if not isinstance(theme, str):
            ctx.graph.warn("themes", f"theme without an IRI: {value!r}; dropped")
            continue
        try:
            node = iri(theme)
        except InvalidTerm as error:
            ctx.graph.warn("themes", f"{error}; dropped")
            continue
        ctx.add(ctx.study, _p(DCAT, "theme"), node)
        ctx.add(ctx.study, _p(SCHEMA, "about"), node)
        ctx.graph.typed(node, SKOS + "Concept")
        label = value.get("label") if isinstance(value, dict) else None
        if not multilingual.write(ctx, node, "themes", label, SKOS + "prefLabel"):
            ctx.label(node, theme.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1], SKOS + "prefLabel")


def _unmapped(ctx: Context, values: list[Any]) -> None:
    """One warning per property of a harvested dataset that the reader could not carry
    over (``extra_data.unmapped``), naming the dataset and the property."""
    for value in values:
        if not isinstance(value, dict):
            continue
        dataset = f"<{value['dataset']}>" if value.get("dataset") else "(a blank node)"
        for entry in value.get("properties") or []:
            path = entry.get("path") if isinstance(entry, dict) else None
            if not isinstance(path, list) or not path:
                continue
            count = entry.get("values", 1)
            ctx.graph.warn("/".join(curie(p) for p in path), f"dataset {dataset}: {count} value{'s' if count != 1 else ''} not mapped; dropped")


# ------------------------------------------------------------------------------- table

PROFILE: tuple[Field, ...] = (
    Field("name", ("dataset_schema.name", "extra_data.name"), _text_fields("name", DCT + "title", SCHEMA + "name"), positional=True),
    Field("description", ("dataset_schema.description",), _text_fields("description", DCT + "description", SCHEMA + "description"), positional=True),
    Field("url", ("dataset_schema.url", "extra_data.urls"), _web_pages("url", (DCAT + "landingPage", SCHEMA + "url"), FOAF + "Document")),
    Field("keywords", ("dataset_schema.keywords",), _keywords),
    Field("identifier", ("dataset_schema.identifier", "extra_data.dois"), _identifiers),
    Field("harmony_id", ("extra_data.harmony_id", "extra_data.uuid"), _local_identifiers),
    Field("includedInDataCatalog", ("dataset_schema.includedInDataCatalog",), _catalogues),
    Field("sponsor", ("dataset_schema.sponsor",), _attributions("sponsor", "sponsor", "spn")),
    Field("funder", ("dataset_schema.funder",), _attributions("funder", "funder", "fnd")),
    Field("publisher", ("dataset_schema.publisher",), _agent_links("publisher", "publisher", "publisher", dct_max=1)),
    Field("creator", ("dataset_schema.creator",), _agent_links("creator", "creator", "creator")),
    Field("copyrightHolder", ("dataset_schema.copyrightHolder",), _agent_links("copyrightHolder", "rightsHolder", "copyrightHolder")),
    Field("temporalCoverage", ("dataset_schema.temporalCoverage", "extra_data.start_year", "extra_data.end_year"), _temporal, positional=True),
    Field("start_year", ("extra_data.start_year", "extra_data.end_year"), _years, positional=True),
    Field("country_codes", ("extra_data.country_codes",), _countries),
    Field("geographic_coverage", ("extra_data.geographic_coverage",), _place),
    Field("language_codes", ("extra_data.language_codes",), _languages),
    Field("data_access", ("extra_data.data_access",), _access_rights),
    Field("license", ("dataset_schema.license",), _web_pages("license", (DCT + "license", SCHEMA + "license"), DCT + "LicenseDocument")),
    Field("image", ("dataset_schema.image",), _web_pages("image", (SCHEMA + "image",), None)),
    Field("variableMeasured", ("dataset_schema.variableMeasured",), _variables),
    Field("parent", ("parent",), _related_studies("parent", "isPartOf", "isPartOf")),
    Field("ancestors", ("ancestors",), _related_studies("ancestors", "isPartOf", "isPartOf")),
    Field("child_datasets", ("child_datasets",), _related_studies("child_datasets", "hasPart", "hasPart")),
    Field("source", ("extra_data.source",), _concepts("source", "source")),
    Field("instruments", ("extra_data.instruments",), _concepts("instrument", "instrument")),
    Field("study_design", ("extra_data.study_design",), _concepts("study-design", "studyDesign")),
    Field("resource_type", ("extra_data.resource_type",), _resource_type),
    Field("sex", ("extra_data.sex",), _text_property("sex")),
    Field("genetic_data_collected", ("extra_data.genetic_data_collected",), _boolean_property("geneticDataCollected")),
    Field("sample_size", ("extra_data.sample_size", "dataset_schema.size"), _count_property("sampleSize", "sample_size", (0,))),
    Field("age_lower", ("extra_data.age_lower",), _count_property("minAge", "age_lower", (999,), maximum=150)),
    Field("age_upper", ("extra_data.age_upper",), _count_property("maxAge", "age_upper", (0, 999), maximum=150)),
    Field("num_sweeps", ("extra_data.num_sweeps",), _count_property("numberOfSweeps", "num_sweeps", (0,))),
    Field("duration_years", ("extra_data.duration_years",), _count_property("durationYears", "duration_years", (999,))),
    Field("num_variables", ("extra_data.num_variables", "extra_data.number_of_variables"), _count_property("numberOfVariables", "num_variables")),
    Field("num_descendant_variables", ("num_descendant_variables",), _count_property("numberOfDescendantVariables", "num_descendant_variables")),
    Field("ai_summary", ("extra_data.ai_summary",), _text_property("aiSummary")),
    # What harvested DCAT says beyond the Harmony fields (see mappings/readers/dcat.py).
    Field("datePublished", ("dataset_schema.datePublished", "dataset_schema.dateModified"), _source_dates, positional=True),
    Field("themes", ("extra_data.themes",), _themes),
    Field("distributions", ("extra_data.distributions",), write_distributions),
    Field("contact_points", ("extra_data.contact_points",), write_contact_points),
    Field("unmapped", ("extra_data.unmapped",), _unmapped),
)


# --------------------------------------------------------------------------- the record


def record_slug(data: dict[str, Any]) -> tuple[str, str | None]:
    """The record's key (its URL slug), and a note if the published slug had to be replaced.

    Raises RecordError when the record has neither a usable slug nor a name to make one.
    """
    published = value_at(data, "extra_data.slug")
    if isinstance(published, str) and keys.is_slug(published):
        return published, None
    name = record_name(data)
    slug = keys.slugify(name)
    if not slug:
        raise RecordError("name", f"no key can be made from the name {name!r}")
    note = f"slug {published!r} is not a usable URL segment; using {slug!r}" if published else None
    return slug, note


def record_name(data: dict[str, Any]) -> str:
    """The name that stands for the record (its key, its search title): of a name in
    several languages, the one without a tag, else the first."""
    for path in ("dataset_schema.name", "extra_data.name"):
        name = multilingual.primary(value_at(data, path))
        if name:
            return name
    raise RecordError("name", "record has no name")


def content_hash(data: dict[str, Any]) -> str:
    """A hash of the record as published and of the mapping version that maps it.

    Raises RecordError for a record that cannot be written as JSON text (see
    :mod:`mappings.canonical`)."""
    return _hash_of(canonical_json(data))


def _hash_of(canonical: str) -> str:
    digest = hashlib.sha256(MAPPING_VERSION.encode() + b"\0" + canonical.encode())
    return "sha256:" + digest.hexdigest()


#: What a field handler raises on a value of a form it cannot write (a term Oxigraph
#: refuses, a number out of range, a list where text was expected): the field is then
#: dropped with a warning, never the record or the load.
UNUSABLE_VALUE = (ValueError, TypeError, ArithmeticError, LookupError, RecursionError)


#: Values of one field a record may give (keywords, variables, sponsors...): enough for
#: any study published (the real records give at most a few hundred), and a bound on what
#: one record costs a load and the store's write transaction, whatever it carries.
MAX_VALUES = 10_000


def write_field(ctx: Context, field_name: str, write: Callable[[], None]) -> None:
    """Run *write* for one field all or nothing: a value it cannot use drops the field
    (what it wrote is taken back) with a warning naming the field and why."""
    mark = ctx.mark()
    try:
        write()
    except UNUSABLE_VALUE as error:
        ctx.undo(mark)
        reason = str(error) if isinstance(error, (InvalidTerm, RecordError)) else f"{type(error).__name__}: {error}"
        ctx.graph.warn(field_name, f"{reason[:200]}; field dropped")


def map_record(
    data: dict[str, Any],
    urls: Urls,
    *,
    issued: str,
    modified: str,
    source_name: str | None = None,
    source_format: str | None = None,
    provenance: dict[str, str] | None = None,
    slug: str | None = None,
    identity: Identity | None = None,
) -> MappedRecord:
    """Map one Harmony-shaped record to its named graph.

    *issued* and *modified* are ``xsd:dateTime`` lexical forms for the catalogue record.
    *slug* is where the loader publishes the record (by default the record's own slug)
    and *identity* what it is kept under (see :mod:`mappings.identity`).
    Raises RecordError if the record cannot be mapped at all, and nothing else: every
    field is written by :func:`write_field`, so a value no handler foresaw costs only
    its field.
    """
    if not isinstance(data, dict):
        raise RecordError("record", "record is not a JSON object")
    canonical = canonical_json(data)
    record_name(data)
    slug_note = None
    if slug is None:
        slug, slug_note = record_slug(data)
    doc = urls.item(slug)
    graph = RecordGraph(doc, urls)
    ctx = Context(graph, urls, doc)
    if slug_note:
        graph.warn("slug", slug_note)
    ctx.graph.typed(ctx.study, DCAT + "Dataset", SCHEMA + "Dataset")
    for field in PROFILE:
        values = field.values(data)
        if len(values) > MAX_VALUES and not field.positional:
            values = distinct(values)
            if len(values) > MAX_VALUES:
                graph.warn(field.name, f"{len(values):,} distinct values; the first {MAX_VALUES:,} kept")
                values = values[:MAX_VALUES]
        if values:
            write_field(ctx, field.name, partial(field.write, ctx, values))
    if not any(p == f"<{DCT}description>" for _, p, _ in graph.statements):
        # DCAT-AP requires a description: say that there is none rather than repeat the title.
        ctx.add(ctx.study, _p(DCT, "description"), literal(NO_DESCRIPTION))
        graph.warn("description", "record has no description; a note saying so stands in for it", rule="Study-description-length")
    digest = _hash_of(canonical)
    _catalogue_record(ctx, canonical, digest, issued, modified)
    _source(ctx, source_name, source_format)
    if identity is not None:
        ctx.add(ctx.doc, ctx.vocab("recordSource"), literal(identity.source))
        ctx.add(ctx.doc, ctx.vocab("recordIdentifier"), literal(identity.identifier))
    _provenance(ctx, provenance or {})
    return MappedRecord(slug, graph, digest, _summary(slug, ctx, data))


def _summary(slug: str, ctx: Context, data: dict[str, Any]) -> RecordSummary:
    """The record as the search index sees it: the text as written, the linked nodes."""
    return RecordSummary(
        slug=slug,
        title=record_name(data),
        description=multilingual.primary(value_at(data, "dataset_schema.description")) or "",
        keywords=tuple(link.label for link in ctx.links if link.kind == "keyword"),
        links=tuple(ctx.links),
        start_year=_plain_year(value_at(data, "extra_data.start_year")),
        end_year=_plain_year(value_at(data, "extra_data.end_year")),
        doi=min((o[1:-1] for s, p, o in ctx.graph.statements if s == ctx.study and p == _SAME_AS and o.startswith(_DOI_TERM)), default=None),
        languages=tuple(sorted({literal_parts(o)[2] or "" for s, p, o in ctx.graph.statements if s == ctx.study and p in _TEXTS and is_literal(o)})),
    )


#: The texts whose languages a study's page is offered in (RecordSummary.languages).
PAGE_TEXTS = (DCT + "title", DCT + "description")
_TEXTS = frozenset(f"<{p}>" for p in PAGE_TEXTS)
_SAME_AS = _p(SCHEMA, "sameAs")
_DOI_TERM = f"<{identifiers.DOI_RESOLVER}"


def _plain_year(value: Any) -> int | None:
    try:
        year = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return year if year in temporal.PLAUSIBLE_YEARS else None


def _about_the_document(ctx: Context, terms: tuple[tuple[str, str, Callable[[str], str], Any], ...]) -> None:
    """Statements about the document from what came with the record rather than in it:
    (field, predicate, term maker, value). Each is checked like a field, so a file name
    that is no text or a ``harvested`` that is no date is dropped with a warning."""
    for name, predicate, term, value in terms:
        if value:
            write_field(ctx, name, partial(_write_about_the_document, ctx, predicate, term, value))


def _write_about_the_document(ctx: Context, predicate: str, term: Callable[[str], str], value: Any) -> None:
    ctx.add(ctx.doc, predicate, term(value))


def _source(ctx: Context, source_name: str | None, source_format: str | None) -> None:
    """Where the record was read: the file (or ``-``) and the reader's format."""
    _about_the_document(ctx, (
        ("sourceName", ctx.vocab("sourceName"), literal, source_name),
        ("sourceFormat", ctx.vocab("sourceFormat"), literal, source_format),
    ))


def _provenance(ctx: Context, provenance: dict[str, str]) -> None:
    """Where a harvested record came from: the source's IRI for it, the harvested source
    (so ``harvest --prune`` knows which records a source owns) and when."""
    _about_the_document(ctx, (
        ("provenance.url", f"<{PROV}wasDerivedFrom>", iri, provenance.get("url")),
        ("provenance.harvest_source", ctx.vocab("harvestSource"), iri, provenance.get("harvest_source")),
        ("provenance.harvested", ctx.vocab("harvestedAt"), partial(literal, datatype=XSD + "dateTime"), provenance.get("harvested")),
    ))


def _catalogue_record(ctx: Context, canonical: str, digest: str, issued: str, modified: str) -> None:
    """The ``dcat:CatalogRecord`` (the document itself), holding the original record.

    Keeping the record as published lets ``studygraph remap`` rebuild every graph after a
    mapping change without going back to the sources.
    """
    ctx.graph.typed(ctx.doc, DCAT + "CatalogRecord")
    ctx.add(ctx.doc, _p(FOAF, "primaryTopic"), ctx.study)
    ctx.add(ctx.doc, _p(DCT, "issued"), literal(issued, XSD + "dateTime"))
    ctx.add(ctx.doc, _p(DCT, "modified"), literal(modified, XSD + "dateTime"))
    ctx.add(ctx.doc, ctx.vocab("contentHash"), literal(digest))
    ctx.add(ctx.doc, ctx.vocab("mappingVersion"), literal(MAPPING_VERSION))
    ctx.add(ctx.doc, ctx.vocab("sourceRecord"), literal(canonical, RDF + "JSON"))


# ----------------------------------------------------------------------------- helpers


def _values(data: dict[str, Any], path: str) -> list[Any]:
    """The values at *path*: a list is flattened, a missing or null value gives none."""
    value = value_at(data, path)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _name_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict) and isinstance(value.get("name"), str):
        return value["name"].strip() or None
    return None


def _agents(ctx: Context, field_name: str, values: list[Any]) -> list[str]:
    """Organisation/person nodes for the values of an agent field, split and de-duplicated."""
    agents: dict[str, None] = {}
    for value in values:
        name = _name_of(value)
        if not name:
            ctx.graph.warn(field_name, f"agent without a name: {value!r}; dropped", rule="Agent-name")
            continue
        kind = value.get("@type") if isinstance(value, dict) else None
        kind = "Person" if kind == "Person" else "Organization"
        named = keys.organisation_names(name)
        for code in named.unknown:
            ctx.graph.warn(field_name, f"{code!r} in {name!r} is not in the funder table (mappings/funders.csv); kept as written")
        for part in named.names:
            node = nodes.organisation(ctx, part, kind, role=field_name)
            if node:
                agents[node] = None
    return list(agents)


def _slug_and_name(value: dict[str, Any]) -> tuple[str | None, str | None]:
    try:
        name = record_name(value)
    except RecordError:
        name = None
    try:
        slug, _ = record_slug(value)
    except RecordError:
        slug = None
    return slug, name
