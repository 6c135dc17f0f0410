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
#: The opening brace of a query's WHERE clause.
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
    """*query* with its variables bound before evaluation, as pyoxigraph's substitutions
    bind them: inside the WHERE clause each bound variable is replaced by its term (so an
    OPTIONAL or a GRAPH sees it bound, which a VALUES join would not give), and a
    ``VALUES`` block first in the clause keeps the variable in the results. A query with
    no ``WHERE {`` gets the ``VALUES`` block at its end (a join, not a pre-binding)."""
    if not substitutions:
        return query
    names = list(substitutions)
    terms = {name: _constant(substitutions[name]) for name in names}
    block = values(names, [[terms[name] for name in names]])
    where = _WHERE.search(_code_only(query))
    if where is None:
        return f"{query}\n{block}"
    rest = query[where.end():]
    close = _closing_brace(_code_only(rest))
    body, tail = rest[:close], rest[close:]
    code = _code_only(body)
    pattern = re.compile(r"[?$](" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z0-9_\u00B7\u00C0-\uFFFF])")
    pieces, last = [], 0
    for match in pattern.finditer(code):
        pieces += [body[last:match.start()], sparql(terms[match.group(1)])]
        last = match.end()
    pieces.append(body[last:])
    return f"{query[: where.end()]} {block}\n{''.join(pieces)}{tail}"


def _closing_brace(code: str) -> int:
    """Where the group opened just before *code* closes (its end if it never does)."""
    depth = 1
    for index, char in enumerate(code):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return index
    return len(code)


def _constant(term: NamedNode | BlankNode | Literal) -> Term:
    if isinstance(term, BlankNode):
        raise ValueError("a blank node cannot be bound in a query to a remote store")
    return term


def _code_only(query: str) -> str:
    """The query with comments, strings and IRIs blanked (same length), so a WHERE or a
    variable name inside one is not taken for code."""
    out, i = list(query), 0
    while i < len(query):
        char = query[i]
        end = i + 1
        if char in "\"'":
            long = query.startswith(char * 3, i)
            closing = char * 3 if long else char
            j = i + len(closing)
            while j < len(query) and not query.startswith(closing, j):
                j += 2 if query[j] == "\\" else 1
            end = min(len(query), j + len(closing))
        elif char == "<" and (iri := re.match(r"<[^\s<>\"{}|^`\\]*>", query[i:])):
            end = i + iri.end()
        elif char == "#":
            newline = query.find("\n", i)
            end = len(query) if newline < 0 else newline
        else:
            i += 1
            continue
        out[i:end] = " " * (end - i)
        i = end
    return "".join(out)
