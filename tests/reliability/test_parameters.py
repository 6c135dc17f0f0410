"""Every URL parameter and numeric path part, given hostile values: never a 500; a value
that cannot be used is a 400 naming the parameter, in the format the URL answers in."""

from __future__ import annotations

import json

import pytest
from conftest import BASE, load_shared_records
from hypothesis import given, settings
from hypothesis import strategies as st

from studygraph.graph.embedded import open_catalogue
from studygraph.server.app import ServerSettings, create_app

SEED = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
KEYWORD = "mental-health"
TOKEN = "t"

#: (path, parameter) of every number a URL carries.
NUMBERS = [
    ("/items", "page"), ("/items.ttl", "page"), ("/items", "from"), ("/items", "to"),
    ("/keywords", "page"), ("/organizations.jsonld", "page"), (f"/keywords/{KEYWORD}", "page"),
    ("/changes", "since"), ("/changes.nt", "since"),
]
#: (path, parameter) of every other parameter a URL takes.
OTHERS = [
    ("/items", "q"), ("/items", "keyword"), ("/items", "sponsor"), ("/items", "catalogue"), ("/items", "source"),
    ("/items", "country"), ("/items", "study-design"), ("/items", "format"), (f"/items/{SEED}", "format"),
    (f"/items/{SEED}", "_profile"), ("/catalog", "after"), ("/catalog", "before"), ("/catalog", "modified_since"),
    ("/changes", "format"), ("/.well-known/void", "format"), ("/vocab", "_profile"),
]
#: Values no number parameter may take: each is a 400 naming the parameter.
NOT_NUMBERS = [
    "99999999999999999999999", "9" * 5000, "²", "٣", "１２", "+1", "-1", "1.5", "1e3", "0x10", "1_000", "\x00",
    "NaN", "∞", "abc", "'; DROP TABLE records; --", "<script>alert(1)</script>", "\n# injected",
]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    directory = load_shared_records(tmp_path_factory.mktemp("parameters") / "store", BASE)
    store = open_catalogue(directory)
    app = create_app(store, ServerSettings(base_url=BASE, token=TOKEN))
    yield app.test_client()
    store.close()


def names(response, parameter: str) -> bool:
    """Whether an error response names *parameter* (in its text, or as JSON's member)."""
    text = response.get_data(as_text=True)
    return f"{parameter}:" in text or f"{parameter}: " in text


@pytest.mark.parametrize("path, parameter", NUMBERS)
@pytest.mark.parametrize("value", NOT_NUMBERS, ids=lambda v: repr(v)[:20])
def test_a_number_parameter_refuses_what_is_not_a_number_in_bounds(client, path, parameter, value):
    response = client.get(path, query_string={parameter: value})
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    assert names(response, parameter)


@pytest.mark.parametrize("path, parameter", NUMBERS + OTHERS)
@given(value=st.one_of(st.text(max_size=40), st.integers(min_value=-(10**30), max_value=10**30).map(str), st.sampled_from(NOT_NUMBERS)))
@settings(max_examples=40, deadline=None)
def test_no_value_of_any_parameter_is_a_server_error(client, path, parameter, value):
    response = client.get(path, query_string={parameter: value})
    assert response.status_code in (200, 400, 406), (response.status_code, response.get_data(as_text=True)[:300])
    if response.status_code == 400:
        assert names(response, parameter), response.get_data(as_text=True)[:300]
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("query", [
    "page=2", "page=0002", "from=1990&to=2000", "from=&to=2000", "to=1990&from=2000", "page=10000",
])
def test_good_listing_values_are_answered(client, query):
    assert client.get(f"/items?{query}").status_code == 200


def test_the_reported_urls_are_400s_not_500s(client):
    for url, parameter in (
        ("/sitemap-99999999999999999999999.xml", "sitemap number"),
        ("/changes?since=99999999999999999999999", "since"),
        ("/changes?since=%C2%B2", "since"),
        ("/items?from=99999999999999999999&to=1", "from"),
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert names(response, parameter), response.get_data(as_text=True)


def test_a_page_number_out_of_range_is_refused_everywhere_alike(client):
    # Node and list pages used to read page=0 or page=x as page 1; /items refused them.
    for path in ("/items", "/keywords", f"/keywords/{KEYWORD}"):
        for bad in ("0", "x", "10001", ""):
            assert client.get(path, query_string={"page": bad}).status_code == 400, (path, bad)
        assert client.get(path, query_string={"page": "9999"}).status_code == 200  # past the last: an empty page


def test_sitemaps_by_number(client):
    assert client.get("/sitemap-0.xml").status_code == 200
    assert client.get("/sitemap-1.xml").status_code == 404
    for bad in ("abc", "-1", "١", "100000"):
        response = client.get(f"/sitemap-{bad}.xml")
        assert response.status_code == 400 and names(response, "sitemap number"), bad
        assert response.mimetype == "text/plain"


def test_change_feed_starts(client):
    assert client.get("/changes?since=0").status_code == 200
    assert client.get("/changes?since=9223372036854775807").status_code == 200
    assert client.get("/changes?since=9223372036854775808").status_code == 400
    assert client.get("/changes?since=2000-01-01").status_code == 200
    assert client.get("/changes?since=2000-01-01 12:00:00").status_code == 200
    # Year 1 at +01:00 is in year 0 in UTC: refused, not an overflow.
    assert client.get("/changes?since=0001-01-01T00:00:00%2B01:00").status_code == 400
    assert client.get("/catalog?modified_since=9999-12-31T23:59:59-01:00").status_code == 400


def test_catalogue_cursors_are_slugs(client):
    assert client.get(f"/catalog?after={SEED}").status_code == 200
    assert client.get("/catalog?before=").status_code == 200
    response = client.get("/catalog", query_string={"after": "../etc"})
    assert response.status_code == 400 and names(response, "after")


def test_the_400_is_in_the_format_asked_for(client):
    turtle = client.get("/items.ttl?page=x")
    assert turtle.status_code == 400 and turtle.mimetype == "text/turtle"
    assert turtle.get_data(as_text=True).startswith("# page: ")
    # A value with a newline cannot end the comment and inject statements.
    injected = client.get("/items.ttl", query_string={"page": "1\n<a> <b> <c> ."})
    assert len(injected.get_data(as_text=True).strip().splitlines()) == 1
    jsonld = client.get("/items?page=x", headers={"Accept": "application/ld+json"})
    assert jsonld.status_code == 400 and jsonld.mimetype == "application/ld+json"
    assert "page" in json.loads(jsonld.data)["error"]
    html = client.get("/changes?since=%C2%B2", headers={"Accept": "text/html"})
    assert html.status_code == 400 and html.mimetype == "text/html"
    assert "since" in html.get_data(as_text=True) and "Content-Security-Policy" in html.headers
    profile = client.get(f"/items/{SEED}?_profile=nonsense")
    assert profile.status_code == 400 and names(profile, "_profile")


def test_the_write_api_names_a_bad_parameter_in_json(client):
    response = client.post("/api/records?format=nonsense", data=b"{}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert json.loads(response.data)["parameter"] == "format"
