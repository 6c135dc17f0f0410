"""What a harvest remembers between runs: ``STORE/harvest.json``.

Per source URL, the change-feed token to resume from; and the HTTP validators (ETag,
Last-Modified) of the documents read, so the next harvest asks conditionally and an
unchanged page costs a 304. A file in the store's folder, not in the quad store: a
harvest into a fresh store writes it only once the bulk load has moved the store into
place, and a harvest that failed still saves how far it got.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STATE_FILE = "harvest.json"


def load_state(directory: Path | None) -> dict[str, Any]:
    """What the last harvests into this store left (``STORE/harvest.json``); nothing if
    the file is missing or is not what a harvest writes."""
    if directory is None:
        return {}
    try:
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    return state if isinstance(state, dict) and all(isinstance(v, dict) for v in state.values()) else {}


def save_state(directory: Path | None, state: dict[str, Any]) -> None:
    """Write *state* as ``STORE/harvest.json``, whole or not at all (through a temporary
    file moved into place), so a harvest killed while saving leaves the previous state."""
    if directory is None:
        return
    temporary = directory / f".{STATE_FILE}.tmp"
    temporary.write_text(json.dumps(state, indent=1), encoding="utf-8")
    temporary.replace(directory / STATE_FILE)
