"""failed-call and mid-call-failure: named cases that fire and cases that stay quiet.

Each quiet case is a healthy pattern of the rule's "Not flagged" section.
"""

from __future__ import annotations

import pytest

from siptrace.model.context import Context
from siptrace.rules import run_rules
from siptrace.rules.failed_call import FailedCall
from siptrace.rules.mid_call_failure import MidCallFailure
from siptrace.correlate.timeline import load_timeline

from rules.call_flows import (CID, answer, bye, cancel, connected, in_dialog, invite, later,
                              refresh)

ELSEWHERE = 'SIP;cause=200;text="Call completed elsewhere"'


def _run(write, text, rule):
    return [f for f in run_rules(load_timeline(str(write("t.log", text))), Context(), [rule]) if f.call_id == CID]


# -- failed-call ---------------------------------------------------------------

FAILED_FIRES = {
    "server error": (invite() + answer(1.0, "504 Server time-out"), "error", "504 Server time-out"),
    "every fork refuses: a 6xx wins over a 4xx": (
        invite() + answer(0.3, "180 Ringing", "A") + answer(0.4, "180 Ringing", "B")
        + answer(5.0, "480 Temporarily Unavailable", "A") + answer(6.0, "603 Decline", "B"), "info", "declined"),
    "a fork left ringing when another fork's failure ends the call": (
        invite() + answer(0.3, "180 Ringing", "A") + answer(6.0, "500 Server Internal Error", "B") + later(120),
        "error", "500"),
    "the caller cancels a forked call": (
        invite() + answer(0.3, "180 Ringing", "A") + answer(0.4, "180 Ringing", "B") + cancel(4.0)
        + cancel(4.01, "A") + cancel(4.02, "B") + answer(4.05, "487 Request Terminated", "A")
        + answer(4.06, "487 Request Terminated", "B"), "info", "cancelled by the caller"),
    "no final answer while the trace goes on": (
        invite() + answer(0.3, "180 Ringing", "A") + later(120), "warning", "no final answer (last state early)"),
    "a redirect nobody followed": (invite() + answer(0.5, "302 Moved Temporarily"), "info", "redirected"),
    "a challenge nobody answered": (
        invite() + answer(0.1, "407 Proxy Authentication Required"), "warning", "407"),
    "busy, the INVITE before the trace": (
        answer(1.0, "486 Busy Here") + in_dialog(1.05, "ACK", 1), "info", "busy; INVITE not in the trace"),
    "server error with ms-diagnostics, the INVITE before the trace": (
        answer(1.0, "500 Internal Server Error", extra=(("ms-diagnostics", '10003;reason="Proxy returned a SIP failure '
                                                                            'code";source="med01.contoso.com"'),)),
        "error", "INVITE not in the trace"),
    "cancelled, the INVITE before the trace": (
        cancel(3.0) + answer(3.05, "487 Request Terminated"), "info", "cancelled by the caller; INVITE not in the trace"),
    "still ringing when the trace ends (information only)": (
        invite() + answer(0.3, "180 Ringing", "A"), "info", "not answered before the trace ends"),
}


@pytest.mark.parametrize("name", FAILED_FIRES)
def test_failed_call_fires(write, name):
    text, severity, words = FAILED_FIRES[name]
    (f,) = _run(write, text, FailedCall)
    assert f.severity.value == severity and words in f.summary
    assert f.fact("invite_seen") is ("INVITE not in the trace" not in words)


FAILED_QUIET = {
    "one fork rings, another answers": (
        invite() + answer(0.3, "180 Ringing", "A") + answer(2.0, "200 OK", "B") + in_dialog(2.1, "ACK", 1, "B")
        + later(120)),
    "the proxy cancels the other forks once one answered": (
        invite() + answer(0.3, "180 Ringing", "A") + answer(0.4, "180 Ringing", "C") + answer(2.0, "200 OK", "B")
        + cancel(2.01, "A", ELSEWHERE) + cancel(2.02, "C", ELSEWHERE) + answer(2.05, "487 Request Terminated", "A")
        + answer(2.06, "487 Request Terminated", "C") + in_dialog(2.1, "ACK", 1, "B")),
    "cancelled because answered on an endpoint outside the trace": (
        invite() + answer(0.3, "180 Ringing", "A") + cancel(5.0, "A", ELSEWHERE)
        + answer(5.05, "487 Request Terminated", "A") + later(120)),
    "a 3xx the proxy followed to the answer": (
        invite() + answer(0.3, "302 Moved Temporarily", "A") + answer(1.5, "200 OK", "B") + in_dialog(1.6, "ACK", 1, "B")),
    "a 3xx the caller followed with a new INVITE": (
        invite() + answer(0.3, "302 Moved Temporarily", "A") + invite(0.5, cseq=2)
        + answer(1.5, "200 OK", "B", cseq="2 INVITE") + in_dialog(1.6, "ACK", 2, "B")),
    "a challenge answered with a new INVITE": (
        invite() + answer(0.1, "407 Proxy Authentication Required", "A") + invite(0.3, cseq=2)
        + answer(1.5, "200 OK", "B", cseq="2 INVITE")),
    "a connected call that dropped later": (
        connected() + refresh(902.0, 2, "481 Call Leg/Transaction Does Not Exist") + bye(902.2, 3)),
}


@pytest.mark.parametrize("name", FAILED_QUIET)
def test_failed_call_stays_quiet(write, name):
    assert _run(write, FAILED_QUIET[name], FailedCall) == []


# -- mid-call-failure ----------------------------------------------------------

MID_FIRES = {
    "session refresh answered 481, then BYE": (
        connected() + refresh(1802.0, 2, "481 Call Leg/Transaction Does Not Exist")
        + bye(1802.2, 3, reason='SIP;cause=481;text="Call Leg/Transaction Does Not Exist"'),
        "error", {"status": 481, "since_answer_s": 1800.0, "session_expires_s": 1800, "min_se_s": 90,
                  "bye_after_s": 0.15, "bye_reason": 'SIP;cause=481 "Call Leg/Transaction Does Not Exist"'}),
    "UPDATE refresh timed out (408), then BYE": (
        connected() + refresh(902.0, 2, "408 Request Timeout", method="UPDATE") + bye(934.1, 3),
        "error", {"method": "UPDATE", "status": 408}),
    "re-INVITE never answered, then BYE": (
        connected() + refresh(902.0, 2, None) + bye(934.0, 3), "error", {"status": None, "bye_after_s": 32.0}),
    "server error on a refresh, the call goes on": (
        connected() + refresh(902.0, 2, "500 Server Internal Error") + refresh(1802.0, 3, "200 OK") + bye(2400.0, 4),
        "warning", {"status": 500}),
    "refresh answered 481, the call's start before the trace": (
        refresh(10.0, 7, "481 Call Leg/Transaction Does Not Exist") + bye(10.2, 8),
        "error", {"status": 481, "since_answer_s": None, "answer_seen": False}),
}


@pytest.mark.parametrize("name", MID_FIRES)
def test_mid_call_failure_fires(write, name):
    text, severity, facts = MID_FIRES[name]
    (f,) = _run(write, text, MidCallFailure)
    assert f.severity.value == severity
    assert {k: f.fact(k) for k in facts} == facts


def test_mid_call_failure_summary_says_when_and_what(write):
    text = (connected() + refresh(1802.0, 2, "481 Call Leg/Transaction Does Not Exist")
            + bye(1802.2, 3, reason='SIP;cause=481'))
    (f,) = _run(write, text, MidCallFailure)
    assert f.summary == ("Call to sip:carol@contoso.com dropped 30 min 0 s after the answer: INVITE (session refresh, "
                         "Session-Expires 1800 s) answered 481 Call Leg/Transaction Does Not Exist; BYE 0.150 s later "
                         "(Reason: SIP;cause=481)")
    assert [e.text.split(" — ")[-1] for e in f.evidence] == [
        "the answer", "INVITE in the confirmed dialog", "the failure", "the BYE that followed"]


MID_QUIET = {
    "refreshes answered 200 for two hours": (
        connected() + "".join(refresh(2.0 + 900.0 * k, 1 + k, "200 OK") for k in range(1, 9)) + bye(7300.0, 10)),
    "491 glare, retried": (
        connected() + refresh(60.0, 2, "491 Request Pending") + refresh(62.5, 3, "200 OK") + bye(120.0, 4)),
    "401 challenge on a re-INVITE, retried": (
        connected() + refresh(60.0, 2, "401 Unauthorized") + refresh(60.2, 3, "200 OK") + bye(120.0, 4)),
    "407 challenge on a re-INVITE, retried": (
        connected() + refresh(60.0, 2, "407 Proxy Authentication Required") + refresh(60.2, 3, "200 OK")),
    "422 session interval too small, retried": (
        connected() + refresh(60.0, 2, "422 Session Interval Too Small") + refresh(60.2, 3, "200 OK")),
    "488 to a media change, the call goes on": (
        connected() + refresh(60.0, 2, "488 Not Acceptable Here") + bye(300.0, 3)),
    "refresh still unanswered when the trace ends": connected() + refresh(902.0, 2, None),
    "a failure before the answer": invite() + answer(0.3, "180 Ringing") + answer(5.0, "486 Busy Here"),
    "forks left ringing next to the answered one": (
        invite() + answer(0.3, "180 Ringing", "B") + answer(2.0, "200 OK", "A", extra=(("Session-Expires", "1800"),))
        + in_dialog(2.1, "ACK", 1) + refresh(902.0, 2, "200 OK") + bye(1000.0, 3)),
}


@pytest.mark.parametrize("name", MID_QUIET)
def test_mid_call_failure_stays_quiet(write, name):
    assert _run(write, MID_QUIET[name], MidCallFailure) == []
