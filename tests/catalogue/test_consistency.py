"""``studygraph check`` on every backend: each way the index and the change log can
disagree with the record graphs is found, named, and repaired from the graphs."""

from __future__ import annotations

from studygraph.graph import consistency
from studygraph.graph.catalogue import Catalogue, now
from studygraph.graph.loader import _write
from studygraph.graph.search import IndexEntry
from studygraph.mappings.identity import LOCAL, Identity
from studygraph.mappings.profile import map_record

from .test_catalogue import URLS, in_step, load, record


def test_a_consistent_catalogue_agrees(catalogue: Catalogue) -> None:
    load(catalogue, record("a", "Alpha study"), record("b", "Beta study"))
    assert consistency.check(catalogue, URLS).agrees


def test_each_disagreement_is_found_and_repaired_from_the_graphs(catalogue: Catalogue) -> None:
    load(catalogue, record("a", "Alpha study"), record("b", "Beta study"), record("c", "Gamma study"), record("d", "Delta study"))
    assert catalogue.index is not None and catalogue.changes is not None
    # A graph written by the store alone: neither indexed nor announced.
    ghost = map_record(record("ghost", "Ghost study"), URLS, issued="2026-01-01T00:00:00Z", modified="2026-01-01T00:00:00Z",
                       identity=Identity(LOCAL, "ghost"))
    catalogue.quads.replace([_write(ghost, IndexEntry.of(ghost, "2026-01-01T00:00:00Z"), "created")])
    # An index entry left without its graph, and one from another version of its record.
    catalogue.quads.delete(URLS.item("a"))
    stale = map_record(record("b", "Beta study, an older edition"), URLS, issued="2025-01-01T00:00:00Z",
                       modified="2025-01-01T00:00:00Z", identity=Identity(LOCAL, "b"))
    catalogue.index.replace([IndexEntry.of(stale, "2025-01-01T00:00:00Z")])
    # The feed's last word on c is a deletion, though its graph is there; on d, nothing is wrong.
    catalogue.changes.record([("c", "deleted", now())])

    found = consistency.check(catalogue, URLS)
    assert (found.missing, found.extra, found.stale) == (["ghost"], ["a"], ["b"])
    assert (found.unannounced, found.announced_gone) == (["c", "ghost"], ["a"])
    assert not found.agrees

    consistency.check(catalogue, URLS, repair=True)
    assert consistency.check(catalogue, URLS).agrees
    assert in_step(catalogue) == ({"b", "c", "d", "ghost"}, {"b", "c", "d", "ghost"})
    assert [h.slug for h in catalogue.index.search("beta").hits] == ["b"]
    assert catalogue.index.search("older").total == 0
    last = catalogue.changes.last_kinds()
    assert (last["a"], last["c"], last["ghost"], last["d"]) == ("deleted", "created", "created", "created")
