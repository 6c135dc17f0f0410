"""The write API: records in and out of a running server, for holders of the token.

The server owns the store, so writes while it serves come here: ``POST /api/records``
takes anything the loader reads and ``DELETE /api/records/{slug}`` drops a record. Both
go through the one loader and store, one writer at a time, and refresh the SPARQL
workers' checkpoint after a change.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Callable

from flask import Flask, Response, request

from graph.loader import LoadEvent, Loader
from mappings.keys import is_slug
from mappings.readers import FORMATS as READ_FORMATS
from mappings.formats import SYNTAX_BY_NAME
from mappings.readers import read_bytes
from mappings.urls import Urls

from . import auth, errors
from .params import ParameterError

#: Reader format of a write by its Content-Type (anything else is recognised by content).
FORMAT_BY_CONTENT_TYPE = {
    "application/json": "harmony",
    "application/x-ndjson": "harmony",
    "application/jsonl": "harmony",
    SYNTAX_BY_NAME["jsonld"].media_type: "jsonld",
    "text/html": "html",
    **{SYNTAX_BY_NAME[name].media_type: "dcat" for name in ("ttl", "rdf")},
}


def bearer_guard(token: str | None) -> Callable[[], Response | None]:
    """A check for the write token: None when the request may write, else the refusal.
    (The app runs it before every request to a token path: server.auth.guard.)"""
    return lambda: auth.refusal(token)


def register(
    app: Flask, *, store: Any, urls: Urls, pool: Any, writes: threading.Lock,
    forget: Callable[[str], None] = lambda path: None, written: Callable[[list[str]], None] = lambda slugs: None,
) -> None:
    """Add the write routes; *forget* drops a deleted document's cached representations,
    *written* is told the slugs of the studies a write created or replaced."""

    @app.route("/api/records", methods=["POST"])
    def post_records() -> Response:
        format_name = request.args.get("format") or FORMAT_BY_CONTENT_TYPE.get(request.mimetype)
        if format_name is not None and format_name not in READ_FORMATS:
            raise ParameterError("format", f"unknown format; use one of {', '.join(READ_FORMATS)}")
        body = request.get_data(cache=False)
        changed: list[str] = []

        def note_change(event: LoadEvent) -> None:
            if event.outcome in ("new", "replaced") and event.slug:
                changed.append(event.slug)

        with writes:
            report = Loader(store, urls).load(read_bytes(body, "request body", format_name), note_change)
            if pool is not None and changed:
                pool.refresh()
        written(changed)
        loaded = report.counts["new"] + report.counts["replaced"] + report.counts["unchanged"]
        payload = {
            **report.counts,
            "warnings": report.warnings,
            "rejections": [{"where": str(r.origin), "field": r.field, "reason": r.reason} for r in report.rejections],
        }
        status = 422 if report.rejections and not loaded else 200
        return Response(json.dumps(payload, indent=1), status=status, content_type="application/json")

    @app.route("/api/records/<slug>", methods=["DELETE"])
    def delete_record(slug: str) -> Response:
        if not is_slug(slug):
            return errors.answer(404, f"no record /items/{slug}")
        with writes:
            deleted = store.delete(urls.item(slug))
            if pool is not None and deleted:
                pool.refresh()
        if deleted:
            forget(f"/items/{slug}")
        return Response(status=204) if deleted else errors.answer(404, f"no record /items/{slug}")
