"""Temporal coverage in every form the catalogues publish, typed by its precision.

Seen in real records: ``2022-08-19/2022-12-01``, ``2004/..`` (open end),
``1965/1965``, ``1990..2000``, ``2004-04-01T00:00:00Z/2005-03-01T00:00:00Z``, bare years,
and end dates that are a generation timestamp in the future
(``1986-01-01/2030-10-16T08:03:43.563934Z``). A bound is typed ``xsd:gYear``,
``xsd:gYearMonth``, ``xsd:date`` or ``xsd:dateTime`` by how much of it is given.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .namespaces import XSD

# ASCII digits only: ``\d`` would take "２０２０" too, which no XSD date type accepts.
_YEAR = re.compile(r"^(\d{4})$", re.ASCII)
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", re.ASCII)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$", re.ASCII)

#: Years outside this range are placeholders (0, 999, 9999), not dates.
PLAUSIBLE_YEARS = range(1000, 2200)


@dataclass(frozen=True)
class Bound:
    """One end of a period: the lexical form, its XSD datatype and the year it falls in."""

    value: str
    datatype: str
    year: int


@dataclass(frozen=True)
class Period:
    start: Bound | None
    end: Bound | None


class PeriodOrderError(ValueError):
    """A period whose end lies before its start (the profile's PeriodOfTime-order rule)."""


def parse_bound(text: str) -> Bound:
    """A date, datetime, year-month or year, typed by its precision; ValueError if none.

    A datetime at midnight UTC is read as the date it stands for.
    """
    bound = parse_date(text)
    if bound.datatype == XSD + "dateTime":
        moment = dt.datetime.fromisoformat(bound.value.replace("Z", "+00:00"))
        if moment.time() == dt.time(0, 0) and moment.utcoffset() in (None, dt.timedelta(0)):
            # Midnight UTC is how a date is published as a datetime: keep the date.
            return Bound(bound.value[:10], XSD + "date", bound.year)
    return bound


def parse_date(text: str) -> Bound:
    """A date as published (a source's ``dct:issued``), typed by its precision.

    The moment is kept as given; only a datetime without seconds (``2012-05-10T21:04``)
    gets ``:00``, which ``xsd:dateTime`` requires. ValueError if it is no date.
    """
    text = text.strip()
    if m := _YEAR.match(text):
        year = int(m.group(1))
        datatype = XSD + "gYear"
    elif m := _YEAR_MONTH.match(text):
        year = int(m.group(1))
        if not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"month out of range in {text!r}")
        datatype = XSD + "gYearMonth"
    elif _DATE.match(text):
        year = dt.date.fromisoformat(text).year
        datatype = XSD + "date"
    elif m := _DATETIME.match(text):
        if m.group(1) is None:
            text = text[:16] + ":00" + text[16:]
        year = dt.datetime.fromisoformat(text.replace("Z", "+00:00")).year
        datatype = XSD + "dateTime"
    else:
        raise ValueError(f"not a date, year or datetime: {text!r}")
    if year not in PLAUSIBLE_YEARS:
        raise ValueError(f"year {year} is a placeholder, not a date")
    return Bound(text, datatype, year)


def parse_period(text: str) -> Period:
    """Parse ``start/end``, ``start/..``, ``start..end`` or a single bound.

    A single bound is a period that starts and ends within it (``2010`` is the year 2010).
    Raises ValueError when neither end can be read or the end comes before the start.
    """
    text = text.strip()
    if "/" in text:
        first, _, second = text.partition("/")
    elif ".." in text and not text.startswith(".."):
        first, _, second = text.partition("..")
    else:
        bound = parse_bound(text)
        return Period(bound, bound)
    start = None if first.strip() in ("", "..") else parse_bound(first)
    end = None if second.strip() in ("", "..") else parse_bound(second)
    if start is None and end is None:
        raise ValueError(f"period with no start and no end: {text!r}")
    if start and end and end.value[:10] < start.value[: len(end.value[:10])]:
        raise PeriodOrderError(f"period ends before it starts: {text!r}")
    return Period(start, end)


def is_future(bound: Bound, today: dt.date) -> bool:
    """Whether a bound lies after *today* (compared at the bound's own precision)."""
    return bound.value[: len(today.isoformat())] > today.isoformat()[: len(bound.value)]
