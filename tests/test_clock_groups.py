"""Clock offsets per group of files that share messages; a file that shares none has an unknown offset."""

from __future__ import annotations

import io
import json

import pytest

from siptrace.views.notebook import load
from siptrace.correlate.calls import OffsetEstimator
from siptrace.run.diagnose import diagnose
from siptrace.run.parallel import diagnose_parallel
from siptrace.views.render import diagnosis_text
from siptrace.views.report import build_report
from siptrace.run.stream import diagnose_stream
from siptrace.correlate.timeline import load_timeline

from conftest import sample
from flows import dialog_headers, record

FE, EDGE, OTHER = "um-ack-retarget-bye.fe.log", "um-ack-retarget-bye.edge.log", "ack-missing.fe.log"


def _doc(result) -> dict:
    out = io.StringIO()
    result.write_json(out)
    return json.loads(out.getvalue())


def _clocks(doc: dict) -> dict[str, tuple]:
    return {i["path"].rsplit("/", 1)[-1]: (i["clock_offset_s"], (i["clock_reference"] or "").rsplit("/", 1)[-1] or None)
            for i in doc["inputs"]}


@pytest.mark.parametrize("entry", ["stream", "workers", "memory"])
def test_an_unrelated_file_keeps_the_edge_offset_and_gets_an_unknown_one(entry):
    paths = [str(sample(FE)), str(sample(EDGE)), str(sample(OTHER))]
    if entry == "stream":
        result = diagnose_stream(paths)
    elif entry == "workers":
        result = diagnose_parallel(paths, jobs=2)
    else:
        result = diagnose(paths)
    clocks = _clocks(_doc(result))
    assert clocks[FE] == (0.0, FE)
    assert clocks[EDGE][0] == pytest.approx(2.35, abs=0.005) and clocks[EDGE][1] == FE
    assert clocks[OTHER] == (None, None)
    text = diagnosis_text(result)
    assert "clock offset +2.350 s" in text or "clock offset +2.349 s" in text
    assert "ack-missing.fe.log: 27 records" in text and "clock offset unknown" in text
    assert "+0.000" not in text


def test_report_and_load_show_the_same_clocks(tmp_path):
    paths = [str(sample(FE)), str(sample(EDGE)), str(sample(OTHER))]
    report = build_report(paths, images=False)
    clocks = _clocks(report.diagnosis.as_dict())
    assert clocks[OTHER] == (None, None) and clocks[EDGE][0] == pytest.approx(2.35, abs=0.005)
    timeline = load(paths).timeline
    assert timeline.offsets[str(sample(EDGE))] == pytest.approx(2.35, abs=0.005)
    assert str(sample(OTHER)) not in timeline.offsets and str(sample(OTHER)) not in timeline.references


def _hop(call_id: str, at: float, skew: float, machine: str, direction: str) -> str:
    """The INVITE of one call as a server logs it, its clock ``skew`` seconds ahead."""
    return record(at + skew, "INVITE sip:carol@contoso.com SIP/2.0",
                  dialog_headers(call_id, "1 INVITE", "t" + call_id[:4], branch="z9hG4bK" + call_id[:6]),
                  direction=direction, machine=machine)


def test_two_pools_and_a_lone_client_log_are_three_clock_groups(write):
    # pool A: fe1 (reference, 2 calls) and its Edge 1.5 s ahead; pool B: fe2 and edge2 0.4 s behind;
    # a file that shares nothing with any of them
    fe1 = _hop("aaaa1111", 1, 0, "fe01\\fe01", "incoming") + _hop("aaaa2222", 5, 0, "fe01\\fe01", "incoming")
    edge1 = _hop("aaaa1111", 1, 1.5, "edge01\\edge01", "outgoing")
    fe2 = _hop("bbbb1111", 2, 0, "fe02\\fe02", "incoming")
    edge2 = _hop("bbbb1111", 2, -0.4, "edge02\\edge02", "outgoing")
    lone = _hop("cccc1111", 3, 7, "client", "outgoing")
    paths = [str(write(n, t)) for n, t in [("fe1.log", fe1), ("edge1.log", edge1), ("fe2.log", fe2),
                                          ("edge2.log", edge2), ("lone.log", lone)]]
    doc = _doc(diagnose_stream(paths))
    clocks = _clocks(doc)
    assert clocks["fe1.log"] == (0.0, "fe1.log") and clocks["edge1.log"] == (1.5, "fe1.log")
    assert clocks["fe2.log"] == (0.0, "fe2.log") and clocks["edge2.log"] == (-0.4, "fe2.log")
    assert clocks["lone.log"] == (None, None)
    text = diagnosis_text(diagnose_stream(paths))
    assert "edge2.log" in text and "clock offset -0.400 s against" in text


def test_offsets_go_through_a_file_that_links_two_others():
    est = OffsetEstimator()
    est.counts.update({"fe": 10, "edge": 5, "client": 3})
    for a, b, d in [("fe", "edge", 2.0), ("edge", "client", -3.0)]:      # fe and client share nothing
        est.pairs[(a, b)].append(d)
        est.pairs[(b, a)].append(-d)
    clocks = est.clocks(["fe", "edge", "client"])
    assert clocks.offsets == {"fe": 0.0, "edge": 2.0, "client": -1.0}
    assert set(clocks.references.values()) == {"fe"} and clocks.groups == 1


def test_a_single_input_is_its_own_reference_and_prints_no_offset():
    result = diagnose_stream(str(sample(FE)))
    assert _clocks(_doc(result))[FE] == (0.0, FE)
    assert "clock" not in diagnosis_text(result).split("Read:")[1]


def test_offsets_of_a_memory_timeline_match_the_stream(write):
    paths = [str(sample(FE)), str(sample(EDGE))]
    timeline = load_timeline(paths)
    assert timeline.references == {paths[0]: paths[0], paths[1]: paths[0]}
    assert _clocks(_doc(diagnose_stream(paths)))[EDGE][0] == pytest.approx(timeline.offsets[paths[1]], abs=1e-6)
