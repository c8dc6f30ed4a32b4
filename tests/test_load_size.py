"""The notebook API says how much it holds, and warns about holding a large trace whole."""

from __future__ import annotations

import sys
import warnings

import pytest

import siptrace
import siptrace.views.notebook as api

from conftest import sample

UM = str(sample("um-ack-retarget-bye.fe.log"))


def test_a_loaded_trace_says_how_much_it_holds():
    trace = siptrace.load(UM)
    size = trace.size
    assert size["messages"] == len(trace.messages) and size["input_bytes"] == sample("um-ack-retarget-bye.fe.log").stat().st_size
    if sys.platform.startswith("linux"):
        assert trace.memory_mb is not None and "MB in memory" in repr(trace)


def test_an_unfiltered_large_load_warns_and_a_filtered_one_does_not(monkeypatch):
    monkeypatch.setattr(api, "LARGE_INPUT", 1000)
    with pytest.warns(ResourceWarning, match="call_id=, host=, since= or until="):
        siptrace.load(UM)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = siptrace.load(UM, call_id="5a3306c8d206a94ff659cf5a15769d51")
    assert set(kept.messages["call_id"]) == {"5a3306c8d206a94ff659cf5a15769d51"}
