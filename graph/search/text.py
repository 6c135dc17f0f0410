"""Text as the search index holds and matches it: safe FTS5 queries, plain text, sort keys, tokens.

User text never reaches the FTS5 query language as syntax: :func:`fts_query` turns it into
quoted strings. Links are indexed as tokens that start with a private-use character,
which user text can never contain, so user words never match them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

MAX_QUERY_WORDS = 16
SNIPPET_CHARS = 200
#: Marks link tokens: a private-use character, a token character for unicode61 but
#: never part of a word taken from user text.
TOKEN_MARK = "\ue000"

_WORD_PART = re.compile(r"[^\W_]+")
TAG = re.compile(r"</?[A-Za-z][^<>]{0,500}>")
_SPACE = re.compile(r"\s+")


def fts_query(text: str | None, *, prefix: bool = True) -> str | None:
    """A safe FTS5 query for user text, or None when it holds no searchable word.

    Each whitespace-separated word becomes a quoted FTS5 string of its letter/digit runs
    (``covid-19`` -> ``"covid 19"``, a phrase, as the tokenizer indexed it), so quotes,
    parentheses, ``AND``/``OR``/``NOT``/``NEAR``, ``column:`` filters and ``*`` in the
    input are plain text, never syntax. The strings are ANDed; the last one is a prefix
    match (``"heal"*``) while the user is still typing it (no trailing space), unless it
    is a single letter, whose prefix would expand over a large part of the vocabulary.
    """
    if not text:
        return None
    text = unicodedata.normalize("NFC", text)
    words = [parts for parts in (_WORD_PART.findall(word) for word in text.split()) if parts]
    if not words:
        return None
    truncated = len(words) > MAX_QUERY_WORDS
    words = words[:MAX_QUERY_WORDS]
    phrases = ['"' + " ".join(parts) + '"' for parts in words]
    typing = _WORD_PART.findall(text.split()[-1]) if not text[-1].isspace() else []
    if prefix and typing and not truncated and len(typing[-1]) >= 2:
        phrases[-1] += "*"
    return " ".join(phrases)


def plain_text(text: str) -> str:
    """Text as indexed and shown in snippets: HTML tags dropped, whitespace collapsed."""
    if "<" in text:
        text = TAG.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def sort_key(title: str) -> str:
    """The key titles are ordered by: case and diacritics ignored (``Étude`` next to ``Etude``)."""
    if title.isascii():
        return title.lower().strip()
    decomposed = unicodedata.normalize("NFKD", title.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def snippet(description: str, limit: int = SNIPPET_CHARS) -> str:
    """The first *limit* characters of the (plain) description, cut at a word boundary."""
    text = plain_text(description)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def node_token(node: int) -> str:
    return f"{TOKEN_MARK}n{node}"


def facet_token(facet: int, node: int) -> str:
    """The token of a membership of a facet that takes only some roles (a sponsor, not a publisher)."""
    return f"{TOKEN_MARK}f{facet}x{node}"



def link_tokens(pairs: Iterable[tuple[int, str]], restricted: Iterable[tuple[int, int]]) -> str:
    """The ``links`` column of a record: a token per linked node, which also serves the
    filters of facets that take any role, and a token per membership of a facet that
    takes only some roles."""
    nodes = dict.fromkeys(node for node, _ in pairs)
    return " ".join([*map(node_token, nodes), *(facet_token(f, n) for f, n in restricted)])
