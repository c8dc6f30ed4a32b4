"""ack-retarget-bye: fires on the UM certificate-name pattern only."""

from __future__ import annotations

from siptrace.context import Context
from siptrace.rules import run_rules
from siptrace.rules.ack_retarget_bye import AckRetargetBye
from siptrace.timeline import load_timeline

from rules.um_flows import record_line, um_call


def _findings(write, text, **ctx):
    trace = load_timeline(str(write("um.log", text)))
    return [f for f in run_rules(trace, Context.of(**ctx), [AckRetargetBye])]


def test_ack_to_certificate_name_then_bye_is_flagged_with_facts(write):
    (f,) = _findings(write, um_call("mail.contoso.com"), um_fqdn="um01.contoso.com")
    facts = dict(f.facts)
    assert facts == {"invite_host": "um01.contoso.com", "contact_host": "mail.contoso.com",
                     "ack_host": "mail.contoso.com", "um_fqdn": "um01.contoso.com", "delay_s": 32.5,
                     "bye_from": "caller"}
    assert f.severity.value == "error" and not f.inferred
    assert "Subject Name" in f.fix and "um01.contoso.com" in f.fix
    text = um_call("mail.contoso.com")
    assert [e.origin.line for e in f.evidence][:4] == [
        record_line(text, "Start-Line: INVITE sip:+14255550150@um01"), record_line(text, "Start-Line: SIP/2.0 200 OK"),
        record_line(text, "Start-Line: ACK", nth=2), record_line(text, "Start-Line: BYE")]
    assert f.evidence[2].text.startswith("outgoing to mail.contoso.com:5061: ACK")


def test_without_um_fqdn_the_um_is_inferred_and_said_so(write):
    (f,) = _findings(write, um_call("mail.contoso.com"))
    assert f.inferred == ("um_fqdn",) and f.fact("um_fqdn") == "um01.contoso.com"
    assert "inferred" in f.why


def test_bye_from_the_um_side_is_reported_as_such(write):
    (f,) = _findings(write, um_call("mail.contoso.com", bye_by_um=True), um_fqdn="um01.contoso.com")
    assert f.fact("bye_from") == "UM"


def test_contact_equal_to_the_um_fqdn_is_healthy(write):
    assert _findings(write, um_call("um01.contoso.com"), um_fqdn="um01.contoso.com") == []


def test_ip_contact_of_exchange_online_is_healthy(write):
    assert _findings(write, um_call("52.112.15.40", invite_host="x.um.outlook.com")) == []


def test_call_that_goes_on_is_not_flagged(write):
    assert _findings(write, um_call("mail.contoso.com", bye_at=None), um_fqdn="um01.contoso.com") == []
    assert _findings(write, um_call("mail.contoso.com", bye_at=300), um_fqdn="um01.contoso.com") == []
    assert _findings(write, um_call("mail.contoso.com", info_at=5.0), um_fqdn="um01.contoso.com") == []
