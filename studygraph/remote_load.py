"""`studygraph load --server URL`: send records to a running server's write API.

The server owns its store, so a load into a served store goes through HTTP. Records are
read here (so local files, folders and every format work as for a local load), sent as
JSON Lines in batches of a few megabytes, and the server's per-record answers are mapped
back to the file and line each record came from.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator

import click

from studygraph.mappings.records import ReadResult, Rejection, SourceRecord

BATCH_BYTES = 4 * 1024 * 1024


def post_records(server: str, items: Iterable[ReadResult], *, token: str | None, validate: str = "warn") -> int:
    """Send every record; print rejections and a summary. Returns the exit status."""
    if not token:
        raise click.ClickException("set STUDYGRAPH_TOKEN to the server's write token")
    totals = {"new": 0, "replaced": 0, "unchanged": 0, "rejected": 0}
    for batch in _batches(items, totals):
        body = "".join(json.dumps({"record": r.data}, ensure_ascii=False) + "\n" for r in batch).encode()
        answer = _post(server.rstrip("/") + f"/api/records?format=harmony&validate={validate}", body, token)
        for key in ("new", "replaced", "unchanged"):
            totals[key] += answer.get(key, 0)
        for rejection in answer.get("rejections", []):
            totals["rejected"] += 1
            where = rejection.get("where", "")
            line = where.rsplit(":", 1)[-1]
            origin = batch[int(line) - 1].origin if line.isdigit() and 0 < int(line) <= len(batch) else where
            field = f" ({rejection['field']})" if rejection.get("field") else ""
            click.echo(f"rejected: {origin}{field}: {rejection.get('reason')}", err=True)
    click.echo(", ".join(f"{v} {k}" for k, v in totals.items()) + f" (sent to {server})")
    return 1 if totals["rejected"] else 0


def _batches(items: Iterable[ReadResult], totals: dict[str, int]) -> Iterator[list[SourceRecord]]:
    batch: list[SourceRecord] = []
    size = 0
    for item in items:
        if isinstance(item, Rejection):
            totals["rejected"] += 1
            click.echo(f"rejected: {item}", err=True)
            continue
        batch.append(item)
        size += len(json.dumps(item.data))
        if size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _post(url: str, body: bytes, token: str) -> dict:
    request = urllib.request.Request(
        url, data=body, method="POST",
        headers={"Content-Type": "application/x-ndjson", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code == 422:
            return json.loads(error.read())
        raise click.ClickException(f"{url}: {error.code} {error.read()[:300].decode(errors='replace').strip()}") from None
    except urllib.error.URLError as error:
        raise click.ClickException(f"{url}: {error.reason}") from None
