"""Real SPARQL store servers for tests: an Oxigraph server and a Virtuoso 7, each started
once per session on loopback and a free port, emptied between tests by ``reset()``.

Each fixture gives a :class:`StoreServer`: kind, its three endpoints, the update user,
``reset()`` (empty it) and ``load(nq)`` (add an N-Quads file with the store's own bulk
loader). Oxigraph server runs with a short ``--timeout-s``, as the deployment guide says.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import BASE, ROOT, SHARED, free_port, load_shared_records, server_log, wait_until_listening

from studygraph.graph.embedded import open_catalogue
from studygraph.graph.remote.client import SparqlClient
from studygraph.graph.remote.endpoints import RemoteEndpoints
from studygraph.graph.remote.store import VIRTUOSO_SYSTEM_GRAPHS

VIRTUOSO_SCRIPT = SHARED / "tools" / "virtuoso_ci.sh"
OXIGRAPH = Path(sys.executable).parent / "oxigraph"
#: Oxigraph server's own query deadline (--timeout-s): short, as the deployment guide
#: says, since it keeps a thread per request for the whole of it.
OXIGRAPH_TIMEOUT_S = 3


@dataclass
class StoreServer:
    kind: str
    query_url: str
    update_url: str
    graph_store_url: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    #: Virtuoso: its SQL port, DBA password and the folder its bulk loader may read.
    isql: tuple[str, str, Path] | None = field(default=None, repr=False)

    def endpoints(self) -> RemoteEndpoints:
        return RemoteEndpoints(self.query_url, self.update_url, self.graph_store_url, dialect=self.kind,  # type: ignore[arg-type]
                               user=self.user, password=self.password)

    def reset(self) -> None:
        """Empty the store (Virtuoso's own graphs kept)."""
        client = SparqlClient(self.endpoints())
        try:
            if self.kind == "oxigraph":
                client.update("DROP ALL")
                return
            from studygraph.graph.remote.patterns import RemotePatterns

            rows = RemotePatterns(client).select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
            graphs = [str(row["g"]) for row in rows if not row["g"].value.startswith(VIRTUOSO_SYSTEM_GRAPHS)]
            if graphs:
                client.update("".join(f"DROP SILENT GRAPH {g} ;\n" for g in graphs))
        finally:
            client.close()

    def load(self, quads: Path) -> None:
        """Add the quads of an N-Quads file: Oxigraph's ``POST /store``, Virtuoso's
        bulk loader (``ld_dir``)."""
        if self.isql is None:
            request = urllib.request.Request(self.graph_store_url, data=quads.read_bytes(),
                                             headers={"Content-Type": "application/n-quads"}, method="POST")
            with urllib.request.urlopen(request, timeout=300) as response:
                response.read()
            return
        port, password, allowed = self.isql
        copy = allowed / f"{len(list(allowed.iterdir()))}-{quads.name}"  # a new name: the loader takes a file once
        shutil.copyfile(quads, copy)
        statement = f"ld_dir('{allowed}', '{copy.name}', '{BASE}/graph/default'); rdf_loader_run(); checkpoint;"
        subprocess.run(["isql-vt", f"127.0.0.1:{port}", "dba", password, "verbose=off", "banner=off", "prompt=off", "echo=off",
                        "errors=stdout", f"exec={statement}"], check=True, capture_output=True, timeout=300)


def shared_quads(folder: Path) -> tuple[Path, Path]:
    """The shared records loaded into an embedded store in *folder*, and its quads as
    N-Quads: (store directory, .nq file), for stores that should hold the same."""
    store = load_shared_records(folder / "store", BASE)
    quads = folder / "records.nq"
    catalogue = open_catalogue(store)
    try:
        with quads.open("wb") as out:
            catalogue.export(out, "nq")
    finally:
        catalogue.close()
    return store, quads


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreServer]:
    """``oxigraph serve`` on a store directory of its own (its default graph is its own
    graph: queries over the union ask for ``union-default-graph``)."""
    port = free_port()
    location = tmp_path_factory.mktemp("oxigraph-server")
    process = subprocess.Popen([str(OXIGRAPH), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
                                "--timeout-s", str(OXIGRAPH_TIMEOUT_S)],
                               stdout=subprocess.DEVNULL, stderr=(log := server_log()))
    try:
        wait_until_listening(process, port, log=log)
        root = f"http://127.0.0.1:{port}/"
        yield StoreServer("oxigraph", root + "query", root + "update", root + "store")
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreServer]:
    """Virtuoso 7 from /work/shared/tools/virtuoso_ci.sh (installed if missing), with a
    digest-auth user allowed to update; its default graph is the union of all graphs."""
    directory = tmp_path_factory.mktemp("virtuoso")
    env = {**os.environ, "VDIR": str(directory / "v"), "DATA_DIR": str(directory / "load"), "HTTP_PORT": str(free_port()), "SQL_PORT": str(free_port()),
           "DBA_PW": secrets.token_hex(8), "UPD_USER": "studygraph", "UPD_PW": secrets.token_hex(8)}
    if shutil.which("bash") is None:
        pytest.skip("bash is needed to start Virtuoso")
    started = subprocess.run(["bash", str(VIRTUOSO_SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=900)
    try:
        if started.returncode != 0:
            raise RuntimeError(f"Virtuoso did not start: {started.stdout[-2000:]} {started.stderr[-2000:]}")
        root = f"http://127.0.0.1:{env['HTTP_PORT']}/"
        yield StoreServer("virtuoso", root + "sparql", root + "sparql-auth", root + "sparql-graph-crud-auth",
                          user=env["UPD_USER"], password=env["UPD_PW"], isql=(env["SQL_PORT"], env["DBA_PW"], directory / "load"))
    finally:
        subprocess.run(["bash", str(VIRTUOSO_SCRIPT), "stop"], env=env, capture_output=True, timeout=300)


def export_for_subprocesses(server: StoreServer) -> None:
    """Let a subprocess (tests/catalogue's killed writer) open a catalogue on *server*:
    its endpoints in the environment, the tests folder on its import path."""
    os.environ[f"STUDYGRAPH_TEST_{server.kind.upper()}"] = "\t".join(
        [server.query_url, server.update_url, server.graph_store_url, server.user or "", server.password or ""])
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if str(ROOT / "tests") not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests"), *filter(None, paths)])
