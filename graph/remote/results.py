"""SPARQL 1.1 (and 1.0) JSON results read into pyoxigraph terms, with a store's own
lexical forms brought back to the ones we wrote.

Why not pyoxigraph's own results parsers: its XML parser trims the white space around a
literal's text (see client.RESULTS_JSON), and a store may answer a term in another
lexical form than the one it was given. Virtuoso keeps an ``xsd:boolean`` as a number
and answers ``"0"``/``"1"``: the same value, but not the literal we stored, so a
document read back would differ from the one written (and from the embedded store's).
Reading the JSON here is one ``json.loads`` and a term per binding.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

Term = NamedNode | BlankNode | Literal
#: One solution: its bound variables (an unbound one is absent: ``row.get(name)``).
Row = dict[str, Term]

XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
#: Lexical forms a store may answer for a value we wrote in its canonical form.
_CANONICAL = {(XSD_BOOLEAN, "0"): "false", (XSD_BOOLEAN, "1"): "true"}
#: What an RDF answer holds if :func:`canonical_triple` may have work in it: one of those
#: lexical forms typed with its datatype (written whole, or as a prefixed name in Turtle).
_NONCANONICAL = re.compile(b"|".join(
    re.escape(f'"{text}"^^'.encode()) + rb"\S*" + re.escape(datatype.rsplit("#", 1)[1].encode()) for datatype, text in _CANONICAL
))


class ResultsError(ValueError):
    """An answer that is not SPARQL JSON results."""


def read_solutions(body: bytes) -> list[Row]:
    """The rows of a SELECT answer (SPARQL JSON results), as terms."""
    try:
        answer = json.loads(body)
        bindings = answer["results"]["bindings"]
    except (ValueError, KeyError, TypeError) as error:
        raise ResultsError(f"not SPARQL JSON results: {error}") from None
    return [{name: _term(value) for name, value in binding.items()} for binding in bindings]


def read_boolean(body: bytes) -> bool:
    """The answer of an ASK (SPARQL JSON results)."""
    try:
        return bool(json.loads(body)["boolean"])
    except (ValueError, KeyError, TypeError) as error:
        raise ResultsError(f"not a SPARQL JSON boolean: {error}") from None


def canonical_triples(body: bytes, triples: list[Triple]) -> list[Triple]:
    """The *triples* parsed from *body* (a store's own N-Triples or Turtle), each in the
    lexical form we wrote; looked at one by one only if *body* has such a datatype."""
    if _NONCANONICAL.search(body) is None:
        return triples
    return [canonical_triple(triple) for triple in triples]


def canonical_triple(triple: Triple) -> Triple:
    """*triple* with its object in the lexical form we wrote (see :data:`_CANONICAL`):
    for triples a store wrote itself (a CONSTRUCT answer), not read through :func:`_term`."""
    value = triple.object
    if isinstance(value, Literal) and (value.datatype.value, value.value) in _CANONICAL:
        return Triple(triple.subject, triple.predicate, Literal(_CANONICAL[(value.datatype.value, value.value)], datatype=value.datatype))
    return triple


def _term(value: dict[str, Any]) -> Term:
    kind, text = value["type"], value["value"]
    if kind == "uri":
        return NamedNode(text)
    if kind == "bnode":
        return BlankNode(text)
    language = value.get("xml:lang")
    if language:
        return Literal(text, language=language)
    datatype = value.get("datatype")
    if datatype:
        return Literal(_CANONICAL.get((datatype, text), text), datatype=NamedNode(datatype))
    return Literal(text)
