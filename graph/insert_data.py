"""SPARQL ``INSERT DATA`` text, cut into operations a SPARQL store compiles.

Virtuoso compiles each update operation into SQL and refuses one whose SQL passes 10,000
lines ("SP031: The length of generated SQL text has exceeded 10000 lines of code"):
about 1,000–2,000 quads, which one study with many variables reaches. Several
operations in one request (``INSERT DATA {…} ; INSERT DATA {…}``) are compiled one by
one and still run as one request, one transaction, on Virtuoso and on Oxigraph; so
every INSERT DATA we send, whatever the store, holds at most
:data:`STATEMENTS_PER_OPERATION` statements.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Statements in one ``INSERT DATA`` operation (Virtuoso takes 1,000 of ours, not 2,000).
STATEMENTS_PER_OPERATION = 500


def insert_data(blocks: Iterable[tuple[str | None, str]]) -> str:
    """``INSERT DATA`` operations joined by `` ;``, for *blocks* of (graph term — ``<iri>`` —
    or None for the default graph, N-Triples lines each ending in a newline). "" when there is
    nothing to insert."""
    operations: list[str] = []
    parts: list[str] = []
    room = STATEMENTS_PER_OPERATION
    for graph, ntriples in blocks:
        # Not splitlines(): N-Triples escapes only \n and \r in a literal; a U+2028 stays.
        lines = [line + "\n" for line in ntriples.split("\n") if line]
        while lines:
            taken, lines = lines[:room], lines[room:]
            text = "".join(taken)
            parts.append(f"GRAPH {graph} {{\n{text}}}\n" if graph is not None else text)
            room -= len(taken)
            if room == 0:
                operations.append("INSERT DATA {\n" + "".join(parts) + "}")
                parts, room = [], STATEMENTS_PER_OPERATION
    if parts:
        operations.append("INSERT DATA {\n" + "".join(parts) + "}")
    return " ;\n".join(operations)
