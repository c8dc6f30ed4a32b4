"""The forked, session-refresh and partial-trace samples give the outcomes samples/README.md names."""

from __future__ import annotations

from siptrace.model.context import Context
from siptrace.run.diagnose import diagnose

from conftest import sample


def _findings(name: str):
    return list(diagnose([str(sample(name))], Context()).findings)


def test_forked_call_answered_on_one_endpoint_has_no_finding():
    result = diagnose([str(sample("forked-call.fe.log"))], Context())
    assert list(result.findings) == []
    assert (result.summary.dialogs, result.summary.calls) == (3, 1)     # one dialog per endpoint


def test_failed_session_refresh_on_the_gateway_leg_is_a_mid_call_drop():
    found = [f for f in _findings("session-refresh-481.mediation.log")
             if f.call_id == "f6e1d0c2-3b4a-4f9e-8d7c-2a1b0c9d8e7f"]     # the gateway leg
    (f,) = [f for f in found if f.cause is None]
    assert all(s.cause == f.id and s.rule == "ms-diagnostics" for s in found if s is not f)   # the BYEs' Reason
    assert (f.rule, f.severity.value, f.call_id) == ("mid-call-failure", "error", "f6e1d0c2-3b4a-4f9e-8d7c-2a1b0c9d8e7f")
    assert {k: f.fact(k) for k in ("status", "session_expires_s", "min_se_s", "refresher", "bye_from")} == {
        "status": 481, "session_expires_s": 1800, "min_se_s": 90, "refresher": "uac", "bye_from": "caller"}
    assert round(f.fact("since_answer_s")) == 1800 and "30 min 0 s after the answer" in f.summary
    assert f.fact("server") == "Mediant 800/v.7.20A.258.459"


def test_failures_whose_invite_is_before_the_excerpt_are_reported_as_such():
    calls = {f.call_id: f for f in _findings("partial-mid-call.fe.log") if f.rule == "failed-call"}
    assert {cid: (f.fact("status"), f.severity.value) for cid, f in calls.items()} == {
        "8d0c4e1f7a2b49c6b3e5d9a1f0c2b7e4": (486, "info"),
        "c41e8a0f2d6b47e9a3c5b7d9f1e0a2c4": (500, "error"),
        "e7a3c1b9d05f4e2a8c6b4d2f0e8a6c4b": (487, "info")}
    assert all("INVITE not in the trace" in f.summary and f.fact("invite_seen") is False for f in calls.values())
    assert "ms-diagnostics 10003" in calls["c41e8a0f2d6b47e9a3c5b7d9f1e0a2c4"].summary
