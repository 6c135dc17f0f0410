"""Running ``studygraph harvest`` from reliability tests, and reading what it did."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

from conftest import ROOT, run_cli, studygraph_command

BASE_URL = "http://harvester.example"


def harvest(url: str, store: Path, *flags: str) -> subprocess.CompletedProcess:
    return run_cli("harvest", url, "--store", str(store), "--base-url", BASE_URL, *flags)


def records(store: Path) -> int:
    return json.loads(run_cli("stats", "--store", str(store), "--json").stdout)["records"]


def exported(store: Path) -> bytes:
    return run_cli("export", "--store", str(store), "--format", "nt").stdout


def errors(result: subprocess.CompletedProcess) -> list[str]:
    """The ``error:`` lines of a harvest, after checking it printed no traceback."""
    lines = result.stderr.decode().splitlines()
    assert not any("Traceback" in line for line in lines), result.stderr.decode()
    return [line for line in lines if line.startswith("error: ")]


def measured_harvest(url: str, store: Path, *flags: str) -> tuple[subprocess.CompletedProcess, int]:
    """``studygraph harvest`` in a subprocess, and that process's peak resident memory in
    bytes: its own rusage, as ``wait4`` reports it for this one child, so the servers and
    earlier commands the test process ran do not count."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STUDYGRAPH_")}
    command = [*studygraph_command(), "harvest", url, "--store", str(store), "--base-url", BASE_URL, *flags]
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=environment, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        result = subprocess.CompletedProcess(command, process.returncode, stdout.read(), stderr.read())
    return result, usage.ru_maxrss * 1024
