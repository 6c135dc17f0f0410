"""``/dump.nq.gz``: the whole dataset as one gzipped N-Quads file per store state.

Exporting the store is the most expensive thing a client can ask for (20 concurrent
exports once took 80 s each and starved every other page), and every client in the same
state wants the same bytes. So the dump is built once per state of the store — its
change log's latest sequence number and its count of direct writes (SPARQL Update, Graph
Store, shared descriptions replaced), which between them change with every write — into
a file beside the store (written aside, then renamed into place), and served as a file:
``ETag``, ``Last-Modified``, ``Range``, 304s, and no worker thread held while a slow
client downloads it (Waitress sends a file wrapper from the file itself).

At most ``builds`` dumps are built at once; a request that finds its state's dump being
built, or every build slot taken, gets 503 with ``Retry-After`` (the last build's
duration) instead of waiting on a worker thread.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Response, request, send_file
from werkzeug.wsgi import wrap_file

from studygraph.graph.catalogue import Catalogue

from .http import etag_for

NAME = "dump.nq.gz"
PREFIX, SUFFIX = "dump-", ".nq.gz"
PARTIAL = ".partial"
#: gzip level: 6 is zlib's default balance; the file is built once per state.
COMPRESSION = 6
#: Bytes the store's writer hands to gzip at a time.
WRITE_BUFFER = 1 << 20


class DumpBusy(Exception):
    """The dump cannot be had now; try again after :attr:`retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the dump is being built; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class DumpFile:
    path: Path
    #: The store state it was built from (``latest change - direct writes``).
    state: str

    @property
    def etag(self) -> str:
        return etag_for("dump", self.state)


class DumpFiles:
    """Dump files of one store, built on demand, one per store state."""

    def __init__(self, store: Catalogue, directory: str | os.PathLike[str] | None, builds: int = 1) -> None:
        self.store = store
        self._scratch = None
        if directory is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="studygraph-dump-")
            directory = self._scratch.name
        # Absolute: Flask's send_file reads a relative path from the app's package.
        self.directory = Path(directory).resolve()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.builds = max(1, builds)
        #: Dumps built by this process (each state's once).
        self.built = 0
        self._building: set[str] = set()
        self._lock = threading.Lock()
        self._last_build_seconds = 1.0
        for partial in self.directory.glob(f".{PREFIX}*{PARTIAL}"):
            partial.unlink(missing_ok=True)

    def state(self) -> str:
        """The store's state: it changes with every write, by the loader or directly."""
        latest = self.store.changes.latest() if self.store.changes is not None else 0
        return f"{latest}-{self.store.direct_writes}"

    def current(self) -> DumpFile:
        """The dump of the store as it is now, built first if this state has none yet
        (in the calling thread); :class:`DumpBusy` if it is being built or no build slot
        is free."""
        state = self.state()
        dump = DumpFile(self._path(state), state)
        if dump.path.is_file():
            return dump
        with self._lock:
            if dump.path.is_file():
                return dump
            if state in self._building or len(self._building) >= self.builds:
                raise DumpBusy(max(1, math.ceil(self._last_build_seconds)))
            self._building.add(state)
        try:
            started = time.monotonic()
            self._build(dump.path)
            self._last_build_seconds = time.monotonic() - started
            self.built += 1
        finally:
            with self._lock:
                self._building.discard(state)
        self._remove_others({dump.path, self._path(self.state())})
        return dump

    def _path(self, state: str) -> Path:
        return self.directory / f"{PREFIX}{state}{SUFFIX}"

    def _build(self, target: Path) -> None:
        """Export the store, gzipped, to a side file moved into place when complete."""
        partial = target.with_name(f".{target.name}.{threading.get_ident()}{PARTIAL}")
        try:
            with open(partial, "wb") as raw:
                with gzip.GzipFile(filename=NAME.removesuffix(".gz"), fileobj=raw, mode="wb", compresslevel=COMPRESSION) as compressed:
                    writer = io.BufferedWriter(_Forward(compressed), buffer_size=WRITE_BUFFER)
                    self.store.export(writer, "nq")
                    writer.flush()
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def _remove_others(self, keep: set[Path]) -> None:
        """Drop the dumps of other states than *keep* (the one just built, and the
        store's current state's, which a build that ended later may have made first).
        Downloads under way keep reading their open file."""
        for old in self.directory.glob(f"{PREFIX}*{SUFFIX}"):
            if old not in keep:
                old.unlink(missing_ok=True)


def send(dump: DumpFile) -> Response:
    """*dump* as a conditional, rangeable file response (Werkzeug's ``send_file``).

    Werkzeug answers a ``Range`` by iterating the file in the worker thread; under
    Waitress, whose file wrapper sends a file from its current position for
    ``Content-Length`` bytes without a thread, the range is handed over as such a file
    instead, so a client that stops reading a range holds no thread either."""
    response = send_file(dump.path, mimetype="application/gzip", as_attachment=True, download_name=NAME,
                         conditional=True, etag=dump.etag)
    # The dump changes with every write: caches revalidate (a 304 costs nothing).
    response.headers["Cache-Control"] = "no-cache"
    wrapper = request.environ.get("wsgi.file_wrapper")
    sent = response.content_range
    if response.status_code == 206 and sent is not None and sent.start is not None and hasattr(wrapper, "prepare"):
        body = response.response
        if hasattr(body, "close"):  # Werkzeug's range wrapper of the file
            body.close()
        handle = open(dump.path, "rb")
        handle.seek(sent.start)
        response.response = wrap_file(request.environ, handle)
    return response


class _Forward(io.RawIOBase):
    """A raw stream that forwards writes to another file object (the gzip writer)."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.target.write(data)
        return len(data)
