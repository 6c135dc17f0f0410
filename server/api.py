"""The api blueprint, the write API: records in and out of a running server, for holders of the token.

The server owns the store, so writes while it serves come here: ``POST /api/records``
takes anything the loader reads and ``DELETE /api/records/{slug}`` drops a record. Both
go through the one loader and store, one writer at a time, and refresh the SPARQL
workers' checkpoint after a change.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, request

from studygraph.graph.loader import Loader, LoadEvent
from studygraph.mappings.formats import SYNTAX_BY_NAME
from studygraph.mappings.keys import is_slug
from studygraph.mappings.readers import FORMATS as READ_FORMATS
from studygraph.mappings.readers import read_bytes
from studygraph.mappings.validation import MODES, violations

from . import errors
from .params import ParameterError
from .services import current_services

#: Reader format of a write by its Content-Type (anything else is recognised by content).
FORMAT_BY_CONTENT_TYPE = {
    "application/json": "harmony",
    "application/x-ndjson": "harmony",
    "application/jsonl": "harmony",
    SYNTAX_BY_NAME["jsonld"].media_type: "jsonld",
    "text/html": "html",
    **{SYNTAX_BY_NAME[name].media_type: "dcat" for name in ("ttl", "rdf")},
}


#: The request header that says what a write does with the profile's findings
#: (``off``, ``warn``, ``error``), as the ``validate`` parameter does.
VALIDATE_HEADER = "Studygraph-Validate"

blueprint = Blueprint("api", __name__)


@blueprint.route("/api/records", methods=["POST"])
def post_records() -> Response:
    services = current_services()
    store, urls, pool, writes = services.store, services.urls, services.pool, services.writes
    format_name = request.args.get("format") or FORMAT_BY_CONTENT_TYPE.get(request.mimetype)
    if format_name is not None and format_name not in READ_FORMATS:
        raise ParameterError("format", f"unknown format; use one of {', '.join(READ_FORMATS)}")
    validate = request.args.get("validate") or request.headers.get(VALIDATE_HEADER) or services.settings.validate
    if validate not in MODES:
        raise ParameterError("validate", f"use one of {', '.join(MODES)}")
    body = request.get_data(cache=False)
    changed: list[str] = []
    findings: list[dict] = []

    def note_change(event: LoadEvent) -> None:
        if event.outcome in ("new", "replaced") and event.slug:
            changed.append(event.slug)
        if event.findings:
            broken = violations(event.findings)
            findings.append({
                "slug": event.slug, "where": event.origin, "violations": [r.as_json() for r in broken],
                "warnings": len(event.findings) - len(broken),
            })

    with writes:
        report = Loader(store, urls, validate=validate).load(read_bytes(body, "request body", format_name), note_change)
        if pool is not None and changed:
            pool.refresh()
    # Render the studies just written ahead of their next visitor (server.prerender).
    services.renderer.add(changed)
    loaded = report.counts["new"] + report.counts["replaced"] + report.counts["unchanged"]
    payload = {
        **report.counts,
        "warnings": report.warnings,
        "findings": findings,
        "rejections": [{"where": str(r.origin), "field": r.field, "reason": r.reason} for r in report.rejections],
    }
    status = 422 if report.rejections and not loaded else 200
    return Response(json.dumps(payload, indent=1), status=status, content_type="application/json")


@blueprint.route("/api/records/<slug>", methods=["DELETE"])
def delete_record(slug: str) -> Response:
    services = current_services()
    store, urls, pool, writes = services.store, services.urls, services.pool, services.writes
    if not is_slug(slug):
        return errors.answer(404, f"no record /items/{slug}")
    with writes:
        deleted = Loader(store, urls).delete(urls.item(slug))
        if pool is not None and deleted:
            pool.refresh()
    if deleted:
        # Its cached representations must not be served again.
        services.cache.forget(f"/items/{slug}")
    return Response(status=204) if deleted else errors.answer(404, f"no record /items/{slug}")
