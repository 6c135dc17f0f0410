"""The SPARQL the application runs, kept as ``.rq`` files beside this module.

Queries never have values pasted into them: callers bind variables with pyoxigraph
``substitutions`` (or the HTTP backend's equivalent, VALUES built from escaped terms).
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load(name: str) -> str:
    """The text of ``queries/<name>.rq``."""
    return resources.files(__name__).joinpath(f"{name}.rq").read_text(encoding="utf-8")
