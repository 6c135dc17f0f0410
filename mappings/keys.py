"""Keys and labels of linked nodes, normalised so one thing gets one node.

The same sponsor, keyword or catalogue reaches us spelt in many ways ("King's College
London" with a straight or a curly apostrophe, "MENTAL HEALTH" and "mental health",
"ESRC" and "Economic and Social Research Council"). The key — the last segment of the
node's URL — is computed from a cleaned name, with typographic quotes and dashes folded,
so all of them land on one node. Labels keep the text as published (markup and runs of
white space aside): an en dash in "Stadt Rostock – Vermessungsamt" is part of the name.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import TypeVar

from . import funders

_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_NOT_KEY = re.compile(r"[^a-z0-9]+")
#: Typographic characters folded to their plain forms in keys (never in labels).
_TYPOGRAPHY = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})
_ORGANISATION_WORDS = frozenset(
    "trust foundation university council institute society centre center college department "
    "unit service services research agency office ministry school hospital board "
    "commission association digital health national royal".split()
)
#: Words that join the words of a name and never stand for an organisation.
_CONNECTING_WORDS = frozenset("of for and the in on at to de".split())
#: A code in a funder list: a capital, then letters, digits and underscores.
_ACRONYM = re.compile(r"[A-Z][A-Za-z0-9_]*")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,198}[a-z0-9])?$")

#: Names, keywords and codes recur across thousands of records, descriptions hardly ever:
#: what is made of texts up to this length is made once and remembered.
SHORT_TEXT = 160
_REMEMBERED = 1 << 16
_Result = TypeVar("_Result")


def remembered_for_short_text(function: Callable[..., _Result]) -> Callable[..., _Result]:
    """*function* of a text (its first argument) remembered when the text is short, so
    the long, one-off texts of descriptions never crowd out the recurring ones."""
    remembered = lru_cache(maxsize=_REMEMBERED)(function)

    @wraps(function)
    def call(text: str, *rest: object) -> _Result:
        return remembered(text, *rest) if len(text) <= SHORT_TEXT else function(text, *rest)

    return call


@remembered_for_short_text
def clean_text(value: str) -> str:
    """Text with markup removed, entities decoded and spaces collapsed; every character
    of the text itself (quotes, dashes) is kept as published."""
    text = html.unescape(_TAGS.sub(" ", value))
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


@remembered_for_short_text
def slugify(value: str) -> str:
    """A URL path segment of lowercase ASCII letters, digits and hyphens ('' if none)."""
    folded = clean_text(value).translate(_TYPOGRAPHY)
    ascii_text = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode()
    ascii_text = ascii_text.replace("&", " and ").replace("'", "")
    return _NOT_KEY.sub("-", ascii_text.lower()).strip("-")[:120].strip("-")


def is_slug(value: str) -> bool:
    """Whether *value* can be used as given as the last segment of a document URL."""
    return bool(_SLUG.match(value)) and ".." not in value


@dataclass(frozen=True)
class OrganisationNames:
    """The organisations one name field names, and the codes in it that no entry of the
    funder table matches (kept as written; the caller reports them)."""

    names: tuple[str, ...]
    unknown: tuple[str, ...] = ()


@remembered_for_short_text
def organisation_names(value: str) -> OrganisationNames:
    """The organisations named in one published name field, by their full names.

    Catalogues pack several organisations into one name: separated by ``;`` or ``<br>``
    ("Bangor University; Swansea University"), or as a run of funder codes ("SirJules
    ESRC MRC"). A part of the field is split at spaces only when it reads, left to right,
    as names of the funder table (``funders.csv``; the longest spelling wins, so "ADR UK"
    is one) and codes shaped like acronyms, with at least one name of the table: "ESRC
    HECFW" gives ESRC and the unknown code HECFW, but "University of Bristol", "Wellcome
    Trust Sanger Institute" and "MRC Harwell" hold a plain word and stay whole.
    """
    names: list[str] = []
    unknown: list[str] = []
    for part in filter(None, (clean_text(p) for p in re.split(r";|<br\s*/?>", value, flags=re.I))):
        run = _funder_run(part.split(" "))
        if run is None:
            names.append(part)
        else:
            names.extend(run.names)
            unknown.extend(run.unknown)
    return OrganisationNames(tuple(names), tuple(unknown))


def _funder_run(words: list[str]) -> OrganisationNames | None:
    """*words* read as a run of funder-table names and unknown acronyms, or None when a
    word is neither (or no name of the table is in it), so the part is one name."""
    names: list[str] = []
    unknown: list[str] = []
    start = 0
    while start < len(words):
        for end in range(min(len(words), start + funders.longest_spelling()), start, -1):
            known = funders.lookup(" ".join(words[start:end]))
            if known:
                names.append(known.name)
                start = end
                break
        else:
            word = words[start]
            if not _looks_like_acronym(word):
                return None
            names.append(word)
            unknown.append(word)
            start += 1
    known_names = len(names) - len(unknown)
    return OrganisationNames(tuple(names), tuple(unknown)) if known_names else None


def _looks_like_acronym(word: str) -> bool:
    """Whether *word* reads as an organisation's code ("HECFW", "SirJules", "NIHR_GOSH")
    rather than a word of a name ("Bristol", "Trust", "OF", "UNIT")."""
    folded = word.casefold()
    if folded in _ORGANISATION_WORDS or folded in _CONNECTING_WORDS:
        return False
    return bool(_ACRONYM.fullmatch(word)) and (sum(c.isupper() for c in word) >= 2 or "_" in word)


def organisation_label(name: str) -> str:
    """The label of an organisation node: the cleaned name, or the full name of the
    funder-table entry it spells."""
    cleaned = clean_text(name)
    known = funders.lookup(cleaned)
    return known.name if known else cleaned


def keyword_label(value: str) -> str:
    """The label of a keyword concept: cleaned, typography folded and lower-cased, as one
    label per key (the keyword as published stays on the study, in ``schema:keywords``)."""
    return clean_text(value).translate(_TYPOGRAPHY).lower()
