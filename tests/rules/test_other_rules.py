"""ruri-host-mismatch, ack-missing, failed-call, ms-diagnostics, error-records on small flows."""

from __future__ import annotations

from siptrace.model.context import Context
from siptrace.rules import run_rules
from siptrace.rules.ack_missing import AckMissing
from siptrace.rules.error_records import ErrorRecords
from siptrace.rules.failed_call import FailedCall
from siptrace.rules.ms_diagnostics import MsDiagnostics
from siptrace.rules.ruri_host_mismatch import RuriHostMismatch
from siptrace.correlate.timeline import load_timeline

from flows import dialog_headers, record
from rules.um_flows import um_call
from records_text import DIAG_TAIL_SEQUENCE

CID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"


def _run(write, text, rule, **ctx):
    return run_rules(load_timeline(str(write("t.log", text))), Context.of(**ctx), [rule])


def h(cseq, to=None, **kw):
    return dialog_headers(CID, cseq, "b0b", to, **kw)


INVITE = record(0.0, "INVITE sip:carol@contoso.com SIP/2.0", h("1 INVITE"))


# -- ruri-host-mismatch ------------------------------------------------------

def test_requests_and_contact_naming_another_host_are_flagged(write):
    (f,) = _run(write, um_call("mail.contoso.com"), RuriHostMismatch, um_fqdn="um01.contoso.com")
    assert f.fact("um_fqdn") == "um01.contoso.com" and f.fact("request_uri_host") == "mail.contoso.com"
    assert f.fact("method") == "ACK" and f.severity.value == "warning"
    assert any("Contact host mail.contoso.com" in e.text for e in f.evidence)


def test_fqdn_and_ip_hosts_are_not_flagged(write):
    assert _run(write, um_call("um01.contoso.com"), RuriHostMismatch, um_fqdn="um01.contoso.com") == []
    assert _run(write, um_call("52.112.15.40", invite_host="x.um.outlook.com"), RuriHostMismatch) == []


# -- ack-missing -------------------------------------------------------------

def _ok(at):
    return record(at, "SIP/2.0 200 OK", h("1 INVITE", "c4r", contact="sip:carol@10.0.10.77:5061"),
                  peer="10.0.10.77:5061")


def test_resent_200_ok_without_ack_is_flagged(write):
    text = INVITE + _ok(1.0) + _ok(1.5) + _ok(2.5) + _ok(4.5)
    (f,) = _run(write, text, AckMissing)
    assert f.fact("retransmissions") == 3 and f.fact("ack_seen") is False


def test_bye_from_the_answerer_after_64_t1_without_ack_is_flagged(write):
    bye = record(33.0, "BYE sip:bob@10.0.10.54:51000 SIP/2.0",
                 dialog_headers(CID, "1 BYE", "c4r", "b0b", branch="z9hG4bKb", swap=True), peer="10.0.10.77:5061")
    (f,) = _run(write, INVITE + _ok(1.0) + bye, AckMissing)
    assert f.fact("bye_delay_s") == 32.0


def test_acked_call_is_quiet(write):
    ack = record(1.2, "ACK sip:carol@10.0.10.77:5061 SIP/2.0", h("1 ACK", "c4r", branch="z9hG4bKa"))
    assert _run(write, INVITE + _ok(1.0) + _ok(1.5) + ack, AckMissing) == []


# -- failed-call -------------------------------------------------------------

def _final(status, at=2.0, extra=()):
    return record(at, f"SIP/2.0 {status}", h("1 INVITE", "c4r") + list(extra), peer="10.0.10.77:5061")


def test_server_failure_is_an_error_with_its_diagnostic(write):
    text = INVITE + _final("504 Server time-out", extra=[
        ("ms-diagnostics", '1008;reason="Unable to resolve DNS SRV record";source="sip.contoso.com"')])
    (f,) = _run(write, text, FailedCall)
    assert f.severity.value == "error" and f.fact("status") == 504
    assert "Unable to resolve DNS SRV record" in f.summary


def test_busy_and_cancel_are_information(write):
    (busy,) = _run(write, INVITE + _final("486 Busy Here"), FailedCall)
    assert busy.severity.value == "info" and "busy" in busy.summary
    cancel = record(3.0, "CANCEL sip:carol@contoso.com SIP/2.0", h("1 CANCEL"))
    (f,) = _run(write, INVITE + cancel + _final("487 Request Terminated", 3.2), FailedCall)
    assert f.severity.value == "info" and "cancelled" in f.summary


def test_auth_challenge_followed_by_retry_is_not_a_failure(write):
    retry = record(0.5, "INVITE sip:carol@contoso.com SIP/2.0", h("2 INVITE", branch="z9hG4bK2"))
    ok = record(1.0, "SIP/2.0 200 OK", h("2 INVITE", "c4r", branch="z9hG4bK2", contact="sip:carol@10.0.10.77"),
                peer="10.0.10.77:5061")
    text = INVITE + _final("407 Proxy Authentication Required", 0.1) + retry + ok
    assert _run(write, text, FailedCall) == []


def test_no_final_answer_is_a_warning(write):
    later = record(120.0, "OPTIONS sip:carol@contoso.com SIP/2.0",
                   dialog_headers("another-call", "1 OPTIONS", "x1"))   # the trace goes on
    findings = _run(write, INVITE + _final("180 Ringing", 0.5) + later, FailedCall)
    (f,) = [f for f in findings if f.call_id == CID]
    assert f.severity.value == "warning" and "no final answer" in f.summary


def test_call_still_ringing_when_the_trace_ends_is_information(write):
    (f,) = _run(write, INVITE + _final("180 Ringing", 0.5), FailedCall)
    assert f.severity.value == "info" and "before the trace ends" in f.summary


# -- ms-diagnostics ----------------------------------------------------------

def test_each_diagnostic_is_decoded_once_with_severity_by_code(write):
    ok = record(1.0, "SIP/2.0 200 OK", h("1 INVITE", "c4r") + [
        ("ms-client-diagnostics", '51007;reason="Callee media connectivity diagnosis info"')], peer="p:1")
    fail = record(2.0, "SIP/2.0 504 Server time-out", h("1 INVITE", "c4r") + [
        ("Ms-Diagnostics", '1010;reason="Certificate trust with another server could not be established";'
                           'HRESULT="0x80090322(SEC_E_WRONG_PRINCIPAL)";source="sip.contoso.com"')], peer="p:1")
    findings = _run(write, INVITE + ok + fail + fail.replace("Instance-Id", "Instance-Id"), MsDiagnostics)
    by_code = {f.fact("code"): f for f in findings}
    assert set(by_code) == {51007, 1010}
    assert by_code[51007].severity.value == "info" and by_code[1010].severity.value == "error"
    assert by_code[1010].fact("hresult") == "0x80090322(SEC_E_WRONG_PRINCIPAL)"
    assert "certificate" in by_code[1010].fix.lower()


# -- error-records -----------------------------------------------------------

def test_unknown_user_or_epid_is_weak_evidence_tied_to_the_call(write):
    text = um_call("mail.contoso.com", call_id="0c8a7f5e3d2b4a1980f6e5d4c3b2a190") + DIAG_TAIL_SEQUENCE
    (f,) = _run(write, text, ErrorRecords)
    assert f.severity.value == "info" and "weak evidence" in f.summary
    assert f.call_id == "0c8a7f5e3d2b4a1980f6e5d4c3b2a190"
    assert any("the message the record is about" in e.text for e in f.evidence)


def test_certificate_mismatch_record_is_an_error(write):
    text = DIAG_TAIL_SEQUENCE.replace("0xc3e93c2f SIPPROXY_E_UNKNOWN_USER_OR_EPID",
                                      "0xc3e93d67 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH")
    (f,) = _run(write, text, ErrorRecords)
    assert f.severity.value == "error" and "certificate name problem" in f.summary


def test_a_crashing_rule_becomes_one_internal_error_finding(write):
    class Broken:
        id, title = "broken", "always fails"

        def check(self, trace, ctx):
            raise KeyError("boom")

    (f,) = _run(write, INVITE, Broken)
    assert f.rule == "internal-error" and "broken" in f.summary
