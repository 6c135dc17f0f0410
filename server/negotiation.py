"""Choosing a representation: media type by suffix, ``?format=`` or ``Accept``; profile
by ``?_profile=`` or ``Accept-Profile``.

Precedence, most explicit first: a suffix on the path (``/items/x.ttl``), then
``?format=``, then the ``Accept`` header (q-values and wildcards, parsed by Werkzeug). A
request with no ``Accept`` gets HTML, as does a browser's ``text/html,...,*/*;q=0.8``;
a bare ``*/*`` (curl's default) also gets HTML. When nothing offered fits, the caller
answers 406 with the list of what is available.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    suffix: str
    rdf: bool = True
    #: Whether the format keeps graph names (quads).
    quads: bool = False


FORMATS: tuple[Format, ...] = (
    Format("html", "text/html", ".html", rdf=False),
    Format("jsonld", "application/ld+json", ".jsonld"),
    Format("ttl", "text/turtle", ".ttl"),
    Format("rdf", "application/rdf+xml", ".rdf"),
    Format("nt", "application/n-triples", ".nt"),
    Format("nq", "application/n-quads", ".nq", quads=True),
    Format("trig", "application/trig", ".trig", quads=True),
)
BY_NAME = {f.name: f for f in FORMATS}
#: A URL rule converter matching any format suffix, for routes such as ``/catalog.ttl``.
SUFFIX_RULE = "<any(" + ",".join(f"'{f.suffix}'" for f in FORMATS) + "):ext>"
BY_SUFFIX = {f.suffix: f for f in FORMATS}
BY_MEDIA_TYPE = {f.media_type: f for f in FORMATS}
#: Other names clients use for the same media types.
MEDIA_TYPE_ALIASES = {
    "application/json": "jsonld",
    "application/x-turtle": "ttl",
    "application/xml": "rdf",
    "text/xml": "rdf",
    "application/xhtml+xml": "html",
    "text/plain": "nt",
}
FORMAT_ALIASES = {"json": "jsonld", "json-ld": "jsonld", "turtle": "ttl", "xml": "rdf", "rdfxml": "rdf", "ntriples": "nt", "nquads": "nq"}
_SUFFIX = re.compile(r"^(?P<stem>.+?)(?P<suffix>\.(?:html|jsonld|ttl|rdf|nt|nq|trig))$")


class NotAcceptable(Exception):
    """Nothing on offer fits the request; carries what is on offer."""

    def __init__(self, offered: tuple[Format, ...], reason: str) -> None:
        super().__init__(reason)
        self.offered = offered
        self.reason = reason


def split_suffix(key: str) -> tuple[str, Format | None]:
    """``"abc.ttl"`` -> ``("abc", turtle)``; a key without a known suffix is returned whole."""
    match = _SUFFIX.match(key)
    if match is None:
        return key, None
    return match.group("stem"), BY_SUFFIX[match.group("suffix")]


def choose_format(
    suffix: Format | None,
    format_param: str | None,
    accept_header: str | None,
    offered: tuple[Format, ...] = FORMATS,
) -> Format:
    """The format to answer in, or :class:`NotAcceptable`."""
    if suffix is not None:
        if suffix not in offered:
            raise NotAcceptable(offered, f"{suffix.suffix} is not available here")
        return suffix
    if format_param:
        wanted = BY_NAME.get(FORMAT_ALIASES.get(format_param.lower(), format_param.lower())) or BY_MEDIA_TYPE.get(format_param.lower())
        if wanted is None or wanted not in offered:
            raise NotAcceptable(offered, "unknown ?format= value")
        return wanted
    if not accept_header or not accept_header.strip():
        return offered[0]
    accept = parse_accept_header(accept_header, MIMEAccept)
    candidates = [f.media_type for f in offered] + [m for m, n in MEDIA_TYPE_ALIASES.items() if BY_NAME[n] in offered]
    best = accept.best_match(candidates)
    if best is None:
        raise NotAcceptable(offered, "none of the available media types matches the Accept header")
    return BY_MEDIA_TYPE.get(best) or BY_NAME[MEDIA_TYPE_ALIASES[best]]


@dataclass(frozen=True)
class Profile:
    """A named selection of the triples: the full profile, DCAT-AP only, schema.org only."""

    token: str
    uri: str
    title: str


def profiles(base_url: str) -> tuple[Profile, ...]:
    return (
        Profile("full", f"{base_url}/profiles/full", "studygraph: DCAT-AP and schema.org together (default)"),
        Profile("dcat-ap", "http://data.europa.eu/r5r/", "DCAT-AP 3 only"),
        Profile("schema", "https://schema.org/", "schema.org only"),
    )


class UnknownProfile(Exception):
    pass


def choose_profile(available: tuple[Profile, ...], param: str | None, accept_profile: str | None) -> Profile | None:
    """The profile asked for (None means "list the alternates", ``?_profile=alt``).

    ``?_profile=`` takes a token or a URI; ``Accept-Profile`` takes URIs in angle brackets
    with q-values. An unknown ``?_profile=`` is an error; an ``Accept-Profile`` naming
    nothing we have falls back to the default, as the header is only a preference.
    """
    if param:
        if param == "alt":
            return None
        for profile in available:
            if param in (profile.token, profile.uri):
                return profile
        raise UnknownProfile(param)
    if accept_profile:
        ranked = []
        for part in accept_profile.split(","):
            uri, _, params = part.strip().partition(";")
            quality = 1.0
            match = re.search(r"q=([0-9.]+)", params)
            if match:
                try:
                    quality = float(match.group(1))
                except ValueError:
                    quality = 0.0
            ranked.append((quality, uri.strip().strip("<>")))
        for quality, uri in sorted(ranked, key=lambda r: -r[0]):
            for profile in available:
                if quality > 0 and uri == profile.uri:
                    return profile
    return available[0]
