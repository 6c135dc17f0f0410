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
from functools import lru_cache, wraps
from typing import Callable, TypeVar

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
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{0,198}[a-z0-9])?$")

#: Organisation acronyms seen in the catalogues' funder lists, and the name each stands for.
ORGANISATION_ALIASES: dict[str, str] = {
    "esrc": "Economic and Social Research Council",
    "mrc": "Medical Research Council",
    "nihr": "National Institute for Health and Care Research",
    "ukri": "UK Research and Innovation",
    "bbsrc": "Biotechnology and Biological Sciences Research Council",
    "epsrc": "Engineering and Physical Sciences Research Council",
    "ahrc": "Arts and Humanities Research Council",
    "dohsc": "Department of Health and Social Care",
    "dhsc": "Department of Health and Social Care",
    "dfe": "Department for Education",
    "dwp": "Department for Work and Pensions",
    "ons": "Office for National Statistics",
    "houk": "Home Office",
    "blf": "British Lung Foundation",
    "adruk": "ADR UK",
    "hdruk": "Health Data Research UK",
    "nhsdigital": "NHS Digital",
    "alzhsoc": "Alzheimer's Society",
    "nuffield": "Nuffield Foundation",
}


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


def organisation_names(value: str) -> list[str]:
    """The organisations named in one published name field.

    Catalogues pack several organisations into one name: separated by ``;`` or ``<br>``
    ("Bangor University; Swansea University"), or as a run of funder acronyms ("MRC
    NIHR"). A run of single words is split only when one of them is a known acronym, so
    "Wellcome Trust" stays whole.
    """
    parts = [clean_text(part) for part in re.split(r";|<br\s*/?>", value, flags=re.I)]
    names: list[str] = []
    for part in filter(None, parts):
        words = part.split(" ")
        if (
            len(words) > 1
            and any(w.lower() in ORGANISATION_ALIASES for w in words)
            and not any(w.lower() in _ORGANISATION_WORDS or w.islower() for w in words)
        ):
            names.extend(words)
        else:
            names.append(part)
    return [ORGANISATION_ALIASES.get(name.lower(), name) for name in names]


def organisation_label(name: str) -> str:
    """The label of an organisation node: the cleaned name, acronyms expanded."""
    cleaned = clean_text(name)
    return ORGANISATION_ALIASES.get(cleaned.lower(), cleaned)


def keyword_label(value: str) -> str:
    """The label of a keyword concept: cleaned, typography folded and lower-cased, as one
    label per key (the keyword as published stays on the study, in ``schema:keywords``)."""
    return clean_text(value).translate(_TYPOGRAPHY).lower()
