"""The scan of public queries (graph.sparql_guard.inspect): form, SERVICE, dataset, LIMIT."""

from __future__ import annotations

import pytest

from graph.sparql_guard import QueryRefused, inspect


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
    # Escapes are decoded before the words are read, as the parser does.
    ("SELECT * WHERE { ?s ?p ?o } \\u004CIMIT 9", 9),
    ("SELECT * WHERE { ?s ?p ?o }", None),
])
def test_the_query_s_own_limit_is_found(query, limit):
    assert inspect(query).limit == limit


def test_form_dataset_and_service():
    shape = inspect("PREFIX ex: <http://example.org/> CONSTRUCT { ?s ex:p ?o } FROM <http://example.org/g> WHERE { ?s ex:p ?o }")
    assert shape.form == "CONSTRUCT" and shape.dataset and shape.services == ()
    allowed = frozenset({"http://127.0.0.1:9/sparql"})
    assert inspect("SELECT * { SERVICE SILENT <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", allowed).services == ("http://127.0.0.1:9/sparql",)
    with pytest.raises(QueryRefused):
        inspect("SELECT * { SERVICE <http://169.254.169.254/> { ?s ?p ?o } }", allowed)
    with pytest.raises(QueryRefused):
        inspect("SELECT * { SERVICE ?endpoint { ?s ?p ?o } }", allowed)
