"""Calls as a person sees them: headlines, kinds of calls and patterns across them, good vs bad."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

import siptrace
from siptrace.cli.commands import main
from siptrace.views.compare import compare, pick
from siptrace.views.headline import headline
from siptrace.views.patterns import CallNote, CallNotes, kinds

from conftest import ROOT

SAMPLES = ROOT / "samples"
MIXED = str(SAMPLES / "um-edge-fails-internal-works.fe.log")
FAILING, HEALTHY = "5a3306c8d206a94ff659cf5a15769d51", "34b57e40b91feca7bf5013e29a9a605d"


def _headline(name: str, call_id: str | None = None) -> str:
    trace = siptrace.load(str(SAMPLES / name))
    call = trace.timeline.call(call_id) if call_id else next(
        c for c in trace.timeline.calls if any(d.method == "INVITE" for d in c.dialogs))
    return headline(trace.timeline, call, trace.findings_of(call.call_id)).text()


# -- headlines -----------------------------------------------------------------

@pytest.mark.parametrize("sample, call_id, words", [
    ("um-ack-retarget-bye.fe.log", FAILING,
     ["Alice Example → +14255550150", "answered after 945 ms", "dropped after 30.4 s, BYE from the caller",
      "root cause: ack-retarget-bye"]),
    ("um-healthy-fqdn-contact.fe.log", HEALTHY,
     ["Bob Sample → +14255550150", "answered after 812 ms", "talk 48.2 s", "caller hung up (BYE)"]),
    ("ack-missing.fe.log", None, ["dropped after 32.0 s, BYE from the callee", "root cause: ack-missing"]),
    ("busy-486.fe.log", None, ["Bob Sample → alice", "failed: 486 Busy Here after 3.8 s"]),
    ("cancel.fe.log", None, ["cancelled by the caller", "CANCEL"]),
    ("dns-failure-1008.fe.log", None, ["failed: 504 Server time-out after 351 ms", "root cause: ms-diagnostics"]),
])
def test_headline_says_who_called_whom_how_it_went_and_why(sample, call_id, words):
    text = _headline(sample, call_id)
    for w in words:
        assert w in text, text


def test_a_healthy_call_has_no_root_cause_and_is_not_dropped():
    text = _headline("um-healthy-fqdn-contact.fe.log", HEALTHY)
    assert "root cause" not in text and "dropped" not in text


def test_the_calls_frame_outcome_agrees_with_the_headline():
    trace = siptrace.load(MIXED)
    calls = trace.calls.set_index("call_id")
    assert calls.loc[FAILING, "outcome"] == "dropped" and "dropped after 30.4 s" in calls.loc[FAILING, "headline"]
    assert calls.loc[HEALTHY, "outcome"] == "answered" and pd.isna(calls.loc[HEALTHY, "headline"])
    assert calls.loc[FAILING, "final_status"] == 200


def test_diagnose_puts_the_headline_above_the_root_cause_of_its_call():
    out = CliRunner().invoke(main, ["diagnose", MIXED, "-q"]).output.splitlines()
    at = next(i for i, line in enumerate(out) if line.startswith("Call 5a3306c8"))
    assert "dropped after 30.4 s" in out[at] and out[at + 1].startswith("[ERROR] ack-retarget-bye")
    assert sum(line.startswith("Call ") for line in out) == 1      # symptoms of the same call get none


# -- kinds and patterns --------------------------------------------------------

@pytest.mark.parametrize("sample, expected", [
    ("um-ack-retarget-bye.fe.log", ("um", "um01.contoso.com", "edge")),
    ("um-healthy-fqdn-contact.fe.log", ("um", "um01.contoso.com", "internal")),
    ("um-ack-retarget-bye.edge.log", ("um", None, "edge")),                  # the Edge does not see the UM's hop
    ("session-refresh-481.mediation.log", ("gateway", None, "internal")),
    ("busy-486.fe.log", ("user", None, "internal")),
])
def test_a_call_kind_is_where_it_went_and_how_the_caller_came_in(sample, expected):
    trace = siptrace.load(str(SAMPLES / sample))
    found = {(k.target, k.host if k.target == "um" else None, k.entry) for k in kinds(trace.timeline).values()}
    assert expected in found, found


def test_an_edge_fqdn_in_the_record_route_makes_the_caller_an_edge_user():
    trace = siptrace.load(str(SAMPLES / "um-ack-retarget-bye.fe.log"), edge_fqdn="edge01.contoso.com")
    assert kinds(trace.timeline, trace.context)[FAILING].entry == "edge"


def test_patterns_count_the_hit_calls_beside_the_same_ums_calls_that_came_in_another_way():
    trace = siptrace.load(MIXED)
    rows = trace.patterns
    um = rows[rows["rule"] == "ack-retarget-bye"].set_index("kind")
    assert um.loc["Edge-user calls to Exchange UM um01.contoso.com", ["hit", "calls"]].tolist() == [1, 1]
    assert um.loc["internal calls to Exchange UM um01.contoso.com", ["hit", "calls"]].tolist() == [0, 1]
    assert "hit 1 of 1 Edge-user call to Exchange UM um01.contoso.com, 0 of 1 internal call to the same UM" \
        in um["text"].iloc[0]


def test_diagnose_gives_the_pattern_after_the_verdict_and_in_json():
    out = CliRunner().invoke(main, ["diagnose", MIXED, "-q"]).output.splitlines()
    assert out[1].startswith("Across calls: ack-retarget-bye") and "0 of 1 internal call" in out[1]
    doc = json.loads(CliRunner().invoke(main, ["diagnose", MIXED, "-q", "--format", "json"]).output)
    (p,) = [p for p in doc["patterns"] if p["rule"] == "ack-retarget-bye"]
    assert p["calls"] == 1 and p["first_call_id"] == FAILING and p["first"].startswith("2026-11-03T09:14:02")
    assert {(k["entry"], k["hit"], k["calls"]) for k in p["by_kind"]} == {("edge", 1, 1), ("internal", 0, 1)}
    assert [c["call_id"] for c in doc["calls_with_findings"]] == [FAILING]


def test_diagnose_in_worker_processes_gives_the_same_patterns():
    one = CliRunner().invoke(main, ["diagnose", MIXED, "-q", "-j", "1"]).output
    two = CliRunner().invoke(main, ["diagnose", MIXED, "-q", "-j", "2"]).output
    assert one == two and "Across calls:" in one


def test_a_call_note_survives_its_text_form():
    trace = siptrace.load(MIXED)
    text = CallNotes(trace.context)(trace.timeline, FAILING, trace.findings_of(FAILING))
    note = CallNote.loads(FAILING, text)
    assert note.kind is not None and note.kind.entry == "edge" and note.failed and note.outcome == "dropped"
    assert "dropped after 30.4 s" in note.headline
    assert CallNote.loads("x", "plain ladder").ladder == "plain ladder"


# -- good vs bad ---------------------------------------------------------------

def test_compare_names_the_200_ok_contact_as_the_first_difference():
    trace = siptrace.load(MIXED)
    result = compare(trace.timeline, HEALTHY, FAILING, trace.findings_list, trace.context)
    assert result.first is not None and result.first.name == "Contact host"
    assert result.first.text(result.names()) == ("200 OK (INVITE) Contact host: um01.contoso.com (A, healthy) vs "
                                                 "mail.contoso.com (B, failing)")
    marks = [m for m, _, _ in result.rows]
    assert marks[:2] == ["=", "="] and marks[result.first_row or 0] == "≠"
    assert any(m == "<" for m in marks)                   # the UM's re-INVITE only in the healthy call


def test_a_call_compared_with_itself_has_no_difference():
    trace = siptrace.load(MIXED)
    result = compare(trace.timeline, HEALTHY, HEALTHY, trace.findings_list)
    assert result.first is None and {m for m, _, _ in result.rows} == {"="}


def test_pick_takes_the_worst_failing_call_and_a_healthy_one_to_the_same_um():
    trace = siptrace.load(MIXED)
    chosen = pick(trace.timeline, trace.findings_list, trace.context)
    assert (chosen.failing, chosen.healthy) == (FAILING, HEALTHY)
    assert "No healthy Edge-user call" in chosen.note          # it says the healthy one came in another way


def test_without_a_healthy_call_of_the_kind_compare_says_so():
    out = CliRunner().invoke(main, ["compare", str(SAMPLES / "um-ack-retarget-bye.fe.log"), "-q"])
    assert out.exit_code == 0 and out.output.startswith("No healthy call of the same kind")


def test_compare_command_with_two_call_id_starts_prints_both_calls_step_by_step():
    out = CliRunner().invoke(main, ["compare", MIXED, "--call-id", "34b5", "--call-id", "5a33", "-q", "--width", "140"])
    assert out.exit_code == 0, out.output
    assert "First difference: 200 OK (INVITE) Contact host: um01.contoso.com" in out.output
    assert any(line.startswith("▶≠") and "mail.contoso.com" in line for line in out.output.splitlines())


def test_compare_command_rejects_three_calls_and_unknown_ones():
    assert CliRunner().invoke(main, ["compare", MIXED, "--call-id", "5a", "--call-id", "34", "--call-id", "3"]
                              ).exit_code == 2
    assert CliRunner().invoke(main, ["compare", MIXED, "--call-id", "ffff"]).exit_code == 2


def test_compare_png_draws_both_ladders_and_marks_the_difference(tmp_path):
    out = tmp_path / "c.png"
    result = CliRunner().invoke(main, ["compare", MIXED, "-q", "-o", str(out)])
    assert result.exit_code == 0, result.output
    from matplotlib.image import imread

    img = imread(out)
    assert img.shape[1] > 2 * img.shape[0]                  # two ladders side by side
    highlight = (abs(img[..., 0] - 1.0) < 0.02) & (abs(img[..., 1] - 0xF1 / 255) < 0.02) & (img[..., 2] < 0.5)
    left, right = highlight[:, : img.shape[1] // 2], highlight[:, img.shape[1] // 2:]
    assert left.sum() > 1000 and right.sum() > 1000        # the differing 200 OK marked in each ladder


# -- notebook ------------------------------------------------------------------

def test_notebook_call_compare_and_frames():
    trace = siptrace.load(MIXED)
    assert "load" in dir(siptrace) and "Trace" in dir(siptrace)
    assert trace.failing_call_id == FAILING                  # a property, like its neighbours
    call = trace.call("5a33")
    assert set(call.messages["call_id"]) == {FAILING} and set(call.findings["call_id"]) == {FAILING}
    assert call.headline.outcome == "dropped"
    assert call.compare(HEALTHY).first.startswith("200 OK (INVITE) Contact host: mail.contoso.com")
    assert trace.compare().first.startswith("200 OK (INVITE) Contact host: um01.contoso.com")
    findings = trace.findings
    assert findings["severity"].cat.ordered and list(findings["severity"].cat.categories) == ["info", "warning",
                                                                                               "error"]
    assert findings["severity"].max() == "error" and (findings["severity"] >= "warning").sum() == 4
    assert isinstance(findings["facts"].iloc[0], dict) and findings["facts"].iloc[0]["contact_host"]


def test_notebook_compare_without_a_healthy_call_raises_lookup_error_saying_so():
    trace = siptrace.load(str(SAMPLES / "um-ack-retarget-bye.fe.log"))
    with pytest.raises(LookupError, match="No healthy call of the same kind"):
        trace.compare()


def test_call_notes_handed_back_by_a_worker_carry_no_timeline():
    import pickle

    from siptrace.correlate.timeline import load_timeline
    from siptrace.views.patterns import CallNotes

    notes = CallNotes()
    timeline = load_timeline(str(SAMPLES / "busy-486.fe.log"))
    notes.kinds_of(timeline)
    again = pickle.loads(pickle.dumps(notes))
    assert again._last is None and notes._last is not None
    assert len(pickle.dumps(notes)) < 2000
