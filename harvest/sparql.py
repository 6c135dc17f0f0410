"""Harvesting a SPARQL endpoint: its dataset descriptions, a page at a time."""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from collections.abc import Iterator

from pyoxigraph import NamedNode

from studygraph.mappings.formats import RESULT_FORMATS, accept_header
from studygraph.mappings.readers.dcat import records_from_store
from studygraph.mappings.records import ReadResult

from .errors import HarvestError
from .fetch import Fetched, Fetcher
from .rdf import parse
from .report import HarvestReport
from .walk import Walk

ACCEPT_SOLUTIONS = RESULT_FORMATS["json"]
ACCEPT_DESCRIPTIONS = accept_header((("nt", 1), ("ttl", 0.9)))

_SELECT_DATASETS = """
SELECT DISTINCT ?dataset WHERE {
  { ?dataset a <http://www.w3.org/ns/dcat#Dataset> } UNION { ?dataset a <https://schema.org/Dataset> } UNION { ?dataset a <http://schema.org/Dataset> }
  FILTER(isIRI(?dataset))
} ORDER BY ?dataset LIMIT %d OFFSET %d
"""
_DESCRIBE_DATASETS = """
CONSTRUCT { ?dataset ?p ?o . ?o ?p2 ?o2 . ?record ?rp ?ro . ?catalog <http://www.w3.org/ns/dcat#dataset> ?dataset . ?catalog ?cp ?co }
WHERE {
  VALUES ?dataset { %s }
  { ?dataset ?p ?o OPTIONAL { ?o ?p2 ?o2 FILTER(!isLiteral(?o)) } }
  UNION { ?record <http://xmlns.com/foaf/0.1/primaryTopic> ?dataset ; ?rp ?ro }
  UNION { ?catalog <http://www.w3.org/ns/dcat#dataset> ?dataset ; ?cp ?co FILTER(isLiteral(?co)) }
}
"""
SPARQL_PAGE = 200


def sparql_items(url: str, fetcher: Fetcher, report: HarvestReport) -> Iterator[ReadResult]:
    """The datasets the endpoint at *url* describes, SPARQL_PAGE at a time by OFFSET, until
    a page is short — or repeats one read before (an endpoint that ignores OFFSET)."""
    walk = Walk("page of results")
    offset = 0
    while True:
        select = _SELECT_DATASETS % (SPARQL_PAGE, offset)
        fetched = fetcher.get(f"{url}?{urllib.parse.urlencode({'query': select})}", accept=ACCEPT_SOLUTIONS)
        if fetched is None:
            return
        datasets = _datasets(fetched, url)
        if not datasets:
            return
        notice = walk.visit(fetched.url, hashlib.sha256("\n".join(datasets).encode("utf-8", "surrogatepass")).hexdigest())
        if notice is not None:
            report.notices.append(f"{url}: the results at OFFSET {offset} repeat an earlier page: the walk ends here")
            return
        values = " ".join(str(NamedNode(d)) for d in datasets)
        described = fetcher.get(f"{url}?{urllib.parse.urlencode({'query': _DESCRIBE_DATASETS % values})}", accept=ACCEPT_DESCRIPTIONS)
        if described is None:
            return
        report.pages += 1
        yield from records_from_store(parse(described), url)
        if len(datasets) < SPARQL_PAGE:
            return
        offset += SPARQL_PAGE


def _datasets(fetched: Fetched, url: str) -> list[str]:
    """The dataset IRIs of a page of SPARQL JSON results; :class:`HarvestError` when the
    answer is not SPARQL JSON results (or not JSON, or not UTF-8)."""
    try:
        bindings = json.loads(fetched.body)["results"]["bindings"]
        datasets = [b["dataset"]["value"] for b in bindings if b.get("dataset", {}).get("type") == "uri"]
        named = [NamedNode(d) for d in datasets]
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise HarvestError(f"{url}: not SPARQL JSON results ({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})") from None
    return [node.value for node in named]
