"""DOIs and web addresses as the catalogues publish them, repaired or refused.

Published values include bare DOIs, ``http://dx.doi.org/`` and percent-encoded forms,
empty URLs and URLs with a stray closing parenthesis copied from prose
(``https://gladstudy.org.uk/)``). Each function returns a clean value and a note of what
it repaired, or raises :class:`ValueError` saying why the value cannot be used.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

#: Where a DOI name resolves: the prefix of every DOI IRI we write (``schema:sameAs``).
DOI_RESOLVER = "https://doi.org/"
_DOI_PREFIX = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/|https?://doi\.org/)", re.I)
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")


def normalise_doi(value: str) -> str | None:
    """The DOI name (``10.xxxx/...``) in *value*, or None if it is not a DOI."""
    text = unquote(value.strip())
    text = _DOI_PREFIX.sub("", text).strip()
    return text if _DOI.match(text) else None


def doi_iri(doi: str) -> str:
    """The resolver IRI of a DOI name, with characters IRIs forbid percent-encoded."""
    return DOI_RESOLVER + quote(doi, safe="/:;()._-+!*'~,=@$&?#[]")


def web_url(value: str) -> tuple[str, str | None]:
    """A usable http(s) URL from *value*, and a note when it had to be repaired.

    Raises ValueError for an empty value, another scheme, or no host.
    """
    text = value.strip()
    if not text:
        raise ValueError("empty URL")
    note = None
    # A closing parenthesis or punctuation with no opening one is prose around the URL.
    while text and text[-1] in ").,;" and (text[-1] != ")" or text.count("(") < text.count(")")):
        text = text[:-1]
        note = f"removed trailing punctuation from {value!r}"
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {value!r}")
    if not parts.hostname or not re.fullmatch(r"[A-Za-z0-9.-]+", parts.hostname):
        raise ValueError(f"URL has no valid host: {value!r}")
    if re.search(r"[\s<>\"{}|\\^`]", text):
        text = quote(text, safe="/:;()._-+!*'~,=@$&?#[]%")
        note = f"percent-encoded characters not allowed in URLs in {value!r}"
    return text, note
