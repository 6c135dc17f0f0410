"""The same catalogue on every backend answers the same: the shared records loaded (by
the bulk path, as a first `studygraph load` does) into the embedded store, into an
Oxigraph server with its index in PostgreSQL and into Virtuoso with its index in
PostgreSQL, then study documents in every format, node documents, listings, search
with facets, the catalogue, the change feed, the sitemap and VoID asked of each app.

RDF answers are compared as sets of triples (a store server may hand a document's
triples over in another order, so the bytes of a Turtle file may differ while the graph
does not); every other answer byte for byte. Load times differ between the loads and
are masked; so are ETags, which are compared separately (the same on every backend,
since they are computed from the records, never from the store).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pyoxigraph
import pytest
from conftest import RECORDS
from postgres_server import PostgresServer, postgres  # noqa: F401
from store_servers import StoreServer, oxigraph_server, virtuoso_server  # noqa: F401

from studygraph.graph.catalogue import Catalogue, Location
from studygraph.graph.embedded import EmbeddedLocation
from studygraph.graph.index_place import IndexDatabase
from studygraph.graph.loader import load_fresh
from studygraph.graph.remote.location import RemoteLocation
from studygraph.mappings.readers import read_paths
from studygraph.mappings.urls import Urls
from studygraph.server.app import ServerSettings, create_app

BASE = "https://backends.example.org"
URLS = Urls(BASE)
REMOTE = {"oxigraph+postgres": "oxigraph_server", "virtuoso+postgres": "virtuoso_server"}
TIME = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?|\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT")
RDF = {"ttl": pyoxigraph.RdfFormat.TURTLE, "nt": pyoxigraph.RdfFormat.N_TRIPLES, "rdf": pyoxigraph.RdfFormat.RDF_XML}


def build(location: Location) -> Catalogue:
    report = load_fresh(location, read_paths([str(RECORDS)]), URLS)
    assert report.counts["new"] == 43 and not report.counts["rejected"], report
    return location.open()


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalogue]:
    catalogue = build(EmbeddedLocation(tmp_path_factory.mktemp("embedded") / "store"))
    yield catalogue
    catalogue.close()


@pytest.fixture(scope="module", params=sorted(REMOTE))
def remote(request: pytest.FixtureRequest, postgres: PostgresServer) -> Iterator[Catalogue]:  # noqa: F811
    server: StoreServer = request.getfixturevalue(REMOTE[request.param])
    server.reset()
    catalogue = build(RemoteLocation(server.endpoints(), IndexDatabase(postgres.fresh())))
    yield catalogue
    catalogue.close()
    server.reset()


def sample(catalogue: Catalogue) -> list[str]:
    """Paths of every page kind: studies in each format, the nodes one study links to,
    listings, search, facets, feeds."""
    assert catalogue.index is not None
    slugs = catalogue.index.slugs()
    study = slugs[len(slugs) // 2]
    paths = [f"/items/{slug}{suffix}" for slug in (slugs[0], study, slugs[-1]) for suffix in ("", ".ttl", ".nt", ".rdf", ".jsonld")]
    nodes = sorted({t.object.value for t in catalogue.document_triples(URLS.item(study))
                    if isinstance(t.object, pyoxigraph.NamedNode) and t.object.value.startswith(BASE + "/")
                    and not t.object.value.startswith(BASE + "/items/")})
    for node in nodes[:6]:
        path = node[len(BASE):].split("#")[0]
        paths += [path, path + ".ttl"]
    paths += ["/items", "/items?page=2", "/items?q=health", "/items?q=sleep&page=1", "/keywords", "/organizations",
              "/catalog.ttl", "/catalog", "/changes", "/sitemap.xml", "/", "/items/no-such-study", "/items/no-such-study.ttl"]
    return paths


def answer(catalogue: Catalogue, path: str) -> tuple[int, str, object, str | None]:
    app = create_app(catalogue, ServerSettings(base_url=BASE, cache_bytes=0))
    response = app.test_client().get(path)
    suffix = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else None
    if response.status_code == 200 and suffix in RDF:
        parsed = pyoxigraph.parse(response.data, format=RDF[suffix], base_iri=BASE + path)
        content: object = {TIME.sub(b"<time>", str(t).encode()) for t in parsed}
    else:
        content = TIME.sub(b"<time>", response.data)
    return response.status_code, response.content_type, content, response.headers.get("ETag")


def test_every_page_is_the_same_on_every_backend(embedded: Catalogue, remote: Catalogue) -> None:
    paths = sample(embedded)
    assert sample(remote) == paths
    differ = []
    for path in paths:
        expected, got = answer(embedded, path), answer(remote, path)
        if got != expected:
            differ.append((path, expected[:2], got[:2], expected[3] == got[3]))
    assert differ == []


def test_the_same_records_and_counts(embedded: Catalogue, remote: Catalogue) -> None:
    assert embedded.record_hashes() == {name: digest for name, digest in remote.record_hashes().items()}
    assert (embedded.stats().records, embedded.stats().quads, embedded.stats().nodes) == (
        remote.stats().records, remote.stats().quads, remote.stats().nodes)
    assert embedded.index is not None and remote.index is not None
    for query in ("health", "sleep", "cohort study", "child*"):
        # The same hits in the same order; only the load times differ.
        assert [replace(h, modified="") for h in embedded.index.search(query).hits] == [
            replace(h, modified="") for h in remote.index.search(query).hits]
