"""The linked-data server: negotiation, validators, profiles, representations, pages."""

from __future__ import annotations

import json
import re

import pyoxigraph
import pytest
import rdflib
from conftest import BASE, RECORDS, real_records, run_cli

from studygraph.graph.embedded import open_catalogue
from studygraph.server.app import ServerSettings, create_app
from studygraph.server.representations import context
from studygraph.server.views import GOOGLE_LAST_RESORT

SEED = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
MEDIA = {
    "html": "text/html",
    "jsonld": "application/ld+json",
    "ttl": "text/turtle",
    "rdf": "application/rdf+xml",
    "nt": "application/n-triples",
    "nq": "application/n-quads",
    "trig": "application/trig",
}
PARSE = {
    "jsonld": pyoxigraph.RdfFormat.JSON_LD,
    "ttl": pyoxigraph.RdfFormat.TURTLE,
    "rdf": pyoxigraph.RdfFormat.RDF_XML,
    "nt": pyoxigraph.RdfFormat.N_TRIPLES,
    "nq": pyoxigraph.RdfFormat.N_QUADS,
    "trig": pyoxigraph.RdfFormat.TRIG,
}
#: One document of each kind.
DOCUMENTS = [
    f"/items/{SEED}",
    "/organizations/economic-and-social-research-council",
    "/catalogues/uk-data-service",
    "/keywords/mental-health",
    "/sources/ukds",
    "/study-designs/cohort",
    "/countries/gbr",
    "/vocab",
    "/catalog",
]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    directory = tmp_path_factory.mktemp("server") / "store"
    result = run_cli("load", str(RECORDS), "--store", str(directory), "--base-url", BASE, "-q")
    assert result.returncode == 0, result.stderr
    opened = open_catalogue(directory)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def client(store):
    app = create_app(store, ServerSettings(base_url=BASE))
    return app.test_client()


def inline_context(body: bytes) -> bytes:
    """JSON-LD with its context URL replaced by the context served at that URL (offline)."""
    document = json.loads(body)
    if document.get("@context") == f"{BASE}/context.jsonld":
        document["@context"] = context(BASE)["@context"]
    return json.dumps(document).encode()


def parse(body: bytes, fmt: str) -> set:
    """The triples of a response body (graph names dropped)."""
    if fmt == "jsonld":
        body = inline_context(body)
    return {(q.subject, q.predicate, q.object) for q in pyoxigraph.parse(body, format=PARSE[fmt], base_iri=BASE)}


@pytest.mark.parametrize("path", DOCUMENTS)
@pytest.mark.parametrize("fmt", list(MEDIA))
def test_every_document_answers_every_format_three_ways(client, path, fmt):
    by_accept = client.get(path, headers={"Accept": MEDIA[fmt]})
    by_suffix = client.get(f"{path}.{fmt}")
    by_param = client.get(f"{path}?format={fmt}")
    for response in (by_accept, by_suffix, by_param):
        assert response.status_code == 200, (path, fmt, response.data[:200])
        assert response.mimetype == MEDIA[fmt]
        assert response.headers["Content-Location"] == f"{path}.{fmt}"
        assert "Accept" in response.headers["Vary"]
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert 'rel="alternate"' in response.headers["Link"]
    assert by_accept.data == by_suffix.data == by_param.data
    if fmt != "html":
        assert len(parse(by_accept.data, fmt)) > 2


@pytest.mark.parametrize("path", DOCUMENTS)
def test_every_rdf_format_gives_the_same_graph(client, path):
    graphs = {fmt: parse(client.get(f"{path}.{fmt}").data, fmt) for fmt in PARSE}
    reference = graphs.pop("nt")
    for fmt, graph in graphs.items():
        assert graph == reference, fmt


def test_rdflib_reads_the_turtle_and_jsonld_too(client):
    for fmt, name in (("ttl", "turtle"), ("jsonld", "json-ld"), ("rdf", "xml")):
        body = client.get(f"/items/{SEED}.{fmt}").data
        graph = rdflib.Graph().parse(data=inline_context(body) if fmt == "jsonld" else body, format=name)
        assert (rdflib.URIRef(f"{BASE}/items/{SEED}#id"), rdflib.RDF.type, rdflib.URIRef("http://www.w3.org/ns/dcat#Dataset")) in graph


def test_the_item_document_is_its_record_graph_with_linked_descriptions(client, store):
    served = parse(client.get(f"/items/{SEED}.nt").data, "nt")
    own = {(t.subject, t.predicate, t.object) for t in store.graph_triples(f"{BASE}/items/{SEED}")}
    assert own < served
    assert served == {(t.subject, t.predicate, t.object) for t in store.document_triples(f"{BASE}/items/{SEED}")}
    labels = {o.value for s, p, o in served if p.value == "http://xmlns.com/foaf/0.1/name"}
    assert "Economic and Social Research Council" in labels


@pytest.mark.parametrize("path", [*DOCUMENTS, "/items", "/items?keyword=mental-health", "/.well-known/void", "/changes"])
@pytest.mark.parametrize("fmt", ["nq", "trig"])
def test_a_document_in_a_quad_format_keeps_its_triples_in_the_default_graph(client, path, fmt):
    """Comunica reads a document's N-Quads into a dataset and queries its default graph."""
    response = client.get(path, headers={"Accept": MEDIA[fmt]})
    assert response.status_code == 200 and response.mimetype == MEDIA[fmt]
    quads = list(pyoxigraph.parse(response.data, format=PARSE[fmt], base_iri=BASE))
    assert len(quads) > 2
    assert {q.graph_name for q in quads} == {pyoxigraph.DefaultGraph()}


@pytest.mark.parametrize("accept, fmt", [
    ("application/x-trig", "trig"), ("text/x-nquads", "nq"), ("text/n3", "ttl"), ("text/rdf+n3", "ttl"), ("application/x-turtle", "ttl"),
])
@pytest.mark.parametrize("path", [f"/items/{SEED}", "/keywords/mental-health", "/vocab"])
def test_legacy_media_types_are_answered_under_the_name_asked_for(client, path, accept, fmt):
    response = client.get(path, headers={"Accept": accept})
    assert response.status_code == 200 and response.mimetype == accept
    assert parse(response.data, fmt) == parse(client.get(f"{path}.nt").data, "nt")
    # Its own validator: a cache must not revalidate the text/turtle answer for a text/n3 client.
    canonical = client.get(path, headers={"Accept": MEDIA[fmt]})
    assert response.data == canonical.data and response.headers["ETag"] != canonical.headers["ETag"]
    assert client.get(path, headers={"Accept": accept, "If-None-Match": canonical.headers["ETag"]}).status_code == 200
    assert client.get(path, headers={"Accept": accept, "If-None-Match": response.headers["ETag"]}).status_code == 304


def test_a_format_s_own_media_type_wins_a_tie_with_its_legacy_names(client):
    """SPARQLWrapper's N3 list names text/turtle beside text/n3: the standard name answers."""
    response = client.get(f"/items/{SEED}", headers={"Accept": "text/rdf+n3, text/n3, text/turtle"})
    assert response.mimetype == "text/turtle"
    assert client.get(f"/items/{SEED}?format=n3").mimetype == "text/n3"
    assert client.get(f"/items/{SEED}?format=rdf%2Bxml").mimetype == "application/rdf+xml"


@pytest.mark.parametrize(
    "accept, expected",
    [
        (None, "text/html"),
        ("", "text/html"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("*/*", "text/html"),
        ("text/turtle;q=0.9, application/ld+json", "application/ld+json"),
        ("application/ld+json;q=0.5, text/turtle;q=0.9", "text/turtle"),
        ("application/*", "application/ld+json"),
        ("application/json", "application/ld+json"),
        ("text/*;q=0.1, application/rdf+xml", "application/rdf+xml"),
    ],
)
def test_accept_with_q_values_and_wildcards(client, accept, expected):
    headers = {} if accept is None else {"Accept": accept}
    response = client.get(f"/items/{SEED}", headers=headers)
    assert response.status_code == 200
    assert response.mimetype == expected


@pytest.mark.parametrize("accept", ["image/png", "text/csv;q=1, image/*", ";;;,,,", "text/turtle;q=0"])
def test_nothing_acceptable_is_406_listing_the_types(client, accept):
    response = client.get(f"/items/{SEED}", headers={"Accept": accept})
    assert response.status_code == 406
    for media_type in MEDIA.values():
        assert media_type.encode() in response.data


def test_unknown_format_parameter_is_406(client):
    assert client.get(f"/items/{SEED}?format=pdf").status_code == 406


@pytest.mark.parametrize("fmt", list(MEDIA))
def test_unknown_key_is_404_in_the_negotiated_format(client, fmt):
    response = client.get("/items/no-such-study", headers={"Accept": MEDIA[fmt]})
    assert response.status_code == 404
    assert response.mimetype == MEDIA[fmt]
    if fmt in PARSE:
        assert parse(response.data, fmt) == set()


@pytest.mark.parametrize("path", ["/items/..", "/items/a..b", "/items/%3Cscript%3E", "/items/x%00y", "/keywords/UPPER", "/nothing/x", "/items/" + "a" * 300])
def test_odd_keys_are_a_clean_404(client, path):
    response = client.get(path, headers={"Accept": "text/turtle"})
    assert response.status_code == 404


def test_etag_and_last_modified_give_304(client):
    first = client.get(f"/items/{SEED}.ttl")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get(f"/items/{SEED}.ttl", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"/items/{SEED}.ttl", headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(f"/items/{SEED}.ttl", headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get(f"/items/{SEED}.jsonl" if False else f"/items/{SEED}.jsonld").headers["ETag"] != etag


def test_head_is_get_without_a_body(client):
    for path in DOCUMENTS:
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200
        assert head.data == b""
        for header in ("Content-Type", "ETag", "Link", "Content-Location", "Vary"):
            assert head.headers.get(header) == get.headers.get(header)


def test_signposting_links(client):
    link = client.get(f"/items/{SEED}").headers["Link"]
    assert '<https://doi.org/10.5255/UKDA-SN-856193>; rel="cite-as"' in link
    assert 'rel="describedby"' in link
    assert f'<{BASE}/profiles/full>; rel="profile"' in link
    for suffix in (".jsonld", ".ttl", ".rdf", ".nt", ".nq", ".trig"):
        assert f"<{BASE}/items/{SEED}{suffix}>" in link


def test_a_jsonld_answer_names_one_alternate(client):
    """pyld's document loader fails on a JSON-LD answer with several rel="alternate" links."""
    link = client.get(f"/items/{SEED}.jsonld").headers["Link"]
    assert link.count('rel="alternate"') == 1
    assert f'<{BASE}/items/{SEED}.html>; rel="alternate"; type="text/html"' in link
    assert 'rel="cite-as"' in link and 'rel="profile"' in link


def test_profiles_select_the_vocabulary(client):
    dcat = parse(client.get(f"/items/{SEED}.nt?_profile=dcat-ap").data, "nt")
    schema = parse(client.get(f"/items/{SEED}.nt", headers={"Accept-Profile": "<https://schema.org/>"}).data, "nt")
    full = parse(client.get(f"/items/{SEED}.nt").data, "nt")
    assert dcat and schema and dcat | schema <= full
    assert not any(p.value.startswith("https://schema.org/") for _, p, _ in dcat)
    assert all(p.value.startswith("https://schema.org/") or p.value.endswith("#type") for _, p, _ in schema)
    response = client.get(f"/items/{SEED}?_profile=dcat-ap", headers={"Accept": "text/turtle"})
    assert '<http://data.europa.eu/r5r/>; rel="profile"' in response.headers["Link"]
    assert "Accept-Profile" in response.headers["Vary"]


def test_profile_alternates_and_unknown_profile(client):
    listing = client.get(f"/items/{SEED}.ttl?_profile=alt")
    assert listing.status_code == 200
    assert b"http://data.europa.eu/r5r/" in listing.data and b"https://schema.org/" in listing.data
    assert client.get(f"/items/{SEED}?_profile=nope").status_code == 400
    # An Accept-Profile we do not know is only a preference: the default profile answers.
    assert client.get(f"/items/{SEED}.ttl", headers={"Accept-Profile": "<http://example.org/p>"}).status_code == 200


def test_jsonld_uses_the_published_context_and_nests_nodes(client):
    document = json.loads(client.get(f"/items/{SEED}.jsonld").data)
    assert document["@context"] == f"{BASE}/context.jsonld"
    served = json.loads(client.get("/context.jsonld").data)
    assert served == context(BASE)
    assert served["@context"]["schema"] == "https://schema.org/"
    study = next(n for n in document["@graph"] if n["@id"].endswith("#id"))
    sponsor = study["schema:sponsor"]
    assert sponsor["foaf:name"] == "Economic and Social Research Council"


def test_study_page_shows_the_record(client):
    page = client.get(f"/items/{SEED}").data.decode()
    assert "<h1>Stakeholder Engagement Focus Groups on Digital Mental Health and Peer Support, 2022</h1>" in page
    assert page.count("<p>") >= 4  # the description, in paragraphs
    assert 'href="/keywords/mental-health"' in page
    assert 'href="/organizations/economic-and-social-research-council"' in page
    assert 'href="/catalogues/uk-data-service"' in page
    assert 'href="https://doi.org/10.5255/UKDA-SN-856193"' in page
    assert "2022-08-19 – 2022-12-01" in page
    assert '<meta property="og:title"' in page
    for suffix in (".jsonld", ".ttl", ".rdf", ".nt"):
        assert f'href="/items/{SEED}{suffix}"' in page


def test_every_study_page_embeds_jsonld_for_google(client, tmp_path):
    shapes = (RECORDS.parent / "reference" / "google-dataset-shapes" / "googleRequired.ttl").read_text()
    shapes_graph = rdflib.Graph().parse(data=shapes.replace("http://schema.org/", "https://schema.org/"), format="turtle")
    from pyshacl import validate

    for record in real_records() + [None]:
        slug = SEED if record is None else record["extra_data"]["slug"]
        page = client.get(f"/items/{slug}").data.decode()
        (embedded,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
        data = rdflib.Graph().parse(data=embedded, format="json-ld", base=BASE)
        assert (None, rdflib.RDF.type, rdflib.URIRef("https://schema.org/Dataset")) in data
        conforms, _, text = validate(data, shacl_graph=shapes_graph)
        assert conforms, (slug, text)


def embedded_dataset(page: str, slug: str) -> dict:
    """The study's node in the JSON-LD a study page embeds for Google."""
    (embedded,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    return next(n for n in json.loads(embedded)["@graph"] if n["@id"] == f"{BASE}/items/{slug}#id")


def test_short_descriptions_are_completed_for_google_from_the_record_not_the_title(client):
    shorts = [r for r in real_records() if len(" ".join(r["dataset_schema"]["description"].split())) < 50]
    assert len(shorts) == 11 and min(len(r["dataset_schema"]["description"]) for r in shorts) == 26
    for record in shorts:
        slug, title, published = record["extra_data"]["slug"], record["dataset_schema"]["name"], record["dataset_schema"]["description"]
        assert published == title  # these catalogues repeat the title as the description
        description = embedded_dataset(client.get(f"/items/{slug}").data.decode(), slug)["schema:description"]
        assert len(description) >= 50 and title not in description, slug
        turtle = parse(client.get(f"/items/{slug}.ttl").data, "ttl")
        thing = pyoxigraph.NamedNode(f"{BASE}/items/{slug}#id")
        dct_description = pyoxigraph.NamedNode("http://purl.org/dc/terms/description")
        assert {o for s, p, o in turtle if s == thing and p == dct_description} == {pyoxigraph.Literal(published)}
    page = client.get("/items/ncds1-tests-1965-dataset").data.decode()
    assert embedded_dataset(page, "ncds1-tests-1965-dataset")["schema:description"] == (
        "Dataset from CLOSER covering 1965, United Kingdom; sample size 15,425; keywords: biomarkers, "
        "cognitive measures, covid-19 data collection, diet and nutrition, education."
    )


def test_a_long_enough_description_is_embedded_as_published(client):
    record = next(r for r in real_records() if r["extra_data"]["slug"] == "genetic-links-to-anxiety-and-depression-glad-study")
    page = client.get("/items/genetic-links-to-anxiety-and-depression-glad-study").data.decode()
    description = embedded_dataset(page, "genetic-links-to-anxiety-and-depression-glad-study")["schema:description"]
    assert description == " ".join(record["dataset_schema"]["description"].split())


FACTS = {"start_year": 1990, "end_year": 1995, "country_codes": ["IE"]}


@pytest.mark.parametrize(
    ("schema", "extra", "expected"),
    [
        # A short text of the publisher's own comes first, then the record's facts.
        ({"description": "A trial."}, FACTS, "A trial. Study covering 1990–1995, Ireland; keywords: diet, sleep."),
        # No description: the facts alone, never the title.
        ({}, FACTS, "Study covering 1990–1995, Ireland; keywords: diet, sleep."),
        # The title as the description counts as none.
        ({"description": "Trial C."}, FACTS, "Study covering 1990–1995, Ireland; keywords: diet, sleep."),
        # Too few facts: a fixed sentence completes it, still without the title.
        ({"description": "A trial.", "keywords": []}, {}, "A trial. " + GOOGLE_LAST_RESORT),
    ],
)
def test_google_description_from_record_facts(schema, extra, expected):
    from studygraph.mappings.profile import map_record
    from studygraph.mappings.urls import Urls
    from studygraph.server.documents import Document
    from studygraph.server.views import google_description

    record = {"dataset_schema": {"name": "Trial C", "keywords": ["Sleep", "Diet"], **schema}, "extra_data": {"slug": "trial-c", **extra}}
    mapped = map_record(record, Urls(BASE), issued="2026-01-01T00:00:00Z", modified="2026-01-01T00:00:00Z")
    quads = pyoxigraph.parse(mapped.graph.nquads(), format=pyoxigraph.RdfFormat.N_QUADS)
    document = Document("item", "trial-c", "/items/trial-c", f"{BASE}/items/trial-c#id", [pyoxigraph.Triple(q.subject, q.predicate, q.object) for q in quads], "1")
    assert google_description(document, Urls(BASE), "Trial C", schema.get("description", "")) == expected


HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory):
    from studygraph.graph.loader import Loader
    from studygraph.mappings.records import Origin, SourceRecord
    from studygraph.mappings.urls import Urls

    store = open_catalogue(tmp_path_factory.mktemp("hostile") / "store")
    store.set_base_url(BASE)
    record = {
        "dataset_schema": {
            "name": f"Evil {HOSTILE}",
            "description": f"Text {HOSTILE}\n\nSecond </script><!-- paragraph",
            "keywords": [HOSTILE],
            "sponsor": [{"@type": "Organization", "name": HOSTILE}],
            "variableMeasured": [{"name": HOSTILE, "description": HOSTILE}],
        },
        "extra_data": {"slug": "evil", "data_access": HOSTILE, "geographic_coverage": HOSTILE},
    }
    report = Loader(store, Urls(BASE)).load([SourceRecord(record, Origin("hostile.json"), "harmony")])
    assert report.counts["new"] == 1
    yield create_app(store, ServerSettings(base_url=BASE)).test_client()
    store.close()


def test_record_text_is_escaped_everywhere(hostile_client):
    page = hostile_client.get("/items/evil").data.decode()
    assert "<script>alert(1)" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # Inside the embedded JSON-LD, "<" is written as \u003c, so nothing closes the script early.
    (embedded,) = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert "<" not in embedded and "\\u003cscript" in embedded
    assert json.loads(embedded)
    for path in ("/keywords/script-alert-1-script-img-src-x-onerror-alert-2", "/organizations/alert-1-img-src-x-onerror-alert-2"):
        response = hostile_client.get(path)
        if response.status_code == 200:
            assert "<img src=x" not in response.data.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/items/evil?format=%3Cscript%3E",
        "/items/evil?_profile=%3Cscript%3Ealert(1)%3C/script%3E",
        "/items/%22%3E%3Cimg%20src=x%20onerror=alert(1)%3E",
    ],
)
def test_hostile_parameters_get_a_clean_4xx(hostile_client, path):
    response = hostile_client.get(path)
    assert 400 <= response.status_code < 500
    assert b"<script>" not in response.data and b"<img" not in response.data


def test_huge_query_strings_are_refused(client):
    response = client.get(f"/items/{SEED}?q=" + "x" * 20000)
    assert response.status_code == 414


def test_the_years_facet_links_narrow_the_listing_to_a_decade(client):
    page = client.get("/items").data.decode()
    total = int(re.search(r'<p class="total">(\d+) studies', page)[1])
    decades = re.findall(r'<a href="(/items\?from=(\d+)&amp;to=(\d+))">\2s</a> <span class="count">(\d+)</span>', page)
    assert decades, "the years facet lists decades"
    href, start, end, count = decades[-1]
    assert int(end) == int(start) + 9 and 0 < int(count) <= total
    narrowed = client.get(href.replace("&amp;", "&")).data.decode()
    assert int(re.search(r'<p class="total">(\d+) studies', narrowed)[1]) == int(count)
    assert f"<strong>{start}s</strong>" in narrowed, "the chosen decade is shown as chosen, with a link to remove it"
