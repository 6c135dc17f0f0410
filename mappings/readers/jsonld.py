"""schema.org ``Dataset`` descriptions in JSON-LD, converted to the Harmony shape.

JSON-LD can say the same thing in many ways (contexts, ``@graph``, references by
``@id``, http or https schema.org terms), so documents are first expanded with pyld and
then read in one canonical form. Expansion needs the schema.org context; it is bundled
(``mappings/contexts/schemaorg.jsonld``) and served by an offline document loader, so a
load never touches the network and any other remote context is a clear rejection.
The conversion is deliberately plain: the mapping reads the result like any Harmony
record, so everything interpretive (normalising DOIs, slugs, countries) stays there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib import resources
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from pyld import jsonld
from pyld.jsonld import JsonLdError

from studygraph.mappings.namespaces import SCHEMA, SCHEMA_HTTP
from studygraph.mappings.readers.sources import InputError, parse_json_document
from studygraph.mappings.records import Origin, ReadResult, Rejection, SourceRecord

FORMAT = "jsonld"
SCHEMA_NAMESPACES = (SCHEMA, SCHEMA_HTTP)
_SCHEMA_CONTEXT_PATHS = {"/", "/docs/jsonldcontext.jsonld", "/docs/jsonldcontext.json"}
_AGENT_PROPERTIES = ("sponsor", "funder", "publisher", "creator", "copyrightHolder")
_DOI = re.compile(r"(?:^|doi\.org/|doi:\s*)10\.\d{4,9}(?:/|%2f)\S", re.IGNORECASE)


def read(source: str, stream: BinaryIO) -> Iterator[ReadResult]:
    """Yield each schema.org Dataset of a JSON-LD file as a Harmony record."""
    datasets = datasets_in(parse_json_document(stream.read()))
    if not datasets:
        yield Rejection(Origin(source), "no schema.org Dataset in the JSON-LD")
    for index, data in enumerate(datasets):
        origin = Origin(source) if len(datasets) == 1 else Origin(source, index=index)
        yield SourceRecord(data=data, origin=origin, format=FORMAT)


def datasets_in(document: Any) -> list[dict[str, Any]]:
    """The schema.org Datasets of a parsed JSON-LD document, in the Harmony shape.

    Raises :class:`InputError` when the document cannot be expanded offline."""
    nodes = _Nodes(expand(document))
    return [_Converter(nodes).record(node) for node in nodes.datasets()]


def expand(document: Any) -> list[Any]:
    """Expand with pyld, resolving only the bundled schema.org context."""
    loader = _OfflineLoader()
    try:
        return jsonld.expand(document, {"documentLoader": loader, "base": None})
    except Exception as exc:  # pyld reports malformed input with assorted exceptions
        if loader.missing:
            raise InputError(f"remote context not available offline: {loader.missing[0]}") from None
        message = exc.args[0] if exc.args else type(exc).__name__
        code = getattr(exc, "code", None)
        raise InputError(f"invalid JSON-LD: {message}" + (f" ({code})" if code else "")) from None


def is_doi(text: str) -> bool:
    """Whether ``text`` is a DOI, bare (``10.x/y``), ``doi:`` or a doi.org URL."""
    return bool(_DOI.search(text.strip()))


@lru_cache(maxsize=1)
def _schema_context() -> str:
    return (resources.files("studygraph.mappings") / "contexts" / "schemaorg.jsonld").read_text("utf-8")


def _is_schema_org(url: str) -> bool:
    parts = urlsplit(url.strip())
    host = parts.netloc.lower().removeprefix("www.")
    if parts.scheme.lower() not in ("http", "https") or host != "schema.org":
        return False
    return (parts.path or "/") in _SCHEMA_CONTEXT_PATHS


class _OfflineLoader:
    """A pyld document loader that serves schema.org from the bundled file and refuses
    everything else (remembering what it refused, for the error message)."""

    def __init__(self) -> None:
        self.missing: list[str] = []

    def __call__(self, url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
        if _is_schema_org(url):
            document = json.loads(_schema_context())
            return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": document}
        self.missing.append(url)
        raise JsonLdError(
            "remote context not available offline",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        )


def _values(node: dict[str, Any], prop: str) -> list[Any]:
    """The expanded values of a schema.org property, under http or https, lists opened."""
    out: list[Any] = []
    for namespace in SCHEMA_NAMESPACES:
        for value in node.get(namespace + prop, ()):
            if isinstance(value, dict) and "@list" in value:
                out.extend(value["@list"])
            else:
                out.append(value)
    return out


def _types(node: dict[str, Any]) -> set[str]:
    """The schema.org types of a node, as local names."""
    return {t[len(ns) :] for t in node.get("@type", ()) for ns in SCHEMA_NAMESPACES if t.startswith(ns)}


class _Nodes:
    """The node objects of an expanded document, with fragments sharing an ``@id`` merged
    so that a reference (``{"@id": ...}``) can be followed to its description."""

    def __init__(self, expanded: list[Any]) -> None:
        self.ordered: list[dict[str, Any]] = []
        self.by_id: dict[str, dict[str, Any]] = {}
        #: The values each merged node holds, by property, as JSON texts: what a further
        #: fragment is checked against (a hash lookup, not a scan of the values).
        self._held: dict[str, dict[str, set[str]]] = {}
        for node in _walk(expanded):
            node_id = node.get("@id")
            if node_id is None:
                self.ordered.append(node)
            elif node_id not in self.by_id:
                self.by_id[node_id] = dict(node)
                self.ordered.append(self.by_id[node_id])
            else:
                self._merge(node_id, node)

    def _merge(self, node_id: str, node: dict[str, Any]) -> None:
        """Add the values of another fragment of a node, each value once."""
        into = self.by_id[node_id]
        held = self._held.setdefault(node_id, {})
        for key, values in node.items():
            if key == "@id":
                continue
            existing = into.get(key)
            if not isinstance(existing, list):
                existing = into[key] = [] if existing is None else [existing]
            seen = held.get(key)
            if seen is None:
                seen = held[key] = {_json_key(value) for value in existing}
            for value in values if isinstance(values, list) else [values]:
                text = _json_key(value)
                if text not in seen:
                    seen.add(text)
                    existing.append(value)

    def get(self, value: dict[str, Any]) -> dict[str, Any]:
        """The full node a value refers to (the value itself if it is not a reference)."""
        node_id = value.get("@id")
        return self.by_id.get(node_id, value) if isinstance(node_id, str) else value

    def datasets(self) -> list[dict[str, Any]]:
        return [node for node in self.ordered if "Dataset" in _types(node)]


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    """Node objects in document order (iteratively: input depth is not trusted)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict) and "@value" not in item:
            if "@list" in item or "@set" in item:
                stack.append(item.get("@list", item.get("@set")))
                continue
            if set(item) - {"@id", "@graph"}:
                yield item
            stack.extend(reversed([v for k, v in item.items() if k == "@graph" or not k.startswith("@")]))


def _json_key(value: Any) -> str:
    """A value of an expanded document as comparable text (its JSON, keys sorted)."""
    return json.dumps(value, sort_keys=True)


def _scalar(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    return text if text.strip() else None


def _compact(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v not in (None, "", [], {})}


class _Converter:
    """Reads one Dataset node into ``{"dataset_schema": ..., "extra_data": ...}``."""

    def __init__(self, nodes: _Nodes) -> None:
        self._nodes = nodes

    def _text(self, value: Any, via: Iterable[str]) -> str | None:
        """A value as text: a literal, else the first text of the ``via`` properties of
        the node it is (or refers to), else that node's IRI."""
        if not isinstance(value, dict):
            return None
        if "@value" in value:
            return _scalar(value["@value"])
        node = self._nodes.get(value)
        for prop in via:
            for inner in _values(node, prop):
                text = self._text(inner, ())
                if text:
                    return text
        node_id = node.get("@id")
        return node_id if isinstance(node_id, str) and node_id and not node_id.startswith("_:") else None

    def _texts(self, node: dict[str, Any], prop: str, via: Iterable[str] = ("name",)) -> list[str]:
        out: dict[str, None] = {}
        for value in _values(node, prop):
            text = self._text(value, via)
            if text:
                out[text] = None
        return list(out)

    def _first(self, node: dict[str, Any], prop: str, via: Iterable[str] = ("name",)) -> str | None:
        texts = self._texts(node, prop, via)
        return texts[0] if texts else None

    def _nodes_of(self, node: dict[str, Any], prop: str) -> Iterator[tuple[dict[str, Any] | None, str | None]]:
        """Each value of ``prop`` as (node, None) or, for a literal, (None, text)."""
        for value in _values(node, prop):
            if isinstance(value, dict) and "@value" not in value:
                yield self._nodes.get(value), None
            else:
                yield None, self._text(value, ())

    def _agent(self, node: dict[str, Any] | None, literal: str | None) -> dict[str, Any] | None:
        if node is None:
            return {"@type": "Organization", "name": literal} if literal else None
        name = self._first(node, "name") or " ".join(
            t for t in (self._first(node, "givenName"), self._first(node, "familyName")) if t
        )
        if not name:
            return None
        return {"@type": "Person" if "Person" in _types(node) else "Organization", "name": name}

    def _catalogue(self, node: dict[str, Any] | None, literal: str | None) -> dict[str, Any]:
        if node is None:
            return _compact({"@type": "DataCatalog", "name": literal})
        fields = {"name": self._first(node, "name"), "url": self._first(node, "url", ("url",))}
        if not fields["url"] and str(node.get("@id", "")).startswith(("http://", "https://")):
            fields["url"] = node["@id"]
        return _compact({"@type": "DataCatalog", **fields})

    def _variable(self, node: dict[str, Any] | None, literal: str | None) -> dict[str, Any]:
        if node is None:
            return _compact({"name": literal})
        return _compact({"name": self._first(node, "name"), "description": self._first(node, "description")})

    def record(self, node: dict[str, Any]) -> dict[str, Any]:
        name = self._first(node, "name")
        urls = self._texts(node, "url", ("url",))
        identifiers = self._texts(node, "identifier", ("value", "url"))
        listed = set(identifiers)
        identifiers += [s for s in self._texts(node, "sameAs", ("url",)) if is_doi(s) and s not in listed]
        keywords = [
            part.strip() for text in self._texts(node, "keywords", ("name", "termCode")) for part in text.split(",")
        ]
        schema: dict[str, Any] = {
            "@context": "https://schema.org/",
            "@type": "Dataset",
            "name": name,
            "description": self._first(node, "description"),
            "url": urls,
            "keywords": [k for k in keywords if k],
            "identifier": identifiers,
            "includedInDataCatalog": [
                c for c in (self._catalogue(*v) for v in self._nodes_of(node, "includedInDataCatalog")) if len(c) > 1
            ],
        }
        for prop in _AGENT_PROPERTIES:
            schema[prop] = [a for a in (self._agent(*v) for v in self._nodes_of(node, prop)) if a]
        schema["temporalCoverage"] = self._first(node, "temporalCoverage")
        schema["license"] = self._texts(node, "license", ("url", "name"))
        variables = (self._variable(*v) for v in self._nodes_of(node, "variableMeasured"))
        schema["variableMeasured"] = [v for v in variables if v]
        places = self._texts(node, "spatialCoverage")
        extra = {
            "name": name,
            "urls": urls,
            "dois": [i for i in identifiers if is_doi(i)],
            "geographic_coverage": ", ".join(places) if places else None,
            "language_codes": self._texts(node, "inLanguage", ("alternateName", "name")),
        }
        return {"dataset_schema": _compact(schema), "extra_data": _compact(extra)}
