"""The scan of public queries (graph.sparql_guard.inspect): form, SERVICE, dataset, LIMIT."""

from __future__ import annotations

import pytest

from studygraph.graph.sparql_guard import QueryRefused, inspect


@pytest.mark.parametrize("query, limit", [
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 20", 20),
    ("select * { ?s ?p ?o } limit\n  7 OFFSET 2", 7),
    ("SELECT * WHERE { ?s ?p ?o } OFFSET 5 LIMIT 3 VALUES ?s { <http://example.org/a> }", 3),
    # A subquery's LIMIT is not the query's own.
    ("SELECT * WHERE { { SELECT ?s WHERE { ?s ?p ?o } LIMIT 5 } ?s ?q ?r }", None),
    # Nor one in a string, an IRI or a comment.
    ('SELECT * WHERE { ?s ?p "} LIMIT 3" }', None),
    ("SELECT * WHERE { ?s <http://example.org/LIMIT> ?o }", None),
    ("SELECT * WHERE { ?s ?p ?o } # LIMIT 4", None),
    ("SELECT * WHERE { ?s ?p ?o }", None),
])
def test_the_query_s_own_limit_is_found(query, limit):
    assert inspect(query).limit == limit


def test_escapes_are_read_only_in_strings_and_iris_as_oxigraph_reads_them():
    """pyoxigraph decodes \\uXXXX only inside strings and IRIs (spargebra without its
    ``standard-unicode-escaping`` feature); the guard reads the text the same way. If a
    pyoxigraph upgrade changes this, the guard's normal form must be looked at again."""
    import pyoxigraph

    store = pyoxigraph.Store()
    with pytest.raises(SyntaxError):
        store.query("SELECT * WHERE { ?s ?p ?o } \\u004CIMIT 9")
    with pytest.raises(QueryRefused) as refused:
        inspect("SELECT * WHERE { ?s ?p ?o } \\u004CIMIT 9")
    assert refused.value.status == 400
    [row] = store.query('SELECT ?a ?b WHERE { BIND("\\u0022\\\\u0041" AS ?a) BIND(<http://example.org/\\u0041> AS ?b) }')
    assert row["a"].value == '"\\u0041' and row["b"].value == "http://example.org/A"


def test_form_dataset_and_service():
    shape = inspect("PREFIX ex: <http://example.org/> CONSTRUCT { ?s ex:p ?o } FROM <http://example.org/g> WHERE { ?s ex:p ?o }")
    assert shape.form == "CONSTRUCT" and shape.dataset and shape.services == ()
    allowed = frozenset({"http://127.0.0.1:9/sparql"})
    assert inspect("SELECT * { SERVICE SILENT <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", allowed).services == ("http://127.0.0.1:9/sparql",)
    with pytest.raises(QueryRefused):
        inspect("SELECT * { SERVICE <http://169.254.169.254/> { ?s ?p ?o } }", allowed)
    with pytest.raises(QueryRefused):
        inspect("SELECT * { SERVICE ?endpoint { ?s ?p ?o } }", allowed)
