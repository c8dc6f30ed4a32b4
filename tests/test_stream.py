"""Bounded-memory diagnose gives the same findings as the in-memory one."""

from __future__ import annotations

import pytest

from siptrace.model.context import Context
from siptrace.run.diagnose import diagnose
from siptrace.run.stream import diagnose_stream

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


def test_records_that_name_no_call_are_judged_in_parts_not_held_to_the_end(tmp_path, monkeypatch):
    import siptrace.run.stream as stream
    from records_text import DIAG_TAIL_SEQUENCE

    record = DIAG_TAIL_SEQUENCE.replace("SIP-Call-ID: 0c8a7f5e3d2b4a1980f6e5d4c3b2a190\r\n", "")
    path = tmp_path / "edge.log"
    path.write_text("".join(record.replace("09:14:03.230", f"09:{14 + n // 60:02d}:{n % 60:02d}.230")
                            for n in range(120)))        # one a second: the bucket never goes quiet
    sizes = []
    real = stream.build_timeline

    def build(items, *args, **kwargs):  # type: ignore[no-untyped-def]
        sizes.append(len(items))
        return real(items, *args, **kwargs)

    monkeypatch.setattr(stream, "build_timeline", build)
    result = diagnose_stream([str(path)], max_messages=25)
    assert result.summary.inputs[0].diagnostic == 120
    assert sum(sizes) == 120 and max(sizes) <= 25
    assert any(f.rule == "error-records" for f in result.findings)
