"""What one harvest did: records loaded, pages read, and what went wrong, line by line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from studygraph.graph.loader import LoadReport


@dataclass
class HarvestReport:
    load: LoadReport = field(default_factory=LoadReport)
    pages: int = 0
    deleted: int = 0
    #: Source errors, one line each naming a URL: the walk did not finish.
    errors: list[str] = field(default_factory=list)
    #: Things worth saying that did not stop the walk short (a page linked to again).
    notices: list[str] = field(default_factory=list)
    token: int | None = None
    #: Listed documents that could not be fetched (their records may still exist there).
    unread: list[str] = field(default_factory=list)
    #: Pages a conditional request found unchanged since the last harvest (304).
    unchanged_pages: int = 0
    #: Requests sent (retries and redirects included).
    requests: int = 0
    #: What the next harvest of these sources starts from (tokens, HTTP validators).
    state: dict[str, Any] = field(default_factory=dict)

    def add(self, part: LoadReport) -> None:
        """Count a load of some of the harvested records in."""
        for key, value in part.counts.items():
            self.load.counts[key] += value
        self.load.rejections += part.rejections
        self.load.warnings += part.warnings
