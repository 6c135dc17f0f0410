"""Countries and languages as EU Publications Office authority IRIs, via pycountry.

DCAT-AP wants ``dct:spatial`` and ``dct:language`` to name entries of the EU
authority tables (``.../authority/country/GBR``, ``.../authority/language/ENG``), which
are keyed by ISO 3166-1 alpha-3 and ISO 639 three-letter codes. Records carry two-letter
codes, sometimes the common but non-ISO ``UK`` for the United Kingdom; harvested DCAT
carries ``"en"``, ``"eng"`` or ``"English"`` as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pycountry

from .namespaces import EU_COUNTRY, EU_LANGUAGE

#: Codes in use that ISO 3166-1 does not assign, and the code they mean.
COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}


@dataclass(frozen=True)
class Authority:
    """An entry of an EU authority table: its IRI, its code there, and an English label."""

    iri: str
    code: str
    label: str
    alpha_2: str | None


@lru_cache(maxsize=512)
def country(code: str) -> tuple[Authority, str | None]:
    """The authority entry for a country code, and a note when an alias was corrected.

    Raises ValueError for a code that names no country.
    """
    text = code.strip().upper()
    note = None
    if text in COUNTRY_ALIASES:
        note = f"{code!r} is not an ISO 3166 code; read as {COUNTRY_ALIASES[text]!r}"
        text = COUNTRY_ALIASES[text]
    found = pycountry.countries.get(alpha_2=text) if len(text) == 2 else pycountry.countries.get(alpha_3=text)
    if found is None:
        raise ValueError(f"unknown country code {code!r}")
    label = getattr(found, "common_name", None) or found.name
    return Authority(EU_COUNTRY + found.alpha_3, found.alpha_3, label, found.alpha_2), note


@lru_cache(maxsize=512)
def language(code: str) -> Authority:
    """The authority entry for a language given as an ISO 639-1 or 639-3 code, an ISO
    639-2 bibliographic code (``ger``), a language tag whose first part is one of those
    (``en-US``) or an English name (``English``, as some DCAT publishers write
    ``dct:language``); ValueError if unknown."""
    text = code.strip().lower()
    primary, _, region = text.replace("_", "-").partition("-")
    if region and 2 <= len(primary) <= 3 and primary.isalpha():
        text = primary
    if len(text) == 2:
        found = pycountry.languages.get(alpha_2=text)
    elif len(text) == 3:
        found = pycountry.languages.get(alpha_3=text) or pycountry.languages.get(bibliographic=text)
    else:
        found = next((entry for entry in pycountry.languages if entry.name.lower() == text), None)
    if found is None:
        raise ValueError(f"unknown language code {code!r}")
    return Authority(EU_LANGUAGE + found.alpha_3.upper(), found.alpha_3.upper(), found.name, getattr(found, "alpha_2", None))
