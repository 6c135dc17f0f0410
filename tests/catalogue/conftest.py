"""The abstract catalogue suite's fixtures: every test here runs once per backend.

A backend is named by the module path of a function that opens a catalogue at a
directory (graph.catalogue.Catalogue); adding a backend is adding an entry to
:data:`BACKENDS`. A subprocess opens its catalogue by the same name (the kill tests).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from postgres_server import PostgresServer, postgres  # noqa: F401
from store_servers import StoreServer, export_for_subprocesses, oxigraph_server, virtuoso_server  # noqa: F401

from studygraph.graph.catalogue import Catalogue

from .remote_backends import POSTGRES_VARIABLE

#: Backend name -> "module:function" opening a catalogue at a directory (read_only=...).
BACKENDS = {
    "embedded": "studygraph.graph.embedded:open_catalogue",
    # A store server with its index in a local folder (one host) ...
    "oxigraph+sqlite": "catalogue.remote_backends:open_oxigraph",
    # ... or in PostgreSQL, which every worker and host shares.
    "oxigraph+postgres": "catalogue.remote_backends:open_oxigraph_postgres",
    "virtuoso+postgres": "catalogue.remote_backends:open_virtuoso_postgres",
}
#: Backends over a store server: the session fixture (tests/store_servers.py) starting it.
SERVERS = {"oxigraph": "oxigraph_server", "virtuoso": "virtuoso_server"}

BASE = "https://catalogue.example.org"


@dataclass(frozen=True)
class Backend:
    name: str
    opener: str

    def open(self, path: Path, *, read_only: bool = False) -> Catalogue:
        module, function = self.opener.split(":")
        opened: Callable[..., Catalogue] = getattr(importlib.import_module(module), function)
        return opened(path, read_only=read_only)


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    """A backend; a server backend's store is started once a session and emptied here."""
    store, _, index = request.param.partition("+")
    if store in SERVERS:
        server: StoreServer = request.getfixturevalue(SERVERS[store])
        server.reset()
        export_for_subprocesses(server)
    if index == "postgres":
        database: PostgresServer = request.getfixturevalue("postgres")
        os.environ[POSTGRES_VARIABLE] = database.url
    return Backend(request.param, BACKENDS[request.param])


@pytest.fixture
def catalogue(backend: Backend, tmp_path: Path) -> Iterator[Catalogue]:
    """An empty catalogue of each backend, its base URL set."""
    opened = backend.open(tmp_path / "store")
    opened.set_base_url(BASE)
    yield opened
    opened.close()
