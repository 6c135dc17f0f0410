"""The mapping profile on real records and on each oddity they contain."""

from __future__ import annotations

import copy
import re

import pyoxigraph
import pytest
from conftest import BASE
from pyoxigraph import Literal, NamedNode

from studygraph.mappings.keys import slugify
from studygraph.mappings.namespaces import DCAT, DCT, FOAF, PROV, RDF, RDFS, SCHEMA, SKOS, XSD
from studygraph.mappings.profile import NO_DESCRIPTION, PROFILE, RecordError, map_record
from studygraph.mappings.urls import Urls
from studygraph.mappings.vocabulary import defined_terms

URLS = Urls(BASE)
STAMP = "2026-11-27T10:00:00Z"


def mapped(data: dict):
    return map_record(data, URLS, issued=STAMP, modified=STAMP)


def graph_of(data: dict) -> pyoxigraph.Store:
    store = pyoxigraph.Store()
    store.load(mapped(data).graph.nquads().encode(), format=pyoxigraph.RdfFormat.N_QUADS)
    return store


def objects(store: pyoxigraph.Store, subject: str, predicate: str) -> list:
    return [q.object for q in store.quads_for_pattern(NamedNode(subject), NamedNode(predicate), None)]


def minimal(**extra_data) -> dict:
    record = {
        "dataset_schema": {"@type": "Dataset", "name": "A study", "description": "About it."},
        "extra_data": {"slug": "a-study"},
    }
    record["extra_data"].update(extra_data)
    return record


def study(slug: str = "a-study") -> str:
    return f"{BASE}/items/{slug}#id"


def by_slug(records: list[dict], slug: str) -> dict:
    return next(r for r in records if r["extra_data"]["slug"] == slug)


def test_every_real_record_maps_to_valid_nquads(records):
    for record in records:
        result = mapped(record)
        quads = list(pyoxigraph.parse(result.graph.nquads(), format=pyoxigraph.RdfFormat.N_QUADS))
        assert len(quads) == len(result.graph) > 20
        own = f"{BASE}/items/{result.slug}"
        urls = Urls(BASE)
        for quad in quads:
            # The record's own statements in its graph; what it says of shared things in
            # those things' graphs.
            mine = quad.subject.value == own or quad.subject.value.startswith(own + "#") or quad.object.value.startswith(own + "#")
            assert quad.graph_name.value == (own if mine else urls.description_graph(quad.subject.value))
            assert mine or urls.is_description_graph(quad.graph_name.value)


def test_both_vocabularies_for_every_study(records):
    for record in records:
        store = graph_of(record)
        slug = mapped(record).slug
        types = {t.value for t in objects(store, study(slug), RDF + "type")}
        assert {DCAT + "Dataset", SCHEMA + "Dataset"} <= types
        assert objects(store, study(slug), DCT + "title") == objects(store, study(slug), SCHEMA + "name")
        assert objects(store, study(slug), DCT + "description")


@pytest.mark.parametrize("description", [None, "", "   "])
def test_a_record_without_description_says_so_instead_of_repeating_the_title(description):
    record = minimal()
    record["dataset_schema"]["description"] = description
    result = mapped(record)
    store = graph_of(record)
    assert objects(store, study(), DCT + "description") == [Literal(NO_DESCRIPTION)]
    assert objects(store, study(), SCHEMA + "description") == []
    assert [w.field for w in result.warnings] == ["description"]


def test_catalogue_record_keeps_the_original_and_dates():
    store = graph_of(minimal())
    doc = f"{BASE}/items/a-study"
    assert objects(store, doc, FOAF + "primaryTopic") == [NamedNode(study())]
    assert objects(store, doc, DCT + "modified") == [Literal(STAMP, datatype=NamedNode(XSD + "dateTime"))]
    (original,) = objects(store, doc, f"{BASE}/vocab#sourceRecord")
    assert original.datatype == NamedNode(RDF + "JSON")
    assert '"slug":"a-study"' in original.value


def test_same_sponsor_from_two_records_is_one_node():
    first = minimal()
    first["dataset_schema"]["sponsor"] = [{"@type": "Organization", "name": "Economic and Social Research Council"}]
    second = copy.deepcopy(first)
    second["extra_data"]["slug"] = "another-study"
    second["dataset_schema"]["funder"] = [{"@type": "Organization", "name": "ESRC"}]
    store = pyoxigraph.Store()
    for record in (first, second):
        store.load(mapped(record).graph.nquads().encode(), format=pyoxigraph.RdfFormat.N_QUADS)
    sponsors = {q.object for q in store.quads_for_pattern(None, NamedNode(SCHEMA + "sponsor"), None)}
    funders = {q.object for q in store.quads_for_pattern(None, NamedNode(SCHEMA + "funder"), None)}
    assert sponsors == funders == {NamedNode(f"{BASE}/organizations/economic-and-social-research-council#id")}


def test_keywords_are_concepts_in_one_scheme():
    record = minimal()
    record["dataset_schema"]["keywords"] = ["MENTAL HEALTH", "Mental  health", "Covid-19 data collection"]
    store = graph_of(record)
    themes = objects(store, study(), DCAT + "theme")
    assert {t.value for t in themes} == {
        f"{BASE}/keywords/mental-health#id",
        f"{BASE}/keywords/covid-19-data-collection#id",
    }
    for theme in themes:
        assert objects(store, theme.value, SKOS + "inScheme") == [NamedNode(f"{BASE}/keywords#scheme")]
        assert len(objects(store, theme.value, SKOS + "prefLabel")) == 1
    assert Literal("MENTAL HEALTH") in objects(store, study(), SCHEMA + "keywords")


@pytest.mark.parametrize(
    "published, expected",
    [
        ("http://dx.doi.org/10.5255/UKDA-SN-850565", "https://doi.org/10.5255/UKDA-SN-850565"),
        ("10.5255/UKDA-SN-5291-2", "https://doi.org/10.5255/UKDA-SN-5291-2"),
        ("https://doi.org/10.12688%2Ff1000research.17457.1", "https://doi.org/10.12688/f1000research.17457.1"),
        ("https://doi.org/10.1016/S2215-0366(15)00358-2", "https://doi.org/10.1016/S2215-0366(15)00358-2"),
    ],
)
def test_dois_are_normalised(published, expected):
    record = minimal(dois=[published])
    record["dataset_schema"]["identifier"] = [published]
    store = graph_of(record)
    assert objects(store, study(), SCHEMA + "sameAs") == [NamedNode(expected)]
    (identifier,) = objects(store, study(), "http://www.w3.org/ns/adms#identifier")
    assert objects(store, identifier.value, SKOS + "notation") == [Literal(expected.removeprefix("https://doi.org/"))]


@pytest.mark.parametrize(
    "coverage, start, end",
    [
        ("2022-08-19/2022-12-01", ("2022-08-19", "date"), ("2022-12-01", "date")),
        ("2004/..", ("2004", "gYear"), None),
        ("1990..2000", ("1990", "gYear"), ("2000", "gYear")),
        ("1965/1965", ("1965", "gYear"), ("1965", "gYear")),
        ("2004-04-01T00:00:00Z/2005-03-01T00:00:00Z", ("2004-04-01", "date"), ("2005-03-01", "date")),
        ("2001-08-07T10:30:00Z/2001-09-11", ("2001-08-07T10:30:00Z", "dateTime"), ("2001-09-11", "date")),
        ("2010", ("2010", "gYear"), ("2010", "gYear")),
        ("2021-03/2021-05", ("2021-03", "gYearMonth"), ("2021-05", "gYearMonth")),
        # A generation timestamp in the future is no end date: the period is left open.
        ("1986-01-01/2030-10-16T08:03:43.563934Z", ("1986-01-01", "date"), None),
    ],
)
def test_temporal_coverage_typed_by_precision(coverage, start, end):
    record = minimal()
    record["dataset_schema"]["temporalCoverage"] = coverage
    store = graph_of(record)
    (period,) = objects(store, study(), DCT + "temporal")
    assert objects(store, period.value, RDF + "type") == [NamedNode(DCT + "PeriodOfTime")]
    for predicate, bound in (("startDate", start), ("endDate", end)):
        expected = [] if bound is None else [Literal(bound[0], datatype=NamedNode(XSD + bound[1]))]
        assert objects(store, period.value, DCAT + predicate) == expected
    assert objects(store, study(), SCHEMA + "temporalCoverage") == [Literal(coverage)]


def test_years_stand_in_for_missing_coverage_and_placeholders_are_dropped():
    result = mapped(minimal(start_year=1998, end_year=999))
    store = graph_of(minimal(start_year=1998, end_year=999))
    (period,) = objects(store, study(), DCT + "temporal")
    assert objects(store, period.value, DCAT + "startDate") == [Literal("1998", datatype=NamedNode(XSD + "gYear"))]
    assert objects(store, period.value, DCAT + "endDate") == []
    assert any(w.field == "end_year" and "placeholder" in w.message for w in result.warnings)


def test_oddities_are_repaired_or_dropped_with_warnings():
    record = minimal(
        urls=["", "https://gladstudy.org.uk/)", "not a url"],
        country_codes=["UK", "GB", "XX"],
        age_upper=999,
        sample_size=0,
    )
    record["dataset_schema"]["image"] = "2022-11-29-174606.893925Health-Informatics-Centre-RGB.png"
    result = mapped(record)
    store = graph_of(record)
    assert objects(store, study(), DCAT + "landingPage") == [NamedNode("https://gladstudy.org.uk/")]
    assert objects(store, study(), DCT + "spatial") == [
        NamedNode("http://publications.europa.eu/resource/authority/country/GBR")
    ]
    assert objects(store, study(), SCHEMA + "image") == []
    assert objects(store, study(), f"{BASE}/vocab#maxAge") == []
    assert objects(store, study(), f"{BASE}/vocab#sampleSize") == []
    fields = [w.field for w in result.warnings]
    for field in ("url", "country_codes", "image", "age_upper", "sample_size"):
        assert field in fields, field
    assert any("'UK'" in w.message for w in result.warnings)
    assert any("empty URL" in w.message for w in result.warnings)


def test_languages_and_countries_use_eu_authorities():
    store = graph_of(minimal(language_codes=["en"], country_codes=["IE"]))
    assert objects(store, study(), DCT + "language") == [
        NamedNode("http://publications.europa.eu/resource/authority/language/ENG")
    ]
    assert objects(store, study(), SCHEMA + "inLanguage") == [Literal("en")]
    assert objects(store, study(), DCT + "spatial") == [
        NamedNode("http://publications.europa.eu/resource/authority/country/IRL")
    ]


def test_html_and_newlines_in_text_are_kept_as_found():
    text = 'Apply <br>\n<a target="_blank" href="https://x.org/">here</a> & "now"'
    store = graph_of(minimal(data_access=text))
    (access,) = objects(store, study(), DCT + "accessRights")
    assert objects(store, access.value, "http://www.w3.org/2000/01/rdf-schema#label") == [Literal(text)]


def test_organisation_lists_are_split(records):
    record = minimal()
    record["dataset_schema"]["creator"] = [{"@type": "Organization", "name": "King\u2019s College London; Birkbeck, University of London"}]
    record["dataset_schema"]["funder"] = [{"@type": "Organization", "name": "MRC AlzhSoc"}]
    store = graph_of(record)
    assert {o.value for o in objects(store, study(), DCT + "creator")} == {
        f"{BASE}/organizations/kings-college-london#id",
        f"{BASE}/organizations/birkbeck-university-of-london#id",
    }
    assert {o.value for o in objects(store, study(), SCHEMA + "funder")} == {
        f"{BASE}/organizations/medical-research-council#id",
        f"{BASE}/organizations/alzheimers-society#id",
    }
    attributions = objects(store, study(), PROV + "qualifiedAttribution")
    assert len(attributions) == 2
    for attribution in attributions:
        assert objects(store, attribution.value, DCAT + "hadRole") == [
            NamedNode("http://id.loc.gov/vocabulary/relators/fnd")
        ]


def test_variables_are_nodes_under_the_study(records):
    record = next(r for r in records if len(r["dataset_schema"].get("variableMeasured", [])) > 1)
    result = mapped(record)
    store = graph_of(record)
    variables = objects(store, study(result.slug), SCHEMA + "variableMeasured")
    assert len(variables) >= 2
    for variable in variables:
        assert variable.value.startswith(f"{BASE}/items/{result.slug}#variable-")
        assert objects(store, variable.value, SCHEMA + "name")


def test_parents_children_and_ancestors(records):
    with_ancestors = next(r for r in records if r["ancestors"])
    # Ancestors carry a name but no slug: their key is made from the name, as for any record.
    ancestor_slug = slugify(with_ancestors["ancestors"][0]["dataset_schema"]["name"])
    slug = mapped(with_ancestors).slug
    store = graph_of(with_ancestors)
    assert NamedNode(f"{BASE}/items/{ancestor_slug}#id") in objects(store, study(slug), DCT + "isPartOf")
    with_children = next(r for r in records if r.get("child_datasets"))
    slug = mapped(with_children).slug
    store = graph_of(with_children)
    children = objects(store, study(slug), DCT + "hasPart")
    assert len(children) == len(with_children["child_datasets"])
    # What this record says of another study is its rdfs:label, never that study's own title.
    assert all(objects(store, child.value, RDFS + "label") for child in children)
    assert not any(objects(store, child.value, SCHEMA + "name") for child in children)
    record = minimal()
    record["parent"] = {"dataset_schema": {"name": "The parent"}, "extra_data": {"slug": "the-parent"}}
    assert objects(graph_of(record), study(), DCT + "isPartOf") == [NamedNode(f"{BASE}/items/the-parent#id")]


def test_catalogue_and_source_nodes(records):
    record = by_slug(records, "health-communication-and-the-internet-an-analysis-of-adolescent-language-use-on-the-teenage-health-freak-website")
    store = graph_of(record)
    slug = record["extra_data"]["slug"]
    catalogue = f"{BASE}/catalogues/uk-data-service#id"
    assert objects(store, study(slug), SCHEMA + "includedInDataCatalog") == [NamedNode(catalogue)]
    assert objects(store, catalogue, DCAT + "dataset") == [NamedNode(study(slug))]
    assert objects(store, catalogue, FOAF + "homepage") == [NamedNode("https://ukdataservice.ac.uk/")]
    assert objects(store, study(slug), f"{BASE}/vocab#source") == [NamedNode(f"{BASE}/sources/ukds#id")]
    assert objects(store, f"{BASE}/sources/ukds#id", SKOS + "prefLabel") == [Literal("UK Data Service")]


@pytest.mark.parametrize(
    "record, field",
    [
        ({"dataset_schema": {"description": "no name"}, "extra_data": {}}, "name"),
        ({"dataset_schema": {"name": "!!!"}, "extra_data": {}}, "name"),
        ({"dataset_schema": {"name": "   "}, "extra_data": {"name": ""}}, "name"),
    ],
)
def test_records_that_cannot_be_mapped_are_refused(record, field):
    with pytest.raises(RecordError) as error:
        mapped(record)
    assert error.value.field == field


def test_unusable_published_slug_is_replaced_with_a_warning():
    record = minimal()
    record["extra_data"]["slug"] = "../../etc/passwd"
    result = mapped(record)
    assert result.slug == "a-study"
    assert any(w.field == "slug" for w in result.warnings)


def test_every_project_term_the_mapping_writes_is_defined(records):
    vocabulary = defined_terms(BASE)
    used = set()
    for record in records:
        for triple in pyoxigraph.parse(mapped(record).graph.ntriples(), format=pyoxigraph.RdfFormat.N_TRIPLES):
            for term in (triple.predicate, triple.object):
                if isinstance(term, NamedNode) and term.value.startswith(f"{BASE}/vocab#"):
                    used.add(term.value)
    assert used and used <= vocabulary, used - vocabulary


def test_profile_reads_each_field_once():
    names = [field.name for field in PROFILE]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[A-Za-z_]+", n) for n in names)
