"""What a public SPARQL query may do, decided before it runs.

pyoxigraph evaluates ``SERVICE`` by calling the named endpoint over HTTP, so a public
endpoint that ran any query could be made to reach other hosts. Queries are scanned the
way the SPARQL parser sees them — ``\\uXXXX`` escapes decoded first (the grammar applies
them before tokenising), then comments, strings and IRIs told apart — and every
``SERVICE`` must name, as a full IRI, an endpoint on the configured allow-list. The same
scan tells the query form (SELECT, ASK, CONSTRUCT, DESCRIBE), which decides the result
formats on offer. Updates never reach this point: the public endpoint has no update path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n\r]*)
  | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<variable>[?$][A-Za-z0-9_\u00B7-\uFFFF]+)
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*(?::[^\s{}()<>,;.]*)?)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_INTEGER = re.compile(r"\s*([0-9]+)")
FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
_UPDATES = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}


class QueryRefused(ValueError):
    """A query the public endpoint will not run, with the reason for the client."""


@dataclass(frozen=True)
class QueryShape:
    #: SELECT, ASK, CONSTRUCT or DESCRIBE; None when the text names no form (the parser
    #: then reports what is wrong with it).
    form: str | None
    services: tuple[str, ...]
    #: Whether the query names its own dataset (FROM / FROM NAMED).
    dataset: bool = False
    #: The LIMIT of the query itself (outside every group), when it has one.
    limit: int | None = None


def decode_escapes(text: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def inspect(query: str, allowed_services: frozenset[str] = frozenset()) -> QueryShape:
    """The form of a public query, its SERVICE endpoints and its own LIMIT; QueryRefused
    if it is not allowed."""
    text = decode_escapes(query)
    words = [m for m in _TOKEN.finditer(text) if m.lastgroup != "comment" and not m.group().isspace()]
    form = None
    services = []
    dataset = False
    limit = None
    depth = 0
    for position, match in enumerate(words):
        kind, value = match.lastgroup, match.group()
        if kind == "other" and value in "{}":
            depth += 1 if value == "{" else -1
        if kind != "word":
            continue
        upper = value.upper()
        if form is None and upper in FORMS:
            form = upper
        if form is None and upper in _UPDATES:
            raise QueryRefused("this endpoint only answers queries; updates go to the authenticated /sparql/update")
        if upper == "FROM":
            dataset = True
        if upper == "LIMIT" and depth == 0:
            number = _INTEGER.match(text, match.end())
            limit = int(number.group(1)) if number else None
        if upper == "SERVICE":
            target = _service_target(words, position)
            if target is None or target not in allowed_services:
                shown = target or "a variable or prefixed name"
                raise QueryRefused(f"SERVICE {shown} is not allowed here (federation is limited to configured endpoints)")
            services.append(target)
    return QueryShape(form, tuple(services), dataset, limit)


def _service_target(words: list[re.Match], position: int) -> str | None:
    rest = words[position + 1 : position + 3]
    if rest and rest[0].lastgroup == "word" and rest[0].group().upper() == "SILENT":
        rest = rest[1:]
    if rest and rest[0].lastgroup == "iri":
        return rest[0].group()[1:-1]
    return None


def add_using(update: str, default_graphs: tuple[str, ...], named_graphs: tuple[str, ...]) -> str:
    """An update with the protocol's ``using-graph-uri``/``using-named-graph-uri`` written
    into each INSERT/DELETE ... WHERE operation as USING clauses.

    The protocol says these parameters set the dataset of those operations; pyoxigraph
    takes the dataset only from the update text, so it is put there. An update that
    names its own dataset (USING or WITH) conflicts with the parameters: QueryRefused.
    """
    if not default_graphs and not named_graphs:
        return update
    text = decode_escapes(update)
    clause = " ".join([f"USING <{g}>" for g in default_graphs] + [f"USING NAMED <{g}>" for g in named_graphs])
    pieces: list[str] = []
    depth = 0
    previous = ""
    for match in _TOKEN.finditer(text):
        kind, value = match.lastgroup, match.group()
        if kind == "word":
            upper = value.upper()
            if upper in ("USING", "WITH") and depth == 0:
                raise QueryRefused("the update names its own dataset (USING or WITH) and the request names one too")
            if upper == "WHERE" and depth == 0 and previous != "DELETE":
                pieces.append(clause + " ")
            previous = upper
        elif kind == "other" and value in "{}":
            depth += 1 if value == "{" else -1
        pieces.append(value)
    return "".join(pieces)
