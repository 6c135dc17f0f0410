"""A record's canonical JSON: the one text it is hashed and kept as, and so the one place
where a value that cannot be kept refuses its record.

Every record is hashed (to tell an unchanged record from a changed one) and kept as
published (``sg:sourceRecord``, an ``rdf:JSON`` literal that ``studygraph remap`` maps
again), both from one text: its JSON with sorted keys, in UTF-8. A record whose values
cannot be written as that text is refused here, before anything else reads it — the
values I-JSON (RFC 7493) rules out, which a JSON parser nevertheless hands over:

- a string holding a lone UTF-16 surrogate (``"\\ud800"``): no UTF-8 text encodes it;
- a number that is not finite: ``1e400`` parses as infinity, and Python's parser takes
  ``NaN`` and ``Infinity`` too; none of them is a JSON number;
- values nested deeper than the JSON writer can follow.

The refusal (:class:`~mappings.records.RecordError`) names the first such value by its
path (``extra_data.sample_size``, ``dataset_schema.keywords[3]``) and why, and costs that
record only. Checking is free for a good record: the text is made anyway, and only a
failure walks the record to find the culprit.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from .records import RecordError

_SURROGATE = re.compile("[\ud800-\udfff]")
#: Python writes no integer of more than 4300 digits as text (sys.int_info); this many
#: bits stays well inside that.
_LONGEST_INTEGER_BITS = 14_000


def canonical_json(data: Any, root: str = "") -> str:
    """*data* as JSON text with sorted keys (the form that is hashed and kept).

    Raises RecordError naming the first value (its path under *root*) that JSON text
    cannot hold."""
    try:
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        text.encode("utf-8")
    except (ValueError, TypeError, RecursionError):
        path, reason = first_unwritable(data)
        raise RecordError(_join(root, path) or "record", reason) from None
    return text


def first_unwritable(data: Any) -> tuple[str, str]:
    """The path of the first value (in document order) that JSON text cannot hold, and
    why. Walked without recursion: the depth of the input is not to be trusted."""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    deepest = ("", 0)
    while stack:
        value, path, depth = stack.pop()
        if depth > deepest[1]:
            deepest = (path, depth)
        problem = _problem(value)
        if problem is not None:
            return path, problem
        if isinstance(value, dict):
            for key, item in reversed(value.items()):
                if not isinstance(key, str) or _SURROGATE.search(key):
                    return _join(path, str(key)), "the name of this field is not valid text"
                stack.append((item, _join(path, key), depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{index}]", depth + 1) for index, item in reversed(list(enumerate(value))))
    return deepest[0], f"values nested {deepest[1]} levels deep cannot be written as JSON"


def _problem(value: Any) -> str | None:
    """Why one value (not looking inside it) cannot be JSON text, or None."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        if found:
            return f"text holds a lone UTF-16 surrogate (U+{ord(found.group()):04X}), which no UTF-8 text can encode"
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return "not a finite number (a number like 1e400 overflows, and NaN or Infinity is no JSON number)"
    if isinstance(value, int) and value.bit_length() > _LONGEST_INTEGER_BITS:
        return "a whole number too long to be written as text"
    if value is None or isinstance(value, (bool, int, float, dict, list)):
        return None
    return f"not a JSON value ({type(value).__name__})"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
