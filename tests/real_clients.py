"""Real linked-data clients that are not Python libraries, run as subprocesses by the tests.

- Comunica (JavaScript, from npm): installed once per checkout into ``tests/.cache/npm``
  (ignored by git) with ``npm install``, then run as its command-line tool. Every HTTP
  request it makes passes through ``tests/node/loopback_fetch.cjs``, which refuses hosts
  off loopback (link traversal would otherwise follow vocabulary IRIs out to the
  internet) and logs each request and answer, so a test can say what the client asked
  for and what it was given.
- raptor's ``rapper`` (Debian's ``raptor2-utils``).

A missing tool fails the test with what to install, like the browser test does: CI
(``.ci/run``) installs them, so a skip would only hide a broken set-up.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph
import pytest

TESTS = Path(__file__).resolve().parent
#: Downloaded tools, kept between runs; listed in .gitignore.
CACHE = TESTS / ".cache"
LOOPBACK_FETCH = TESTS / "node" / "loopback_fetch.cjs"


@dataclass(frozen=True)
class NpmTool:
    """A command from an npm package, at a pinned version."""

    package: str
    version: str
    command: str

    @property
    def folder(self) -> Path:
        return CACHE / "npm" / f"{self.package.replace('/', '+')}@{self.version}"


#: Comunica's SPARQL engine, 4.x, and its link-traversal build (still on Comunica 3).
COMUNICA = NpmTool("@comunica/query-sparql", "4.5.0", "comunica-sparql")
COMUNICA_LINK_TRAVERSAL = NpmTool("@comunica/query-sparql-link-traversal", "0.5.0", "comunica-sparql-link-traversal")


def node_and_npm() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.fail("Node.js and npm are needed for the Comunica tests (Debian: apt-get install nodejs npm)")
    return node, npm


def install(tool: NpmTool) -> Path:
    """The tool's command, installed first unless the cache holds a complete copy.

    npm installs into a fresh folder beside the final one, which is renamed into place
    only when the install has finished: an interrupted install leaves no half-filled
    folder that a later run would take for a complete one."""
    _, npm = node_and_npm()
    command = tool.folder / "node_modules" / ".bin" / tool.command
    if command.exists():
        return command
    tool.folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".installing-", dir=tool.folder.parent))
    try:
        manifest = {"private": True, "dependencies": {tool.package: tool.version}}
        (staging / "package.json").write_text(json.dumps(manifest, indent=1))
        result = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--no-update-notifier"],
            cwd=staging, capture_output=True, text=True, timeout=900,
        )
        if result.returncode != 0:
            pytest.fail(f"npm install {tool.package}@{tool.version} failed:\n{result.stderr[-3000:]}")
        if not command.exists():
            # A folder without the command is what some other interrupted set-up left.
            shutil.rmtree(tool.folder, ignore_errors=True)
            staging.rename(tool.folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not command.exists():
        pytest.fail(f"npm installed {tool.package}@{tool.version} but {command} is missing")
    return command


@dataclass(frozen=True)
class Request:
    """One HTTP request a Node client made (from the loopback fetch log)."""

    method: str
    url: str
    accept: str | None
    refused: bool
    #: The answer's status and media type (None when refused or failed).
    status: int | None
    media_type: str | None


@dataclass(frozen=True)
class NodeRun:
    returncode: int
    stdout: bytes
    stderr: str
    requests: list[Request]


@dataclass(frozen=True)
class NodeClient:
    """A Node command-line client, run with the loopback-only fetch."""

    command: Path
    scratch: Path

    def run(self, *args: str, timeout: float = 300) -> NodeRun:
        node, _ = node_and_npm()
        log = Path(tempfile.mkstemp(prefix="fetch-", suffix=".jsonl", dir=self.scratch)[1])
        environment = {**os.environ, "NODE_OPTIONS": f"--require {LOOPBACK_FETCH}", "STUDYGRAPH_FETCH_LOG": str(log)}
        result = subprocess.run([node, str(self.command), *args], capture_output=True, env=environment, timeout=timeout)
        return NodeRun(result.returncode, result.stdout, result.stderr.decode("utf-8", "replace"), _requests(log))


def _requests(log: Path) -> list[Request]:
    """The requests in a fetch log: one line when sent, one when answered (same id)."""
    sent: dict[int, dict] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        sent.setdefault(entry["id"], {}).update(entry)
    return [
        Request(e["method"], e["url"], e.get("accept"), e["refused"], e.get("status"), (e.get("contentType") or "").split(";")[0].strip() or None)
        for e in sent.values()
    ]


class Comunica:
    """``comunica-sparql`` (or its link-traversal build) over a list of sources."""

    def __init__(self, client: NodeClient) -> None:
        self.client = client

    def run(self, sources: list[str], query: str, media_type: str, *options: str) -> NodeRun:
        run = self.client.run(*sources, "-q", query, "-t", media_type, *options)
        if run.returncode != 0:
            raise AssertionError(f"comunica exited with {run.returncode}:\n{run.stderr[-3000:]}")
        return run

    def select(self, sources: list[str], query: str, *options: str) -> tuple[list[dict[str, str]], list[Request]]:
        """The solutions (variable -> value), and the requests made to find them."""
        run = self.run(sources, query, "application/sparql-results+json", *options)
        rows = [{name: cell["value"] for name, cell in row.items()} for row in json.loads(run.stdout)["results"]["bindings"]]
        return rows, run.requests

    def ask(self, sources: list[str], query: str) -> bool:
        return json.loads(self.run(sources, query, "application/sparql-results+json").stdout)["boolean"]

    def construct(self, sources: list[str], query: str, *options: str) -> tuple[list[pyoxigraph.Triple], list[Request]]:
        run = self.run(sources, query, "application/n-triples", *options)
        return [q.triple for q in pyoxigraph.parse(run.stdout, format=pyoxigraph.RdfFormat.N_TRIPLES)], run.requests


_COUNT = re.compile(r"Parsing returned (\d+) (?:triples|statements)")


@dataclass(frozen=True)
class Rapper:
    """raptor's ``rapper``: parses a URL (negotiating by the syntax asked for) or a body."""

    binary: str

    def count(self, syntax: str, source: str, data: bytes | None = None, base: str | None = None) -> int:
        """The number of statements rapper reads from *source* (``-`` and *data*: a body)."""
        command = [self.binary, "-i", syntax, "-c", source, *([base] if base else [])]
        result = subprocess.run(command, input=data, capture_output=True, timeout=120)
        stderr = result.stderr.decode("utf-8", "replace")
        match = _COUNT.search(stderr)
        if result.returncode != 0 or match is None or "Error" in stderr:
            raise AssertionError(f"rapper -i {syntax} {source} failed ({result.returncode}):\n{stderr[-3000:]}")
        return int(match.group(1))


def rapper() -> Rapper:
    found = shutil.which("rapper")
    if not found:
        pytest.fail("raptor's rapper is needed (Debian: apt-get install raptor2-utils)")
    return Rapper(found)
