"""The search index's write path: one batch of entries in one transaction, counts by net deltas."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator

from studygraph.mappings.validation import results_json

from .model import IndexEntry, languages_column
from .schema import Facet, bump_state, facet_memberships, pack_facets, unpack_facets
from .sql import CHUNK, marks
from .text import TAG, link_tokens, sort_key


def latest_batches(entries: Iterable[IndexEntry], size: int = CHUNK) -> Iterator[list[IndexEntry]]:
    """*entries* in batches of up to *size* records, a slug given twice in a batch
    keeping its last entry (in the place of its last mention)."""
    pending: dict[str, IndexEntry] = {}
    for entry in entries:
        pending.pop(entry.summary.slug, None)
        pending[entry.summary.slug] = entry
        if len(pending) >= size:
            yield list(pending.values())
            pending.clear()
    if pending:
        yield list(pending.values())


class BatchWriter:
    """The write path of one transaction: rows by executemany, counts by net deltas."""

    def __init__(self, db: sqlite3.Connection, facets: dict[str, Facet]) -> None:
        self.db = db
        self.facets = list(facets.values())
        self.facets_of_kind: dict[str, list[Facet]] = {}
        for facet in self.facets:
            self.facets_of_kind.setdefault(facet.kind, []).append(facet)
        self.counts: Counter[tuple[int, int]] = Counter()  # (facet, node) -> change
        self.refs: Counter[int] = Counter()  # node -> change in studies linking it
        self.next_record = (db.execute("SELECT max(id) FROM records").fetchone()[0] or 0) + 1
        self.next_node = (db.execute("SELECT max(id) FROM nodes").fetchone()[0] or 0) + 1
        self.nodes: dict[tuple[str, str], int] = {}
        self.labels: dict[int, str] = {}
        #: Records added (less those deleted) by this transaction, for the state row.
        self.added = 0

    def write(self, entries: list[IndexEntry]) -> None:
        slugs = [e.summary.slug for e in entries]
        existing = {
            slug: (id_, digest, modified, has_head)
            for slug, id_, digest, modified, has_head in self.db.execute(
                f"SELECT slug, id, content_hash, modified, languages IS NOT NULL FROM records WHERE slug IN ({marks(len(slugs))})", slugs
            )
        }
        entries = [
            e for e in entries if e.summary.slug not in existing or existing[e.summary.slug][1:] != (e.content_hash, e.modified, True)
        ]
        if not entries:
            return
        replaced = [existing[e.summary.slug][0] for e in entries if e.summary.slug in existing]
        if replaced:
            self.remove(replaced)
        self._node_ids({(link.kind, link.key): link.label for e in entries for link in e.links})
        records, record_facets, record_links, texts, findings = [], [], [], [], []
        for entry in entries:
            summary = entry.summary
            if summary.slug in existing:
                id_ = existing[summary.slug][0]
            else:
                id_ = self.next_record
                self.next_record += 1
                self.added += 1
            if entry.findings is not None:
                findings.append((id_, results_json(entry.findings)))
            pairs, memberships, restricted = facet_memberships(entry.links, self.nodes, self.facets_of_kind)
            records.append(
                (id_, summary.slug, summary.title, sort_key(summary.title), summary.start_year, summary.end_year,
                 entry.modified, entry.content_hash, summary.doi, languages_column(summary.languages))
            )
            record_facets.append((id_, pack_facets(memberships)))
            record_links.append((id_, json.dumps(pairs, separators=(",", ":"))))
            # The tokenizer ignores spacing: only tags are dropped from the indexed text.
            description = TAG.sub(" ", summary.description) if "<" in summary.description else summary.description
            texts.append((id_, summary.title, description, "\n".join(summary.keywords), link_tokens(pairs, restricted)))
            self.counts.update(memberships)
            self.refs.update({node for node, _ in pairs})
        self.db.executemany(
            "INSERT OR REPLACE INTO records(id, slug, title, sort_key, start_year, end_year, modified, content_hash, doi, languages) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            records,
        )
        self.db.executemany("INSERT OR REPLACE INTO record_facets(id, facets) VALUES (?, ?)", record_facets)
        self.db.executemany("INSERT OR REPLACE INTO record_links(id, links) VALUES (?, ?)", record_links)
        self.db.executemany("INSERT INTO texts(rowid, title, description, keywords, links) VALUES (?, ?, ?, ?, ?)", texts)
        self.db.executemany("INSERT OR REPLACE INTO findings(id, report) VALUES (?, ?)", findings)

    def remove(self, ids: list[int]) -> None:
        """Take back the counts and references of records about to be replaced or deleted, and their text."""
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            for (blob,) in self.db.execute(f"SELECT facets FROM record_facets WHERE id IN ({marks(len(chunk))})", chunk):
                self.counts.subtract(unpack_facets(blob))
            for (links,) in self.db.execute(f"SELECT links FROM record_links WHERE id IN ({marks(len(chunk))})", chunk):
                self.refs.subtract({node for node, _ in json.loads(links)})
        self.db.executemany("DELETE FROM texts WHERE rowid = ?", ((i,) for i in ids))
        self.db.executemany("DELETE FROM findings WHERE id = ?", ((i,) for i in ids))

    def _node_ids(self, wanted: dict[tuple[str, str], str]) -> None:
        """Ids for the batch's nodes: known ones looked up, new ones numbered and inserted."""
        missing = [pair for pair in wanted if pair not in self.nodes]
        by_kind: dict[str, list[str]] = {}
        for kind, key in missing:
            by_kind.setdefault(kind, []).append(key)
        for kind, keys in by_kind.items():
            for start in range(0, len(keys), CHUNK):
                chunk = keys[start : start + CHUNK]
                sql = f"SELECT id, key, label FROM nodes WHERE kind = ? AND key IN ({marks(len(chunk))})"
                for id_, key, label in self.db.execute(sql, (kind, *chunk)):
                    self.nodes[(kind, key)] = id_
                    self.labels[id_] = label
        new = []
        for pair in missing:
            if pair not in self.nodes:
                self.nodes[pair] = self.next_node
                self.labels[self.next_node] = wanted[pair]
                new.append((self.next_node, *pair, wanted[pair]))
                self.next_node += 1
        self.db.executemany("INSERT INTO nodes(id, kind, key, label, refs) VALUES (?, ?, ?, ?, 0)", new)
        # The latest label written wins: a node's label follows its records' spelling.
        relabelled = [(label, self.nodes[pair]) for pair, label in wanted.items() if self.labels[self.nodes[pair]] != label]
        self.db.executemany("UPDATE nodes SET label = ? WHERE id = ?", relabelled)
        self.labels.update((id_, label) for label, id_ in relabelled)

    def finish(self) -> None:
        """Apply the net changes to the counts, drop nodes no study links any more, and
        bump the state row."""
        grown = [(facet, node, delta) for (facet, node), delta in self.counts.items() if delta > 0]
        shrunk = [(facet, node, delta) for (facet, node), delta in self.counts.items() if delta < 0]
        self.db.executemany(
            "INSERT INTO facet_counts(facet, node, count) VALUES (?, ?, ?) "
            "ON CONFLICT(facet, node) DO UPDATE SET count = count + excluded.count",
            grown,
        )
        self.db.executemany("DELETE FROM facet_counts WHERE facet = ? AND node = ? AND count + ? <= 0", shrunk)
        self.db.executemany(
            "UPDATE facet_counts SET count = count + ? WHERE facet = ? AND node = ?", ((d, f, n) for f, n, d in shrunk)
        )
        self.db.executemany("UPDATE nodes SET refs = refs + ? WHERE id = ?", ((d, n) for n, d in self.refs.items() if d))
        self.db.executemany("DELETE FROM nodes WHERE id = ? AND refs <= 0", ((n,) for n, d in self.refs.items() if d < 0))
        bump_state(self.db, self.added)
        self.counts.clear()
        self.refs.clear()
        self.added = 0
