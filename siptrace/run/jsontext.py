"""JSON text as ``json.dumps(value, indent=2, ensure_ascii=False)`` writes it, made faster.

With an indent, the json module encodes in pure Python, one small string at
a time; at tens of thousands of findings that costs time, and the churn of
small objects keeps a long run's memory from being reused (a worker's peak
grew with the number of findings).  Here strings go through the module's own
C string encoder and containers are joined whole; the output is the same text,
byte for byte (a test compares them).  Values this does not know (a dict with
keys other than strings, objects with a default) go to json.dumps itself.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring
from typing import Any


def indented(value: Any, level: int = 0) -> str:
    """``value`` as indented JSON, as if it stood ``level`` levels deep."""
    leaf = _scalar(value)
    if leaf is not None:
        return leaf
    inner = "\n" + "  " * (level + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        parts = []
        for key, item in value.items():
            if not isinstance(key, str):
                return _by_json(value, level)     # json turns such keys into strings its own way
            parts.append(encode_basestring(key) + ": " + indented(item, level + 1))
    elif isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        parts = [indented(item, level + 1) for item in value]
    else:
        return _by_json(value, level)
    close = "}" if isinstance(value, dict) else "]"
    return ("{" if close == "}" else "[") + inner + ("," + inner).join(parts) + "\n" + "  " * level + close


def _scalar(value: Any) -> str | None:
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (math.inf, -math.inf):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    return None


def _by_json(value: Any, level: int) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + "  " * level)


__all__ = ["indented"]
