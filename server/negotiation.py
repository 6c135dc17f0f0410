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
from dataclasses import dataclass, replace

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from studygraph.mappings.formats import SYNTAXES, Syntax


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    suffix: str
    label: str
    rdf: bool = True
    #: For a quad syntax, the triple syntax that is a subset of it (N-Triples of N-Quads,
    #: Turtle of TriG). A document is a set of triples: in a quad syntax its statements
    #: are all in the default graph, which is exactly its triple-subset text, so clients
    #: that read a document's N-Quads into a dataset (Comunica) query them by default.
    triples_as: str | None = None
    #: Other media types of the same syntax (older names, or N3, of which Turtle is a
    #: subset). A client naming one gets the same body, labelled with the type it asked
    #: for: a client that sends only ``text/n3`` may not read a ``text/turtle`` answer.
    synonyms: tuple[str, ...] = ()

    @property
    def written_as(self) -> str:
        """The syntax a document in this format is written in (see :attr:`triples_as`)."""
        return self.triples_as or self.name

    @property
    def variant(self) -> str:
        """What tells this representation apart from the others of a document, for its
        ETag and cache entry: the format, and the media type when it is a synonym."""
        return self.name if self.media_type == BY_NAME[self.name].media_type else f"{self.name} {self.media_type}"


#: HTML, for people; the RDF syntaxes follow it, as mappings.formats lists them.
HTML = Format("html", "text/html", ".html", "HTML", rdf=False)


def _format(syntax: Syntax) -> Format:
    return Format(syntax.name, syntax.media_type, syntax.suffix, syntax.label, triples_as=syntax.triples_as, synonyms=syntax.synonyms)


FORMATS: tuple[Format, ...] = (HTML, *(_format(s) for s in SYNTAXES))
BY_NAME = {f.name: f for f in FORMATS}
#: A URL rule converter matching any format suffix, for routes such as ``/catalog.ttl``.
SUFFIX_RULE = "<any(" + ",".join(f"'{f.suffix}'" for f in FORMATS) + "):ext>"
BY_SUFFIX = {f.suffix: f for f in FORMATS}
#: Broader media types clients send for our formats; the answer names the format's own
#: type (a browser's ``application/xhtml+xml`` must not make an HTML page XHTML).
#: In an ``Accept`` header that names two of them alike, the one earlier in this order wins.
_BROADER = {"html": ("application/xhtml+xml",), **{s.name: s.broader for s in SYNTAXES}}
_BROADER_TIES = ("jsonld", "rdf", "html", "nt")
MEDIA_TYPE_ALIASES = {broader: name for name in _BROADER_TIES for broader in _BROADER[name]}
#: Every media type we answer to, and the format (labelled as it says) answering it; the
#: formats' own types first, so they win a tie in an ``Accept`` header.
BY_MEDIA_TYPE: dict[str, Format] = {
    **{f.media_type: f for f in FORMATS},
    **{synonym: replace(f, media_type=synonym) for f in FORMATS for synonym in f.synonyms},
    **{alias: BY_NAME[name] for alias, name in MEDIA_TYPE_ALIASES.items()},
}
#: Other ``?format=`` values clients use: a format name or a media type (``n3`` names
#: N3's media type, so the answer is labelled as N3).
FORMAT_ALIASES = {**{other: s.name for s in SYNTAXES for other in s.other_names}, "n3": "text/n3"}
_SUFFIX = re.compile(r"^(?P<stem>.+?)(?P<suffix>" + "|".join(re.escape(f.suffix) for f in FORMATS) + ")$")


class NotAcceptable(Exception):
    """Nothing on offer fits the request; carries what is on offer."""

    def __init__(self, offered: tuple[Format, ...], reason: str) -> None:
        super().__init__(reason)
        self.offered = offered
        self.reason = reason


def content_type(chosen: Format) -> str:
    """The Content-Type header of an answer in *chosen*: text and the RDF syntaxes are UTF-8."""
    if chosen.media_type.startswith("text/") or chosen.name in ("jsonld", "rdf", "nt", "nq", "trig"):
        return f"{chosen.media_type}; charset=utf-8"
    return chosen.media_type


def split_suffix(key: str) -> tuple[str, Format | None]:
    """``"abc.ttl"`` -> ``("abc", turtle)``; a key without a known suffix is returned whole."""
    match = _SUFFIX.match(key)
    if match is None:
        return key, None
    return match.group("stem"), BY_SUFFIX[match.group("suffix")]


def format_named(value: str) -> Format | None:
    """The format a ``?format=`` value names (a name, an alias or a media type), or None."""
    value = value.strip().lower()
    target = FORMAT_ALIASES.get(value, value)
    return BY_NAME.get(target) or BY_MEDIA_TYPE.get(target)


def _best_for_accept(accept_header: str, offered: tuple[Format, ...]) -> Format | None:
    """The offered format an ``Accept`` header prefers (q-values, wildcards, synonyms), or None."""
    names = {f.name for f in offered}
    candidates = [media for media, f in BY_MEDIA_TYPE.items() if f.name in names]
    best = parse_accept_header(accept_header, MIMEAccept).best_match(candidates)
    return BY_MEDIA_TYPE[best] if best is not None else None


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
        wanted = format_named(format_param)
        if wanted is None or wanted.name not in {f.name for f in offered}:
            raise NotAcceptable(offered, "unknown ?format= value")
        return wanted
    if not accept_header or not accept_header.strip():
        return offered[0]
    best = _best_for_accept(accept_header, offered)
    if best is None:
        raise NotAcceptable(offered, "none of the available media types matches the Accept header")
    return best


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
