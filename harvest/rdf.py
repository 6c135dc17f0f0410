"""Pages of RDF read during a harvest: parsed, their paging links, their fingerprint.

Every failure to read a page — a syntax error, bad UTF-8, a number that is not one — is
a :class:`HarvestError` naming the page's URL, never a traceback.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pyoxigraph
from pyoxigraph import NamedNode

from studygraph.mappings.formats import RDF_MEDIA_TYPES
from studygraph.mappings.namespaces import HYDRA, RDF
from studygraph.mappings.readers.dcat import sniff_syntax
from studygraph.mappings.terms import term_value

from .errors import HarvestError
from .fetch import Fetched, Fetcher
from .walk import Walk

RDF_TYPE = RDF + "type"
_HYDRA_TERM = f"<{HYDRA}".encode()
_RDF_TYPE_TERM = f"<{RDF_TYPE}>".encode()
_BLANK_NODE = re.compile(rb"_:[^\s]+")


def parse(fetched: Fetched) -> pyoxigraph.Store:
    """The page's statements in an in-memory store (parsed in Rust, queried with SPARQL)."""
    syntax = RDF_MEDIA_TYPES.get(fetched.content_type)
    if syntax is None:
        syntax = sniff_syntax(fetched.body[:4096])
    if syntax is None:
        raise HarvestError(f"{fetched.url}: not RDF ({fetched.content_type})")
    page = pyoxigraph.Store()
    try:
        page.load(fetched.body, format=syntax, base_iri=fetched.url)
        return page
    except (SyntaxError, ValueError, OSError) as error:
        raise HarvestError(f"{fetched.url}: the RDF does not parse ({_first_line(error)})") from None


def next_page(page: pyoxigraph.Store) -> str | None:
    """The next page of a paged collection: Hydra ``next`` (or ckanext-dcat's ``nextPage``)."""
    for predicate in (HYDRA + "next", HYDRA + "nextPage"):
        for quad in page.quads_for_pattern(None, NamedNode(predicate), None):
            if isinstance(quad.object, NamedNode):
                return quad.object.value
    return None


def statements_with(page: pyoxigraph.Store, predicate: str) -> list:
    return list(page.quads_for_pattern(None, NamedNode(predicate), None))


def whole_number(page: pyoxigraph.Store, subject: Any, local_name: str, url: str) -> int | None:
    """The first value of a ``…#local_name`` property (of *subject*, or of any subject)
    as an integer; :class:`HarvestError` naming *url* when it is not one."""
    for quad in page.quads_for_pattern(subject, None, None):
        if quad.predicate.value.endswith("#" + local_name):
            text = term_value(quad.object)
            try:
                return int(text.strip())
            except ValueError:
                raise HarvestError(f"{url}: {local_name} {text[:40]!r} is not a whole number") from None
    return None


def fingerprint(page: pyoxigraph.Store) -> str:
    """What the page says, apart from how it is paged: a hash of its statements without
    Hydra's and without those about paging nodes (nodes with Hydra properties or of a
    Hydra type: the page, its collection). Two pages with the same fingerprint hold the
    same records, whatever their URLs and next links. Blank nodes are compared as one.

    Worked on the page's N-Quads as bytes (serialised in Rust), which costs a third of
    walking the statements as Python objects: it runs for every page of a harvest."""
    # With no output given, dump returns the bytes (its stub says bytes | None for both cases).
    nquads = page.dump(format=pyoxigraph.RdfFormat.N_QUADS)
    lines = [line.split(b" ", 2) for line in nquads.splitlines()]  # type: ignore[union-attr]
    paging = {
        parts[0]
        for parts in lines
        if len(parts) == 3 and (parts[1].startswith(_HYDRA_TERM) or (parts[1] == _RDF_TYPE_TERM and parts[2].startswith(_HYDRA_TERM)))
    }
    kept = b"\n".join(b" ".join(parts) for parts in lines if len(parts) == 3 and parts[0] not in paging and not parts[1].startswith(_HYDRA_TERM))
    return hashlib.sha256(b"\n".join(sorted(_BLANK_NODE.sub(b"_:", kept).split(b"\n")))).hexdigest()


def next_page_of_walk(walk: Walk, page: pyoxigraph.Store, fetcher: Fetcher, notices: list[str]) -> tuple[Fetched, pyoxigraph.Store] | None:
    """The page after *page* in a Hydra-paged walk, fetched and parsed; None where the
    walk ends: no next link, or a link to a page the walk read before (said in *notices*)."""
    link = next_page(page)
    if link is None:
        return None
    notice = walk.again(link)
    if notice is None:
        fetched = fetcher.get(link)
        if fetched is None:
            return None
        parsed = parse(fetched)
        notice = walk.visit(fetched.url, fingerprint(parsed), link)
        if notice is None:
            return fetched, parsed
    notices.append(notice)
    return None


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
