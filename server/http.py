"""HTTP details shared by every document: validators, conditional requests, headers."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from flask import Request, Response
from werkzeug.http import http_date, parse_date

from .negotiation import FORMATS, Format, Profile


def etag_for(*parts: str) -> str:
    """A strong validator derived from what the representation is made of."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def parse_modified(value: str | None) -> dt.datetime | None:
    """An ``xsd:dateTime`` as an aware datetime, to the second (HTTP dates have no more)."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.replace(microsecond=0)


def not_modified(request: Request, etag: str, modified: dt.datetime | None) -> bool:
    """Whether the client's copy is current (If-None-Match wins over If-Modified-Since)."""
    if request.if_none_match:
        return request.if_none_match.contains_weak(etag)
    since = request.headers.get("If-Modified-Since")
    if since and modified is not None:
        parsed = parse_date(since)
        return parsed is not None and modified <= parsed
    return False


def _alternates(chosen: Format, offered: Iterable[Format]) -> list[Format]:
    """The other representations a response names in ``Link: rel="alternate"``.

    A JSON-LD answer names only the HTML page: pyld (the Python JSON-LD processor, 3.3
    and before) cannot load a JSON-LD document whose Link header has more than one
    ``rel="alternate"`` (its loader expects one), and a JSON-LD client has no use for the
    others (JSON-LD follows an alternate only from an answer that is not JSON)."""
    others = [f for f in offered if f != chosen]
    return [f for f in others if f.name == "html"] if chosen.name == "jsonld" else others


def document_headers(
    response: Response,
    *,
    path: str,
    chosen: Format,
    offered: Iterable[Format] = FORMATS,
    profile: Profile | None,
    etag: str,
    modified: dt.datetime | None,
    cite_as: str | None = None,
    base_url: str,
) -> None:
    """Vary, Content-Location, validators, and the Link header with alternates and signposts."""
    response.headers["Vary"] = "Accept, Accept-Profile"
    response.headers["Content-Location"] = f"{path}{chosen.suffix}"
    response.set_etag(etag)
    if modified is not None:
        response.headers["Last-Modified"] = http_date(modified)
    links = [f'<{base_url}{path}{f.suffix}>; rel="alternate"; type="{f.media_type}"' for f in _alternates(chosen, offered)]
    rdf = [f for f in offered if f.rdf]
    if rdf:
        links.append(f'<{base_url}{path}{rdf[0].suffix}>; rel="describedby"; type="{rdf[0].media_type}"')
    if cite_as:
        links.append(f'<{cite_as}>; rel="cite-as"')
    if profile is not None:
        links.append(f'<{profile.uri}>; rel="profile"')
    response.headers["Link"] = ", ".join(links)


#: Content-Security-Policy of every HTML page. Pages load only their own stylesheet and
#: scripts (static/sparql.js: no inline script, no inline handler, no CDN), submit forms
#: only here, and may not be framed. The study page's ``<script
#: type="application/ld+json">`` is a data block, which CSP does not govern (browsers
#: never execute it; crawlers read it as text), so it needs no hash.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # frame-ancestors for browsers that predate CSP 2.
    "X-Frame-Options": "DENY",
    # Other sites (DOI resolvers, landing pages) learn only that a visitor came from here.
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def security_headers(response: Response) -> None:
    """Add the security headers to *response* if it is an HTML page."""
    if response.mimetype == "text/html":
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
