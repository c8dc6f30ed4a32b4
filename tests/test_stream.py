"""Bounded-memory diagnose gives the same findings as the in-memory one."""

from __future__ import annotations

import pytest

from siptrace.context import Context
from siptrace.diagnose import diagnose
from siptrace.stream import diagnose_stream

from conftest import SAMPLES, sample

CASES = [[p.name] for p in sorted(SAMPLES.glob("*.log"))] + [
    ["um-ack-retarget-bye.fe.log", "um-ack-retarget-bye.edge.log"],
    ["um-ack-retarget-bye.client.UccApilog", "um-ack-retarget-bye.fe.log", "um-ack-retarget-bye.edge.log"],
]


def _key(findings):
    return sorted((f.rule, f.severity.value, f.summary, f.call_id, tuple(sorted(map(str, dict(f.facts).items()))))
                  for f in findings)


@pytest.mark.parametrize("names", CASES, ids=lambda n: "+".join(n))
def test_streaming_and_in_memory_findings_are_the_same(names):
    paths = [str(sample(n)) for n in names]
    ctx = Context.of(um_fqdn="um01.contoso.com")
    whole = diagnose(paths, ctx)
    streamed = diagnose_stream(paths, ctx)
    assert _key(streamed.findings) == _key(whole.findings)
    a, b = whole.as_dict(), streamed.as_dict()
    assert (a["messages"], a["sightings"], a["calls"]) == (b["messages"], b["sightings"], b["calls"])
    assert [i["clock_offset_s"] for i in a["inputs"]] == [i["clock_offset_s"] for i in b["inputs"]]


def test_a_tiny_idle_window_still_finds_the_um_failure():
    # judged in many small parts, the rules that need the whole call still see it
    result = diagnose_stream([str(sample("um-ack-retarget-bye.fe.log"))], Context.of(um_fqdn="um01.contoso.com"),
                             idle=46.0)
    assert any(f.rule == "ack-retarget-bye" for f in result.findings)
