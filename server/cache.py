"""Rendered representations, kept by ETag in memory and (optionally) on disk.

Reading a record graph out of the store costs about as much as Oxigraph's own server
spends answering a whole request (a few hundred dictionary lookups in RocksDB), and
rendering it as JSON-LD or HTML costs several times more; yet a representation never
changes while its ETag stays the same. So rendered bodies are kept:

- in memory, least recently used first out, up to a byte budget;
- on disk (``representations.sqlite`` beside the store), compressed, one row per variant
  of a document (its path, format and profile) holding the ETag it was rendered for. A
  row whose ETag no longer matches is stale and simply rendered again and overwritten, so
  the file never holds more than one body per variant. The disk tier survives restarts
  and is filled ahead of traffic by ``studygraph prerender`` (several processes may
  write it at once: SQLite in WAL mode serialises them).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

_log = logging.getLogger(__name__)
#: zlib level of bodies at rest: about 5x smaller than the text; inflating one is ~50 µs.
COMPRESSION_LEVEL = 6
_SCHEMA = """
CREATE TABLE IF NOT EXISTS representations (
    variant TEXT PRIMARY KEY,  -- path, format, profile
    etag TEXT NOT NULL,
    body BLOB NOT NULL         -- zlib-compressed
) WITHOUT ROWID;
"""


def render_version() -> str:
    """A fingerprint of everything that shapes a representation besides the record:
    the server's, the graph layer's (which assembles a study's document from its graph
    and the descriptions it names) and the mapping's code and templates, and the RDF
    library's version.

    It goes into every ETag, so a cached body rendered by other code (an upgrade, a
    template edit) is never served: the disk tier outlives the process that filled it."""
    digest = hashlib.sha256(metadata.version("pyoxigraph").encode())
    here = Path(__file__).resolve().parent
    for folder in (here, here.parent / "graph", here.parent / "mappings"):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".html", ".css", ".ttl", ".jsonld", ".txt"):
                digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def variant_key(path: str, format: str, profile: str, *more: str) -> str:
    """The disk cache's key for one representation of one document (*more*: what else
    it was chosen by, such as the language of a multilingual study's page)."""
    return "\0".join((path, format, profile, *more))


class DiskCache:
    """The on-disk tier: one compressed body per variant, valid for one ETag."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        with self._connection() as db:
            db.executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def get(self, variant: str, etag: str) -> bytes | None:
        row = self._connection().execute(
            "SELECT body FROM representations WHERE variant = ? AND etag = ?", (variant, etag)
        ).fetchone()
        return zlib.decompress(row[0]) if row is not None else None

    def put(self, variant: str, etag: str, body: bytes) -> None:
        packed = zlib.compress(body, COMPRESSION_LEVEL)
        self._connection().execute(
            "INSERT OR REPLACE INTO representations (variant, etag, body) VALUES (?, ?, ?)", (variant, etag, packed)
        )

    def forget(self, path: str) -> None:
        """Drop every variant of the document at *path* (it was deleted)."""
        self._connection().execute(
            "DELETE FROM representations WHERE variant >= ? AND variant < ?", (f"{path}\0", f"{path}\x01")
        )

    def prune_studies(self, current: set[str]) -> int:
        """Drop the variants of studies (``/items/SLUG``) whose slug is not in *current*:
        records deleted while no server ran to forget them. Returns the rows dropped."""
        db = self._connection()
        stale = [
            (variant,) for (variant,) in db.execute("SELECT variant FROM representations WHERE variant >= '/items/' AND variant < '/items0'")
            if variant.split("\0", 1)[0].removeprefix("/items/") not in current
        ]
        db.executemany("DELETE FROM representations WHERE variant = ?", stale)
        return len(stale)

    def count(self) -> int:
        return self._connection().execute("SELECT count(*) FROM representations").fetchone()[0]


def open_disk_cache(path: str | Path) -> DiskCache | None:
    """The disk tier at *path*, or None (memory only, with a warning) if it cannot be
    opened — a store on a read-only disk is still served."""
    try:
        return DiskCache(path)
    except (sqlite3.Error, OSError) as error:
        _log.warning("representation cache: cannot open %s (%s); caching in memory only", path, error)
        return None


class RepresentationCache:
    """Memory in front of an optional :class:`DiskCache`."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024, disk: DiskCache | None = None) -> None:
        self.max_bytes = max_bytes
        self.disk = disk
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, variant: str, etag: str) -> bytes | None:
        with self._lock:
            body = self._items.get(etag)
            if body is not None:
                self._items.move_to_end(etag)
                return body
        if self.disk is None:
            return None
        with self._tolerated("read"):
            body = self.disk.get(variant, etag)
        if body is not None:
            self._remember(etag, body)
        return body

    def put(self, variant: str, etag: str, body: bytes, *, persist: bool = True) -> None:
        self._remember(etag, body)
        if persist and self.disk is not None:
            with self._tolerated("write"):
                self.disk.put(variant, etag, body)

    def forget(self, path: str) -> None:
        if self.disk is not None:
            with self._tolerated("write"):
                self.disk.forget(path)

    @contextmanager
    def _tolerated(self, action: str) -> Iterator[None]:
        """A disk tier that fails (full, read-only, damaged) costs a warning, never the
        request: the body is served from memory or rendered all the same."""
        try:
            yield
        except (sqlite3.Error, zlib.error) as error:
            _log.warning("representation cache: cannot %s %s: %s", action, self.disk.path if self.disk else "-", error)

    def _remember(self, etag: str, body: bytes) -> None:
        if len(body) > self.max_bytes // 8:
            return
        with self._lock:
            if etag in self._items:
                return
            self._items[etag] = body
            self._size += len(body)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)
