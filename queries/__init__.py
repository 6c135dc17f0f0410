"""The SPARQL the application runs, kept as ``.rq`` files beside this module.

Queries never have values pasted into them: callers bind variables with pyoxigraph
``substitutions`` (or the HTTP backend's equivalent, VALUES built from escaped terms).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pyoxigraph


@cache
def load(name: str) -> str:
    """The text of ``queries/<name>.rq``."""
    return resources.files(__name__).joinpath(f"{name}.rq").read_text(encoding="utf-8")


def solutions(results: pyoxigraph.QuerySolutions | pyoxigraph.QueryBoolean | pyoxigraph.QueryTriples) -> pyoxigraph.QuerySolutions:
    """The rows of a SELECT query's *results*: Oxigraph types the result of any query as
    any of its three kinds; a SELECT here that gave another is a TypeError."""
    if not isinstance(results, pyoxigraph.QuerySolutions):
        raise TypeError(f"a SELECT query gave {type(results).__name__}, not solutions")
    return results
