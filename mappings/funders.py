"""The funder authority table: organisations the catalogues name by acronym or variant.

Catalogues write funders as in-house codes ("SirJules", "NIHR_GOSH", "DoHSC"), run several
together in one string ("ADRUK HDRUK MRC NIHR_GOSH"), and spell one organisation two ways
("ESRC", "Economic and Social Research Council"). ``funders.csv`` lists each organisation
once, with every spelling found in the records and its ROR identifier where one is known,
so that every spelling leads to one node labelled with the full name and linked to ROR.
The table is read once, on first use.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

ROR = "https://ror.org/"
_TABLE = "funders.csv"
#: The digits of ROR identifiers (Crockford's base 32: no i, l, o or u).
_BASE32 = "0123456789abcdefghjkmnpqrstvwxyz"


@dataclass(frozen=True)
class Funder:
    """An organisation of the table: its full name, ROR IRI (None when not known) and
    the other spellings that name it."""

    name: str
    ror: str | None
    variants: tuple[str, ...]


def lookup(name: str) -> Funder | None:
    """The organisation a cleaned name or acronym spells, matched case-insensitively."""
    return _by_spelling().get(name.casefold())


@lru_cache(maxsize=1)
def longest_spelling() -> int:
    """The most words any spelling in the table has: no longer run of words can match."""
    return max(len(spelling.split()) for spelling in _by_spelling())


def table() -> tuple[Funder, ...]:
    """Every organisation of ``funders.csv``, in the file's order."""
    return _table()


def parse_table(text: str) -> tuple[Funder, ...]:
    """The rows of a table in the ``funders.csv`` layout (``#`` lines are comments).

    Raises ValueError for a malformed ROR identifier or a spelling given to two
    organisations, so a mistake in the table stops the first load instead of linking a
    node to the wrong organisation.
    """
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    funders = tuple(_row(row) for row in csv.DictReader(lines))
    _index(funders)
    return funders


def is_ror_id(identifier: str) -> bool:
    """Whether *identifier* is a well-formed ROR ID: ``0``, six base-32 digits and two
    check digits (ISO 7064 mod 97-10 of the first seven), so a mistyped ID is caught."""
    if len(identifier) != 9 or identifier[0] != "0" or not identifier[7:].isdigit():
        return False
    if any(c not in _BASE32 for c in identifier[:7]):
        return False
    number = 0
    for c in identifier[:7]:
        number = number * 32 + _BASE32.index(c)
    return 98 - (number * 100) % 97 == int(identifier[7:])


def _row(row: dict[str, str]) -> Funder:
    name = row["name"].strip()
    identifier = (row.get("ror") or "").strip()
    if identifier and not is_ror_id(identifier):
        raise ValueError(f"{_TABLE}: {name!r} has a malformed ROR identifier {identifier!r}")
    variants = tuple(v.strip() for v in (row.get("variants") or "").split("|") if v.strip())
    return Funder(name, ROR + identifier if identifier else None, variants)


def _index(funders: tuple[Funder, ...]) -> dict[str, Funder]:
    spellings: dict[str, Funder] = {}
    for funder in funders:
        for spelling in (funder.name, *funder.variants):
            other = spellings.setdefault(spelling.casefold(), funder)
            if other is not funder:
                raise ValueError(f"{_TABLE}: {spelling!r} names both {other.name!r} and {funder.name!r}")
    return spellings


@lru_cache(maxsize=1)
def _table() -> tuple[Funder, ...]:
    return parse_table(resources.files(__package__).joinpath(_TABLE).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _by_spelling() -> dict[str, Funder]:
    return _index(_table())
