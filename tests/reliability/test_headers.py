"""Every HTML page forbids framing, limits what it may load and run, and keeps its
referrer to itself; its own scripts and data blocks still fit the policy."""

from __future__ import annotations

import re

import pytest
from conftest import BASE, load_shared_records

from studygraph.graph.embedded import open_catalogue
from studygraph.graph.query_pool import QueryPool
from studygraph.server.app import ServerSettings, create_app
from studygraph.server.sparql import SparqlSettings

SEED = "stakeholder-engagement-focus-groups-on-digital-mental-health-and-peer-support-2022"
HTML_PAGES = [
    "/", "/items", "/items?q=peer+support", f"/items/{SEED}", "/keywords/mental-health", "/keywords", "/catalog",
    "/vocab", "/changes", "/profiles/full", f"/items/{SEED}?_profile=alt", "/sparql",
    "/items/nothing-is-here", "/items?page=0", "/no/such/page",
]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    store = open_catalogue(load_shared_records(tmp_path_factory.mktemp("headers") / "store", BASE))
    pool = QueryPool(store.checkpoint, size=1, deadline=30)
    app = create_app(store, ServerSettings(base_url=BASE, token="t"), pool=pool, sparql_settings=SparqlSettings())
    yield app.test_client()
    pool.close()
    store.close()


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_carry_the_security_headers(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.mimetype == "text/html", path
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.mark.parametrize("path", HTML_PAGES)
def test_html_pages_need_nothing_the_policy_forbids(client, path):
    page = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", page):
        # Only scripts of our own, or data blocks (never executed, not governed by CSP).
        assert re.search(r'\bsrc="/static/[^"]+"', tag) or 'type="application/ld+json"' in tag, tag
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page), "an inline event handler"
    assert not re.search(r"<[^>]+\sstyle\s*=", page) and "<style" not in page, "an inline style"
    loaded = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page) + re.findall(r'<script\b[^>]*\bsrc="([^"]+)"', page)
    assert all(address.startswith("/") and not address.startswith("//") for address in loaded), loaded


def test_the_study_page_still_embeds_its_json_ld(client):
    page = client.get(f"/items/{SEED}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert len(re.findall(r'<script type="application/ld\+json">', page)) == 1


def test_data_is_not_given_page_headers(client):
    for path in (f"/items/{SEED}.ttl", "/sitemap.xml", "/robots.txt"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Content-Security-Policy" not in response.headers, path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
