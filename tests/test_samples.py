"""The bundled samples: each problem is found, each healthy trace stays quiet."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from siptrace import Reader, SipMessage
from siptrace.cli.commands import main
from siptrace.model.context import Context
from siptrace.run.diagnose import diagnose

from conftest import sample

UM = "um01.contoso.com"
UM_CALL = "5a3306c8d206a94ff659cf5a15769d51"


def _diagnose(*names, **ctx):
    return diagnose([str(sample(n)) for n in names], Context.of(**ctx))


def _rules(result, at_least="info"):
    rank = {"info": 0, "warning": 1, "error": 2}[at_least]
    return sorted({f.rule for f in result.findings if f.severity.rank >= rank})


@pytest.mark.parametrize("name", ["um-healthy-fqdn-contact.fe.log", "um-healthy-ip-contact.fe.log",
                                  "healthy-mixed.fe.log", "busy-486.fe.log", "no-answer-480.fe.log",
                                  "cancel.fe.log"])
@pytest.mark.parametrize("um", [UM, None])
def test_healthy_samples_have_no_finding_at_warning_or_above(name, um):
    result = _diagnose(name, um_fqdn=um)
    assert _rules(result, "warning") == []
    cli = CliRunner().invoke(main, ["diagnose", str(sample(name))] + (["--um-fqdn", um] if um else []))
    assert cli.exit_code == 0, cli.output


def test_user_outcomes_are_reported_as_information():
    for name, words in (("busy-486.fe.log", "busy"), ("no-answer-480.fe.log", "not answered"),
                        ("cancel.fe.log", "cancelled")):
        (f,) = [f for f in _diagnose(name).findings if f.rule == "failed-call"]
        assert f.severity.value == "info" and words in f.summary


def test_um_failure_front_end_log_finds_ack_retarget_bye_with_facts():
    result = _diagnose("um-ack-retarget-bye.fe.log", um_fqdn=UM)
    (f,) = [f for f in result.findings if f.rule == "ack-retarget-bye"]
    assert f.call_id == UM_CALL and f.severity.value == "error" and not f.inferred
    facts = dict(f.facts)
    assert facts["invite_host"] == UM and facts["contact_host"] == "mail.contoso.com"
    assert facts["ack_host"] == "mail.contoso.com" and facts["um_fqdn"] == UM
    assert facts["delay_s"] == pytest.approx(30.4, abs=0.01) and facts["bye_from"] == "caller"
    assert "ruri-host-mismatch" in _rules(result, "warning")
    weak = [x for x in result.findings if x.rule == "error-records"]
    assert weak and weak[0].severity.value == "info" and "0xC3E93C2F" in weak[0].summary
    assert result.findings[0].severity.value == "error"


def test_um_failure_without_fqdn_is_found_and_says_inferred():
    result = _diagnose("um-ack-retarget-bye.fe.log")
    (f,) = [f for f in result.findings if f.rule == "ack-retarget-bye"]
    assert f.inferred == ("um_fqdn",) and f.fact("um_fqdn") == UM


def test_um_failure_edge_log_alone_with_the_fqdn():
    result = _diagnose("um-ack-retarget-bye.edge.log", um_fqdn=UM)
    (f,) = [f for f in result.findings if f.rule == "ack-retarget-bye"]
    assert f.fact("contact_host") == "mail.contoso.com" and f.fact("um_fqdn") == UM


def test_front_end_and_edge_logs_merge_into_one_call_with_the_edge_offset():
    result = _diagnose("um-ack-retarget-bye.fe.log", "um-ack-retarget-bye.edge.log", um_fqdn=UM)
    timeline = result.timeline
    call = timeline.call(UM_CALL)
    files = {s.origin.file.rsplit("/", 1)[-1] for m in call.messages for s in m.sightings}
    assert files == {"um-ack-retarget-bye.fe.log", "um-ack-retarget-bye.edge.log"}
    invite = next(m for m in call.messages if m.sip.method == "INVITE")
    assert len(invite.sightings) == 4           # in/out on the Edge, in/out on the front end
    edge = next(s for s in timeline.inputs if s.path.endswith("edge.log"))
    assert timeline.offsets[edge.path] == pytest.approx(2.35, abs=0.005)
    assert len([f for f in result.findings if f.rule == "ack-retarget-bye"]) == 1
    doc = result.as_dict()
    assert {round(i["clock_offset_s"], 2) for i in doc["inputs"]} == {0.0, 2.35}


def test_ack_missing_sample():
    result = _diagnose("ack-missing.fe.log")
    (f,) = [f for f in result.findings if f.rule == "ack-missing"]
    assert f.fact("retransmissions") == 6 and f.fact("bye_delay_s") == pytest.approx(32.0)


def test_dns_and_certificate_failure_samples():
    dns = _diagnose("dns-failure-1008.fe.log")
    assert {"failed-call", "ms-diagnostics", "error-records"} <= set(_rules(dns, "error"))
    assert any(f.fact("code") == 1008 for f in dns.findings if f.rule == "ms-diagnostics")
    cert = _diagnose("cert-failure-1010.edge.log")
    (diag,) = [f for f in cert.findings if f.rule == "ms-diagnostics" and f.fact("code") == 1010]
    assert diag.fact("hresult") == "0x80090322(SEC_E_WRONG_PRINCIPAL)" and diag.severity.value == "error"
    (rec,) = [f for f in cert.findings if f.rule == "error-records"]
    assert "certificate name problem" in rec.summary and rec.severity.value == "error"


def test_framings_sample_reads_every_variant():
    reader = Reader([str(sample("framings.log"))])
    items = list(reader)
    s = reader.stats[0]
    assert (s.records, s.sip, s.diagnostic, s.other, s.skipped, s.errors) == (10, 6, 2, 2, 0, 0)
    msgs = [i for i in items if isinstance(i, SipMessage)]
    assert any(m.is_response for m in msgs)
    assert any("multipart/alternative" in (m.content_type or "") for m in msgs)
    flags = {getattr(i, "record", i).flag for i in items if not isinstance(i, SipMessage)}
    assert flags >= {"TF_CONNECTION", "TF_SECURITY"}
    compact = [m for m in msgs if "i" in [n.lower() for n in m.headers.names()]]
    assert compact and all(m.call_id for m in compact)


def test_diagnose_cli_on_the_um_failure_exits_1_and_json_has_the_schema():
    runner = CliRunner()
    text = runner.invoke(main, ["diagnose", str(sample("um-ack-retarget-bye.fe.log")), "--um-fqdn", UM])
    assert text.exit_code == 1 and "ack-retarget-bye" in text.output and "Subject Name" in text.output
    out = runner.invoke(main, ["diagnose", str(sample("um-ack-retarget-bye.fe.log")), "--um-fqdn", UM,
                               "--format", "json"])
    doc = json.loads(out.output)
    assert doc["schema"] == 1 and doc["calls"] >= 1 and doc["dialogs"] >= 1
    assert set(doc["inputs"][0]) >= {"path", "records", "sip", "diagnostic", "other", "skipped", "errors",
                                     "clock_offset_s"}
    f = next(f for f in doc["findings"] if f["rule"] == "ack-retarget-bye")
    assert set(f) >= {"rule", "severity", "summary", "why", "fix", "call_id", "facts", "evidence", "inferred"}
    assert set(f["facts"]) >= {"invite_host", "contact_host", "ack_host", "um_fqdn", "delay_s", "bye_from"}
    assert all(set(e) == {"file", "line", "time", "text"} for e in f["evidence"])


def test_fail_on_warning_changes_the_exit_code():
    runner = CliRunner()
    args = ["diagnose", str(sample("framings.log"))]
    assert runner.invoke(main, args).exit_code == 0
    assert runner.invoke(main, args + ["--fail-on", "warning"]).exit_code == 1


def test_messages_table_shows_the_um_call():
    out = CliRunner().invoke(main, ["messages", str(sample("um-ack-retarget-bye.fe.log")), "--call-id", UM_CALL])
    assert out.exit_code == 0
    assert "INVITE sip:+14255550150@um01.contoso.com" in out.output
    assert "ACK sip:mail.contoso.com" in out.output and "200 OK" in out.output


def test_client_log_alone_finds_the_um_failure():
    result = _diagnose("um-ack-retarget-bye.client.UccApilog", um_fqdn=UM)
    (f,) = [f for f in result.findings if f.rule == "ack-retarget-bye"]
    assert f.fact("contact_host") == "mail.contoso.com" and f.fact("bye_from") == "caller"
    assert result.timeline.inputs[0].format == "uccapi"


def test_client_front_end_and_edge_merge_into_one_call_with_hops_and_offsets():
    result = _diagnose("um-ack-retarget-bye.client.UccApilog", "um-ack-retarget-bye.fe.log",
                       "um-ack-retarget-bye.edge.log", um_fqdn=UM)
    timeline = result.timeline
    invite = next(m for m in timeline.call(UM_CALL).messages if m.sip.method == "INVITE")
    assert len(invite.sightings) == 5            # client, Edge in/out, front end in/out
    offsets = {s.path.rsplit("/", 1)[-1]: timeline.offsets[s.path] for s in timeline.inputs}
    assert offsets["um-ack-retarget-bye.fe.log"] == 0.0
    assert offsets["um-ack-retarget-bye.edge.log"] == pytest.approx(2.35, abs=0.005)
    assert offsets["um-ack-retarget-bye.client.UccApilog"] == pytest.approx(-1.2, abs=0.05)
    assert len([f for f in result.findings if f.rule == "ack-retarget-bye"]) == 1


def test_pasted_sip_text_sample_reads_and_judges_what_it_can():
    result = _diagnose("um-ack-retarget-bye.snooper.txt", um_fqdn=UM)
    (stats,) = result.timeline.inputs
    assert stats.format == "sip" and (stats.sip, stats.skipped) == (7, 1)
    rules = _rules(result)
    assert "ruri-host-mismatch" in rules
    assert "ack-retarget-bye" not in rules   # no times in pasted text: the BYE delay is unknown
