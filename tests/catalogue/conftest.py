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

from studygraph.graph.catalogue import Catalogue

#: Backend name -> "module:function" opening a catalogue at a directory (read_only=...).
BACKENDS = {
    "embedded": "studygraph.graph.embedded:open_catalogue",
}

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
    return Backend(request.param, BACKENDS[request.param])


@pytest.fixture
def catalogue(backend: Backend, tmp_path: Path) -> Iterator[Catalogue]:
    """An empty catalogue of each backend, its base URL set."""
    opened = backend.open(tmp_path / "store")
    opened.set_base_url(BASE)
    yield opened
    opened.close()
