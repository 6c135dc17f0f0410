"""Which URLs a harvest may fetch.

A harvest reads what the user pointed it at. The documents it reads name other URLs
(Hydra ``next`` links, sitemap ``<loc>``s, change-feed objects, HTTP redirects), and a
source is not trusted to choose where we go next: ``file:`` URLs would load local files
into the store (urllib opens them), and another host or port may be an internal service
the source wants us to probe. So a harvest fetches only ``http``/``https`` URLs, on the
origin (scheme, host, port) of the URL the user gave, unless the user names other origins
(``--follow-hosts``) — every link and every redirect is checked by the same rule.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import HarvestError

#: The only URL schemes a harvest fetches.
SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: A ``--follow-hosts`` entry that allows every http(s) origin.
ANY_HOST = "*"


class Refused(HarvestError):
    """A URL the harvest will not fetch: its scheme, or an origin the user did not allow."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = _DEFAULT_PORTS[self.scheme] == self.port
        return f"{self.scheme}://{host}" + ("" if default else f":{self.port}")


def origin_of(url: str) -> Origin:
    """The origin of an http(s) *url*; :class:`Refused` (naming the URL) for anything else."""
    try:
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError as error:
        raise Refused(f"{url}: not fetched: not a valid URL ({error})") from None
    if scheme not in SCHEMES:
        raise Refused(f"{url}: not fetched: a harvest fetches only http and https URLs")
    if not host:
        raise Refused(f"{url}: not fetched: the URL names no host")
    return Origin(scheme, host, port if port is not None else _DEFAULT_PORTS[scheme])


@dataclass(frozen=True)
class _Allowed:
    """One ``--follow-hosts`` entry: a host, with the scheme and port it was given with
    (None: either scheme; the scheme's default port)."""

    host: str
    scheme: str | None
    port: int | None

    def admits(self, origin: Origin) -> bool:
        if origin.host != self.host or (self.scheme is not None and origin.scheme != self.scheme):
            return False
        return origin.port == (self.port if self.port is not None else _DEFAULT_PORTS[origin.scheme])


def parse_follow_hosts(entries: Iterable[str]) -> tuple[bool, tuple[_Allowed, ...]]:
    """(any host allowed, the allowed hosts) from ``--follow-hosts`` values: each a
    comma-separated list of ``*``, ``host``, ``host:port`` or ``scheme://host[:port]``.

    ValueError names an entry that is none of these."""
    allowed: list[_Allowed] = []
    anything = False
    for entry in (part.strip() for value in entries for part in value.split(",")):
        if not entry:
            continue
        if entry == ANY_HOST:
            anything = True
            continue
        parts = urllib.parse.urlsplit(entry if "://" in entry else f"//{entry}")
        try:
            host, port = parts.hostname, parts.port
        except ValueError:
            host = port = None
        scheme = parts.scheme.lower() or None
        if not host or (scheme is not None and scheme not in SCHEMES) or parts.path.strip("/") or parts.query:
            raise ValueError(f"--follow-hosts: {entry!r} is not a host, host:port or scheme://host[:port]")
        allowed.append(_Allowed(host, scheme, port))
    return anything, tuple(allowed)


class Scope:
    """The URLs one harvest may fetch: http(s), on the origin of *start* or one the user
    allowed with ``--follow-hosts``."""

    def __init__(self, start: str, follow_hosts: Iterable[str] = ()) -> None:
        self.origin = origin_of(start)
        try:
            self._any, self._allowed = parse_follow_hosts(follow_hosts)
        except ValueError as error:
            raise HarvestError(str(error)) from None

    def check(self, url: str, how: str = "linked") -> None:
        """Refuse *url* (:class:`Refused`, one line naming it) unless this harvest may
        fetch it; *how* says how the source led there (``linked``, ``redirected to``)."""
        origin = origin_of(url)
        if origin == self.origin or self._any or any(a.admits(origin) for a in self._allowed):
            return
        raise Refused(
            f"{url}: not fetched: {how} from {self.origin} to another host "
            f"(allow it with --follow-hosts {origin})"
        )
