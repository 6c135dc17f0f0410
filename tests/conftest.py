"""Shared fixtures: the real records in ../shared, stores in temporary directories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

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
