"""SPARQL store servers for the tests: a real Oxigraph server and a real Virtuoso, started
on loopback ports of their own, holding the shared records' quads.

Each is described by the fixture spec every helper of issue 12 uses (the lead unifies
them): ``kind``, ``query_url``, ``update_url``, ``graph_store_url``, ``user``/``password``
(None for Oxigraph) and ``reset()``, which empties the store. ``load(path)`` loads an
N-Quads file into it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from conftest import BASE, SHARED, free_port, load_shared_records

from studygraph.graph.embedded import open_catalogue

VIRTUOSO_SCRIPT = SHARED / "tools" / "virtuoso_ci.sh"

#: Oxigraph server's own deadline (--timeout-s): short, as the deployment guide says,
#: since it keeps a thread per request for the whole of it.
OXIGRAPH_TIMEOUT_S = 3


@dataclass
class StoreServer:
    kind: str
    query_url: str
    update_url: str
    graph_store_url: str
    user: str | None
    password: str | None
    _reset: Callable[[], None] = field(repr=False)
    _load: Callable[[Path], None] = field(repr=False)
    _stop: Callable[[], None] = field(repr=False)

    def reset(self) -> None:
        """Empty the store (its own system graphs aside)."""
        self._reset()

    def load(self, quads: Path) -> None:
        """Add the quads of an N-Quads file."""
        self._load(quads)

    def stop(self) -> None:
        self._stop()


def shared_quads(folder: Path) -> tuple[Path, Path]:
    """The shared records mapped by the loader into an embedded store in *folder*, and
    that store's quads exported as N-Quads: (store directory, .nq file)."""
    store = load_shared_records(folder / "store", BASE)
    quads = folder / "load" / "records.nq"
    quads.parent.mkdir()
    catalogue = open_catalogue(store)
    try:
        with quads.open("wb") as out:
            catalogue.export(out, "nq")
    finally:
        catalogue.close()
    return store, quads


def _wait_for(url: str, process: subprocess.Popen | None = None, seconds: float = 60) -> None:
    """Poll *url* until it answers (bounded); fail if *process* ends first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the store server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.1)  # a poll interval, bounded by the deadline
    raise RuntimeError(f"{url} does not answer after {seconds}s")


def _post(url: str, body: bytes, content_type: str) -> None:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type}, method="POST")
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()


def start_oxigraph(folder: Path, quads: Path) -> StoreServer:
    """``oxigraph serve`` with a short ``--timeout-s`` and the union default graph off
    (the default), holding *quads*."""
    binary = shutil.which("oxigraph", path=str(Path(sys.executable).parent)) or shutil.which("oxigraph")
    if binary is None:
        raise RuntimeError("the oxigraph server is not installed (the 'oxigraph' test extra)")
    location = folder / "oxigraph"
    subprocess.run([binary, "load", "--location", str(location), "--file", str(quads)], check=True, capture_output=True, timeout=300)
    port = free_port()
    process = subprocess.Popen(
        [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}", "--timeout-s", str(OXIGRAPH_TIMEOUT_S)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    _wait_for(f"{base}/query?query=ASK%7B%7D", process)

    def reset() -> None:
        _post(f"{base}/update", b"DROP ALL", "application/sparql-update")

    def load(path: Path) -> None:
        _post(f"{base}/store", path.read_bytes(), "application/n-quads")

    def stop() -> None:
        process.terminate()
        process.wait(timeout=30)

    return StoreServer("oxigraph", f"{base}/query", f"{base}/update", f"{base}/store", None, None, reset, load, stop)


def start_virtuoso(folder: Path, quads: Path) -> StoreServer:
    """Virtuoso Open Source 7 by the shared CI script (installed if missing), on ports of
    its own, with *quads* bulk-loaded from their folder."""
    vdir = folder / "virtuoso"
    env = {
        **os.environ, "VDIR": str(vdir), "DATA_DIR": str(quads.parent), "HTTP_PORT": str(free_port()), "SQL_PORT": str(free_port()),
        "DBA_PW": "dba-test-secret", "UPD_USER": "studygraph", "UPD_PW": "studygraph-secret", "BUFFERS": "20000",
    }
    subprocess.run(["bash", str(VIRTUOSO_SCRIPT), "start"], env=env, check=True, capture_output=True, timeout=600)
    base = f"http://127.0.0.1:{env['HTTP_PORT']}"

    def isql(statement: str) -> None:
        subprocess.run(
            ["isql-vt", f"127.0.0.1:{env['SQL_PORT']}", "dba", env["DBA_PW"], "verbose=off", "banner=off", "prompt=off", "echo=off",
             "errors=stdout", f"exec={statement}"],
            check=True, capture_output=True, timeout=300,
        )

    def reset() -> None:
        isql("DELETE FROM DB.DBA.RDF_QUAD WHERE id_to_iri(G) NOT LIKE 'http://www.openlinksw.com/%' "
             "AND id_to_iri(G) NOT LIKE 'http://www.w3.org/%' AND id_to_iri(G) NOT LIKE 'http://localhost:%';")

    def load(path: Path) -> None:
        isql(f"ld_dir('{path.parent}', '{path.name}', '{BASE}/graph/default'); "
             f"UPDATE DB.DBA.load_list SET ll_state = 0 WHERE ll_file LIKE '%{path.name}'; rdf_loader_run(); checkpoint;")

    def stop() -> None:
        subprocess.run(["bash", str(VIRTUOSO_SCRIPT), "stop"], env=env, capture_output=True, timeout=120)

    return StoreServer(
        "virtuoso", f"{base}/sparql", f"{base}/sparql-auth", f"{base}/sparql-graph-crud-auth", env["UPD_USER"], env["UPD_PW"],
        reset, load, stop,
    )
