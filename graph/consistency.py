"""``studygraph check``: where the graphs, the search index and the change log disagree.

A write goes to three components (graph.catalogue says in which order, and why). Writes
are journalled (the change log's ``pending`` notes), so a crash between them is settled
by :func:`graph.loader.recover` at the next opening for writing. What that cannot settle
is what no journal saw: a store restored from backups of its components taken at
different times, an index database shared by workers of which one was cut off between
its writes on another host, a component edited by hand. The graphs are the truth; this
check compares the other two with them and, asked to, makes them agree:

- the index: every record graph indexed, at its content hash, and nothing else;
- the change log: every record graph announced (its last change is not a deletion), and
  every record the feed last announced as present still there (else a deletion is
  recorded, so a harvester following the feed drops it).

The comparison reads every graph's hash, every index hash and every slug's last change:
one scan of each, which at a million records takes seconds on either backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from studygraph.mappings.urls import Urls
from studygraph.mappings.validation import gate

from .catalogue import Catalogue, now
from .loader import indexed, map_stored


@dataclass
class ConsistencyCheck:
    """Slugs on which a component disagrees with the record graphs."""

    #: A graph not in the index.
    missing: list[str] = field(default_factory=list)
    #: Indexed without a graph.
    extra: list[str] = field(default_factory=list)
    #: Indexed at another content hash than its graph's.
    stale: list[str] = field(default_factory=list)
    #: A graph the change log never announced, or last announced as deleted.
    unannounced: list[str] = field(default_factory=list)
    #: No graph, but the change log's last word on it is that it exists.
    announced_gone: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return not (self.missing or self.extra or self.stale or self.unannounced or self.announced_gone)

    def findings(self) -> list[tuple[str, list[str]]]:
        """(what is wrong, the slugs) for each kind of disagreement, in report order."""
        return [
            ("not indexed", self.missing),
            ("indexed without a graph", self.extra),
            ("indexed as another version", self.stale),
            ("not in the change log", self.unannounced),
            ("announced by the change log but gone", self.announced_gone),
        ]


def check(catalogue: Catalogue, urls: Urls, *, repair: bool = False) -> ConsistencyCheck:
    """Compare the index and the change log with the record graphs; with *repair*, make
    them agree: the index first, then the feed, so the feed announces only what a
    listing shows and a document URL answers."""
    prefix = f"{urls.base}/items/"
    graphs = {name[len(prefix):]: digest for name, digest in catalogue.record_hashes().items() if name.startswith(prefix)}
    found = ConsistencyCheck()
    if catalogue.index is not None:
        indexed = catalogue.index.hashes(set(graphs) | set(catalogue.index.slugs()))
        found.missing = sorted(set(graphs) - set(indexed))
        found.extra = sorted(set(indexed) - set(graphs))
        found.stale = sorted(slug for slug in set(graphs) & set(indexed) if graphs[slug] != indexed[slug])
    if catalogue.changes is not None:
        last = catalogue.changes.last_kinds()
        found.unannounced = sorted(slug for slug in graphs if last.get(slug, "deleted") == "deleted")
        found.announced_gone = sorted(slug for slug, kind in last.items() if kind != "deleted" and slug not in graphs)
    if repair:
        _repair(catalogue, urls, found)
    return found


def _repair(catalogue: Catalogue, urls: Urls, found: ConsistencyCheck) -> None:
    if catalogue.index is not None:
        for slug in found.extra:
            catalogue.index.delete(slug)
        for slug in found.missing + found.stale:
            stored = catalogue.stored_record(urls.item(slug))
            if stored is not None:
                catalogue.index.replace([indexed(map_stored(stored, urls), stored.modified, gate("warn", urls.base))])
    if catalogue.changes is not None:
        stamp = now()
        catalogue.changes.record([(slug, "created", stamp) for slug in found.unannounced])
        catalogue.changes.record([(slug, "deleted", stamp) for slug in found.announced_gone])
