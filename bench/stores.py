"""What the benchmark scripts learn about a loaded studygraph store, asked through the
``studygraph`` command: its base URL, its records' slugs, and its quads for a reference
Oxigraph store.

Through the command, not the store's files: the files (settings, index, database
directory) are the store's own business and change with it; the command's output is
its interface. The commands used here only read, so a store a server holds is not
disturbed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from common import find_tool


def read_stats(store: Path) -> dict | None:
    """``studygraph stats --json`` of *store* (records, quads, nodes, base URL), or None
    when there is no readable store there."""
    done = subprocess.run([find_tool("studygraph"), "stats", "--json", "--store", str(store)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        return None
    return json.loads(done.stdout)


def read_base_url(store: Path) -> str:
    """The base URL recorded in the store by its first load (no trailing /)."""
    stats = read_stats(store)
    if stats is None:
        sys.exit(f"no studygraph store at {store}")
    if not stats.get("base_url"):
        sys.exit(f"the store at {store} records no base URL")
    return stats["base_url"].rstrip("/")


def read_slugs(store: Path) -> list[str]:
    """Every record's slug, in slug order (``studygraph slugs``)."""
    done = subprocess.run([find_tool("studygraph"), "slugs", "--store", str(store)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"studygraph slugs --store {store} exited {done.returncode}: {done.stderr.strip()}")
    slugs = done.stdout.split()
    if not slugs:
        sys.exit(f"the store at {store} holds no records")
    return slugs


def reference_copy(store: Path, destination: Path, oxigraph: str) -> str:
    """An Oxigraph database at *destination* holding the same quads as *store*, for the
    reference server: ``studygraph export`` to N-Quads, then ``oxigraph load``. Made
    before studygraph serves the store (the export opens it read-only). Returns how."""
    quads = destination.with_name(destination.name + ".nq")
    subprocess.run([find_tool("studygraph"), "export", "--store", str(store), "--format", "nq", "-o", str(quads)], check=True)
    try:
        subprocess.run([oxigraph, "load", "--location", str(destination), "--file", str(quads)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        quads.unlink(missing_ok=True)
    return "studygraph export | oxigraph load"
