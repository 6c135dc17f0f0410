"""Foreign DCAT keeps what it says: harvested distributions, contact points, dates,
themes, languages and text survive the trip into our graph, still DCAT-AP valid.

The fixtures in ``fixtures/dcat`` are written for these tests after the features seen in
ckanext-dcat's examples; ``STUDYGRAPH_CKANEXT_DCAT_EXAMPLES`` may point at a folder of
those examples themselves (not kept in this repository) for a harvest of the real thing.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections import Counter
from pathlib import Path

import pyoxigraph
import pytest
import rdflib
from conftest import BASE, run_cli
from pyoxigraph import Literal, NamedNode
from test_shapes import _shapes, _violations

from studygraph.graph.embedded import open_catalogue
from studygraph.graph.loader import Loader
from studygraph.mappings.namespaces import ADMS, DCAT, DCT, EU_LANGUAGE, FOAF, PROV, RDF, RDFS, SCHEMA, SKOS, VCARD, XSD
from studygraph.mappings.profile import MappedRecord, map_record
from studygraph.mappings.readers import read_paths
from studygraph.mappings.records import SourceRecord
from studygraph.mappings.urls import Urls
from studygraph.server.app import ServerSettings, create_app

FIXTURES = Path(__file__).parent / "fixtures" / "dcat"
EXAMPLES_VARIABLE = "STUDYGRAPH_CKANEXT_DCAT_EXAMPLES"
STAMP = "2026-11-27T10:00:00Z"
PANEL = "http://data.example.org/catalogue#household-panel"
RIVERS = "http://data.example.org/catalogue#river-levels"
SOIL = "http://geo.example.net/datasets/soil-samples"


#: The fixtures' datasets by their IRI at the source, and their (English) titles.
TITLES = {PANEL: "Household panel survey", RIVERS: "River levels", SOIL: "Soil samples of the northern hills"}


@functools.cache
def mapped_fixtures() -> dict[str, MappedRecord]:
    """Each dataset of the fixtures mapped on its own, by its IRI at the source."""
    by_title = {}
    for result in read_paths([str(FIXTURES / "catalogue.ttl"), str(FIXTURES / "dataset.rdf")], format="dcat"):
        assert isinstance(result, SourceRecord), result
        record = map_record(result.data, Urls(BASE), issued=STAMP, modified=STAMP)
        by_title[record.summary.title] = record
    return {dataset: by_title[title] for dataset, title in TITLES.items()}


def graph(dataset: str) -> tuple[pyoxigraph.Store, MappedRecord]:
    record = mapped_fixtures()[dataset]
    store = pyoxigraph.Store()
    store.load(record.graph.nquads().encode(), format=pyoxigraph.RdfFormat.N_QUADS)
    return store, record


def objects(store: pyoxigraph.Store, subject: str, predicate: str) -> list:
    return [q.object for q in store.quads_for_pattern(NamedNode(subject), NamedNode(predicate), None)]


def types(store: pyoxigraph.Store, subject: str) -> set[str]:
    return {o.value for o in objects(store, subject, RDF + "type")}


# --- distributions ----------------------------------------------------------------------


def test_distributions_keep_addresses_formats_licence_and_size():
    store, record = graph(PANEL)
    doc = record.name
    distributions = sorted(o.value for o in objects(store, doc + "#id", DCAT + "distribution"))
    # Four at the source; the one with no address at all is dropped (with a warning).
    assert distributions == [f"{doc}#distribution-{n}" for n in (1, 2, 3)]
    assert sorted(o.value for o in objects(store, doc + "#id", SCHEMA + "distribution")) == distributions
    for node in distributions:
        assert {DCAT + "Distribution", SCHEMA + "DataDownload"} <= types(store, node)
        assert objects(store, node, DCAT + "accessURL"), "DCAT-AP wants an access URL on each"

    csv, api, tables = distributions
    # Given a download URL only: reached at it.
    assert objects(store, csv, DCAT + "accessURL") == objects(store, csv, DCAT + "downloadURL") == [NamedNode("https://panel.example.org/files/panel.csv")]
    assert objects(store, csv, DCAT + "mediaType") == [NamedNode("http://www.iana.org/assignments/media-types/text/csv")]
    assert DCT + "MediaType" in types(store, "http://www.iana.org/assignments/media-types/text/csv")
    assert objects(store, csv, DCT + "format") == [NamedNode("http://publications.europa.eu/resource/authority/file-type/CSV")]
    assert DCT + "MediaTypeOrExtent" in types(store, "http://publications.europa.eu/resource/authority/file-type/CSV")
    assert objects(store, csv, DCT + "license") == [NamedNode("https://creativecommons.org/licenses/by/4.0/")]
    assert DCT + "LicenseDocument" in types(store, "https://creativecommons.org/licenses/by/4.0/")
    # The size as schema:contentSize: the store cannot keep dcat:byteSize's xsd:nonNegativeInteger.
    assert objects(store, csv, SCHEMA + "contentSize") == [Literal("52000")]
    assert objects(store, csv, DCT + "issued") == [Literal("2019-03-05", datatype=NamedNode(XSD + "date"))]
    assert objects(store, csv, DCT + "identifier") == [Literal("http://data.example.org/catalogue#panel-csv")]
    assert {(t.value, t.language) for t in objects(store, csv, DCT + "title")} == {("Panel data (CSV)", "en"), ("Data'r panel (CSV)", "cy")}

    # Given an access URL only (an API): no download URL is made up.
    assert objects(store, api, DCAT + "accessURL") == [NamedNode("https://api.panel.example.org/v1/")]
    assert objects(store, api, DCAT + "downloadURL") == []
    assert objects(store, api, DCAT + "mediaType") == [NamedNode("http://www.iana.org/assignments/media-types/application/json")]
    [words] = objects(store, api, DCT + "format")
    assert words.value == f"{doc}#distribution-2-format", "a format named in words is a node of the document"
    assert objects(store, words.value, RDFS + "label") == [Literal("JSON API")]
    assert DCT + "MediaTypeOrExtent" in types(store, words.value)
    assert objects(store, api, DCT + "description") == [Literal("Query the panel by wave.")]

    # An xsd:anyURI literal is an address; a dct:IMT node's rdf:value is its media type.
    assert objects(store, tables, DCAT + "accessURL") == [NamedNode("https://panel.example.org/tables")]
    assert objects(store, tables, DCT + "format") == [NamedNode("http://www.iana.org/assignments/media-types/text/csv")]
    assert any(w.field == "distributions" and "panel-nowhere" in w.message and "no usable access or download URL" in w.message for w in record.warnings)


def test_rdf_xml_distributions_from_literals():
    store, record = graph(SOIL)
    doc = record.name
    spreadsheet, site = (f"{doc}#distribution-{n}" for n in (1, 2))
    assert objects(store, spreadsheet, DCAT + "downloadURL") == [NamedNode("http://geo.example.net/soil/samples.csv")]
    assert objects(store, spreadsheet, DCAT + "mediaType") == [NamedNode("http://www.iana.org/assignments/media-types/text/csv")]
    assert objects(store, spreadsheet, SCHEMA + "contentSize") == [Literal("12323")]
    assert objects(store, site, DCAT + "accessURL") == [NamedNode("http://geo.example.net/soil/site")]
    [html] = objects(store, site, DCT + "format")
    assert objects(store, html.value, RDFS + "label") == [Literal("HTML")]


# --- contact points ---------------------------------------------------------------------


def test_contact_points_are_vcard_and_schema_org_nodes_of_the_document():
    store, record = graph(PANEL)
    doc = record.name
    contacts = sorted(o.value for o in objects(store, doc + "#id", DCAT + "contactPoint"))
    assert contacts == [f"{doc}#contact-1", f"{doc}#contact-2"]
    team, person = contacts
    for node in contacts:
        assert {VCARD + "Kind", SCHEMA + "ContactPoint"} <= types(store, node)
    assert {(t.value, t.language) for t in objects(store, team, VCARD + "fn")} == {("Panel team", "en"), ("Tîm y panel", "cy")}
    assert objects(store, team, VCARD + "hasEmail") == [NamedNode("mailto:panel@example.org")]
    assert objects(store, team, SCHEMA + "email") == [Literal("panel@example.org")]
    assert objects(store, team, VCARD + "hasURL") == [NamedNode("https://panel.example.org/contact")]
    # An address given as text becomes a mailto: IRI all the same.
    assert objects(store, person, VCARD + "hasEmail") == [NamedNode("mailto:another@example.org")]
    assert objects(store, person, VCARD + "fn") == [Literal("Dr A. N. Other")]


# --- dates, landing pages, languages, themes, text ---------------------------------------


def test_the_sources_dates_are_the_datasets_and_ours_the_catalogue_records():
    store, record = graph(PANEL)
    study, doc = record.name + "#id", record.name
    assert objects(store, study, DCT + "issued") == [Literal("2019-03-04", datatype=NamedNode(XSD + "date"))]
    assert objects(store, study, DCT + "modified") == [Literal("2021-11-30T08:15:00Z", datatype=NamedNode(XSD + "dateTime"))]
    assert objects(store, study, SCHEMA + "datePublished") == objects(store, study, DCT + "issued")
    # The catalogue record (the document) has our dates, not the source's record's.
    assert objects(store, doc, DCT + "issued") == objects(store, doc, DCT + "modified") == [Literal(STAMP, datatype=NamedNode(XSD + "dateTime"))]

    soil, soil_record = graph(SOIL)
    # A datetime without seconds gets them (xsd:dateTime requires them).
    assert objects(soil, soil_record.name + "#id", DCT + "modified") == [Literal("2012-05-10T21:04:00", datatype=NamedNode(XSD + "dateTime"))]
    rivers, rivers_record = graph(RIVERS)
    assert objects(rivers, rivers_record.name + "#id", DCT + "issued") == [Literal("2015", datatype=NamedNode(XSD + "gYear"))]


def test_landing_pages_given_as_text_become_iris():
    store, record = graph(PANEL)
    assert objects(store, record.name + "#id", DCAT + "landingPage") == [NamedNode("https://panel.example.org/about")]
    assert FOAF + "Document" in types(store, "https://panel.example.org/about")
    rivers, rivers_record = graph(RIVERS)
    assert objects(rivers, rivers_record.name + "#id", DCAT + "landingPage") == []
    assert any(w.field == "url" and "not a web address" in w.message for w in rivers_record.warnings)


@pytest.mark.parametrize("dataset, expected", [
    (PANEL, {"ENG", "CYM"}),  # "en" and "Welsh"
    (RIVERS, {"ENG"}),  # "eng"
    (SOIL, {"ENG"}),  # "English"
])
def test_language_literals_become_eu_authority_iris(dataset, expected):
    store, record = graph(dataset)
    assert {o.value for o in objects(store, record.name + "#id", DCT + "language")} == {EU_LANGUAGE + code for code in expected}


def test_themes_stay_themes():
    store, record = graph(PANEL)
    study = record.name + "#id"
    themes = {o.value for o in objects(store, study, DCAT + "theme")}
    soci, eurovoc = "http://publications.europa.eu/resource/authority/data-theme/SOCI", "http://eurovoc.europa.eu/2825"
    assert {soci, eurovoc} <= themes
    assert {o.value for o in objects(store, study, SCHEMA + "about")} == {soci, eurovoc}
    assert objects(store, soci, SKOS + "prefLabel") == [Literal("Population and society", language="en")]
    assert SKOS + "Concept" in types(store, eurovoc) and objects(store, eurovoc, SKOS + "prefLabel")
    keywords = {o.value for o in objects(store, study, DCAT + "keyword")}
    assert keywords == {"households", "panel"}, "themes are not made keywords"

    soil, soil_record = graph(SOIL)
    soil_themes = {o.value for o in objects(soil, soil_record.name + "#id", DCAT + "theme")}
    assert "http://eurovoc.europa.eu/100142" in soil_themes
    # A theme given only in words is a keyword.
    assert f"{BASE}/keywords/earth-sciences#id" in soil_themes


def test_titles_and_descriptions_keep_every_language_and_untagged_text_stays_untagged():
    store, record = graph(PANEL)
    study = record.name + "#id"
    titles = {(t.value, t.language) for t in objects(store, study, DCT + "title")}
    assert titles == {("Household panel survey", "en"), ("Arolwg panel aelwydydd", "cy"), ("Haushaltspanel", "de")}
    assert {(t.value, t.language) for t in objects(store, study, SCHEMA + "name")} == titles
    assert len(objects(store, study, DCT + "description")) == 2
    assert record.summary.title == "Household panel survey"

    rivers, rivers_record = graph(RIVERS)
    assert objects(rivers, rivers_record.name + "#id", DCT + "title") == [Literal("River levels")]
    assert objects(rivers, rivers_record.name + "#id", DCT + "title")[0].language is None


def test_published_text_is_kept_exactly():
    store, record = graph(PANEL)
    [publisher] = objects(store, record.name + "#id", DCT + "publisher")
    assert publisher.value == f"{BASE}/organizations/office-for-survey-methods-data-services#id"
    assert objects(store, publisher.value, FOAF + "name") == [Literal("Office for Survey Methods \u2013 Data Services")]
    soil, soil_record = graph(SOIL)
    [creator] = objects(soil, soil_record.name + "#id", DCT + "creator")
    assert objects(soil, creator.value, FOAF + "name") == [Literal("Geological Survey \u2013 Northern Office")]
    french = [t.value for t in objects(soil, soil_record.name + "#id", DCT + "description") if t.language == "fr"]
    assert french == ["Échantillons de sol prélevés sur une grille d\u2019un kilomètre."]


def test_unmapped_properties_are_one_warning_each_naming_dataset_and_property():
    _, record = graph(PANEL)
    dropped = {w.field: w.message for w in record.warnings if "not mapped" in w.message}
    assert set(dropped) == {
        "dct:accrualPeriodicity",
        "owl:versionInfo",
        "dct:publisher/foaf:mbox",
        "dcat:contactPoint/vcard:hasTelephone",
        "dcat:distribution/<http://spdx.org/rdf/terms#checksum>",
    }
    assert all(f"dataset <{PANEL}>" in message for message in dropped.values())
    assert len([w for w in record.warnings if "not mapped" in w.message]) == len(dropped)
    _, soil = graph(SOIL)
    assert [w for w in soil.warnings if "not mapped" in w.message] == []


def test_the_loader_prints_them_with_file_and_dataset(tmp_path):
    result = run_cli("load", str(FIXTURES / "catalogue.ttl"), "--format", "dcat", "--dry-run", "--store", str(tmp_path / "store"))
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    line = next(l for l in stderr.splitlines() if "owl:versionInfo" in l)
    assert line.startswith("warning: ") and "catalogue.ttl" in line and f"dataset <{PANEL}>" in line


@pytest.mark.parametrize("dataset", [PANEL, RIVERS, SOIL])
def test_foreign_dcat_maps_without_dcat_ap_violations(dataset):
    data = rdflib.Graph().parse(data=mapped_fixtures()[dataset].graph.ntriples(), format="nt")
    assert _violations(data, _shapes("shapes.ttl", "range.ttl")) == []


# --- the page ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def soil_page(tmp_path_factory):
    """The RDF/XML fixture loaded into a store, served by the app in process."""
    store = open_catalogue(tmp_path_factory.mktemp("foreign") / "store")
    store.set_base_url(BASE)
    slugs = []
    Loader(store, Urls(BASE)).load(read_paths([str(FIXTURES / "dataset.rdf")], format="dcat"), lambda event: slugs.append(event.slug))
    client = create_app(store, ServerSettings(base_url=BASE)).test_client()
    yield client, f"/items/{slugs[0]}"
    store.close()


def test_the_page_shows_distributions_and_contact_points(soil_page):
    client, path = soil_page
    page = client.get(path, headers={"Accept": "text/html", "Accept-Language": "en"}).data.decode()
    distributions = page[page.index('<section class="distributions">'):]
    assert "Distributions (2)" in distributions
    assert "Samples as a spreadsheet" in distributions and "text/csv" in distributions and "12,323 bytes" in distributions
    assert '<a href="http://geo.example.net/soil/samples.csv" rel="nofollow">Download</a>' in distributions
    assert '<a href="http://geo.example.net/soil/site" rel="nofollow">Access</a>' in distributions
    assert "<td>HTML</td>" in distributions
    assert 'Soil desk <a href="mailto:soil@geo.example.net">soil@geo.example.net</a>' in page
    assert '<a href="http://eurovoc.europa.eu/100142">' in page, "the theme links to its IRI"
    assert "<dt>Published by the source</dt><dd>2012-05-10</dd>" in page


def test_the_page_speaks_the_readers_language_and_the_rdf_keeps_every_one(soil_page):
    client, path = soil_page
    french = client.get(path, headers={"Accept": "text/html", "Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    english = client.get(path, headers={"Accept": "text/html", "Accept-Language": "en-GB,en;q=0.8"})
    assert '<h1 lang="fr">Échantillons de sol des collines du nord</h1>' in french.data.decode()
    assert "grille d\u2019un kilomètre" in french.data.decode()
    assert '<h1 lang="en">Soil samples of the northern hills</h1>' in english.data.decode()
    for response in (french, english):
        assert "Accept-Language" in response.headers["Vary"]
    assert french.headers["ETag"] != english.headers["ETag"], "one cached variant per language"
    again = client.get(path, headers={"Accept": "text/html", "Accept-Language": "fr"})
    assert again.headers["ETag"] == french.headers["ETag"] and again.headers["X-Cache"] == "HIT"
    # No language asked for, or none offered: one of the published titles all the same.
    plain = client.get(path, headers={"Accept": "text/html", "Accept-Language": "de"}).data.decode()
    assert "<h1>Soil samples of the northern hills</h1>" in plain or "<h1>Échantillons de sol des collines du nord</h1>" in plain
    turtle = client.get(path, headers={"Accept": "text/turtle"})
    assert "Accept-Language" not in turtle.headers["Vary"]
    titles = {
        (q.object.value, q.object.language)
        for q in pyoxigraph.parse(turtle.data, format=pyoxigraph.RdfFormat.TURTLE)
        if q.predicate.value == DCT + "title" and q.subject.value.endswith("#id")
    }
    assert titles == {("Soil samples of the northern hills", "en"), ("Échantillons de sol des collines du nord", "fr")}


def test_the_served_study_validates_too(soil_page):
    """What the store gives back (it normalises some literals) still passes DCAT-AP."""
    client, path = soil_page
    served = rdflib.Graph().parse(data=client.get(path, headers={"Accept": "text/turtle"}).data, format="turtle")
    assert (None, rdflib.URIRef(DCAT + "distribution"), None) in served
    assert _violations(served, _shapes("shapes.ttl", "range.ttl")) == []


# --- harvesting over HTTP ---------------------------------------------------------------


@pytest.fixture
def served():
    """Serve a folder on loopback: a static catalogue, as another site publishes one."""
    servers = []

    def serve(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def expected_parts(path: Path, base_iri: str) -> dict[str, tuple[int, int]] | None:
    """(distributions with an address, contact points saying anything) of each dataset
    with an IRI, counted in the source itself; None if the file is not RDF we parse."""
    from studygraph.mappings.readers.dcat import sniff_syntax

    data = path.read_bytes()
    syntax = sniff_syntax(data[:4096])
    source = pyoxigraph.Store()
    try:
        source.load(data, format=syntax, base_iri=base_iri)
    except (SyntaxError, ValueError, TypeError):
        return None
    counts = {}
    query = """
        SELECT ?d (COUNT(DISTINCT ?x) AS ?n) WHERE {{
          ?d a ?type FILTER(?type IN (<{dcat}Dataset>, <https://schema.org/Dataset>, <http://schema.org/Dataset>)) FILTER(isIRI(?d))
          OPTIONAL {{ ?d {path} ?x . ?x {has} ?v }}
        }} GROUP BY ?d"""
    for name, path_, has in (
        ("distributions", f"<{DCAT}distribution>", f"<{DCAT}accessURL>|<{DCAT}downloadURL>"),
        ("contacts", f"<{DCAT}contactPoint>|<{ADMS}contactPoint>", f"<{VCARD}fn>|<{VCARD}hasEmail>|<{VCARD}hasURL>"),
    ):
        for row in source.query(query.format(dcat=DCAT, path=path_, has=has)):
            counts.setdefault(row["d"].value, {})[name] = int(row["n"].value)
    return {dataset: (c.get("distributions", 0), c.get("contacts", 0)) for dataset, c in counts.items()}


def stored_parts(store_dir: Path) -> dict[str, tuple[int, int]]:
    """(distributions, contact points) of each stored record, by its IRI at the source."""
    store = open_catalogue(store_dir, read_only=True)
    try:
        parts = {}
        for quad in store.quads._store.quads_for_pattern(None, NamedNode(PROV + "wasDerivedFrom"), None):
            graph = quad.graph_name
            count = Counter(q.object.value for q in store.quads._store.quads_for_pattern(None, NamedNode(RDF + "type"), None, graph))
            parts[quad.object.value] = (count[DCAT + "Distribution"], count[VCARD + "Kind"])
        return parts
    finally:
        store.close()


def harvest_folder(folder: Path, base: str, tmp_path: Path) -> dict[str, object]:
    """Harvest every file of *folder* into a store of its own; check each stored record
    against its source; return the totals and the warnings."""
    totals: Counter = Counter()
    warnings: list[str] = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        url = f"{base}/{path.name}"
        expected = expected_parts(path, url)
        store_dir = tmp_path / path.name
        result = run_cli("harvest", url, "--store", str(store_dir), "--base-url", "http://harvester.example")
        stderr = result.stderr.decode()
        if expected is None:
            assert result.returncode == 1 and "does not parse" in stderr, stderr
            totals["unparsable files"] += 1
            continue
        assert result.returncode == 0, stderr
        stored = stored_parts(store_dir)
        assert stored, f"nothing stored from {path.name}"
        for dataset, parts in stored.items():
            assert parts == expected[dataset], f"{path.name}: {dataset}: stored {parts}, source {expected[dataset]}"
            totals["datasets"] += 1
            totals["distributions"] += parts[0]
            totals["contact points"] += parts[1]
        warnings += [line for line in stderr.splitlines() if line.startswith("warning:")]
    return {"totals": totals, "warnings": warnings}


def test_harvest_of_the_fixtures_over_http(served, tmp_path):
    outcome = harvest_folder(FIXTURES, served(FIXTURES), tmp_path)
    totals = outcome["totals"]
    assert totals["datasets"] >= 2 and totals["distributions"] >= 3 and totals["contact points"] >= 1
    assert any("dataset <" in line and "not mapped" in line for line in outcome["warnings"])


@pytest.mark.skipif(not os.environ.get(EXAMPLES_VARIABLE), reason=f"{EXAMPLES_VARIABLE} does not name a folder of ckanext-dcat's examples/dcat files")
def test_harvest_of_ckanext_dcats_examples_over_http(served, tmp_path):
    folder = Path(os.environ[EXAMPLES_VARIABLE])
    outcome = harvest_folder(folder, served(folder), tmp_path)
    totals = outcome["totals"]
    unmapped = [line for line in outcome["warnings"] if "not mapped" in line]
    print(f"\nckanext-dcat examples: {dict(totals)}; {len(outcome['warnings'])} warnings, {len(unmapped)} of them unmapped properties")
    assert totals["datasets"] > 0 and totals["distributions"] > 0 and totals["contact points"] > 0
    assert all("dataset <" in line for line in unmapped)
