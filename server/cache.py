"""A bounded cache of rendered representations, keyed by their ETag.

Rendering a study as JSON-LD or HTML costs far more than looking up its content hash,
and a representation never changes while its ETag stays the same, so rendered bodies are
kept, least recently used first out, up to a byte budget.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class RepresentationCache:
    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, etag: str) -> bytes | None:
        with self._lock:
            body = self._items.get(etag)
            if body is not None:
                self._items.move_to_end(etag)
            return body

    def put(self, etag: str, body: bytes) -> None:
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
