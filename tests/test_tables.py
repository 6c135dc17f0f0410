"""The shared tables agree with themselves, with Oxigraph, and with every list derived from
them: a syntax added to mappings.formats or a kind added to mappings.node_kinds is
negotiated, exported, parsed and routed everywhere, or this fails."""

from __future__ import annotations

from collections import Counter

import pytest
from pyoxigraph import QueryResultsFormat, RdfFormat

from studygraph.cli import main
from studygraph.graph.backend import EXPORT_FORMATS
from studygraph.mappings.formats import EXPORT_ORDER, RDF_FORMATS, RDF_MEDIA_TYPES, RESULT_FORMATS, RESULT_SYNTAXES, SYNTAXES, WITH_PREFIXES
from studygraph.mappings.node_kinds import LINKED_KINDS
from studygraph.mappings.urls import AUTHORITIES, Urls
from studygraph.mappings.validation import QUALITY_KIND, RULE_KIND
from studygraph.server import negotiation, sparql
from studygraph.server.documents import INDEX_KINDS, KIND_TITLES, NODE_SEGMENTS, SCHEME_TITLES, node_thing
from studygraph.server.listing import FACET_SEGMENTS, FACET_TITLES
from studygraph.server.views import KIND_LABELS

SYNTAX_IDS = [s.name for s in SYNTAXES]


def test_names_and_media_types_are_each_one_syntax() -> None:
    names = Counter(name for s in SYNTAXES for name in (s.name, *s.other_names))
    media = Counter(m for s in SYNTAXES for m in (s.media_type, *s.synonyms, *s.broader))
    assert [n for n, count in names.items() if count > 1] == []
    assert [m for m, count in media.items() if count > 1] == []
    assert "text/html" not in media and "application/xhtml+xml" not in media


@pytest.mark.parametrize("syntax", SYNTAXES, ids=SYNTAX_IDS)
def test_oxigraph_agrees_with_the_table(syntax) -> None:
    assert RdfFormat.from_media_type(syntax.media_type) == syntax.rdf_format
    assert syntax.rdf_format.file_extension == syntax.name
    assert syntax.rdf_format.supports_datasets == syntax.quads
    assert (syntax.triples_as is not None) == (syntax.quads and syntax.name != "jsonld")
    for alias in syntax.aliases:
        assert RdfFormat.from_media_type(alias) == syntax.rdf_format


@pytest.mark.parametrize("syntax", SYNTAXES, ids=SYNTAX_IDS)
def test_every_suffix_name_and_media_type_negotiates_to_its_syntax(syntax) -> None:
    stem, by_suffix = negotiation.split_suffix("abc" + syntax.suffix)
    assert (stem, by_suffix.name) == ("abc", syntax.name)
    assert negotiation.choose_format(by_suffix, None, None).name == syntax.name
    for name in (syntax.name, *syntax.other_names, syntax.media_type, *syntax.synonyms):
        assert negotiation.format_named(name).name == syntax.name, name
    for media in (syntax.media_type, *syntax.synonyms):
        chosen = negotiation.choose_format(None, None, media)
        # An answer is labelled with the media type asked for: a client that sends only
        # text/n3 gets text/n3 back.
        assert (chosen.name, chosen.media_type) == (syntax.name, media)
        assert sparql.GRAPH_CHOICES[media] == (syntax.name, media)
    for broader in syntax.broader:
        chosen = negotiation.choose_format(None, None, broader)
        assert (chosen.name, chosen.media_type) == (syntax.name, syntax.media_type)


def test_every_media_type_read_maps_back_to_one_syntax() -> None:
    read = {m: s for s in SYNTAXES for m in (s.media_type, *s.aliases)}
    assert set(RDF_MEDIA_TYPES) == set(read)
    assert all(RDF_MEDIA_TYPES[m] == s.rdf_format for m, s in read.items())
    # N3 is a superset of Turtle: we answer it with Turtle, but do not read it as Turtle.
    assert "text/n3" not in RDF_MEDIA_TYPES


def test_the_offered_formats_are_html_then_the_table() -> None:
    assert [f.name for f in negotiation.FORMATS] == ["html", *SYNTAX_IDS]
    assert negotiation.SUFFIX_RULE == "<any('.html'," + ",".join(f"'.{n}'" for n in SYNTAX_IDS) + "):ext>"


def test_exports_cover_every_syntax_in_the_cli_order() -> None:
    assert sorted(EXPORT_ORDER) == sorted(SYNTAX_IDS)
    assert list(EXPORT_FORMATS) == list(RDF_FORMATS) == list(EXPORT_ORDER)
    assert {n: quads for n, (_, quads) in EXPORT_FORMATS.items()} == {s.name: s.quads for s in SYNTAXES}
    option = next(p for p in main.commands["export"].params if p.name == "format_")
    assert list(option.type.choices) == list(EXPORT_ORDER)
    assert WITH_PREFIXES == {"ttl", "trig", "rdf"}


@pytest.mark.parametrize("result", RESULT_SYNTAXES, ids=[r.name for r in RESULT_SYNTAXES])
def test_result_formats_agree_with_oxigraph_and_negotiate(result) -> None:
    assert QueryResultsFormat.from_media_type(result.media_type) == result.results_format
    assert RESULT_FORMATS[result.name] == result.media_type
    assert sparql.SOLUTION_CHOICES[result.media_type] == (result.name, result.media_type)
    for name in (result.name, *result.other_names, *result.broader):
        assert sparql._named_format((name,), graph=False) == (result.name, result.media_type)


def test_node_kinds_are_each_one_segment_and_derived_everywhere() -> None:
    names = [k.name for k in LINKED_KINDS]
    segments = [k.segment for k in LINKED_KINDS]
    assert len(set(names)) == len(names) and len(set(segments)) == len(segments)
    assert list(INDEX_KINDS.items()) == list(zip(segments, names))
    assert set(KIND_LABELS) >= set(segments)
    assert set(AUTHORITIES) == {k.segment for k in LINKED_KINDS if k.authority}
    assert set(NODE_SEGMENTS) == {k.segment for k in LINKED_KINDS if not k.authority}
    # Every kind's list document has a title: its scheme's for concepts.
    assert {**KIND_TITLES, **SCHEME_TITLES} == {k.segment: k.title for k in LINKED_KINDS}
    # Facets link to the documents of the kind they filter by.
    # Every facet is a node kind's, but for the profile's findings (no node pages).
    assert set(FACET_SEGMENTS) | {QUALITY_KIND, RULE_KIND} == set(FACET_TITLES)
    urls = Urls("http://example.org")
    for kind in LINKED_KINDS:
        thing = node_thing(urls, kind.segment, "abc")
        if kind.authority:
            assert thing == kind.authority + "ABC"
        else:
            assert thing == f"http://example.org/{kind.segment}/abc#id" == urls.thing(kind.name, "abc")
