"""What the server answers when a request fails: one handler for the whole app.

Every error — a refused parameter, a missing token, a route that does not exist, a full
disk, a bug — is answered by :func:`answer`, in the format the request's kind of URL
speaks, and never with a traceback:

- the write API (``/api/...``): JSON, ``{"status": 401, "error": "..."}``;
- the SPARQL services (``/sparql...``): plain text, as the SPARQL protocol's own errors;
- feeds that are files (``/dump.nq.gz``, ``/sitemap*.xml``, ``/robots.txt``, static
  files): plain text;
- every other URL negotiates (suffix, ``?format=``, ``Accept``), so its errors do too: an
  HTML page for a browser, a Turtle comment for a Turtle client, JSON-LD with an
  ``error`` member; plain text when nothing the request accepts is on offer.

A full disk (``OSError`` ENOSPC, SQLite's "database or disk is full", anywhere in the
exception's chain) is a 507 Insufficient Storage: the write was not made, and retrying
after the operator frees space will work.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.sansio.response import Response as SansioResponse

from studygraph.graph.disk import is_disk_full

from .negotiation import Format, NotAcceptable, choose_format, content_type, split_suffix

#: SQLite's primary result code for a full database or disk (extended codes share its low byte).
DISK_FULL = "insufficient storage: the server's disk is full, so the change was not made; try again later"
INTERNAL = "internal server error: the request failed and has been logged"
#: Path prefixes whose errors are plain text (files and the SPARQL protocol).
PLAIN_PREFIXES = ("/sparql", "/dump.", "/sitemap", "/robots.txt", "/static/")


def answer(status: int, message: str, *, headers: Mapping[str, str] | None = None, parameter: str | None = None) -> Response:
    """The error response for the current request: *message* in the format its URL speaks."""
    path = request.path
    if path.startswith("/api/"):
        payload: dict[str, object] = {"status": status, "error": message}
        if parameter is not None:
            payload["parameter"] = parameter
        response = Response(json.dumps(payload, ensure_ascii=False) + "\n", status=status, content_type="application/json")
    elif path.startswith(PLAIN_PREFIXES):
        response = plain(message, status)
    else:
        response = document_error(_asked_format(path), status, message)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def plain(message: str, status: int) -> Response:
    return Response(message.rstrip("\n") + "\n", status=status, content_type="text/plain; charset=utf-8")


def document_error(chosen: Format | None, status: int, message: str) -> Response:
    """An error in a document format: what a client parsing that format can read (an
    HTML page, a comment in Turtle or N-Triples, an ``error`` member in JSON-LD, an
    empty RDF/XML graph). The message is one line, so it cannot end a comment early."""
    if chosen is None:
        response = plain(message, status)
    else:
        single_line = " ".join(message.split())
        bodies = {
            "jsonld": json.dumps({"@context": {}, "@graph": [], "error": message}, ensure_ascii=False),
            "ttl": f"# {single_line}\n",
            "trig": f"# {single_line}\n",
            "nt": f"# {single_line}\n",
            "nq": f"# {single_line}\n",
            "rdf": '<?xml version="1.0" encoding="UTF-8"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>\n',
        }
        body = bodies.get(chosen.name)
        if body is None:
            body = render_template("error.html", status=status, title=HTTP_STATUS_CODES.get(status, "Error"), message=message)
        response = Response(body, status=status, content_type=content_type(chosen))
    response.headers["Vary"] = "Accept, Accept-Profile"
    return response


def _asked_format(path: str) -> Format | None:
    """The document format the request asks for, or None when it accepts none of them."""
    _, suffix = split_suffix(path.rsplit("/", 1)[-1])
    try:
        return choose_format(suffix, request.args.get("format"), request.headers.get("Accept"))
    except NotAcceptable:
        return None


def register(app: Flask, messages: Mapping[int, str] | None = None) -> None:
    """Answer every error of *app* through :func:`answer`; *messages* replace Werkzeug's
    text for some statuses (413: the body limit)."""
    replaced = dict(messages or {})

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response | SansioResponse:
        if error.response is not None:
            return error.response
        headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
        message = replaced.get(error.code or 500) or error.description or HTTP_STATUS_CODES.get(error.code or 500, "error")
        return answer(error.code or 500, message, headers=headers, parameter=getattr(error, "parameter", None))

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        if is_disk_full(error):
            app.logger.error("disk full while serving %s %s: %s", request.method, request.path, error)
            return answer(507, DISK_FULL, headers={"Retry-After": "60"})
        app.logger.exception("unexpected error while serving %s %s", request.method, request.path)
        return answer(500, INTERNAL)
