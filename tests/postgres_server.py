"""A throwaway PostgreSQL for the tests: started once per session on loopback and a free
port (the shared postgres_ci.sh, which installs Debian's postgresql when missing), a
fresh schema per test, stopped at the end.

Import the fixture where it is needed: ``from postgres_server import postgres``.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from conftest import SHARED, free_port

from studygraph.graph.postgres import close_pools

SCRIPT = SHARED / "tools" / "postgres_ci.sh"


@dataclass
class PostgresServer:
    """A running cluster: its URL and fresh schemas on demand."""

    url: str
    _numbers: itertools.count[int] = field(default_factory=itertools.count)

    def fresh(self) -> str:
        """The URL of a new, empty schema (dropped first if a past session left it)."""
        schema = f"t{os.getpid()}_{next(self._numbers)}"
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(psycopg.sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(psycopg.sql.Identifier(schema)))
        return f"{self.url}?schema={schema}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    # The postgres user must reach the data folder: a 0755 folder of its own under /tmp.
    folder = Path(tempfile.mkdtemp(prefix="studygraph-pg-"))
    folder.chmod(0o755)
    env = dict(os.environ, PGDIR=str(folder / "pg"), PGPORT=str(free_port()))
    started = subprocess.run(["bash", str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=600)
    if started.returncode != 0:
        pytest.fail(f"PostgreSQL did not start: {started.stderr}")
    try:
        yield PostgresServer(started.stdout.strip().splitlines()[-1])
    finally:
        close_pools()
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, timeout=120)
