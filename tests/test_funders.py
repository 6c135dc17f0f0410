"""The funder authority table and the splitting of agent names, on every real value."""

from __future__ import annotations

import re

import pyoxigraph
import pytest
from conftest import BASE, RECORDS, real_records
from pyoxigraph import Literal, NamedNode
from test_mapping import graph_of, mapped

from studygraph.mappings import funders
from studygraph.mappings.keys import clean_text, organisation_names, slugify
from studygraph.mappings.namespaces import FOAF, OWL, SCHEMA
from studygraph.mappings.readers import read_paths

AGENT_FIELDS = ("sponsor", "funder", "publisher", "creator", "copyrightHolder")

#: Every funder string of the real records, and the organisations it names.
REAL_FUNDERS = {
    "ADRUK HDRUK MRC NIHR_GOSH": [
        "Administrative Data Research UK",
        "Health Data Research UK",
        "Medical Research Council",
        "NIHR Great Ormond Street Hospital Biomedical Research Centre",
    ],
    "BLF": ["National Lottery Community Fund"],
    "DoHSC MRC": ["Department of Health and Social Care", "Medical Research Council"],
    "DoHSC NHSdigital": ["Department of Health and Social Care", "NHS Digital"],
    "ESRC HECFW": ["Economic and Social Research Council", "HECFW"],
    "HOUK DfE DoHSC Rayne SRFound BCTrust": [
        "Home Office",
        "Department for Education",
        "Department of Health and Social Care",
        "Rayne Foundation",
        "Smith Richardson Foundation",
        "Barrow Cadbury Trust",
    ],
    "HOUK Imperial_BRC MRC": ["Home Office", "NIHR Imperial Biomedical Research Centre", "Medical Research Council"],
    "MRC": ["Medical Research Council"],
    "MRC AlzhSoc": ["Medical Research Council", "Alzheimer's Society"],
    "MRC SFARI AuSpeaks Autistica EUCom IMI Horizon": [
        "Medical Research Council",
        "Simons Foundation Autism Research Initiative",
        "Autism Speaks",
        "Autistica",
        "European Commission",
        "Innovative Medicines Initiative",
        "Horizon 2020",
    ],
    "NIHR": ["National Institute for Health and Care Research"],
    "Scot Nuffield ESRC": ["Scottish Government", "Nuffield Foundation", "Economic and Social Research Council"],
    "SirJules ESRC MRC": ["Sir Jules Thorn Charitable Trust", "Economic and Social Research Council", "Medical Research Council"],
    "UKRI ESRC": ["UK Research and Innovation", "Economic and Social Research Council"],
}
#: Real sponsor, publisher and creator names the table renames (every other one is kept).
REAL_VARIANTS = {
    "Bill and Melinda Gates Foundation": ["Bill & Melinda Gates Foundation"],
    "National Health Service (NHS)": ["National Health Service"],
}
#: The ROR identifiers the table gives, by organisation.
ROR_BY_NAME = {
    "Economic and Social Research Council": "https://ror.org/03n0ht308",
    "Medical Research Council": "https://ror.org/03x94j517",
    "National Institute for Health and Care Research": "https://ror.org/0187kwz08",
    "UK Research and Innovation": "https://ror.org/001aqnf71",
    "Health Data Research UK": "https://ror.org/04rtjaj74",
    "Wellcome Trust": "https://ror.org/029chgv08",
    "Biotechnology and Biological Sciences Research Council": "https://ror.org/00cwqg982",
    "Engineering and Physical Sciences Research Council": "https://ror.org/0439y7842",
    "Arts and Humanities Research Council": "https://ror.org/0505m1554",
    "European Commission": "https://ror.org/00k4n6c32",
    "Bill & Melinda Gates Foundation": "https://ror.org/0456r8d26",
}


def all_real_records() -> list[dict]:
    """The 42 records of the JSON Lines files and the study of the seed page."""
    seed = [result.data for result in read_paths([str(RECORDS / "seed-page.txt")])]
    assert len(seed) == 1
    return real_records() + seed


def agent_names(records: list[dict]) -> dict[str, set[str]]:
    """Every distinct agent name of *records*, by field."""
    found: dict[str, set[str]] = {field: set() for field in AGENT_FIELDS}
    for record in records:
        for field in AGENT_FIELDS:
            for agent in record["dataset_schema"].get(field) or []:
                found[field].add(agent["name"])
    return found


def organisation(name: str) -> str:
    return f"{BASE}/organizations/{slugify(name)}#id"


def objects(store: pyoxigraph.Store, subject: str, predicate: str) -> set:
    return {q.object for q in store.quads_for_pattern(NamedNode(subject), NamedNode(predicate), None)}


def by_funder(records: list[dict], funder: str) -> dict:
    return next(r for r in records if [f["name"] for f in r["dataset_schema"].get("funder") or []] == [funder])


# ------------------------------------------------------------------ the real values


def test_the_expected_funder_strings_are_all_the_real_ones():
    assert agent_names(all_real_records())["funder"] == set(REAL_FUNDERS)


@pytest.mark.parametrize("funder", sorted(REAL_FUNDERS))
def test_every_real_funder_string_names_its_organisations(funder):
    named = organisation_names(funder)
    assert list(named.names) == REAL_FUNDERS[funder]
    assert named.unknown == (("HECFW",) if funder == "ESRC HECFW" else ())


def test_every_other_real_agent_name_is_kept_except_known_variants():
    """Sponsors, publishers, creators, rights holders: split at ';' and '<br>' only."""
    changed = {}
    names = agent_names(all_real_records())
    for field in ("sponsor", "publisher", "creator", "copyrightHolder"):
        for name in names[field]:
            parts = [clean_text(p) for p in re.split(r";|<br\s*/?>", name) if clean_text(p)]
            named = organisation_names(name)
            assert named.unknown == ()
            if list(named.names) != parts:
                changed[name] = list(named.names)
    assert changed == REAL_VARIANTS


def test_real_funder_nodes_have_full_names_and_ror_links(records):
    record = by_funder(records, "ADRUK HDRUK MRC NIHR_GOSH")
    result = mapped(record)
    store = graph_of(record)
    names = REAL_FUNDERS["ADRUK HDRUK MRC NIHR_GOSH"]
    assert objects(store, f"{BASE}/items/{result.slug}#id", SCHEMA + "funder") == {NamedNode(organisation(n)) for n in names}
    assert organisation(names[0]) == f"{BASE}/organizations/administrative-data-research-uk#id"
    for name in names:
        assert objects(store, organisation(name), FOAF + "name") == {Literal(name)}
        assert objects(store, organisation(name), SCHEMA + "name") == {Literal(name)}
        ror = {NamedNode(ROR_BY_NAME[name])} if name in ROR_BY_NAME else set()
        assert objects(store, organisation(name), OWL + "sameAs") == ror
        assert objects(store, organisation(name), SCHEMA + "sameAs") == ror
    assert [w for w in result.warnings if w.field == "funder"] == []


def test_an_unknown_code_is_kept_and_reported(records):
    record = by_funder(records, "ESRC HECFW")
    result = mapped(record)
    reports = [w for w in result.warnings if w.field == "funder"]
    assert len(reports) == 1 and "'HECFW'" in reports[0].message and "'ESRC HECFW'" in reports[0].message
    store = graph_of(record)
    study = f"{BASE}/items/{result.slug}#id"
    assert objects(store, study, SCHEMA + "funder") == {
        NamedNode(f"{BASE}/organizations/economic-and-social-research-council#id"),
        NamedNode(f"{BASE}/organizations/hecfw#id"),
    }
    assert objects(store, organisation("HECFW"), FOAF + "name") == {Literal("HECFW")}
    assert objects(store, organisation("HECFW"), OWL + "sameAs") == set()


def test_acronym_and_full_name_are_one_node_linked_to_ror():
    record = {
        "dataset_schema": {
            "name": "A study",
            "description": "About it.",
            "sponsor": [{"@type": "Organization", "name": "Economic and Social Research Council"}],
            "funder": [{"@type": "Organization", "name": "ESRC"}, {"@type": "Organization", "name": "Bill and Melinda Gates Foundation"}],
        },
        "extra_data": {"slug": "a-study"},
    }
    store = graph_of(record)
    study = f"{BASE}/items/a-study#id"
    esrc = NamedNode(f"{BASE}/organizations/economic-and-social-research-council#id")
    gates = NamedNode(f"{BASE}/organizations/bill-and-melinda-gates-foundation#id")
    assert objects(store, study, SCHEMA + "sponsor") == {esrc}
    assert objects(store, study, SCHEMA + "funder") == {esrc, gates}
    for node, ror in ((esrc, "https://ror.org/03n0ht308"), (gates, "https://ror.org/0456r8d26")):
        assert objects(store, node.value, OWL + "sameAs") == {NamedNode(ror)}
        assert objects(store, node.value, SCHEMA + "sameAs") == {NamedNode(ror)}


# ---------------------------------------------------------- names that stay whole


@pytest.mark.parametrize(
    "name",
    [
        "University of Bristol",
        "UNIVERSITY OF BRISTOL",
        "Wellcome Trust Sanger Institute",
        "MRC Harwell",
        "MRC UNIT FOR LIFELONG HEALTH",
        "NHS England",
        "UK LLC",
        "ESRC Centre",
        "Horizon Europe",
        "SirJulesX HECFW",  # codes, but none the table knows: one name, nothing to report
    ],
)
def test_names_that_are_not_funder_lists_stay_whole(name):
    named = organisation_names(name)
    assert named.names == (name,) and named.unknown == ()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ADR UK", ["Administrative Data Research UK"]),
        ("HDR UK MRC", ["Health Data Research UK", "Medical Research Council"]),
        ("Wellcome Trust", ["Wellcome Trust"]),
        ("esrc", ["Economic and Social Research Council"]),
        ("MRC; ESRC", ["Medical Research Council", "Economic and Social Research Council"]),
    ],
)
def test_spellings_of_the_table_and_multi_word_codes(name, expected):
    named = organisation_names(name)
    assert list(named.names) == expected and named.unknown == ()


def test_people_are_not_given_an_organisations_ror():
    record = {
        "dataset_schema": {"name": "A study", "description": "About it.", "creator": [{"@type": "Person", "name": "Wellcome"}]},
        "extra_data": {"slug": "a-study"},
    }
    store = graph_of(record)
    person = organisation("Wellcome Trust")
    assert NamedNode(FOAF + "Person") in objects(store, person, "http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    assert objects(store, person, OWL + "sameAs") == set()


# ------------------------------------------------------------------------ the table


def test_the_table_is_well_formed():
    table = funders.table()
    assert len(table) == 34
    assert {f.name: f.ror for f in table if f.ror} == ROR_BY_NAME
    for funder in table:
        assert funders.lookup(funder.name) is funder
        assert all(funders.lookup(variant) is funder for variant in funder.variants)
        if funder.ror:
            assert funders.is_ror_id(funder.ror.removeprefix("https://ror.org/"))


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("name,ror,variants\nMedical Research Council,03x94j518,MRC\n", "malformed ROR identifier '03x94j518'"),
        ("name,ror,variants\nMedical Research Council,3x94j517,MRC\n", "malformed ROR identifier"),
        ("name,ror,variants\nA,,X\nB,,x\n", "'x' names both 'A' and 'B'"),
    ],
)
def test_a_broken_table_is_refused(text, error):
    with pytest.raises(ValueError, match=re.escape(error)):
        funders.parse_table(text)


def test_comments_and_variants_are_read():
    (funder,) = funders.parse_table("# a comment\nname,ror,variants\n# another\nMedical Research Council,03x94j517, MRC | Med Res Council \n")
    assert funder == funders.Funder("Medical Research Council", "https://ror.org/03x94j517", ("MRC", "Med Res Council"))
