"""What a public SPARQL query may do, decided on the very text that is run.

pyoxigraph evaluates ``SERVICE`` by calling the named endpoint over HTTP, so a public
endpoint that ran any query could be made to reach other hosts. pyoxigraph 0.5 offers no
query algebra to read the SERVICE names from, and no switch to turn SERVICE off. A guard
that scans the text and then hands Oxigraph the *original* text can be fooled by any
point where the two read it differently; the old one decoded ``\\u0022`` over the whole
text first (as the SPARQL 1.1 text says), while Oxigraph decodes escapes only inside
strings and IRIs (spargebra's default, as in Turtle): ``"\\u0022"`` is one quote
character to Oxigraph and the opening of a long string to that guard, which then read a
``SERVICE`` call as the inside of a string.

So the guard does not hand Oxigraph the client's text. :func:`inspect` reads the query
into tokens with the lexical rules of spargebra's grammar and writes it out again in a
normal form, and only that normal form is run (:attr:`QueryShape.text`). The normal form
is written so that nothing in it reads two ways:

- comments are dropped;
- every string is written ``"..."`` with only ``\\\\``, ``\\"``, ``\\n`` and ``\\r`` escaped
  (its value unchanged): a string ends at the first bare ``"``, for any reader;
- every IRI is written with its escapes decoded; one that decodes to a character IRIs may
  not hold (space, ``<``, ``>``, ``"``, ``{``...) is refused, and ``'`` is written
  ``\\u0027``: where Oxigraph reads the ``<`` of an IRI as "less than" (after a variable
  in a FILTER), the IRI's text is read as code, and a bare ``'`` there would open a
  string that ends inside a later string of ours;
- a backslash outside strings and IRIs is refused unless it escapes a character of a
  prefixed name: Oxigraph rejects the other ones, so nothing is lost;
- keywords are matched by spargebra without a word boundary (``trueSERVICE <x> {}`` is
  ``true`` then ``SERVICE``; a prefixed name whose IRI fails to parse falls back to its
  prefix alone, and the rest is read as keywords). So a name that contains ``SERVICE``
  and is not the keyword itself is refused, unless it is a prefixed name whose prefix was
  declared with an absolute IRI: that one is written out as its full IRI (``dcat:DataService``
  keeps working).

What the guard decides on, the word ``SERVICE`` followed by ``SILENT`` and an IRI, is then
read the same way by Oxigraph, because the text Oxigraph parses has nowhere left to hide
one: every ``SERVICE`` keyword Oxigraph can find in it is a ``SERVICE`` token of the guard,
and the token after it is the same IRI to both. tests/reliability/test_sparql_service.py
checks this by running generated queries against listening sockets.

Every step is linear in the length of the query: one pass of one regular expression whose
parts cannot backtrack more than once over any character (possessive quantifiers, and a
failed token ends the scan), and bounded nesting (:data:`MAX_NESTING`) so that Oxigraph's
recursive parser cannot be made to overflow its stack.

The same pass tells the query form (SELECT, ASK, CONSTRUCT, DESCRIBE), whether the query
names its dataset and its own LIMIT. Updates never reach :func:`inspect`'s caller: the
public endpoint has no update path. Authenticated updates go through
:func:`inspect_update`, which refuses ``LOAD`` (the server does not fetch documents) and
applies the same SERVICE allow-list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
_UPDATES = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
#: Brackets open at once, at most. Oxigraph's parser recurses on each level; real queries
#: stay within a few dozen.
MAX_NESTING = 128

# spargebra's character classes (lib/spargebra/src/parser.rs, 0.5).
_BASE = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
_CHARS_U = _BASE + "_"
_CHARS = _CHARS_U + r"\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_NAME_PART = rf"[{_CHARS}:]|{_PLX}"
_ESCAPE = r"\\(?:[tbnrf\"'\\]|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})"

_TOKEN = re.compile(
    rf"""
    (?P<space>[\ \t\r\n]++)
  | (?P<comment>\#[^\r\n]*+)
  | (?P<long1>'''(?:[^'\\]|{_ESCAPE}|'(?!''))*+''')
  | (?P<long2>\"\"\"(?:[^"\\]|{_ESCAPE}|"(?!""))*+\"\"\")
  | (?P<short1>'(?:[^'\\\n\r]|{_ESCAPE})*+')
  | (?P<short2>"(?:[^"\\\n\r]|{_ESCAPE})*+")
  | (?P<iri><(?:[^<>"{{}}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{{4}}|\\U[0-9A-Fa-f]{{8}})*+>)
  | (?P<var>[?$][{_CHARS_U}0-9][{_CHARS_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*+)
  | (?P<lang>@[a-zA-Z]++(?:-[a-zA-Z0-9]++)*+(?:--[a-zA-Z]++)?)
  | (?P<number>[0-9]*+\.[0-9]++(?:[eE][+-]?[0-9]++)?|[0-9]++(?:\.[0-9]*+)?[eE][+-]?[0-9]++|[0-9]++)
  | (?P<name>[{_CHARS_U}:](?:{_NAME_PART})*+(?:\.++(?:{_NAME_PART})++)*+)
  | (?P<punct>[{{}}()\[\],;.*/+\-!=<>&|^?~])
  | (?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_STRING_ESCAPE = re.compile(_ESCAPE)
_IRI_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_NOT_IN_IRI = re.compile(r'[<>"{}|^`\\\x00-\x20]')
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$)")
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}
_OPENING = "{(["


class QueryRefused(ValueError):
    """A query the endpoint will not run, with the reason for the client.

    *status* is the HTTP status that fits: 403 for what this endpoint does not allow,
    400 for text it cannot read (Oxigraph could not either)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


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
    #: The normal form of the query: the only text that may be run for it.
    text: str = ""


class _Token(NamedTuple):
    kind: str
    #: As written in the normal form.
    text: str
    #: Upper-cased keyword for names; the decoded IRI for IRIs; else the text.
    value: str


def inspect(query: str, allowed_services: frozenset[str] = frozenset()) -> QueryShape:
    """The form, SERVICE endpoints, dataset, own LIMIT and normal form of a public query;
    QueryRefused if it is not allowed or cannot be read."""
    tokens = _normalise(query, ("SERVICE",))
    form = None
    dataset = False
    limit = None
    depth = 0
    words = [t for t in tokens if t.kind not in ("space", "comment")]
    for position, token in enumerate(words):
        if token.kind == "punct" and token.value in "{}":
            depth += 1 if token.value == "{" else -1
        if token.kind != "name":
            continue
        if form is None and token.value in FORMS:
            form = token.value
        if form is None and token.value in _UPDATES:
            raise QueryRefused("this endpoint only answers queries; updates go to the authenticated /sparql/update")
        if token.value == "FROM":
            dataset = True
        if token.value == "LIMIT" and depth == 0 and position + 1 < len(words) and words[position + 1].kind == "number":
            number = words[position + 1].text
            limit = int(number) if number.isdigit() else None
    services = tuple(_service_targets(words, allowed_services))
    return QueryShape(form, services, dataset, limit, "".join(t.text for t in tokens))


def inspect_update(update: str, allowed_services: frozenset[str] = frozenset()) -> str:
    """The normal form of an authenticated update: QueryRefused (400) for LOAD, which
    would make the server fetch a document (``file:`` or ``http:``), and for SERVICE
    outside the allow-list, as for queries."""
    tokens = _normalise(update, ("SERVICE", "LOAD"))
    words = [t for t in tokens if t.kind not in ("space", "comment")]
    if any(t.kind == "name" and t.value == "LOAD" for t in words):
        raise QueryRefused(
            "LOAD is not accepted: this server does not fetch documents (file: or http: URLs); "
            "send the data itself with PUT or POST to /sparql/store?graph=IRI", status=400)
    list(_service_targets(words, allowed_services, status=400))
    return "".join(t.text for t in tokens)


def _service_targets(words: list[_Token], allowed: frozenset[str], status: int = 403):
    """The endpoint of each SERVICE (after an optional SILENT), which must be an IRI on
    the allow-list."""
    for position, token in enumerate(words):
        if token.kind != "name" or token.value != "SERVICE":
            continue
        rest = words[position + 1 : position + 3]
        if rest and rest[0].kind == "name" and rest[0].value == "SILENT":
            rest = rest[1:]
        target = rest[0].value if rest and rest[0].kind == "iri" else None
        if target is None or target not in allowed:
            shown = f"<{target}>" if target is not None else "to a variable or prefixed name"
            raise QueryRefused(f"SERVICE {shown} is not allowed here (federation is limited to configured endpoints)", status)
        yield target


def _normalise(text: str, keywords: tuple[str, ...]) -> list[_Token]:
    """The tokens of *text*, each written in its normal form (see the module's doc)."""
    tokens: list[_Token] = []
    prefixes: dict[str, str] = {}
    depth = 0
    #: After ``PREFIX``: True; after ``PREFIX name:``: the name, whose IRI comes next.
    declaring: bool | str = False
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        raw = match.group()
        if kind is None:  # never: every alternative of _TOKEN is a named group
            raise _unreadable(text, match.start())
        if kind == "space":
            tokens.append(_Token(kind, raw, raw))
            continue
        if kind == "comment":
            tokens.append(_Token(kind, " ", ""))
            continue
        if kind == "bad":
            raise _unreadable(text, match.start())
        if kind in ("long1", "long2", "short1", "short2"):
            token = _string(raw, 3 if kind.startswith("long") else 1)
        elif kind == "iri":
            token = _iri(raw)
            if isinstance(declaring, str):
                prefixes[declaring] = token.value
        elif kind == "name":
            token = _name(raw, prefixes, keywords)
        else:
            if kind == "punct":
                depth = _nesting(depth, raw)
            token = _Token(kind, raw, raw)
        tokens.append(token)
        declaring = _declaring(declaring, token)
    return tokens


def _declaring(state: bool | str, token: _Token) -> bool | str:
    """Where a ``PREFIX name: <iri>`` declaration stands after *token*."""
    if token.kind == "name" and token.value == "PREFIX":
        return True
    if state is True and token.kind == "name" and token.text.endswith(":"):
        return token.text[:-1]
    return False


def _nesting(depth: int, bracket: str) -> int:
    if bracket in _OPENING:
        depth += 1
        if depth > MAX_NESTING:
            raise QueryRefused(f"the query nests brackets more than {MAX_NESTING} deep", status=400)
    elif bracket in "})]":
        depth -= 1
    return depth


def _unreadable(text: str, position: int) -> QueryRefused:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    char = text[position]
    if char == "\\":
        return QueryRefused(
            f"line {line}, column {column}: a backslash outside a string or IRI (\\uXXXX escapes are read only inside strings and IRIs)",
            status=400)
    if char in "'\"":
        return QueryRefused(f"line {line}, column {column}: a string that is not closed, or has an escape SPARQL does not allow", status=400)
    return QueryRefused(f"line {line}, column {column}: {char!r} cannot start anything in SPARQL", status=400)


def _string(raw: str, quotes: int) -> _Token:
    """A string in its normal form: the same value, written ``"..."``."""
    value = _STRING_ESCAPE.sub(_decode_string_escape, raw[quotes:-quotes])
    written = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return _Token("string", f'"{written}"', value)


def _decode_string_escape(match: re.Match) -> str:
    escape = match.group()
    if escape[1] in "uU":
        return _code_point(escape[2:])
    return _ECHAR[escape[1]]


def _code_point(digits: str) -> str:
    number = int(digits, 16)
    if 0xD800 <= number <= 0xDFFF or number > 0x10FFFF:
        raise QueryRefused(f"\\u{digits} is not a character", status=400)
    return chr(number)


def _iri(raw: str) -> _Token:
    """An IRI in its normal form: escapes decoded, ``'`` written ``\\u0027``."""
    value = _IRI_ESCAPE.sub(lambda m: _code_point(m.group(1) or m.group(2)), raw[1:-1])
    if _NOT_IN_IRI.search(value):
        raise QueryRefused(f"the IRI {raw} holds a character IRIs may not contain", status=400)
    return _Token("iri", "<" + value.replace("'", "\\u0027") + ">", value)


def _name(raw: str, prefixes: dict[str, str], keywords: tuple[str, ...]) -> _Token:
    """A keyword, prefixed name or blank node: as written, unless it holds one of
    *keywords* (SERVICE; LOAD in updates) without being it (see the module's doc)."""
    upper = raw.upper()
    if "\\" in raw.partition(":")[0] or "%" in raw.partition(":")[0]:
        raise QueryRefused(f"{raw!r}: escapes are allowed only in the local part of a prefixed name", status=400)
    hidden = next((k for k in keywords if k in upper and upper != k), None)
    if hidden is None:
        return _Token("name", raw, upper)
    prefix, colon, local = raw.partition(":")
    declared = prefixes.get(prefix) if colon and not raw.startswith("_:") else None
    if declared is not None and _ABSOLUTE.match(declared) and not _DOT_SEGMENT.search(declared) and "\\" not in local:
        return _iri(f"<{declared}{local}>")
    raise QueryRefused(
        f"{raw!r} contains the keyword {hidden} without being it; write it as a full IRI <...> or put spaces around the keyword",
        status=403 if hidden == "SERVICE" else 400)


def add_using(update: str, default_graphs: tuple[str, ...], named_graphs: tuple[str, ...]) -> str:
    """An update (in normal form: :func:`inspect_update`) with the protocol's
    ``using-graph-uri``/``using-named-graph-uri`` written into each INSERT/DELETE ...
    WHERE operation as USING clauses.

    The protocol says these parameters set the dataset of those operations; pyoxigraph
    takes the dataset only from the update text, so it is put there. An update that
    names its own dataset (USING or WITH) conflicts with the parameters: QueryRefused.
    """
    if not default_graphs and not named_graphs:
        return update
    for graph in default_graphs + named_graphs:
        if _NOT_IN_IRI.search(graph):
            raise QueryRefused(f"{graph!r} is not an IRI", status=400)
    clause = " ".join([f"USING <{g}>" for g in default_graphs] + [f"USING NAMED <{g}>" for g in named_graphs])
    pieces: list[str] = []
    depth = 0
    previous = ""
    for match in _TOKEN.finditer(update):
        kind, value = match.lastgroup, match.group()
        if kind == "name":
            upper = value.upper()
            if upper in ("USING", "WITH") and depth == 0:
                raise QueryRefused("the update names its own dataset (USING or WITH) and the request names one too", status=400)
            if upper == "WHERE" and depth == 0 and previous != "DELETE":
                pieces.append(clause + " ")
            previous = upper
        elif kind == "punct" and value in "{}":
            depth += 1 if value == "{" else -1
        pieces.append(value)
    return "".join(pieces)
