"""The pages of one walk through a source, each read once.

A walk goes from page to page by links the source gives (Hydra ``next``, a sitemap
index's sitemaps, a change feed's next page, SPARQL pages by offset). A source that
links back to a page already read — by the same URL, or by a new URL that answers the
same content (``?page=N+1`` serving page N again) — would keep a harvest going forever;
so such a page ends the walk there. Content is compared by a fingerprint the caller
computes (the page's own statements without its paging links, for RDF pages), since the
links themselves differ from page to page.
"""

from __future__ import annotations

import urllib.parse


def _normal(url: str) -> str:
    """*url* without its fragment, scheme and host in lower case: one page, one key."""
    parts = urllib.parse.urlsplit(urllib.parse.urldefrag(url)[0])
    return urllib.parse.urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


class Walk:
    """The pages read so far by one walk, by URL and by content fingerprint."""

    def __init__(self, what: str = "page") -> None:
        self.what = what
        self._urls: set[str] = set()
        self._fingerprints: dict[str, str] = {}

    def again(self, url: str) -> str | None:
        """Why the walk ends at a link to *url* (a page it read already), or None: asked
        before fetching, so a page linking to itself costs no request."""
        if _normal(url) in self._urls:
            return f"{url}: linked to again, read before: the walk ends here"
        return None

    def visit(self, url: str, fingerprint: str, *also: str) -> str | None:
        """Record the page read at *url* (and any URL it was *also* fetched as, before a
        redirect); None if it is new, else why the walk ends here, one line."""
        keys = {_normal(u) for u in (url, *also)}
        earlier = keys & self._urls
        self._urls |= keys
        if earlier:
            return f"{url}: this {self.what} was read before: the walk ends here"
        first = self._fingerprints.setdefault(fingerprint, url)
        if first != url:
            return f"{url}: the same content as {first}, read before: the walk ends here"
        return None
