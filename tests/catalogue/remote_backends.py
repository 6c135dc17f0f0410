"""Openers of catalogues on the test store servers (tests/store_servers.py), by the
same signature as graph.embedded.open_catalogue: a directory and read_only.

The index is either SQLite files in that directory, or a PostgreSQL schema named after
it (tests/postgres_server.py), so that a subprocess given the directory opens the same
catalogue. The servers' addresses come from the environment, for the same reason."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from studygraph.graph.catalogue import Catalogue
from studygraph.graph.index_place import IndexComponents, IndexDatabase, IndexDirectory
from studygraph.graph.remote.endpoints import RemoteEndpoints
from studygraph.graph.remote.location import RemoteLocation

#: The environment variable holding the test PostgreSQL's URL (set by the backend fixture).
POSTGRES_VARIABLE = "STUDYGRAPH_TEST_POSTGRES"


def _endpoints(kind: str) -> RemoteEndpoints:
    query_url, update_url, graph_store_url, user, password = os.environ[f"STUDYGRAPH_TEST_{kind.upper()}"].split("\t")
    return RemoteEndpoints(query_url, update_url, graph_store_url, dialect=kind,  # type: ignore[arg-type]
                           user=user or None, password=password or None)


def _postgres(path: Path) -> IndexComponents:
    schema = "c" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:20]
    return IndexDatabase(f"{os.environ[POSTGRES_VARIABLE]}?schema={schema}")


def open_oxigraph(path: str | os.PathLike[str], *, read_only: bool = False) -> Catalogue:
    return RemoteLocation(_endpoints("oxigraph"), IndexDirectory(Path(path))).open(read_only=read_only)


def open_oxigraph_postgres(path: str | os.PathLike[str], *, read_only: bool = False) -> Catalogue:
    return RemoteLocation(_endpoints("oxigraph"), _postgres(Path(path))).open(read_only=read_only)


def open_virtuoso_postgres(path: str | os.PathLike[str], *, read_only: bool = False) -> Catalogue:
    return RemoteLocation(_endpoints("virtuoso"), _postgres(Path(path))).open(read_only=read_only)
