"""RDF terms as N-Triples text, made by the one helper that escapes them.

The mapping writes N-Quads text rather than Python term objects: the store parses it in
Rust (fast, and the same bytes feed the transactional and the bulk path). Every term the
mapping writes goes through :func:`iri` or :func:`literal`, so no record text ever reaches
RDF or SPARQL unescaped: IRIs are validated by Oxigraph's own IRI parser and literals are
escaped by Oxigraph's own serialiser.
"""

from __future__ import annotations

import pyoxigraph

from .keys import remembered_for_short_text
from .namespaces import PREFIXES, XSD


def curie(value: str) -> str:
    """*value* as ``prefix:local`` under :data:`PREFIXES`, else as ``<value>``: how a
    property is named to a person (in warnings)."""
    for prefix, namespace in PREFIXES.items():
        local = value[len(namespace):]
        if value.startswith(namespace) and local and "/" not in local and "#" not in local:
            return f"{prefix}:{local}"
    return f"<{value}>"


class InvalidTerm(ValueError):
    """A value that cannot be written as the RDF term asked for."""


def iri(value: str) -> str:
    """``<value>`` if *value* is an absolute IRI Oxigraph accepts, else :class:`InvalidTerm`."""
    try:
        return str(pyoxigraph.NamedNode(value))
    except ValueError as error:
        raise InvalidTerm(f"not a valid IRI: {value!r} ({error})") from None


def literal(value: str, datatype: str | None = None, language: str | None = None) -> str:
    """A literal in N-Triples syntax, escaped by Oxigraph.

    A typed literal whose lexical form does not fit its datatype is refused here, so the
    store never holds an invalid literal; so is a value Oxigraph cannot hold at all (not
    text, or text with a lone surrogate): :class:`InvalidTerm` either way.
    """
    try:
        if datatype is None:
            return _plain_literal(value) if language is None else str(pyoxigraph.Literal(value, language=language))
        if datatype in _CHECKERS and not _CHECKERS[datatype](value):
            raise InvalidTerm(f"{value!r} is not a valid {datatype.removeprefix(XSD)}")
        return str(pyoxigraph.Literal(value, datatype=pyoxigraph.NamedNode(datatype)))
    except InvalidTerm:
        raise
    except (ValueError, TypeError) as error:
        raise InvalidTerm(f"not a literal Oxigraph can hold: {value!r:.200} ({error})") from None


@remembered_for_short_text
def _plain_literal(value: str) -> str:
    """Short plain literals (labels, keywords, codes) recur: each is escaped once."""
    return str(pyoxigraph.Literal(value))


def integer(value: int) -> str:
    return f'"{int(value)}"^^<{XSD}integer>'


def boolean(value: bool) -> str:
    return f'"{"true" if value else "false"}"^^<{XSD}boolean>'


def term_value(term: pyoxigraph.NamedNode | pyoxigraph.BlankNode | pyoxigraph.Literal | pyoxigraph.Triple) -> str:
    """The text of a term read back from a store or a parsed page: an IRI, a blank node's
    id or a literal's lexical form. Oxigraph types a subject or an object as possibly a
    triple term (RDF 1.2), which has no such text; none is expected here, so one is an
    AttributeError, as reading its ``.value`` would be."""
    if isinstance(term, pyoxigraph.Triple):
        raise AttributeError(f"a triple term has no value: {term}")
    return term.value


def _is_lexical(kind: str):
    """A checker of the lexical form of one of the few XSD datatypes the mapping writes.

    Oxigraph stores an ill-typed literal without complaint and SPARQL then treats it as
    an error, so the check has to happen before the literal is written. The form is
    XSD's (ASCII digits, every part present); dates are also checked to exist.
    """
    import datetime as _dt
    import re as _re

    patterns = {
        "gYear": _re.compile(r"-?[0-9]{4,}"),
        "gYearMonth": _re.compile(r"-?[0-9]{4,}-(0[1-9]|1[0-2])"),
        "integer": _re.compile(r"[+-]?[0-9]+"),
        "date": _re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
        "dateTime": _re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?"),
    }

    def exists(value: str) -> bool:
        try:
            if kind == "date":
                _dt.date.fromisoformat(value)
            elif kind == "dateTime":
                _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return False
        return True

    def check(value: str) -> bool:
        return isinstance(value, str) and bool(patterns[kind].fullmatch(value)) and exists(value)

    return check


_CHECKERS = {XSD + kind: _is_lexical(kind) for kind in ("gYear", "gYearMonth", "integer", "date", "dateTime")}
