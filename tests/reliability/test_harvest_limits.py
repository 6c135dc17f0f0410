"""Issue 14, class 5: every harvest ends.

Each test points a harvest at a real loopback source that misbehaves — next links to ever
new URLs, a sitemap index that lists itself, a change feed whose next page is itself, a
response that drips, a ``Retry-After`` longer than the harvest may run, a gzip bomb, a
number that is not one — and checks that the harvest finished, with a one-line message
naming the URL, within its configured limits (the request count the source saw is below
the page cap), keeping what it harvested before. No test measures time: one that never
ended would hit the subprocess timeout instead.
"""

from __future__ import annotations

import gzip
import threading

import pytest

from .harvesting import errors, harvest, measured_harvest, records
from .misbehaving import catalog_page, gzip_stream, json_ld_page, misbehaving, query_number, send, sitemap  # noqa: F401  (a fixture)

VOCAB = "http://source.example/vocab#"


# --- walks that would never end --------------------------------------------------------


def test_next_links_to_ever_new_urls_of_the_same_page_end_the_walk(misbehaving, tmp_path):
    """``?page=N`` links to ``?page=N+1`` and answers the same records every time."""
    source = misbehaving()

    def same_page(handler) -> None:
        n = query_number(handler, "page", 1)
        send(handler, catalog_page(source.base, f"{source.base}/catalog?page={n}", "same", "Same", f"{source.base}/catalog?page={n + 1}"))

    url = source.answer("/catalog", same_page)
    result = harvest(url, tmp_path / "store", "-q")
    assert result.returncode == 0, result.stderr.decode()
    assert f"warning: {source.base}/catalog?page=2: the same content as {url}, read before: the walk ends here".encode() in result.stderr
    assert b"1 new" in result.stdout
    assert len(source.requests) == 2


def test_next_links_to_ever_new_pages_stop_at_the_page_cap(misbehaving, tmp_path):
    """Every page new (a record of its own): only ``--max-pages`` ends it."""
    source = misbehaving()

    def new_page(handler) -> None:
        n = query_number(handler, "page", 1)
        send(handler, catalog_page(source.base, f"{source.base}/catalog?page={n}", f"study-{n}", f"Study {n}", f"{source.base}/catalog?page={n + 1}"))

    url = source.answer("/catalog", new_page)
    store = tmp_path / "store"
    result = harvest(url, store, "-q", "--max-pages", "12", "--prune")
    assert result.returncode == 1
    assert errors(result) == [
        f"error: {source.base}/catalog?page=13: not fetched: the harvest has read its limit of 12 pages (--max-pages)",
        "error: --prune skipped: the harvest did not complete, so vanished records cannot be told from unread ones",
    ]
    assert len(source.requests) == 12
    assert records(store) == 12


def test_a_sitemap_index_that_lists_itself_ends(misbehaving, tmp_path):
    """The index lists itself, itself under ever new URLs (``?n=N+1``), and one sitemap."""
    source = misbehaving()
    source.document("/study.html", json_ld_page("Listed study"), content_type="text/html")
    source.document("/pages.xml", sitemap([source.base + "/study.html"]), content_type="application/xml")

    def index(handler) -> None:
        n = query_number(handler, "n")
        listed = [f"{source.base}/sitemap.xml", f"{source.base}/sitemap.xml?n={n + 1}", f"{source.base}/pages.xml"]
        send(handler, sitemap(listed, index=True), content_type="application/xml")

    url = source.answer("/sitemap.xml", index)
    result = harvest(url, tmp_path / "store", "-q")
    assert result.returncode == 0, result.stderr.decode()
    assert b"1 new" in result.stdout
    assert f"warning: {source.base}/sitemap.xml?n=1: a sitemap index listed by a sitemap index: not followed".encode() in result.stderr
    assert f"warning: {url}: 1 of the sitemaps it lists were read before".encode() in result.stderr
    assert source.count("/sitemap.xml") == 2 and source.count("/study.html") == 1


def change_feed(base: str, page: str, next_url: str | None, latest: str = "7", sequence: str | None = "7") -> bytes:
    """A page of a change feed: an update of ``/dataset/a`` as change *sequence* (none
    without one), the *latest* change token, a next link to *next_url*."""
    following = f"; hydra:next <{next_url}>" if next_url else ""
    activity = f"""<{page}> hydra:member <{base}/changes#7> .
<{base}/changes#7> a as:Update ; as:object <{base}/dataset/a#id> ; <{VOCAB}changeSequence> "{sequence}" .
""" if sequence is not None else ""
    return f"""@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
@prefix as: <https://www.w3.org/ns/activitystreams#> .
<{page}> a hydra:PartialCollectionView ; <{VOCAB}latestChange> "{latest}" {following} .
{activity}""".encode()


@pytest.fixture
def feed_source(misbehaving, tmp_path):
    """A source with a one-record catalogue, harvested once into a store, and its record's document."""
    source = misbehaving()
    record = catalog_page(source.base, source.base + "/dataset/a", "a", "Record A")
    source.document("/dataset/a", record)
    store = tmp_path / "store"
    assert harvest(source.document("/catalog", record), store, "-q").returncode == 0
    return source, store


@pytest.mark.parametrize("next_link", ["itself", "ever-new"])
def test_a_change_feed_whose_next_page_is_itself_ends(feed_source, next_link):
    source, store = feed_source

    def feed(handler) -> None:
        n = query_number(handler, "n")
        own = source.base + handler.path
        following = own if next_link == "itself" else f"{source.base}/changes?n={n + 1}"
        send(handler, change_feed(source.base, own, following))

    url = source.answer("/changes", feed)
    result = harvest(url, store, "-q")
    assert result.returncode == 0, result.stderr.decode()
    assert b"warning: " in result.stderr and b"the walk ends here" in result.stderr
    assert b"change token 7" in result.stdout
    assert source.count("/changes") == (1 if next_link == "itself" else 2)


# --- one-line source errors -------------------------------------------------------------


BROKEN = {
    "latestChange not a number": ("/changes", "text/turtle", lambda base: change_feed(base, f"{base}/changes", None, latest="soon", sequence=None),
                                  "latestChange 'soon' is not a whole number"),
    "changeSequence not a number": ("/changes", "text/turtle", lambda base: change_feed(base, f"{base}/changes", None, sequence="7th"),
                                    "changeSequence '7th' is not a whole number"),
    "sitemap not XML": ("/sitemap.xml", "application/xml", lambda base: b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'><url>",
                        "not a sitemap (no element found"),
    "sitemap in bad UTF-8": ("/sitemap.xml", "application/xml",
                             lambda base: b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'><url><loc>\xff\xfe</loc></url></urlset>",
                             "not a sitemap (not well-formed (invalid token)"),
    "sitemap with entities": ("/sitemap.xml", "application/xml",
                              lambda base: b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY a "aaaa">]><urlset>&a;</urlset>',
                              "not a sitemap (it declares XML entities)"),
    "Turtle in bad UTF-8": ("/catalog", "text/turtle", lambda base: b'<http://a.example/d> <http://purl.org/dc/terms/title> "\xff" .',
                            "the RDF does not parse"),
    "SPARQL answer not JSON": ("/sparql", "application/sparql-results+json", lambda base: b"{\"results\": ",
                               "not SPARQL JSON results"),
    "SPARQL answer nested too deeply": ("/sparql", "application/sparql-results+json", lambda base: b"[" * 100_000,
                                        "not SPARQL JSON results"),
    "SPARQL bindings not a list": ("/sparql", "application/sparql-results+json", lambda base: b'{"results": {"bindings": 3}}',
                                   "not SPARQL JSON results"),
    "truncated gzip": ("/catalog", "text/turtle", lambda base: gzip.compress(catalog_page(base, base, "t", "T"))[:40],
                       "the gzip data ends too soon"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_source_is_one_error_line_naming_the_url(misbehaving, feed_source, case):
    _, store = feed_source
    source = misbehaving()
    path, content_type, body, message = BROKEN[case]
    url = source.document(path, body(source.base), content_type=content_type)
    result = harvest(url, store, "-q")
    assert result.returncode == 1
    found = errors(result)
    assert len(found) == 1 and found[0].startswith(f"error: {url}") and message in found[0], found
    assert records(store) == 1  # what was harvested before stays


def test_an_unknown_content_encoding_is_one_error_line(misbehaving, tmp_path):
    source = misbehaving()
    url = source.document("/catalog", b"\x00\x01", headers={"Content-Encoding": "br"})
    result = harvest(url, tmp_path / "store")
    assert errors(result) == [f"error: {url}: the response is encoded as 'br', which a harvest does not decode"]


# --- time ----------------------------------------------------------------------------------


def drip(stopping: threading.Event, where: str, interval: float = 0.05, size: int = 100_000):
    """An answer sending one byte every *interval* seconds — of its headers or its body —
    whose whole would take hours (until *stopping* is set)."""

    def answer(handler) -> None:
        head = b"HTTP/1.0 200 OK\r\nContent-Type: text/turtle\r\n"
        if where == "body":
            handler.wfile.write(head + f"Content-Length: {size}\r\n\r\n".encode())
            filler = b"#"
        else:
            handler.wfile.write(head)
            filler = b"X"
        for _ in range(size):
            if stopping.wait(interval):
                return
            handler.wfile.write(filler)
            handler.wfile.flush()

    return answer


@pytest.mark.parametrize("where", ["body", "headers"])
def test_a_dripping_source_ends_at_the_timeout(misbehaving, tmp_path, where):
    source = misbehaving()
    url = source.answer("/catalog", drip(source.stopping, where))
    result = harvest(url, tmp_path / "store", "--timeout", "1", "--retries", "0")
    assert result.returncode == 1
    assert errors(result) == [f"error: {url}: no complete response within 1 s (--timeout)"]
    assert len(source.requests) == 1


def test_a_dripping_source_is_retried_within_the_harvest_time_limit(misbehaving, tmp_path):
    """Retries of a response that timed out stop when the next would pass ``--max-time``."""
    source = misbehaving()
    url = source.answer("/catalog", drip(source.stopping, "body"))
    result = harvest(url, tmp_path / "store", "--timeout", "1", "--max-time", "2.5")
    assert result.returncode == 1
    [line] = errors(result)
    assert line.startswith(f"error: {url}: ") and "--max-time 2.5 s" in line
    assert len(source.requests) <= 2


def test_a_retry_after_past_the_harvest_time_limit_ends_at_once(misbehaving, tmp_path):
    source = misbehaving()
    url = source.answer("/catalog", lambda handler: send(handler, b"busy\n", status=429, content_type="text/plain", headers={"Retry-After": "30"}))
    result = harvest(url, tmp_path / "store", "--max-time", "3")
    assert result.returncode == 1
    assert errors(result) == [f"error: {url}: HTTP 429: a retry in 30 s would pass the harvest's time limit (--max-time 3 s)"]
    assert len(source.requests) == 1


def test_a_retry_after_longer_than_a_harvest_waits_is_not_waited_for(misbehaving, tmp_path):
    source = misbehaving()
    url = source.answer("/catalog", lambda handler: send(handler, b"busy\n", status=503, content_type="text/plain", headers={"Retry-After": "86400"}))
    result = harvest(url, tmp_path / "store")
    assert errors(result) == [f"error: {url}: HTTP 503: asked to retry after 86400 s, longer than a harvest waits (120 s)"]
    assert len(source.requests) == 1


def test_a_slow_endless_source_stops_at_the_harvest_time_limit(misbehaving, tmp_path):
    """New pages forever, each well within ``--timeout``: ``--max-time`` ends the walk."""
    source = misbehaving()

    def slow_new_page(handler) -> None:
        n = query_number(handler, "page", 1)
        if source.stopping.wait(0.2):
            return
        send(handler, catalog_page(source.base, f"{source.base}/catalog?page={n}", f"study-{n}", f"Study {n}", f"{source.base}/catalog?page={n + 1}"))

    url = source.answer("/catalog", slow_new_page)
    store = tmp_path / "store"
    result = harvest(url, store, "-q", "--max-time", "2")
    assert result.returncode == 1
    [line] = errors(result)
    assert line.startswith(f"error: {source.base}/catalog?page=") and "--max-time" in line
    assert records(store) >= 1


# --- size --------------------------------------------------------------------------------


BOMB = 200 * 1024 * 1024


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """200 MiB of zeros, gzipped: about 200 KiB."""
    return b"".join(gzip_stream(BOMB))


@pytest.mark.parametrize("how", ["Content-Encoding: gzip", "a .gz sitemap"])
def test_a_gzip_bomb_is_cut_at_the_size_limit_while_it_streams(misbehaving, tmp_path, bomb, how):
    source = misbehaving()
    if how == "a .gz sitemap":
        url = source.document("/sitemap.xml.gz", bomb, content_type="application/gzip")
        expected = f"error: {url}: larger than 1 MiB once decompressed (--max-size)"
    else:
        url = source.document("/catalog", bomb, headers={"Content-Encoding": "gzip"})
        expected = f"error: {url}: larger than 1 MiB once decompressed (--max-size)"
    small = source.document("/small", catalog_page(source.base, source.base + "/small", "small", "Small"))
    baseline, baseline_peak = measured_harvest(small, tmp_path / "baseline", "-q", "--max-size", "1M")
    assert baseline.returncode == 0, baseline.stderr.decode()

    result, peak = measured_harvest(url, tmp_path / "store", "-q", "--max-size", "1M")
    assert result.returncode == 1
    assert errors(result) == [expected]
    # Inflating the bomb whole would take 200 MiB more than a small harvest does.
    assert peak < baseline_peak + 64 * 1024 * 1024, (peak, baseline_peak)


def test_gzipped_sources_are_read(misbehaving, tmp_path):
    """The same decompression reads a gzip-encoded catalogue and a ``.gz`` sitemap."""
    source = misbehaving()
    catalogue = source.document("/catalog", gzip.compress(catalog_page(source.base, source.base + "/catalog", "zipped", "Zipped")),
                                headers={"Content-Encoding": "gzip"})
    store = tmp_path / "store"
    result = harvest(catalogue, store, "-q")
    assert result.returncode == 0, result.stderr.decode()
    source.document("/study.html", json_ld_page("Listed study"), content_type="text/html")
    listed = source.document("/sitemap.xml.gz", gzip.compress(sitemap([source.base + "/study.html"])), content_type="application/gzip")
    result = harvest(listed, store, "-q")
    assert result.returncode == 0, result.stderr.decode()
    assert records(store) == 2


def test_a_response_larger_than_the_limit_is_cut(misbehaving, tmp_path):
    source = misbehaving()
    url = source.document("/catalog", catalog_page(source.base, source.base, "big", "x" * 4096))
    result = harvest(url, tmp_path / "store", "--max-size", "1K")
    assert errors(result) == [f"error: {url}: larger than 1 KiB (--max-size)"]


def test_size_flags_take_units(tmp_path):
    result = harvest("http://127.0.0.1:9/catalog", tmp_path / "store", "--max-size", "lots")
    assert result.returncode == 2 and b"'lots' is not a size" in result.stderr
