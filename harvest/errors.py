"""What can go wrong with a source during a harvest, as one-line messages naming a URL.

A source error ends the walk (or, for one record's document, rejects that record) but
never what was harvested before it: the message is printed, the records stay, and
``--prune`` is skipped because the walk did not finish.
"""

from __future__ import annotations

from studygraph.mappings.records import Origin, Rejection


class HarvestError(RuntimeError):
    """A source failed: the message is one line and names the URL."""


class HarvestLimit(HarvestError):
    """The harvest reached one of its own limits (``--max-pages``, ``--max-time``): the
    whole walk stops, not only the document being fetched."""


def rejection(url: str, error: HarvestError) -> Rejection:
    """One record's document failed: its rejection, naming *url* once (the record is
    rejected and the walk goes on, unless the harvest's own limits were reached)."""
    return Rejection(Origin(url), str(error).removeprefix(f"{url}: "))
