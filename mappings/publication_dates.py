"""When a thing was published and last changed, as its source says.

A harvested dataset or distribution carries its own ``dct:issued``/``dct:modified``;
they are written in both vocabularies (``schema:datePublished``/``dateModified``), typed
by their precision (:func:`mappings.temporal.parse_date`). They are the source's dates,
kept apart from the catalogue record's, which say when we wrote the record.
"""

from __future__ import annotations

from typing import Any

from . import temporal
from .namespaces import DCT, SCHEMA
from .nodes import Context
from .terms import literal

#: (record key, DCTERMS term, schema.org term)
DATES = (("issued", "issued", "datePublished"), ("modified", "modified", "dateModified"))


def write_dates(ctx: Context, subject: str, field_name: str, issued: Any, modified: Any, about: str = "") -> None:
    """Write *issued* and *modified* (published lexical forms) about *subject*; a value
    that is no date is dropped with a warning naming *field_name* (and *about*)."""
    for (key, dct_term, schema_term), value in zip(DATES, (issued, modified)):
        if not isinstance(value, str) or not value.strip():
            continue
        try:
            bound = temporal.parse_date(value)
        except ValueError as error:
            ctx.graph.warn(field_name, f"{about}{key}: {error}; dropped")
            continue
        term = literal(bound.value, bound.datatype)
        ctx.add(subject, f"<{DCT}{dct_term}>", term)
        ctx.add(subject, f"<{SCHEMA}{schema_term}>", term)
