"""The change feed announces only what can be read: a client following /changes while
records are deleted and created again never meets a created record that 404s (a
record deleted again since may answer 410)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pyoxigraph
from conftest import LiveServer, free_port, load_shared_records

AS = "https://www.w3.org/ns/activitystreams#"


def status(url: str, method: str = "GET", body: bytes | None = None) -> int:
    request = urllib.request.Request(url, data=body, method=method, headers={"Authorization": "Bearer t"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_a_follower_never_meets_a_created_record_that_404s(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = LiveServer(load_shared_records(tmp_path / "s", base), token="t", port=port)
    stop = threading.Event()
    cycles: list[int] = []

    def churn() -> None:
        for cycle in range(60):
            if stop.is_set():
                return
            record = {"dataset_schema": {"name": f"Churned {cycle}", "description": "x"}, "extra_data": {"slug": "churned"}}
            assert status(f"{base}/api/records", "POST", json.dumps(record).encode()) == 200
            assert status(f"{base}/api/records/churned", "DELETE") == 204
            cycles.append(cycle)

    writer = threading.Thread(target=churn, daemon=True)
    try:
        with urllib.request.urlopen(f"{base}/changes.nt", timeout=60) as response:
            since = max(int(t.object.value) for t in pyoxigraph.parse(response.read(), format=pyoxigraph.RdfFormat.N_TRIPLES)
                        if t.predicate.value.endswith("#changeSequence"))
        writer.start()
        seen = {"Create": 0, "Delete": 0}
        while writer.is_alive() or not seen["Create"]:
            with urllib.request.urlopen(f"{base}/changes.nt?since={since}", timeout=60) as response:
                triples = list(pyoxigraph.parse(response.read(), format=pyoxigraph.RdfFormat.N_TRIPLES))
            kinds = {t.subject.value: t.object.value.removeprefix(AS) for t in triples if t.predicate.value.endswith("#type") and t.object.value.startswith(AS)}
            objects = {t.subject.value: t.object.value for t in triples if t.predicate.value == AS + "object"}
            for activity, kind in kinds.items():
                if kind in ("Create", "Update"):
                    # Announced, so readable: 200, or 410 once a later delete happened.
                    assert status(objects[activity].removesuffix("#id")) in (200, 410), activity
                seen[kind] = seen.get(kind, 0) + 1
            sequences = [int(t.object.value) for t in triples if t.predicate.value.endswith("#changeSequence")]
            since = max(sequences, default=since)
        assert seen["Create"] > 0 and len(cycles) == 60
    finally:
        stop.set()
        writer.join(timeout=120)
        server.stop()


def test_a_record_being_deleted_is_gone_before_the_feed_says_so(tmp_path):
    """Between a delete's drop of the graph and its feed entry, the record already
    answers 410 (its intent is noted first), never 404."""
    from studygraph.graph.changes import ChangeLog

    log = ChangeLog(tmp_path / "changes.sqlite")
    log.record([("s", "created", "2026-01-01T00:00:00Z")])
    assert log.deleted("s") is None
    log.intend([("s", "deleted")])
    gone = log.deleted("s")
    assert gone is not None and gone.kind == "deleted"
    log.record([("s", "deleted", "2026-01-02T00:00:00Z")])
    assert log.deleted("s").time == "2026-01-02T00:00:00Z"
    log.close()
