"""`indented` writes what json.dumps(indent=2, ensure_ascii=False) writes, byte for byte."""

from __future__ import annotations

import json
import math
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from siptrace.run.jsontext import indented

SCALARS = (st.none() | st.booleans() | st.integers(min_value=-(10 ** 30), max_value=10 ** 30)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4)
                      | st.dictionaries(st.integers(0, 9), inner, min_size=1, max_size=2), max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_the_same_text_as_the_json_module(value):
    assert indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_the_awkward_values():
    for value in ({"a": [], "b": {}, "c": [{}]}, "é\u2028\x00\"\\\t", [math.nan, math.inf, -math.inf, -0.0, 1e300],
                  {"nested": {"deeper": [1, [2, [3]]]}}, (), True, 10 ** 40):
        assert indented(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_what_json_cannot_encode_fails_the_same_way():
    for value in ({"when": datetime(2026, 1, 1)}, [object()]):
        for encode in (indented, lambda v: json.dumps(v, indent=2, ensure_ascii=False)):
            try:
                encode(value)
            except TypeError as err:
                assert "not JSON serializable" in str(err)
            else:
                raise AssertionError("encoded what json cannot")
