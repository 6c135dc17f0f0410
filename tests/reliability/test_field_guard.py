"""Each field is written all or nothing: a value that fails half-way through a field takes
back what that field wrote (statements, shared descriptions, links), and says why."""

from __future__ import annotations

from studygraph.mappings import nodes
from studygraph.mappings.namespaces import XSD
from studygraph.mappings.nodes import Context
from studygraph.mappings.profile import write_field
from studygraph.mappings.record_graph import RecordGraph
from studygraph.mappings.terms import literal
from studygraph.mappings.urls import Urls

URLS = Urls("https://catalogue.example.org")


def test_a_field_failing_half_way_leaves_nothing_behind() -> None:
    doc = URLS.item("study")
    ctx = Context(RecordGraph(doc, URLS), URLS, doc)
    write_field(ctx, "keywords", lambda: nodes.keyword(ctx, "kept keyword"))
    before = (dict(ctx.graph.statements), {s: dict(d) for s, d in ctx.graph.shared.items()}, dict(ctx.links))

    def half_way() -> None:
        nodes.keyword(ctx, "a new keyword")  # a shared description and a link
        nodes.keyword(ctx, "kept keyword")  # already there: must stay
        ctx.add(ctx.study, "<https://schema.org/temporalCoverage>", literal("2020"))
        ctx.add(ctx.study, "<https://schema.org/temporalCoverage>", literal("2020-13", XSD + "gYearMonth"))

    write_field(ctx, "temporalCoverage", half_way)
    assert (ctx.graph.statements, ctx.graph.shared, ctx.links) == before
    [warning] = ctx.graph.warnings
    assert warning.field == "temporalCoverage"
    assert "'2020-13' is not a valid gYearMonth; field dropped" in warning.message


def test_a_field_that_completes_is_kept_whole() -> None:
    doc = URLS.item("study")
    ctx = Context(RecordGraph(doc, URLS), URLS, doc)
    write_field(ctx, "keywords", lambda: nodes.keyword(ctx, "one keyword"))
    assert ctx.graph.shared and [link.label for link in ctx.links] == ["one keyword"]
    assert not ctx.graph.warnings
