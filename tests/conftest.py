"""Shared fixtures: the real records in ../shared, stores in temporary directories."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
RECORDS = SHARED / "records"
REFERENCE = SHARED / "reference"
BASE = "https://catalogue.example.org"


def real_records() -> list[dict]:
    """The 42 records of the two JSON Lines files, unwrapped."""
    records = []
    for name in ("harmony-samples.jsonl", "harmony-real.jsonl"):
        for line in (RECORDS / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line)["record"])
    return records


@pytest.fixture(scope="session")
def records() -> list[dict]:
    if not RECORDS.exists():
        pytest.fail(f"the shared records are missing: {RECORDS}")
    return real_records()


def studygraph_command() -> list[str]:
    """The installed console script, or the module when run from a checkout."""
    script = shutil.which("studygraph", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "studygraph"]


def run_cli(*args: str, input: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``studygraph ARGS`` in a subprocess and capture its output."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STUDYGRAPH_")}
    environment.update(env or {})
    return subprocess.run(
        [*studygraph_command(), *args], input=input, capture_output=True, env=environment, cwd=ROOT, timeout=600
    )


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_log() -> IO[bytes]:
    """A file for a server subprocess's standard error. Not a pipe: a pipe nobody reads
    fills up, and a server writing to a full pipe blocks (a logging one in its logging
    lock, which its exit then waits on)."""
    return tempfile.TemporaryFile()


def said(log: IO[bytes]) -> str:
    """What was written to *log* (a server_log) so far."""
    log.seek(0)
    return log.read().decode(errors="replace")


def wait_until_listening(process: subprocess.Popen, port: int, seconds: float = 60, log: IO[bytes] | None = None) -> None:
    """Block until *port* accepts connections, failing if the process exits first (with
    the end of its *log*, a server_log, or of its stderr pipe).

    Each attempt is a real connection with its own timeout, so this waits on the server
    being ready, not on the clock.
    """
    import socket
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            ended = said(log) if log is not None else process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"the server exited with {process.returncode}: {ended[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            continue
    raise RuntimeError(f"nothing listens on port {port} after {seconds}s")


def load_shared_records(store: Path, base_url: str) -> Path:
    """The shared records loaded into a fresh store at *store* under *base_url*."""
    result = run_cli("load", str(RECORDS), "--store", str(store), "--base-url", base_url, "-q")
    assert result.returncode == 0, result.stderr
    return store


class LiveServer:
    """`studygraph serve` on a loopback port, in a subprocess."""

    def __init__(self, store: Path, token: str | None = None, env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("STUDYGRAPH_")}
        if token:
            environment["STUDYGRAPH_TOKEN"] = token
        environment.update(env or {})
        self.env = environment
        self.log = server_log()
        self.process = subprocess.Popen(
            [*studygraph_command(), "serve", "--store", str(store), "--port", str(self.port), "--threads", "4"],
            env=environment, stdout=subprocess.DEVNULL, stderr=self.log, cwd=ROOT,
        )
        wait_until_listening(self.process, self.port, log=self.log)

    def stderr(self) -> str:
        """What the server has written to its standard error so far."""
        return said(self.log)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class StaticSite:
    """Documents served on a loopback port from a dict of path -> (content type, body),
    changed by the test between requests: another party's catalogue, as published."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, bytes]] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = pages.get(self.path)
                self.send_response(200 if found else 404)
                if found:
                    self.send_header("Content-Type", found[0])
                self.end_headers()
                if found:
                    self.wfile.write(found[1])

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def put(self, path: str, body: str | bytes, content_type: str = "text/turtle") -> str:
        """Publish *body* at *path* ("{base}" in it replaced); returns its URL."""
        text = body.replace("{base}", self.base) if isinstance(body, str) else body
        self.pages[path] = (content_type, text.encode() if isinstance(text, str) else text)
        return self.base + path

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def static_site():
    site = StaticSite()
    yield site
    site.stop()


def fetch(url: str, headers: dict | None = None, data: bytes | None = None) -> tuple[int, dict, bytes]:
    """One HTTP request: status, headers and body (error statuses too, not raised)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="session")
def dereferenceable_server(tmp_path_factory):
    """The shared records served at the very base URL their IRIs were minted under, so
    every IRI of ours dereferences on loopback: for clients that follow links (Comunica's
    link traversal, a JSON-LD processor loading ``/context.jsonld``)."""
    port = free_port()
    store = tmp_path_factory.mktemp("dereferenceable") / "store"
    load_shared_records(store, f"http://127.0.0.1:{port}")
    live = LiveServer(store, port=port, env={"TMPDIR": str(tmp_path_factory.mktemp("dereferenceable-tmp"))})
    yield live
    live.stop()


@pytest.fixture(scope="session")
def comunica(tmp_path_factory):
    """Comunica's ``comunica-sparql`` (npm, installed once into tests/.cache)."""
    from real_clients import COMUNICA, Comunica, NodeClient, install

    return Comunica(NodeClient(install(COMUNICA), tmp_path_factory.mktemp("comunica")))


@pytest.fixture(scope="session")
def comunica_link_traversal(tmp_path_factory):
    """Comunica's link-traversal build, ``comunica-sparql-link-traversal``."""
    from real_clients import COMUNICA_LINK_TRAVERSAL, Comunica, NodeClient, install

    return Comunica(NodeClient(install(COMUNICA_LINK_TRAVERSAL), tmp_path_factory.mktemp("comunica-link-traversal")))


@pytest.fixture(scope="session")
def rapper():
    """raptor's ``rapper`` (Debian: raptor2-utils)."""
    from real_clients import rapper as find_rapper

    return find_rapper()


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of *pid* so far, in clock ticks (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_for(condition, what: str, seconds: float = 30) -> None:
    """Spin (yielding the CPU) until *condition* holds: synchronises on state, not a clock."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        os.sched_yield()
