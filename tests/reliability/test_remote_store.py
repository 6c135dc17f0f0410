"""A store named wrongly is refused by every command that opens a store, in one line and
with exit status 2, before anything is read or a folder named ``http:`` is made: a store
server's URL without an --index to keep its index in, a URL that is not http(s), an
--index beside the embedded store (which keeps its own)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import RECORDS, studygraph_command

URL = "http://127.0.0.1:7878"

#: Every command that opens (or creates) a store, with the arguments it needs besides.
COMMANDS = (
    ("load", str(RECORDS)),
    ("load", "--dry-run", str(RECORDS)),
    ("delete", "some-slug"),
    ("remap",),
    ("export",),
    ("stats",),
    ("prerender",),
    ("harvest", "http://127.0.0.1:9/catalog"),
    ("serve", "--port", "9"),
    ("demo", "--port", "9"),
)


def run(args: tuple[str, ...], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`studygraph ARGS` in *cwd*, where a wrongly made ``http:`` folder would show."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STUDYGRAPH_")}
    environment.update(env or {})
    return subprocess.run([*studygraph_command(), *args], capture_output=True, cwd=cwd, env=environment, timeout=120)


def assert_refused(result: subprocess.CompletedProcess, cwd: Path) -> None:
    stderr = result.stderr.decode()
    assert result.returncode == 2, (result.returncode, stderr)
    assert stderr.count("\n") == 1 and "say where its index goes with --index" in stderr, stderr
    assert URL in stderr
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: " ".join(args[:2]))
def test_a_url_as_store_option_is_refused(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert_refused(run((*args, "--store", URL), tmp_path), tmp_path)


@pytest.mark.parametrize("args", [c for c in COMMANDS if c[0] != "demo"], ids=lambda args: " ".join(args[:2]))
def test_a_url_in_studygraph_store_is_refused(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert_refused(run(args, tmp_path, {"STUDYGRAPH_STORE": URL}), tmp_path)


def test_a_directory_is_still_a_store(tmp_path: Path) -> None:
    result = run(("load", str(RECORDS), "--store", "http-store", "-q"), tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert (tmp_path / "http-store" / "graph").is_dir()


def test_a_store_url_that_is_not_http_is_refused(tmp_path: Path) -> None:
    result = run(("stats", "--store", "ftp://127.0.0.1/store", "--index", str(tmp_path / "index")), tmp_path)
    assert result.returncode == 2 and "reached over http:// or https://" in result.stderr.decode()
    assert list(tmp_path.iterdir()) == []


def test_an_index_beside_the_embedded_store_is_refused(tmp_path: Path) -> None:
    result = run(("stats", "--store", "store", "--index", "postgresql://u:secret@127.0.0.1/db"), tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == 2 and "keeps its index in its own folder" in stderr, stderr
    assert "secret" not in stderr and list(tmp_path.iterdir()) == []
