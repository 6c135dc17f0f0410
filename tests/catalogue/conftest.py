"""The abstract catalogue suite's fixtures: every test here runs once per backend.

A backend is named by the module path of a function that opens a catalogue at a
directory (graph.catalogue.Catalogue); adding a backend is adding an entry to
:data:`BACKENDS`. A subprocess opens its catalogue by the same name (the kill tests).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from store_servers import StoreServer, export_for_subprocesses, oxigraph_server, virtuoso_server  # noqa: F401

from studygraph.graph.catalogue import Catalogue

#: Backend name -> "module:function" opening a catalogue at a directory (read_only=...).
BACKENDS = {
    "embedded": "studygraph.graph.embedded:open_catalogue",
    "oxigraph": "catalogue.remote_backends:open_oxigraph",
    "virtuoso": "catalogue.remote_backends:open_virtuoso",
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
    if request.param in SERVERS:
        server: StoreServer = request.getfixturevalue(SERVERS[request.param])
        server.reset()
        export_for_subprocesses(server)
    return Backend(request.param, BACKENDS[request.param])


@pytest.fixture
def catalogue(backend: Backend, tmp_path: Path) -> Iterator[Catalogue]:
    """An empty catalogue of each backend, its base URL set."""
    opened = backend.open(tmp_path / "store")
    opened.set_base_url(BASE)
    yield opened
    opened.close()
