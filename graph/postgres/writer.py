"""The PostgreSQL index's write path: one batch in one transaction, counts by net deltas.

It mirrors graph.search.writer.BatchWriter, including how record and node ids are
numbered (max + 1, in batch order), so the same writes give the same ids in both
indexes, and bm25 ties (broken by id) fall the same way. Writers of one schema hold its
advisory lock (graph.postgres.database), which makes that numbering safe across
processes.
"""

from __future__ import annotations

import json
from collections import Counter

import psycopg

from studygraph.graph.search import IndexEntry
from studygraph.graph.search.model import languages_column
from studygraph.graph.search.schema import FACET_BITS, Facet, facet_memberships
from studygraph.graph.search.text import TAG, sort_key
from studygraph.mappings.validation import results_json

from .database import Database
from .tokens import document, tokenize


class PostgresBatchWriter:
    """The writes of one transaction: rows in bulk, counts and totals by net deltas."""

    def __init__(self, db: Database, connection: psycopg.Connection, facets: dict[str, Facet]) -> None:
        self.db = db
        self.connection = connection
        self.facets_of_kind: dict[str, list[Facet]] = {}
        for facet in facets.values():
            self.facets_of_kind.setdefault(facet.kind, []).append(facet)
        self.counts: Counter[tuple[int, int]] = Counter()
        self.refs: Counter[int] = Counter()
        self.rows = 0
        self.tokens = 0
        self.next_record = (connection.execute(db.q("SELECT max(id) FROM {s}.records")).fetchone() or [None])[0] or 0
        self.next_record += 1
        self.next_node = ((connection.execute(db.q("SELECT max(id) FROM {s}.nodes")).fetchone() or [None])[0] or 0) + 1
        self.nodes: dict[tuple[str, str], int] = {}
        self.labels: dict[int, str] = {}

    def write(self, entries: list[IndexEntry]) -> None:
        db, connection = self.db, self.connection
        slugs = [e.summary.slug for e in entries]
        existing = {
            slug: (id_, digest, modified, has_head)
            for slug, id_, digest, modified, has_head in connection.execute(
                db.q("SELECT slug, id, content_hash, modified, languages IS NOT NULL FROM {s}.records WHERE slug = ANY(%s)"), (slugs,)
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
        descriptions = [TAG.sub(" ", e.summary.description) if "<" in e.summary.description else e.summary.description for e in entries]
        texts = tokenize([(e.summary.title, "\n".join(e.summary.keywords), d) for e, d in zip(entries, descriptions)])
        rows, findings = [], []
        for entry, description, (title, keywords, words) in zip(entries, descriptions, texts):
            summary = entry.summary
            if summary.slug in existing:
                id_ = existing[summary.slug][0]
            else:
                id_ = self.next_record
                self.next_record += 1
            if entry.findings is not None:
                findings.append((id_, results_json(entry.findings)))
            pairs, memberships, restricted = facet_memberships(entry.links, self.nodes, self.facets_of_kind)
            linked = list(dict.fromkeys(node for node, _ in pairs))
            text_size = len(title) + len(keywords) + len(words)
            # FTS5's row size counts the link tokens too (one per node, one per restricted membership).
            size = text_size + len(linked) + len(restricted)
            vector, counts = document(title, keywords, words)
            rows.append((
                id_, summary.slug, summary.title, sort_key(summary.title), summary.start_year, summary.end_year, entry.modified,
                entry.content_hash, description, vector, text_size, size,
                [(n << FACET_BITS) | f for f, n in memberships], linked, json.dumps(pairs, separators=(",", ":")),
                summary.doi, languages_column(summary.languages), counts,
            ))
            self.counts.update(memberships)
            self.refs.update(linked)
            self.rows += 1
            self.tokens += size
        with connection.cursor() as cursor:
            cursor.executemany(
                db.q(
                    "INSERT INTO {s}.records(id, slug, title, sort_key, start_year, end_year, modified, content_hash, description,"
                    " document, text_size, size, memberships, links, pairs, doi, languages, freqs)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s::tsvector, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
                ),
                rows,
            )
            cursor.executemany(db.q("INSERT INTO {s}.findings(id, report) VALUES (%s, %s)"), findings)
            lexemes = sorted({token for columns in texts for tokens in columns for token in tokens})
            cursor.execute(db.q("INSERT INTO {s}.lexemes(token) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING"), (lexemes,))

    def remove(self, ids: list[int]) -> None:
        """Take back the counts, references and tokens of records about to be replaced or
        deleted, and delete their rows."""
        db = self.db
        for memberships, links, size in self.connection.execute(db.q("SELECT memberships, links, size FROM {s}.records WHERE id = ANY(%s)"), (ids,)):
            mask = (1 << FACET_BITS) - 1
            self.counts.subtract([(value & mask, value >> FACET_BITS) for value in memberships])
            self.refs.subtract(links)
            self.rows -= 1
            self.tokens -= size
        self.connection.execute(db.q("DELETE FROM {s}.records WHERE id = ANY(%s)"), (ids,))
        self.connection.execute(db.q("DELETE FROM {s}.findings WHERE id = ANY(%s)"), (ids,))

    def _node_ids(self, wanted: dict[tuple[str, str], str]) -> None:
        """Ids for the batch's nodes: known ones looked up, new ones numbered and inserted."""
        db = self.db
        missing = [pair for pair in wanted if pair not in self.nodes]
        if missing:
            found = self.connection.execute(
                db.q(
                    "SELECT n.id, n.kind, n.key, n.label FROM {s}.nodes n"
                    " JOIN unnest(%s::text[], %s::text[]) AS w(kind, key) ON n.kind = w.kind AND n.key = w.key"
                ),
                ([k for k, _ in missing], [k for _, k in missing]),
            )
            for id_, kind, key, label in found:
                self.nodes[(kind, key)] = id_
                self.labels[id_] = label
        new = []
        for pair in missing:
            if pair not in self.nodes:
                self.nodes[pair] = self.next_node
                self.labels[self.next_node] = wanted[pair]
                new.append((self.next_node, *pair, wanted[pair]))
                self.next_node += 1
        relabelled = [(label, self.nodes[pair]) for pair, label in wanted.items() if self.labels[self.nodes[pair]] != label]
        with self.connection.cursor() as cursor:
            cursor.executemany(db.q("INSERT INTO {s}.nodes(id, kind, key, label, refs) VALUES (%s, %s, %s, %s, 0)"), new)
            # The latest label written wins, as in the SQLite index.
            cursor.executemany(db.q("UPDATE {s}.nodes SET label = %s WHERE id = %s"), relabelled)
        self.labels.update((id_, label) for label, id_ in relabelled)

    def finish(self) -> None:
        """Apply the net changes to counts, references and totals; drop unlinked nodes."""
        db = self.db
        grown = [(facet, node, delta) for (facet, node), delta in self.counts.items() if delta > 0]
        shrunk = [(facet, node, delta) for (facet, node), delta in self.counts.items() if delta < 0]
        with self.connection.cursor() as cursor:
            cursor.executemany(
                db.q(
                    "INSERT INTO {s}.facet_counts AS c(facet, node, count) VALUES (%s, %s, %s)"
                    " ON CONFLICT(facet, node) DO UPDATE SET count = c.count + excluded.count"
                ),
                grown,
            )
            cursor.executemany(db.q("DELETE FROM {s}.facet_counts WHERE facet = %s AND node = %s AND count + %s <= 0"), shrunk)
            cursor.executemany(db.q("UPDATE {s}.facet_counts SET count = count + %s WHERE facet = %s AND node = %s"), [(d, f, n) for f, n, d in shrunk])
            cursor.executemany(db.q("UPDATE {s}.nodes SET refs = refs + %s WHERE id = %s"), [(d, n) for n, d in self.refs.items() if d])
            cursor.executemany(db.q("DELETE FROM {s}.nodes WHERE id = %s AND refs <= 0"), [(n,) for n, d in self.refs.items() if d < 0])
        self.connection.execute(
            db.q("UPDATE {s}.totals SET rows = rows + %s, tokens = tokens + %s, generation = generation + 1"), (self.rows, self.tokens)
        )
        self.counts.clear()
        self.refs.clear()
        self.rows = self.tokens = 0
