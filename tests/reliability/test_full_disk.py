"""Full and read-only disks, on a real small filesystem (a tmpfs mounted for the test):
a clear one-line error and exit status 1, index and graphs in step, writes that resume
once there is room, without a restart, and read-only commands on read-only stores."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from conftest import RECORDS, LiveServer, free_port, run_cli

from studygraph.graph.embedded import open_catalogue

BASE = "http://disk.example"
MARGIN = 2 * 1024 * 1024


@pytest.fixture
def small_disk(tmp_path):
    """A 24 MiB filesystem of its own (tmpfs), where the machine lets us mount one."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int) -> Path:
    """A file that leaves about *leave* bytes free on *disk*."""
    filler = disk / f"filler-{uuid.uuid4().hex}"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with filler.open("wb") as out:
        remaining = max(0, free - leave)
        while remaining > 0:
            chunk = min(remaining, 1 << 20)
            out.write(b"\0" * chunk)
            remaining -= chunk
    return filler


def records(count: int, prefix: str) -> bytes:
    lines = []
    for i in range(count):
        record = {"dataset_schema": {"name": f"{prefix} {i}", "description": "x" * 2000, "keywords": [f"{prefix} keyword {i}"]},
                  "extra_data": {"slug": f"{prefix}-{i}"}}
        lines.append(json.dumps({"record": record}))
    return ("\n".join(lines) + "\n").encode()


def env() -> dict[str, str]:
    return {"STUDYGRAPH_MIN_FREE_BYTES": str(MARGIN)}


def in_step(store_dir: Path) -> tuple[int, int]:
    store = open_catalogue(store_dir, read_only=True)
    try:
        graphs = {name.rsplit("/", 1)[1] for name in store.record_hashes()}
        assert set(store.index.slugs()) == graphs
        assert store.changes.pending() == []
        return len(graphs), store.changes.latest()
    finally:
        store.close()


def test_a_fresh_load_that_does_not_fit_fails_cleanly(small_disk):
    store = small_disk / "store"
    result = run_cli("load", "-", "--store", str(store), "--base-url", BASE, "-q", input=records(20000, "big"), env=env())
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr
    (line,) = [l for l in result.stderr.decode().splitlines() if l.startswith("error:")]
    assert "space" in line or "room" in line or "full" in line
    # Nothing half-built is left to fill the disk.
    assert not [p for p in small_disk.iterdir() if p.name.startswith(".store.loading")]
    assert not store.exists() or not any(store.iterdir())


def test_a_load_into_a_full_store_fails_cleanly_and_resumes_when_there_is_room(small_disk):
    store = small_disk / "store"
    assert run_cli("load", str(RECORDS), "--store", str(store), "--base-url", BASE, "-q", env=env()).returncode == 0
    before = in_step(store)
    filler = fill(small_disk, MARGIN // 2)
    result = run_cli("load", "-", "--store", str(store), "-q", input=records(50, "more"), env=env())
    assert result.returncode == 1 and b"Traceback" not in result.stderr, result.stderr
    assert b"no room to write" in result.stderr
    assert in_step(store) == before
    # Read-only commands still work on the full disk.
    assert run_cli("stats", "--store", str(store), env=env()).returncode == 0
    filler.unlink()
    result = run_cli("load", "-", "--store", str(store), "-q", input=records(50, "more"), env=env())
    assert result.returncode == 0, result.stderr
    assert in_step(store)[0] == before[0] + 50


def test_a_server_refuses_writes_on_a_full_disk_and_takes_them_again_without_a_restart(small_disk):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    store = small_disk / "store"
    assert run_cli("load", str(RECORDS), "--store", str(store), "--base-url", base, "-q", env=env()).returncode == 0
    server = LiveServer(store, token="t", port=port, env=env())
    try:
        def post(body: bytes) -> int:
            request = urllib.request.Request(f"{base}/api/records", data=body, method="POST",
                                             headers={"Authorization": "Bearer t", "Content-Type": "application/x-ndjson"})
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return response.status
            except urllib.error.HTTPError as error:
                return error.code

        filler = fill(small_disk, MARGIN // 2)
        assert post(records(20, "full")) == 507
        with urllib.request.urlopen(f"{base}/items/born-in-bradford-bib.ttl", timeout=60) as response:
            assert response.status == 200  # reads go on
        filler.unlink()
        assert post(records(20, "room")) == 200
        with urllib.request.urlopen(f"{base}/items/room-3.ttl", timeout=60) as response:
            assert response.status == 200
    finally:
        server.stop()
    assert in_step(store)[0] == 43 + 20


def test_read_only_commands_work_on_a_read_only_store(small_disk):
    store = small_disk / "store"
    assert run_cli("load", str(RECORDS), "--store", str(store), "--base-url", BASE, "-q").returncode == 0
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)]).returncode == 0
    try:
        stats = run_cli("stats", "--store", str(store), "--json")
        assert stats.returncode == 0, stats.stderr
        assert json.loads(stats.stdout)["records"] == 43
        exported = run_cli("export", "--store", str(store), "--format", "nt")
        assert exported.returncode == 0 and exported.stdout.count(b"\n") > 8000
        written = run_cli("load", str(RECORDS / "seed-page.txt"), "--store", str(store))
        assert written.returncode != 0 and b"Traceback" not in written.stderr
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)])
