"""ms-diagnostics and error-records: for each healthy pattern in "Not flagged", a case that fires and one that stays quiet."""

from __future__ import annotations

import pytest

from siptrace.rules import diagcodes
from siptrace.model.context import Context
from siptrace.rules.findings import Severity
from siptrace.rules import run_rules
from siptrace.rules.error_records import ErrorRecords
from siptrace.rules.ms_diagnostics import MsDiagnostics
from siptrace.correlate.timeline import load_timeline

from flows import dialog_headers, record
from records_text import DIAG_TAIL_SEQUENCE

CID = "5d1c0a9e7f3b4e2a8c6d0f1e2a3b4c5d"


def h(cseq, to=None, **kw):
    return dialog_headers(CID, cseq, "b0b", to, **kw)


INVITE = record(0.0, "INVITE sip:+14255550100@contoso.com;user=phone SIP/2.0", h("1 INVITE"))
OK = record(1.0, "SIP/2.0 200 OK", h("1 INVITE", "gw1", contact="sip:gw01.contoso.com:5067"), peer="10.0.5.9:5067")


def resp(status, at=2.0, extra=(), peer="10.0.5.9:5067"):
    return record(at, f"SIP/2.0 {status}", h("1 INVITE", "gw1") + list(extra), peer=peer)


def req(method, at, cseq, extra=(), to="gw1"):
    return record(at, f"{method} sip:gw01.contoso.com:5067 SIP/2.0", h(cseq, to, branch=f"z9hG4bK{method}{at}")
                  + list(extra))


def _run(write, text, rule=MsDiagnostics):
    return run_rules(load_timeline(str(write("t.log", text))), Context(), [rule])


MS_1046 = ("ms-diagnostics", '1046;reason="Failed to connect to a peer server";WinsockFailureCode="10060(WSAETIMEDOUT)";'
           'Peer="gw01.contoso.com";Port="5067";source="pool01.contoso.com"')
PUBLIC_1046 = ("ms-diagnostics-public", '1046;reason="Failed to connect to a peer server"')

# (name, trace, expected findings as (severity, text in the summary)); each pair fires / stays quiet
CASES = [
    ("retransmitted response decoded once: fires",
     INVITE + resp("504 Server time-out", extra=[MS_1046]),
     [("warning", "ms-diagnostics 1046 from pool01.contoso.com")]),
    ("retransmitted response decoded once: quiet on the copy",
     INVITE + resp("504 Server time-out", extra=[MS_1046]) + resp("504 Server time-out", 2.5, extra=[MS_1046]),
     [("warning", "ms-diagnostics 1046")]),
    ("ms-diagnostics and -public with one code are one finding",
     INVITE + resp("504 Server time-out", extra=[MS_1046, PUBLIC_1046]),
     [("warning", "ms-diagnostics / ms-diagnostics-public 1046 from pool01.contoso.com")]),
    ("two different codes are two findings",
     INVITE + resp("504 Server time-out", extra=[MS_1046, ("ms-diagnostics-public", "1008")]),
     [("error", "ms-diagnostics-public 1008"), ("warning", "ms-diagnostics 1046")]),
    ("CANCEL to the other forks, call completed elsewhere: quiet",
     INVITE + req("CANCEL", 1.2, "1 CANCEL", [("Reason", 'SIP;cause=200;text="Call completed elsewhere"')], to=None),
     []),
    ("CANCEL with a failure cause: fires",
     INVITE + req("CANCEL", 1.2, "1 CANCEL", [("Reason", 'SIP;cause=503;text="Service Unavailable"')], to=None),
     [("error", "Reason SIP;cause=503 on CANCEL")]),
    ("BYE with Q.850 normal call clearing: quiet",
     INVITE + OK + req("BYE", 60, "2 BYE", [("Reason", 'Q.850;cause=16;text="Normal call clearing"')]), []),
    ("BYE with Q.850 34 no circuit: fires with its meaning",
     INVITE + OK + req("BYE", 60, "2 BYE", [("Reason", "Q.850 ;cause=34")]),
     [("error", "Reason Q.850;cause=34 on BYE: No circuit/channel available")]),
    ("a SIP cause repeating the response's status: quiet (failed-call reports it)",
     INVITE + resp("480 Temporarily Unavailable", extra=[("Reason", 'SIP;cause=480;text="No answer"')]), []),
    ("a Q.850 cause on a final response: fires",
     INVITE + resp("503 Service Unavailable", extra=[("Reason", 'SIP;cause=503, Q.850;cause=41')]),
     [("error", "Reason Q.850;cause=41 on 503 Service Unavailable: Temporary failure")]),
    ("BYE after a failed refresh, SIP;cause=481: fires",
     INVITE + OK + req("BYE", 1800, "3 BYE", [("Reason", 'SIP;cause=481;text="Call Leg/Transaction Does Not Exist"')]),
     [("error", "Reason SIP;cause=481 on BYE: Call/Transaction Does Not Exist")]),
    ("information code 51007 on a 200 OK: never above info",
     INVITE + record(1.0, "SIP/2.0 200 OK", h("1 INVITE", "gw1") + [
         ("ms-client-diagnostics", '51007;reason="Callee media connectivity diagnosis info"')], peer="p:1"),
     [("info", "ms-client-diagnostics 51007")]),
    ("a certificate code is an error",
     INVITE + resp("504 Server time-out", extra=[("ms-diagnostics", '1010;reason="Certificate trust with another '
                                                 'server could not be established";source="sip.contoso.com"')]),
     [("error", "ms-diagnostics 1010")]),
]


@pytest.mark.parametrize("name,trace,expected", CASES, ids=[c[0] for c in CASES])
def test_ms_diagnostics_cases(write, name, trace, expected):
    found = _run(write, trace)
    got = sorted((f.severity.value, f.summary) for f in found)
    assert len(got) == len(expected), got
    for (sev, text), (want_sev, want_text) in zip(got, sorted(expected)):
        assert sev == want_sev and want_text in text, (sev, text)


def test_a_known_code_without_a_reason_is_decoded_from_the_table(write):
    (f,) = _run(write, INVITE + resp("504 Server time-out", extra=[("ms-diagnostics", '1046;source="pool01"')]))
    assert f.summary.endswith("Failed to connect to a peer server") and "not in siptrace's table" not in f.why
    assert "unlisted" not in f.why.lower()


def test_a_code_the_tables_do_not_know_says_so_and_keeps_its_own_reason(write):
    (f,) = _run(write, INVITE + resp("500 Server Internal Error",
                                     extra=[("ms-diagnostics", '1999;reason="Something new";source="fe01"')]))
    assert "Code 1999 is not in siptrace's table; it is in the SIP stack range" in f.why
    assert "Something new" in f.why and "Something new" in f.summary
    assert "unlisted" not in f.why.lower()


def test_a_reason_cause_the_tables_do_not_know_says_so(write):
    (f,) = _run(write, INVITE + OK + req("BYE", 9, "2 BYE", [("Reason", 'Q.850;cause=66;text="Odd"')]))
    assert "Q.850 cause 66 is not in siptrace's tables" in f.why and "Odd" in f.summary
    assert f.severity.value == "info"


def test_an_invented_reason_cause_on_a_busy_answer_is_not_the_root_cause_of_the_call(write):
    """A real SBC answers 486 with Reason: SIP;cause=142;text="SUCCESS" (a capture of a forked call)."""
    from siptrace.model.context import Context
    from siptrace.rules import run_rules
    from siptrace.correlate.timeline import load_timeline

    path = write("busy.log", INVITE + resp("486 Busy Here", extra=[("Reason", 'SIP;cause=142;text="SUCCESS"')]))
    found = run_rules(load_timeline(str(path)), Context())
    reason = next(f for f in found if f.fact("header") == "Reason")
    failed = next(f for f in found if f.rule == "failed-call")
    assert reason.severity.value == "info" and failed.cause is None


COMMON_Q850 = [1, 3, 16, 17, 18, 19, 21, 22, 27, 28, 31, 34, 38, 41, 42, 44, 47, 50, 55, 57, 58, 63, 65, 69, 79,
               88, 95, 96, 97, 99, 100, 102, 111, 127]


def test_the_common_isdn_causes_have_a_meaning():
    for cause in COMMON_Q850:
        text, severity, _ = diagcodes.reason_meaning("Q.850", cause)
        assert text and (severity is None) == (cause in (16, 31)), cause


def test_reason_values_are_parsed_with_several_protocols():
    values = diagcodes.parse_reason('SIP ;cause=580;text="Precondition Failure", Q.850 ;cause=16')
    assert [(v.protocol, v.cause, v.text) for v in values] == [("SIP", 580, "Precondition Failure"),
                                                                 ("Q.850", 16, None)]


# -- error-records -------------------------------------------------------------

NO_CODE = (DIAG_TAIL_SEQUENCE.replace("TL_WARN(TF_DIAG)", "TL_INFO(TF_DIAG)")
           .replace(" Result-Code: 0xc3e93c2f SIPPROXY_E_UNKNOWN_USER_OR_EPID", ""))


ERROR_CASES = [
    ("a record with no result code below warning: quiet",
     NO_CODE.replace("Severity: warning", "Severity: information"), []),
    ("the same record at error level: fires",
     NO_CODE.replace("Severity: warning", "Severity: error").replace("TL_INFO(TF_DIAG)", "TL_ERROR(TF_DIAG)"),
     [("error", "TF_DIAG record")]),
    ("0xC3E93C2F alone (stale subscription): never above info",
     DIAG_TAIL_SEQUENCE, [("info", "weak evidence")]),
    ("a certificate-name result code: fires as an error",
     DIAG_TAIL_SEQUENCE.replace("0xc3e93c2f SIPPROXY_E_UNKNOWN_USER_OR_EPID",
                                "0xc3e93d67 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH"),
     [("error", "certificate name problem")]),
    ("the same record logged twice: one finding",
     DIAG_TAIL_SEQUENCE + DIAG_TAIL_SEQUENCE.replace("09:14:24.342", "09:14:24.352"), [("info", "weak evidence")]),
]


@pytest.mark.parametrize("name,trace,expected", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_error_records_cases(write, name, trace, expected):
    found = _run(write, trace, ErrorRecords)
    got = sorted((f.severity.value, f.summary) for f in found)
    assert len(got) == len(expected), got
    for (sev, text), (want_sev, want_text) in zip(got, sorted(expected)):
        assert sev == want_sev and want_text in text, (sev, text)
    assert all(f.severity is not Severity.ERROR or "weak" not in f.summary for f in found)
