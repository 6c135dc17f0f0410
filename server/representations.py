"""Serialising a document's statements in each RDF format, for one profile.

Turtle, TriG, RDF/XML, N-Triples and N-Quads come from Oxigraph's serialisers (with
readable prefixes where the format has them). JSON-LD is written here rather than by a
generic compaction: it uses the published context (``/context.jsonld``, prefixes only,
so what we write expands back to exactly the same triples) and nests each node under the
node nearest the document's main thing that points at it (breadth first; among equals,
the first in the triples' order), the way schema.org consumers read a Dataset: what the
Dataset names directly sits in the Dataset, whichever order the store gave.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

import pyoxigraph
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Triple

from studygraph.mappings.formats import RDF_FORMATS, WITH_PREFIXES
from studygraph.mappings.namespaces import DOCUMENT_PREFIXES, RDF, XSD, vocab_namespace
from studygraph.mappings.terms import term_value

_TYPE = NamedNode(RDF + "type")
_STRING = NamedNode(XSD + "string")


def context(base_url: str) -> dict[str, Any]:
    """The JSON-LD context published at ``/context.jsonld``: prefixes only."""
    return {"@context": {**prefixes(base_url), "@version": 1.1}}


def prefixes(base_url: str) -> dict[str, str]:
    return {**DOCUMENT_PREFIXES, "sg": vocab_namespace(base_url)}


def serialise(triples: list[Triple], format: str, base_url: str, *, root: str | None = None, context_url: str | None = None, graph: str | None = None) -> bytes:
    """The statements in *format*.

    A document is triples: in a quad format they stay in the default graph, where a
    client reading it as a dataset looks (Comunica asks for N-Quads first). Only the
    Graph Store Protocol, which serves one named graph as such, passes *graph* to name it.
    """
    if format == "jsonld":
        # No indent: json's C encoder only runs without one (4x faster on a study).
        return json.dumps(jsonld(triples, base_url, root=root, context_url=context_url), ensure_ascii=False).encode()
    rdf_format = RDF_FORMATS[format]
    out = io.BytesIO()
    if graph is not None and format in ("nq", "trig"):
        statements: Iterable[Any] = (Quad(t.subject, t.predicate, t.object, NamedNode(graph)) for t in triples)
    else:
        statements = triples
    pyoxigraph.serialize(statements, out, rdf_format, prefixes=prefixes(base_url) if format in WITH_PREFIXES else None)
    return out.getvalue()


class _Compactor:
    """Turns IRIs into compact IRIs (``dct:title``) under the context's prefixes.

    Properties, classes and shared nodes recur in every document, so answers are
    remembered (up to a bound: the IRIs of studies are many and each seen rarely)."""

    MEMORY = 100_000

    def __init__(self, base_url: str) -> None:
        # Longest namespace first, so sg: wins over a prefix of the base URL.
        self.namespaces = sorted(((ns, p) for p, ns in prefixes(base_url).items()), key=lambda x: -len(x[0]))
        self.known: dict[str, str] = {}

    def iri(self, value: str) -> str:
        known = self.known.get(value)
        if known is not None:
            return known
        compact = value
        for namespace, prefix in self.namespaces:
            if value.startswith(namespace):
                local = value[len(namespace):]
                if local and all(c.isalnum() or c in "_-." for c in local) and not local.startswith("."):
                    compact = f"{prefix}:{local}"
                    break
        if len(self.known) >= self.MEMORY:
            self.known.clear()
        self.known[value] = compact
        return compact


_compactors: dict[str, _Compactor] = {}


def _compactor(base_url: str) -> _Compactor:
    """One compactor per base URL, shared by every request (dict access is atomic)."""
    compactor = _compactors.get(base_url)
    if compactor is None:
        compactor = _compactors[base_url] = _Compactor(base_url)
    return compactor


def jsonld(triples: list[Triple], base_url: str, *, root: str | None = None, context_url: str | None = None) -> dict[str, Any]:
    """A JSON-LD document of *triples*, nested from *root* (the document's main thing)."""
    compact = _compactor(base_url)
    by_subject: dict[str, list[Triple]] = {}
    for triple in triples:
        by_subject.setdefault(_key(triple.subject), []).append(triple)
    parent = _parents(by_subject, root)
    embedded: set[str] = set()
    current: list[str] = []  # the nodes being written, innermost last

    def node(subject: str) -> dict[str, Any]:
        embedded.add(subject)
        out: dict[str, Any] = {"@id": subject if subject.startswith("_:") else compact.iri(subject)}
        current.append(subject)
        for triple in by_subject.get(subject, ()):
            if triple.predicate == _TYPE:
                out.setdefault("@type", []).append(compact.iri(term_value(triple.object)))
                continue
            out.setdefault(compact.iri(triple.predicate.value), []).append(value(triple.object))
        current.pop()
        return {k: (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in out.items()}

    def value(term: Any) -> Any:
        if isinstance(term, Literal):
            if term.language:
                return {"@value": term.value, "@language": term.language}
            if term.datatype == _STRING:
                return term.value
            return {"@value": term.value, "@type": compact.iri(term.datatype.value)}
        key = _key(term)
        if key in by_subject and key not in embedded and parent.get(key, current[-1]) == current[-1]:
            return node(key)
        return {"@id": key if key.startswith("_:") else compact.iri(key)}

    graph = []
    order = ([root] if root and root in by_subject else []) + sorted(by_subject)
    for subject in order:
        if subject not in embedded:
            graph.append(node(subject))
    document: dict[str, Any] = {"@context": context_url or context(base_url)["@context"]}
    if len(graph) == 1:
        document.update(graph[0])
    else:
        document["@graph"] = graph
    return document


def _parents(by_subject: dict[str, list[Triple]], root: str | None) -> dict[str, str]:
    """Each node reachable from *root* mapped to the node it is nested in: the referrer
    nearest *root*, breadth first, the first among equals in the triples' order. Nodes
    out of reach nest under the first node that writes them, as before."""
    if root is None or root not in by_subject:
        return {}
    parent: dict[str, str] = {}
    level = [root]
    seen = {root}
    while level:
        following = []
        for subject in level:
            for triple in by_subject[subject]:
                if triple.predicate == _TYPE or isinstance(triple.object, Literal):
                    continue
                key = _key(triple.object)
                if key in by_subject and key not in seen:
                    seen.add(key)
                    parent[key] = subject
                    following.append(key)
        level = following
    return parent


def _key(term: Any) -> str:
    return f"_:{term.value}" if isinstance(term, BlankNode) else term.value
