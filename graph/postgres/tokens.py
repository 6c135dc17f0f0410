"""Text as PostgreSQL holds it for search: the tokens SQLite's FTS5 would index, as a
``tsvector``; user queries as the ``tsquery`` FTS5 would run.

Same answers as the embedded index means the same tokens. Rather than imitate FTS5's
``unicode61 remove_diacritics 2`` tokenizer (its token classes and diacritic table are
its own), the text is tokenized *by* it: an in-memory FTS5 table per thread and its
``fts5vocab`` instance view give each token and its position. The tokens are then
written into a ``tsvector`` literal with their positions, the column as the weight
(A title, B keywords, C description) and one empty position between columns, so that
a phrase never spans two columns, as in FTS5.

Known limits of ``tsvector`` (beyond them phrases and bm25 frequencies can differ from
SQLite; plain word matches cannot): positions above 16,383 are stored as 16,383 (a
text over ~16k words), and a lexeme keeps at most 256 positions.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass

from studygraph.graph.search.text import fts_query

#: The column weights of the tsvector, in the order title, keywords, description.
WEIGHTS = ("A", "B", "C")
_local = threading.local()


def _tokenizer() -> sqlite3.Connection:
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = sqlite3.connect(":memory:")
        connection.execute("CREATE VIRTUAL TABLE t USING fts5(a, b, c, tokenize = 'unicode61 remove_diacritics 2')")
        connection.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
        _local.connection = connection
    return connection


def tokenize(rows: list[tuple[str, str, str]]) -> list[tuple[list[str], list[str], list[str]]]:
    """Each row's three texts as FTS5 tokenizes them, token lists in text order."""
    connection = _tokenizer()
    out: list[tuple[list[str], list[str], list[str]]] = [([], [], []) for _ in rows]
    with connection:
        connection.executemany("INSERT INTO t(rowid, a, b, c) VALUES (?, ?, ?, ?)", ((i, *row) for i, row in enumerate(rows)))
        found: list[tuple[int, int, int, str]] = [
            (doc, "abc".index(col), offset, term) for term, doc, col, offset in connection.execute("SELECT term, doc, col, offset FROM v")
        ]
        connection.execute("DELETE FROM t")
    found.sort()
    for doc, col, _, term in found:
        out[doc][col].append(term)
    return out


def _quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


#: What a tsvector keeps of a lexeme's positions: none above MAX_POSITION, at most MAX_POSITIONS.
MAX_POSITION, MAX_POSITIONS = 16383, 256


def document(title: list[str], keywords: list[str], description: list[str]) -> tuple[str, str]:
    """A record's tokens as a tsvector literal (see the module docstring), and as a JSON
    object of each token's occurrences in the title, keywords and description as that
    tsvector keeps them (graph.postgres.schema's ``freqs``: a one-word phrase's bm25
    frequency is read from it instead of unnesting the tsvector)."""
    positions: dict[str, list[int]] = {}
    weights: dict[str, list[str]] = {}
    position = 1
    for weight, tokens in zip(WEIGHTS, (title, keywords, description)):
        for token in tokens:
            found = positions.get(token)
            if found is None:
                positions[token], weights[token] = [position], [weight]
            else:
                found.append(position)
                weights[token].append(weight)
            position += 1
        position += 1  # an empty position: no phrase spans two columns
    vector: list[str] = []
    counts: dict[str, list[int]] = {}
    clamped = position > MAX_POSITION
    for token, places in positions.items():
        kinds = weights[token]
        if clamped or len(places) > MAX_POSITIONS:
            marks = _as_kept(list(zip(places, kinds)))
            places, kinds = [p for p, _ in marks], [w for _, w in marks]
        vector.append(_quote(token) + ":" + ",".join([f"{p}{w}" for p, w in zip(places, kinds)]))
        counts[token] = [kinds.count(weight) for weight in WEIGHTS]
    return " ".join(vector), json.dumps(counts, separators=(",", ":"), ensure_ascii=False)


def _as_kept(marks: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """A lexeme's (position, weight) marks as a tsvector keeps them: positions over
    MAX_POSITION as MAX_POSITION, each position once (its highest weight: A > B > C), the
    first MAX_POSITIONS."""
    kept: dict[int, str] = {}
    for place, weight in marks:
        place = min(place, MAX_POSITION)
        kept[place] = min(kept.get(place, weight), weight)
    return sorted(kept.items())[:MAX_POSITIONS]


@dataclass(frozen=True)
class Phrase:
    """One quoted string of the FTS5 query: its tokens, the last one maybe a prefix."""

    tokens: tuple[str, ...]
    prefix: bool

    def tsquery(self) -> str:
        return " <-> ".join(_quote(t) for t in self.tokens) + (":*" if self.prefix else "")


def phrases(text: str | None) -> list[Phrase] | None:
    """The phrases FTS5 would run for user *text* (:func:`fts_query`'s rules), or None
    when there is no searchable word. Phrases with no token are dropped, as FTS5 does;
    an empty list then matches nothing."""
    query = fts_query(text)
    if query is None:
        return None
    strings: list[tuple[str, bool]] = []
    # fts_query's output is '"a b" "c"*': quoted strings of letter/digit runs, no quotes inside.
    for piece in query.split('"')[1::2]:
        strings.append((piece, False))
    if query.endswith("*"):
        strings[-1] = (strings[-1][0], True)
    tokenized = tokenize([(piece, "", "") for piece, _ in strings])
    return [Phrase(tuple(tokens[0]), prefix) for tokens, (_, prefix) in zip(tokenized, strings) if tokens[0]]


def tsquery(found: list[Phrase]) -> str:
    return " & ".join(p.tsquery() for p in found)
