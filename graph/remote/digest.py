"""HTTP digest authentication (RFC 7616, MD5, ``qop=auth``): Virtuoso's update endpoints
ask for it, and urllib3 has none.

A :class:`DigestAuth` keeps the last challenge and counts its uses (``nc``), so after
the first 401 every request carries its answer at once; a challenge the server calls
stale is answered again with the new nonce.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import urllib.parse
from dataclasses import dataclass

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


@dataclass(frozen=True)
class Challenge:
    """A ``WWW-Authenticate: Digest …`` challenge."""

    realm: str
    nonce: str
    qop: str | None
    opaque: str | None
    algorithm: str
    stale: bool


def parse_challenge(header: str) -> Challenge | None:
    """The Digest challenge in a ``WWW-Authenticate`` header value (None if there is none)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _PARAM.finditer(rest)}
    params = {k: re.sub(r"\\(.)", r"\1", v) for k, v in params.items()}
    if "nonce" not in params:
        return None
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    algorithm = params.get("algorithm", "MD5")
    if algorithm.upper() not in ("MD5", "MD5-SESS"):
        raise ValueError(f"digest algorithm {algorithm} is not supported (MD5 only)")
    return Challenge(
        realm=params.get("realm", ""), nonce=params["nonce"], qop="auth" if "auth" in qops else None,
        opaque=params.get("opaque"), algorithm=algorithm, stale=params.get("stale", "").lower() == "true",
    )


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def authorization(challenge: Challenge, user: str, password: str, method: str, url: str, count: int, cnonce: str | None = None) -> str:
    """The ``Authorization`` header answering *challenge* for one request (RFC 7616 3.4)."""
    parts = urllib.parse.urlsplit(url)
    uri = parts.path + (f"?{parts.query}" if parts.query else "")
    cnonce = cnonce or os.urandom(8).hex()
    nc = f"{count:08x}"
    ha1 = _md5(f"{user}:{challenge.realm}:{password}")
    if challenge.algorithm.upper() == "MD5-SESS":
        ha1 = _md5(f"{ha1}:{challenge.nonce}:{cnonce}")
    ha2 = _md5(f"{method}:{uri}")
    if challenge.qop:
        response = _md5(f"{ha1}:{challenge.nonce}:{nc}:{cnonce}:{challenge.qop}:{ha2}")
    else:
        response = _md5(f"{ha1}:{challenge.nonce}:{ha2}")
    fields = [f'username="{_quoted(user)}"', f'realm="{_quoted(challenge.realm)}"', f'nonce="{_quoted(challenge.nonce)}"',
              f'uri="{_quoted(uri)}"', f'response="{response}"', f"algorithm={challenge.algorithm}"]
    if challenge.qop:
        fields += [f"qop={challenge.qop}", f"nc={nc}", f'cnonce="{cnonce}"']
    if challenge.opaque is not None:
        fields.append(f'opaque="{_quoted(challenge.opaque)}"')
    return "Digest " + ", ".join(fields)


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class DigestAuth:
    """A user's digest credentials and the server's latest challenge, shared by threads."""

    def __init__(self, user: str, password: str) -> None:
        self.user = user
        self._password = password
        self._lock = threading.Lock()
        self._challenge: Challenge | None = None
        self._count = 0

    def __repr__(self) -> str:
        return f"DigestAuth(user={self.user!r})"

    def header(self, method: str, url: str) -> str | None:
        """The Authorization header for a request, once a challenge is known."""
        with self._lock:
            if self._challenge is None:
                return None
            self._count += 1
            return authorization(self._challenge, self.user, self._password, method, url, self._count)

    def challenged(self, header: str | None) -> bool:
        """Take a 401's challenge; whether a retry can succeed (a new nonce, or a stale one)."""
        challenge = parse_challenge(header or "")
        if challenge is None:
            return False
        with self._lock:
            fresh = self._challenge is None or challenge.stale or challenge.nonce != self._challenge.nonce
            self._challenge, self._count = challenge, 0
        return fresh
