"""ruri-host-mismatch and ack-missing on UM calls: named cases that fire and healthy deployments that stay quiet."""

from __future__ import annotations

import pytest

from siptrace.model.context import Context
from siptrace.rules import run_rules
from siptrace.rules.ack_missing import AckMissing
from siptrace.rules.ruri_host_mismatch import RuriHostMismatch
from siptrace.correlate.timeline import load_timeline

from rules.um_flows import um_call

UM1, UM2 = "um01.contoso.com", "um02.contoso.com"


def _findings(write, rule, *texts, **ctx):
    paths = [str(write(f"part{n}.log", text)) for n, text in enumerate(texts)]
    trace = load_timeline(paths)
    return [f for f in run_rules(trace, Context.of(**ctx), [rule])]


# --- ruri-host-mismatch -------------------------------------------------------

# name: (flow, --um-fqdn, the UM FQDN named, the call worked)
MISMATCH_FIRES = {
    "certificate name, front end, FQDN given": (um_call("mail.contoso.com"), UM1, UM1, False),
    "certificate name, front end, FQDN inferred": (um_call("mail.contoso.com"), None, UM1, False),
    "latent certificate name, the call worked": (um_call("mail.contoso.com", bye_answer=200), None, UM1, True),
    "second UM server's certificate name, another FQDN given": (
        um_call("mail.contoso.com", invite_host=UM2, bye_answer=200), UM1, UM2, True),
    "Edge view, requests to the name failed: UM FQDN unknown": (
        um_call("mail.contoso.com", view="edge", bye_answer=504), None, None, False),
}

MISMATCH_QUIET = {
    "Contact is the UM FQDN": (um_call(UM1, bye_answer=200), UM1),
    "IP Contact of Exchange Online UM": (um_call("52.112.15.40", invite_host="x.um.outlook.com"), None),
    "second UM server with its own FQDN, another one given": (um_call(UM2, invite_host=UM2, bye_answer=200), UM1),
    "Call Router 302 Contact and the redirected call": (
        um_call(UM2, invite_host=UM2, redirect_from=UM1, umport=5065, bye_answer=200), UM1),
    "Edge view, second UM server answers and the BYE gets 200": (um_call(UM2, view="edge", bye_answer=200), UM1),
    "Edge view, Contact name that works": (um_call("exchange.contoso.com", view="edge", bye_answer=200), None),
    "Edge view, nothing says the name failed": (um_call("exchange.contoso.com", view="edge"), UM1),
}


@pytest.mark.parametrize("flow, given, named, worked", MISMATCH_FIRES.values(), ids=MISMATCH_FIRES.keys())
def test_ruri_host_mismatch_fires(write, flow, given, named, worked):
    (f,) = _findings(write, RuriHostMismatch, flow, um_fqdn=given)
    assert f.severity.value == "warning" and f.fact("hosts") == "mail.contoso.com"
    assert f.fact("um_fqdn") == named and f.fact("call_worked") is worked
    if worked:
        assert "this call worked" in f.summary and "Edge (remote) users will fail" in f.summary
    if named is None:
        assert "UM FQDN unknown" in f.summary
    else:
        assert f"not the UM FQDN {named}" in f.summary


@pytest.mark.parametrize("flow, given", MISMATCH_QUIET.values(), ids=MISMATCH_QUIET.keys())
def test_ruri_host_mismatch_stays_quiet(write, flow, given):
    assert _findings(write, RuriHostMismatch, flow, um_fqdn=given) == []


# --- ack-missing ----------------------------------------------------------------

ACK_MISSING_FIRES = {
    "UM resends its 200 OK and no ACK is seen": ((um_call(UM1, ack=False, resent=3, bye_at=None),), 3),
    "no ACK, BYE from the UM 64*T1 after the answer": ((um_call(UM1, ack=False, bye_at=32.0, bye_by_um=True),), 0),
}

ACK_MISSING_QUIET = {
    "ACK to the certificate name (ack-retarget-bye's case)": (um_call("mail.contoso.com"),),
    "ACK to the second UM server": (um_call(UM2, invite_host=UM2, bye_answer=200),),
    "Call Router 302 followed, the answer ACKed": (
        um_call(UM2, invite_host=UM2, redirect_from=UM1, umport=5065, bye_answer=200),),
    "latent certificate name, call worked": (um_call("mail.contoso.com", bye_answer=200),),
    "200 OK resent but the ACK then came": (um_call(UM1, resent=1),),
    "ACK only in the Edge's file": (um_call(UM1, ack=False, resent=1, bye_at=None, call_id="c" * 32),
                                    um_call(UM1, view="edge", bye_at=None, call_id="c" * 32)),
}


@pytest.mark.parametrize("texts, resent", ACK_MISSING_FIRES.values(), ids=ACK_MISSING_FIRES.keys())
def test_ack_missing_fires(write, texts, resent):
    (f,) = _findings(write, AckMissing, *texts)
    assert f.severity.value == "error" and f.fact("retransmissions") == resent and f.fact("ack_seen") is False


@pytest.mark.parametrize("texts", ACK_MISSING_QUIET.values(), ids=ACK_MISSING_QUIET.keys())
def test_ack_missing_stays_quiet(write, texts):
    assert _findings(write, AckMissing, *texts) == []


def _cancelled_call() -> str:
    """The caller cancels while the UM rings: CANCEL and the ACK of the 487 name the pilot's domain."""
    from flows import dialog_headers, record

    from rules.um_flows import UM

    h = lambda cseq, to=None, **kw: dialog_headers("d" * 32, cseq, "a1b2c3", to, caller="sip:alice@contoso.com",
                                                   callee="sip:+14255550150@contoso.com;user=phone", **kw)
    pilot = "sip:+14255550150@contoso.com;user=phone"
    return "".join([
        record(0.0, f"INVITE {pilot} SIP/2.0", h("1 INVITE")),
        record(0.02, f"INVITE sip:+14255550150@{UM1};user=phone SIP/2.0", h("1 INVITE"), direction="outgoing",
               peer=f"{UM1}:5061"),
        record(0.3, "SIP/2.0 180 Ringing", h("1 INVITE", "u9", contact=f"sip:{UM1}:5061;transport=Tls", server=UM),
               peer=f"{UM1}:5061"),
        record(4.0, f"CANCEL {pilot} SIP/2.0", h("1 CANCEL")),
        record(4.05, "SIP/2.0 487 Request Terminated", h("1 INVITE", "u9", server=UM), peer=f"{UM1}:5061"),
        record(4.1, f"ACK {pilot} SIP/2.0", h("1 ACK", "u9")),
    ])


def test_cancel_and_the_ack_of_a_487_are_not_requests_to_a_wrong_host(write):
    assert _findings(write, RuriHostMismatch, _cancelled_call(), um_fqdn=UM1) == []
    assert _findings(write, RuriHostMismatch, _cancelled_call()) == []
