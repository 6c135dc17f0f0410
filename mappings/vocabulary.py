"""The project vocabulary (``mappings/vocab.ttl``), published at ``/vocab`` under each base URL."""

from __future__ import annotations

from importlib import resources

import pyoxigraph

from .terms import term_value


def vocabulary_text() -> str:
    """The vocabulary as shipped: Turtle with IRIs relative to ``<base>/vocab``."""
    return resources.files(__package__).joinpath("vocab.ttl").read_text(encoding="utf-8")


def vocabulary_triples(base_url: str) -> list[pyoxigraph.Triple]:
    """The vocabulary's triples with its IRIs resolved against *base_url*."""
    return [
        quad.triple
        for quad in pyoxigraph.parse(
            vocabulary_text(), format=pyoxigraph.RdfFormat.TURTLE, base_iri=base_url.rstrip("/") + "/vocab"
        )
    ]


def defined_terms(base_url: str) -> set[str]:
    """The IRIs of the terms the vocabulary defines."""
    namespace = base_url.rstrip("/") + "/vocab#"
    subjects = (term_value(t.subject) for t in vocabulary_triples(base_url))
    return {s for s in subjects if s.startswith(namespace)}
