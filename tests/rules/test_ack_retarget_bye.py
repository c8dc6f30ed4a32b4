"""ack-retarget-bye: the UM certificate-name failure fires; healthy UM deployments stay quiet."""

from __future__ import annotations

import pytest

from siptrace.model.context import Context
from siptrace.rules import run_rules
from siptrace.rules.ack_retarget_bye import AckRetargetBye
from siptrace.correlate.timeline import load_timeline

from rules.um_flows import record_line, um_call

UM1, UM2 = "um01.contoso.com", "um02.contoso.com"


def _findings(write, text, **ctx):
    trace = load_timeline(str(write("um.log", text)))
    return [f for f in run_rules(trace, Context.of(**ctx), [AckRetargetBye])]


# name: (flow, --um-fqdn, the UM FQDN the finding names (None: unknown))
FIRES = {
    "certificate name, front end, FQDN given": (um_call("mail.contoso.com"), UM1, UM1),
    "certificate name, front end, FQDN inferred from the hop": (um_call("mail.contoso.com"), None, UM1),
    "BYE from the UM that never got the ACK": (um_call("mail.contoso.com", bye_by_um=True), UM1, UM1),
    "BYE answered 504 by the front end": (um_call("mail.contoso.com", bye_answer=504), None, UM1),
    "second UM server's certificate name, another FQDN given": (
        um_call("mail.contoso.com", invite_host=UM2), UM1, UM2),
    "Call Router 302 to a UM server whose certificate name is wrong": (
        um_call("mail.contoso.com", invite_host=UM2, redirect_from=UM1, umport=5065), UM1, UM2),
    "Edge view, BYE answered 504: UM FQDN unknown": (
        um_call("mail.contoso.com", view="edge", bye_answer=504), None, None),
    "Edge view, BYE answered 504, FQDN given": (um_call("mail.contoso.com", view="edge", bye_answer=504), UM1, UM1),
    "Edge view, the UM resends its 200 OK": (um_call("mail.contoso.com", view="edge", resent=2), None, None),
}

QUIET = {
    "Contact is the UM FQDN": (um_call(UM1), UM1),
    "Contact is the FQDN the INVITE went to (no --um-fqdn)": (um_call(UM1), None),
    "IP Contact of Exchange Online UM": (um_call("52.112.15.40", invite_host="x.um.outlook.com"), None),
    "no BYE: the call goes on": (um_call("mail.contoso.com", bye_at=None), UM1),
    "BYE long after the answer": (um_call("mail.contoso.com", bye_at=300), UM1),
    "in-dialog INFO answered": (um_call("mail.contoso.com", info_at=5.0), UM1),
    "second UM server answers with its own FQDN, another one given": (um_call(UM2, invite_host=UM2), UM1),
    "Call Router 302 to a second UM server, followed and answered": (
        um_call(UM2, invite_host=UM2, redirect_from=UM1, umport=5065), UM1),
    "latent certificate name that leads back to the UM (BYE answered 200)": (
        um_call("mail.contoso.com", bye_answer=200), UM1),
    "Edge view, user hangs up after 30 s, BYE answered 200": (um_call(UM2, view="edge", bye_answer=200), UM1),
    "Edge view, certificate name but BYE answered 200": (
        um_call("mail.contoso.com", view="edge", bye_answer=200), None),
    "Edge view, no sign that the name failed": (um_call("exchange.contoso.com", view="edge"), None),
}


@pytest.mark.parametrize("flow, given, named", FIRES.values(), ids=FIRES.keys())
def test_fires(write, flow, given, named):
    (f,) = _findings(write, flow, um_fqdn=given)
    assert f.severity.value == "error" and f.fact("contact_host") == "mail.contoso.com"
    assert f.fact("um_fqdn") == named
    assert f.call_id == "5d2c6f0e9b8a47c3a1e2f3b4c5d6e7f8"
    if named is None:
        assert "UM FQDN unknown" in f.summary and "--um-fqdn" in f.fix
        assert "Subject Name = the UM server's FQDN, not mail.contoso.com" in f.fix
    else:
        assert f"({named})" in f.fix and f"instead of {named}" in f.summary
    assert "contoso.com)" not in f.fix.replace(f"({named})", "")   # never the bare SIP domain


@pytest.mark.parametrize("flow, given", QUIET.values(), ids=QUIET.keys())
def test_stays_quiet(write, flow, given):
    assert _findings(write, flow, um_fqdn=given) == []


def test_facts_and_evidence_of_the_front_end_case(write):
    text = um_call("mail.contoso.com")
    (f,) = _findings(write, text, um_fqdn=UM1)
    assert dict(f.facts) == {"invite_host": UM1, "contact_host": "mail.contoso.com", "ack_host": "mail.contoso.com",
                             "um_fqdn": UM1, "um_fqdn_from": "hop", "delay_s": 32.5, "bye_from": "caller"}
    assert not f.inferred and "Subject Name" in f.fix
    assert [e.origin.line for e in f.evidence][:4] == [
        record_line(text, "Start-Line: INVITE sip:+14255550150@um01"), record_line(text, "Start-Line: SIP/2.0 200 OK"),
        record_line(text, "Start-Line: ACK", nth=2), record_line(text, "Start-Line: BYE")]
    assert f.evidence[2].text.startswith("outgoing to mail.contoso.com:5061: ACK")


def test_inferred_um_is_the_server_the_invite_went_to_and_says_so(write):
    (f,) = _findings(write, um_call("mail.contoso.com"))
    assert f.inferred == ("um_fqdn",) and f.fact("um_fqdn") == UM1 and f.fact("um_fqdn_from") == "hop"
    assert "inferred" not in f.summary and "taken from the trace" in f.why


def test_a_second_um_server_is_named_even_when_another_is_given(write):
    (f,) = _findings(write, um_call("mail.contoso.com", invite_host=UM2), um_fqdn=UM1)
    assert f.fact("um_fqdn") == UM2 and f.inferred == ("um_fqdn",)
    assert "um01" not in f.summary and "um01" not in f.fix


def test_edge_view_points_at_the_hop_toward_the_um_and_names_no_domain(write):
    text = um_call("mail.contoso.com", view="edge", bye_answer=504)
    (f,) = _findings(write, text)
    assert f.fact("invite_host") == "contoso.com" and f.fact("um_fqdn") is None and f.inferred == ()
    assert f.evidence[0].text.startswith("outgoing to fe01.contoso.com:5061: INVITE")
    assert "Subject Name = the UM server's FQDN" in f.fix and "(contoso.com)" not in f.fix
    assert any("504" in e.text for e in f.evidence)
