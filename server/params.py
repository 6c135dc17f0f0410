"""URL parameters and numeric path parts: one parser per kind of value, with bounds.

Every number or date a request carries in its URL is read here and nowhere else, so they
are all read alike: ASCII digits only (Python's ``int()`` also takes ``²``, ``٣`` and
``+ 7``, and a digit string longer than 4,300 characters raises), within bounds a store
can use (SQLite's integers stop at 2**63-1), and a value that cannot be used is a
:class:`ParameterError` — a 400 that names the parameter and says why, answered by the
app's error handler (server.errors) in the format the request asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from werkzeug.exceptions import BadRequest

from studygraph.mappings.keys import is_slug

#: Pages of a paged listing (``?page=``): from 1 to this. Deeper pages are not worth an
#: OFFSET scan; harvesters walk /catalog by keyset cursor instead.
MAX_PAGE = 10_000
#: Years of ``/items?from=&to=``.
MIN_YEAR, MAX_YEAR = 1, 9999
#: Change-feed tokens (``/changes?since=``): SQLite's largest integer.
MAX_SEQUENCE = 2**63 - 1
#: Sitemaps (``/sitemap-N.xml``, from 0): 100,000 sitemaps of 50,000 URLs.
MAX_SITEMAP = 99_999
#: How much of a refused value an error message quotes.
QUOTED_CHARS = 40


class ParameterError(BadRequest):
    """A URL parameter or path part that cannot be used: the 400 says which and why."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason


def quoted(value: str) -> str:
    """*value* as an error message shows it: repr-escaped (no newline can end a Turtle
    comment early) and cut to :data:`QUOTED_CHARS`."""
    return repr(value if len(value) <= QUOTED_CHARS else value[:QUOTED_CHARS] + "…")


def whole_number(parameter: str, text: str, lowest: int, highest: int) -> int:
    """*text* as an integer from *lowest* to *highest*, written in ASCII digits only."""
    if not (text.isascii() and text.isdigit()):
        raise ParameterError(parameter, f"takes a whole number in ASCII digits, not {quoted(text)}")
    significant = text.lstrip("0") or "0"
    if len(significant) > len(str(highest)) or not lowest <= int(significant) <= highest:
        raise ParameterError(parameter, f"must be from {lowest} to {highest}, not {quoted(text)}")
    return int(significant)


def page(args: Mapping[str, str], parameter: str = "page") -> int:
    """``?page=N`` of a paged listing: 1 when absent, else 1 to :data:`MAX_PAGE`.

    A page past the last one is an empty page (its Hydra links lead back); a value that
    is not a page number is refused rather than read as page 1, so a client that built a
    wrong URL learns of it."""
    text = args.get(parameter)
    return 1 if text is None else whole_number(parameter, text, 1, MAX_PAGE)


def year(args: Mapping[str, str], parameter: str) -> int | None:
    """A year (``?from=1990``), or None when absent or empty (an open end)."""
    text = args.get(parameter)
    return None if not text else whole_number(parameter, text, MIN_YEAR, MAX_YEAR)


def sequence(parameter: str, text: str) -> int:
    """A change-feed token: the sequence number of a change, 0 to :data:`MAX_SEQUENCE`."""
    return whole_number(parameter, text, 0, MAX_SEQUENCE)


def sitemap_number(text: str) -> int:
    """The N of ``/sitemap-N.xml``."""
    return whole_number("sitemap number", text, 0, MAX_SITEMAP)


def moment(parameter: str, text: str) -> str:
    """An ISO date (``2024-01-31``) or date-time (``2024-01-31T12:00:00Z``, any offset) as
    the UTC ``xsd:dateTime`` the index and change log store, to the second.

    A date-time without an offset is UTC. Dates whose UTC form falls outside years 1 to
    9999 (``0001-01-01T00:00:00+01:00``) are refused rather than overflow."""
    value = text.strip()
    try:
        if not value.isascii():
            raise ValueError
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        utc = parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ParameterError(parameter, f"takes an ISO date (2024-01-31) or date-time (2024-01-31T12:00:00Z), not {quoted(text)}") from None
    return utc.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def optional_moment(args: Mapping[str, str], parameter: str) -> str | None:
    """:func:`moment` of a parameter that may be absent or empty (None then)."""
    text = args.get(parameter)
    return moment(parameter, text) if text else None


def since(args: Mapping[str, str], parameter: str = "since") -> tuple[int, str | None]:
    """Where the change feed starts: ``(token, None)`` after a change token (digits), or
    ``(0, moment)`` from a date or date-time; ``(0, None)`` from the beginning."""
    text = (args.get(parameter) or "").strip()
    if not text:
        return 0, None
    if text.isascii() and text.isdigit():
        return sequence(parameter, text), None
    try:
        return 0, moment(parameter, text)
    except ParameterError:
        raise ParameterError(parameter, f"takes a change token (ASCII digits, up to {MAX_SEQUENCE}) or an ISO date/date-time, not {quoted(text)}") from None


def cursor(args: Mapping[str, str], parameter: str) -> str | None:
    """A keyset cursor of /catalog (``?after=slug``, ``?before=slug``): a slug, "" when
    given empty (``before=`` is the last page), None when absent."""
    text = args.get(parameter)
    if text is None or text == "":
        return text
    if not is_slug(text):
        raise ParameterError(parameter, f"takes the slug of a study (as /catalog's own links give), not {quoted(text)}")
    return text
