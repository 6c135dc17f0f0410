"""HTML pages carrying schema.org JSON-LD (what Google Dataset Search reads).

Only ``<script type="application/ld+json">`` blocks matter; each is read as JSON-LD
(:mod:`mappings.readers.jsonld`) and every Dataset found is a record, placed at the line
where its block starts. The stdlib HTML parser is enough: script content is raw text to
it, so the JSON arrives unaltered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import BinaryIO

from studygraph.mappings.readers.jsonld import datasets_in
from studygraph.mappings.readers.sources import InputError, decode_text
from studygraph.mappings.records import Origin, ReadResult, Rejection, SourceRecord

FORMAT = "html"


def read(source: str, stream: BinaryIO) -> Iterator[ReadResult]:
    """Yield the Datasets described by the page's JSON-LD blocks."""
    parser = _JsonLdScripts()
    parser.feed(decode_text(stream.read()))
    parser.close()
    reported = 0
    for line, text in parser.blocks:
        origin = Origin(source, line=line)
        try:
            datasets = datasets_in(json.loads(text))
        except ValueError as exc:  # json.JSONDecodeError
            yield Rejection(origin, f"invalid JSON in a JSON-LD script block: {exc}")
            reported += 1
            continue
        except RecursionError:
            yield Rejection(origin, "invalid JSON in a JSON-LD script block: nested too deeply")
            reported += 1
            continue
        except InputError as exc:
            yield Rejection(origin, exc.reason)
            reported += 1
            continue
        for data in datasets:
            yield SourceRecord(data=data, origin=origin, format=FORMAT)
            reported += 1
    if not reported:  # nothing at all, not even a broken block
        yield Rejection(Origin(source), "no schema.org Dataset in the page's JSON-LD script blocks")


class _JsonLdScripts(HTMLParser):
    """Collects the text of ``application/ld+json`` scripts with their first line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[int, str]] = []
        self._current: list[str] | None = None
        self._line = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "script":
            return
        kind = (dict(attrs).get("type") or "").split(";")[0].strip().lower()
        if kind == "application/ld+json":
            self._current, self._line = [], self.getpos()[0]

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._current is not None:
            self.blocks.append((self._line, "".join(self._current)))
            self._current = None
