"""Issue 14, class 4b: a harvest stays where it should.

It fetches only http(s) — a ``file:`` next link, sitemap location or redirect is refused,
never read into the store — and only on the origin (scheme, host, port) of the URL the
user gave, unless ``--follow-hosts`` allows another; redirects are held to the same rule.
A refused link is one error line naming it, and what was harvested before it stays.
"""

from __future__ import annotations

import pytest

from studygraph.harvest.errors import HarvestError
from studygraph.harvest.scope import Refused, Scope, parse_follow_hosts

from .harvesting import errors, exported, harvest, records
from .misbehaving import catalog_page, json_ld_page, misbehaving, send, sitemap  # noqa: F401  (a fixture)

SECRET = "Secret study from a local file"


@pytest.fixture
def secret_file(tmp_path):
    """A DCAT catalogue in a local file: what a ``file:`` link would load."""
    path = tmp_path / "secret.ttl"
    path.write_bytes(catalog_page("http://local.example", "http://local.example/p", "secret", SECRET))
    return path


def test_a_next_link_to_a_file_is_refused_and_the_pages_before_stay(misbehaving, secret_file, tmp_path):
    source = misbehaving()
    url = source.document("/catalog", catalog_page(source.base, source.base + "/catalog", "first", "First", secret_file.as_uri()))
    store = tmp_path / "store"
    result = harvest(url, store, "-q")
    assert result.returncode == 1
    assert errors(result) == [f"error: {secret_file.as_uri()}: not fetched: a harvest fetches only http and https URLs"]
    assert records(store) == 1
    assert SECRET.encode() not in exported(store)


def test_a_sitemap_location_of_a_file_is_refused_and_the_other_pages_are_read(misbehaving, tmp_path):
    source = misbehaving()
    secret = tmp_path / "secret.html"
    secret.write_bytes(json_ld_page(SECRET))
    source.document("/study.html", json_ld_page("A listed study"), content_type="text/html")
    url = source.document("/sitemap.xml", sitemap([secret.as_uri(), source.base + "/study.html"]), content_type="application/xml")
    store = tmp_path / "store"
    result = harvest(url, store, "-q")
    assert result.returncode == 1  # one page rejected
    assert f"rejected: {secret.as_uri()}: not fetched: a harvest fetches only http and https URLs".encode() in result.stderr
    assert records(store) == 1
    assert SECRET.encode() not in exported(store)


def test_a_redirect_to_another_port_is_refused_unless_the_user_follows_it(misbehaving, tmp_path):
    source, other = misbehaving(), misbehaving()
    elsewhere = other.document("/catalog", catalog_page(other.base, other.base + "/catalog", "elsewhere", "Elsewhere"))
    url = source.answer("/catalog", lambda handler: send(handler, b"", status=302, headers={"Location": elsewhere}))
    store = tmp_path / "store"
    result = harvest(url, store, "-q")
    assert result.returncode == 1
    assert errors(result) == [f"error: {elsewhere}: not fetched: redirected from {source.base} to another host (allow it with --follow-hosts {other.base})"]
    assert other.requests == []
    assert not store.exists() or records(store) == 0

    followed = harvest(url, store, "-q", "--follow-hosts", other.base)
    assert followed.returncode == 0, followed.stderr.decode()
    assert b"1 new" in followed.stdout


def test_a_redirect_to_a_file_is_refused(misbehaving, secret_file, tmp_path):
    source = misbehaving()
    url = source.answer("/catalog", lambda handler: send(handler, b"", status=301, headers={"Location": secret_file.as_uri()}))
    result = harvest(url, tmp_path / "store", "-q", "--follow-hosts", "*")
    assert result.returncode == 1
    assert errors(result) == [f"error: {secret_file.as_uri()}: not fetched: a harvest fetches only http and https URLs"]


def test_a_next_link_to_another_port_is_refused_and_prune_is_skipped(misbehaving, tmp_path):
    source, other = misbehaving(), misbehaving()
    second = other.document("/catalog", catalog_page(other.base, other.base + "/catalog", "second", "Second"))
    url = source.document("/catalog", catalog_page(source.base, source.base + "/catalog", "first", "First", second))
    store = tmp_path / "store"
    result = harvest(url, store, "-q", "--prune")
    assert result.returncode == 1
    assert errors(result) == [
        f"error: {second}: not fetched: linked from {source.base} to another host (allow it with --follow-hosts {other.base})",
        "error: --prune skipped: the harvest did not complete, so vanished records cannot be told from unread ones",
    ]
    assert other.requests == []
    assert records(store) == 1

    followed = harvest(url, store, "-q", "--follow-hosts", f"127.0.0.1:{other.port}")
    assert followed.returncode == 0, followed.stderr.decode()
    assert records(store) == 2


def test_only_http_urls_are_harvested(secret_file, tmp_path):
    result = harvest(secret_file.as_uri(), tmp_path / "store")
    assert result.returncode == 1
    assert errors(result) == [f"error: {secret_file.as_uri()}: not fetched: a harvest fetches only http and https URLs"]


@pytest.mark.parametrize(
    ("follow", "url", "allowed"),
    [
        ((), "http://a.example/next", True),
        ((), "HTTP://A.EXAMPLE:80/next", True),
        ((), "https://a.example/next", False),
        ((), "http://a.example:8080/next", False),
        ((), "http://b.example/next", False),
        (("b.example",), "http://b.example/next", True),
        (("b.example",), "https://b.example/next", True),
        (("b.example",), "http://b.example:8080/next", False),
        (("b.example:8080",), "http://b.example:8080/next", True),
        (("https://b.example",), "http://b.example/next", False),
        (("https://b.example",), "https://b.example/next", True),
        (("c.example, https://b.example:8443",), "https://b.example:8443/x", True),
        (("*",), "https://anything.example:1234/x", True),
        (("*",), "file:///etc/passwd", False),
        (("*",), "ftp://a.example/x", False),
    ],
)
def test_the_scope_of_a_harvest(follow, url, allowed):
    scope = Scope("http://a.example/catalog", follow)
    if allowed:
        scope.check(url)
    else:
        with pytest.raises(Refused, match="not fetched"):
            scope.check(url)


@pytest.mark.parametrize("entry", ["ftp://b.example", "b.example/path", "b.example:port", "://"])
def test_follow_hosts_entries_that_are_not_hosts_are_refused(entry):
    with pytest.raises(ValueError, match="--follow-hosts"):
        parse_follow_hosts([entry])
    with pytest.raises(HarvestError, match="--follow-hosts"):
        Scope("http://a.example/", [entry])
