"""Openers of catalogues on the test store servers (tests/store_servers.py), by the
same signature as graph.embedded.open_catalogue: a directory (for the local index,
change log and settings) and read_only. The server's endpoints come from the
environment, so a subprocess opens the same catalogue by the opener's name."""

from __future__ import annotations

import os
from pathlib import Path

from studygraph.graph.catalogue import Catalogue
from studygraph.graph.remote.endpoints import RemoteEndpoints
from studygraph.graph.remote.location import RemoteLocation


def _endpoints(kind: str) -> RemoteEndpoints:
    query_url, update_url, graph_store_url, user, password = os.environ[f"STUDYGRAPH_TEST_{kind.upper()}"].split("\t")
    return RemoteEndpoints(query_url, update_url, graph_store_url, dialect=kind,  # type: ignore[arg-type]
                           user=user or None, password=password or None)


def open_oxigraph(path: str | os.PathLike[str], *, read_only: bool = False) -> Catalogue:
    return RemoteLocation(_endpoints("oxigraph"), Path(path)).open(read_only=read_only)


def open_virtuoso(path: str | os.PathLike[str], *, read_only: bool = False) -> Catalogue:
    return RemoteLocation(_endpoints("virtuoso"), Path(path)).open(read_only=read_only)
