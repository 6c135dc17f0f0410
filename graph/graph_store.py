"""A Graph Store Protocol write (PUT or POST of an RDF body) as one SPARQL Update, the
same for every backend: the body is parsed here, so every store refuses the same bodies
with the same errors, and the write is one update request (one transaction)."""

from __future__ import annotations

import pyoxigraph
from pyoxigraph import NamedNode

from studygraph.mappings.formats import RDF_MEDIA_TYPES

from .insert_data import insert_data


def graph_store_update(graph: NamedNode | None, data: bytes, media_type: str, *, replace: bool) -> str:
    """The update that writes *data* into *graph* (None: the default graph), replacing
    it if *replace*. Raises SyntaxError for a body that does not parse, ValueError for a
    media type we cannot read."""
    if media_type not in RDF_MEDIA_TYPES:
        raise ValueError(f"unsupported media type {media_type}")
    triples = [quad.triple for quad in pyoxigraph.parse(data, format=RDF_MEDIA_TYPES[media_type], base_iri=graph.value if graph else None)]
    body = "".join(f"{t} .\n" for t in triples)
    clear = (f"DROP SILENT GRAPH {graph}" if graph is not None else "DROP SILENT DEFAULT") if replace else ""
    operations = [op for op in (clear, insert_data([(str(graph) if graph is not None else None, body)])) if op]
    return " ;\n".join(operations) or "INSERT DATA { }"
