"""The write token: which URLs need it, and whether a request carries it.

Both are decided from the request line and headers alone, so a request that will be
refused is refused before its body is read: the app checks the token before any view
runs (:func:`guard`), and the connection layer (server.connections) stops reading the
body of such a request and hands it to the app at once — a client without the token
cannot make the server take in 64 MiB first.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from flask import Response, request

from . import errors

#: Paths every request to which needs the token: the write API, SPARQL Update, and the
#: Graph Store Protocol (its reads too: they bypass the query pool's deadline and row cap).
TOKEN_PATHS = ("/sparql/update", "/sparql/store")
TOKEN_PREFIX = "/api/"


def needs_token(path: str) -> bool:
    return path.startswith(TOKEN_PREFIX) or path in TOKEN_PATHS


def carries(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header gives *token* as a bearer token (constant time)."""
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def checked(method: str, path: str) -> bool:
    """Whether a request is checked for the token: every one to a token path but a CORS
    preflight (``OPTIONS``, which a browser sends without credentials)."""
    return method != "OPTIONS" and needs_token(path)


def refused(token: str | None, method: str, path: str, authorization: str | None) -> bool:
    """Whether a request with this ``Authorization`` header will be refused."""
    return checked(method, path) and not (token and carries(authorization, token))


def refusal(token: str | None) -> Response | None:
    """The current request's refusal (403 with no token configured, 401 without the
    token), or None when it may go on."""
    if not token:
        return errors.answer(403, "writes are disabled: the server has no STUDYGRAPH_TOKEN")
    if not carries(request.headers.get("Authorization"), token):
        return errors.answer(401, "a valid bearer token is required", headers={"WWW-Authenticate": 'Bearer realm="studygraph"'})
    return None


def guard(token: str | None) -> Callable[[], Response | None]:
    """A ``before_request`` function: refuses requests to token paths without the token,
    before the view (and so before anything reads the body)."""

    def check() -> Response | None:
        return refusal(token) if checked(request.method, request.path) else None

    return check


def body_refused(token: str | None) -> Callable[[str, str, str | None], bool]:
    """For the connection layer: given a request's method, path and ``Authorization``
    header, whether the app will refuse it whatever its body holds."""
    return lambda method, path, authorization: refused(token, method, path, authorization)
