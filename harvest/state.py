"""What a harvest remembers between runs, kept in the catalogue's shared named values
(graph.keyvalue: ``state.sqlite`` in an embedded store's folder, the index database of a
deployment of many workers).

Per source URL, the change-feed token to resume from; and the HTTP validators (ETag,
Last-Modified) of the documents read, so the next harvest asks conditionally and an
unchanged page costs a 304. One JSON value, written whole: a harvest killed while saving
leaves the previous state. A harvest into a fresh store saves it once the bulk load has
moved the store into place, and a harvest that failed still saves how far it got.
"""

from __future__ import annotations

import json
from typing import Any

from studygraph.graph.keyvalue import KeyValue

#: The key the state is kept under.
STATE_KEY = "harvest"


def load_state(values: KeyValue | None) -> dict[str, Any]:
    """What the last harvests into this catalogue left; nothing if there is none or it
    is not what a harvest writes."""
    if values is None:
        return {}
    try:
        state = json.loads(values.get(STATE_KEY) or "{}")
    except ValueError:
        return {}
    return state if isinstance(state, dict) and all(isinstance(v, dict) for v in state.values()) else {}


def save_state(values: KeyValue | None, state: dict[str, Any]) -> None:
    """Keep *state* for the next harvest (nothing to keep it in: a dry run)."""
    if values is not None:
        values.put(STATE_KEY, json.dumps(state))
