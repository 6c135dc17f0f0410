"""The one way a term reaches SPARQL text sent to a store: its N-Triples form as
pyoxigraph writes it (an IRI checked and bracketed, a literal quoted and escaped), and
values bound to a query's variables by a ``VALUES`` block made of such terms.

Nothing else builds SPARQL from data: user text becomes a pyoxigraph term first (whose
constructor refuses what is not a term), then text only here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

Term = NamedNode | Literal
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: The opening brace of a query's WHERE clause (after WHERE, or the first group of a
#: CONSTRUCT/ASK written without it is not looked for: such a query gets VALUES last).
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def sparql(term: NamedNode | Literal | BlankNode | Triple) -> str:
    """A term as SPARQL text. A blank node has no name a store shares, so it is refused."""
    if isinstance(term, BlankNode):
        raise ValueError("a blank node cannot be sent to a remote store as a constant")
    if isinstance(term, Triple):
        raise ValueError("a triple term cannot be sent to a remote store")
    if not isinstance(term, NamedNode | Literal):
        raise TypeError(f"not an RDF term: {type(term).__name__}")
    return str(term)


def values(variables: Sequence[str], rows: Iterable[Sequence[Term]]) -> str:
    """A ``VALUES`` block binding *variables* to each row of terms."""
    for name in variables:
        if not _VARIABLE.fullmatch(name):
            raise ValueError(f"not a variable name: {name!r}")
    head = " ".join(f"?{name}" for name in variables)
    body = " ".join("(" + " ".join(sparql(term) for term in row) + ")" for row in rows)
    return f"VALUES ({head}) {{ {body} }}"


def bind(query: str, substitutions: Mapping[str, NamedNode | BlankNode | Literal] | None) -> str:
    """*query* with its variables bound as pyoxigraph's substitutions would: a ``VALUES``
    block first inside the WHERE clause (so the store joins on it from the start), or at
    the end of the query if it has no ``WHERE {``."""
    if not substitutions:
        return query
    names = list(substitutions)
    block = values(names, [[_constant(substitutions[name]) for name in names]])
    where = _WHERE.search(_without_comments(query))
    if where is None:
        return f"{query}\n{block}"
    return f"{query[: where.end()]} {block}\n{query[where.end():]}"


def _constant(term: NamedNode | BlankNode | Literal) -> Term:
    if isinstance(term, BlankNode):
        raise ValueError("a blank node cannot be bound in a query to a remote store")
    return term


def _without_comments(query: str) -> str:
    """The query with comments blanked (same length), so a WHERE in one is not taken.
    Comments start at a # outside an IRI or a string."""
    out, quote, in_iri, i = list(query), "", False, 0
    while i < len(query):
        char = query[i]
        if quote:
            if char == "\\":
                i += 2
                continue
            if char == quote:
                quote = ""
        elif in_iri:
            in_iri = char != ">"
        elif char in "\"'":
            quote = char
        elif char == "<" and re.match(r"<[^\s<>\"{}|^`\\]*>", query[i:]):
            in_iri = True
        elif char == "#":
            end = query.find("\n", i)
            end = len(query) if end < 0 else end
            out[i:end] = " " * (end - i)
            i = end
            continue
        i += 1
    return "".join(out)
