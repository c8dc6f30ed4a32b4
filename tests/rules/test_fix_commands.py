"""A fix you can paste: each finding's check and fix commands carry the trace's own names."""

from __future__ import annotations

import json
import pickle

import pytest

from siptrace.model.context import Context
from siptrace.rules import commands
from siptrace.run.diagnose import diagnose
from siptrace.views.render import finding_text

from conftest import sample


def _findings(*names, **ctx):
    return diagnose([str(sample(n)) for n in names], Context.of(**ctx)).findings


def _one(findings, rule, contains=""):
    (f,) = [f for f in findings if f.rule == rule and contains in f.summary]
    return f


def _lines(f, step):
    return [c.line for c in f.steps()[step]]


# (name, samples, context, rule, summary part, check lines expected (substrings), fix lines expected)
CASES = [
    ("um certificate, front end log", ("um-ack-retarget-bye.fe.log",), {}, "ack-retarget-bye", "",
     ["Get-ExchangeCertificate -Server um01.contoso.com | Format-List Thumbprint,Subject,CertificateDomains,Services"],
     ["Enable-ExchangeCertificate -Server um01.contoso.com -Thumbprint $cert.Thumbprint -Services UM,UMCallRouter",
      "Restart-Service MSExchangeUM, MSExchangeUMCR", "Test-CsExUMVoiceMail -TargetFqdn pool01.contoso.com"]),
    ("um certificate, --pool-fqdn names the pool", ("um-ack-retarget-bye.fe.log",), {"pool_fqdn": "pool02.contoso.com"},
     "ack-retarget-bye", "", ["Get-ExchangeCertificate -Server um01.contoso.com"],
     ["Test-CsExUMVoiceMail -TargetFqdn pool02.contoso.com"]),
    ("latent certificate name, call worked", ("um-latent-cert-name.fe.log",), {}, "ruri-host-mismatch", "",
     ["Get-ExchangeCertificate -Server um01.contoso.com"], ["-Services UM,UMCallRouter"]),
    ("dns srv failure 1008", ("dns-failure-1008.fe.log",), {}, "ms-diagnostics", "1008",
     ["Resolve-DnsName -Type SRV -Name _sipfederationtls._tcp.fabrikam.com"], []),
    ("peer not reached 1038", ("um-ack-retarget-bye.fe.log",), {}, "ms-diagnostics", "1038",
     ["Resolve-DnsName -Name mail.contoso.com", "Test-NetConnection -ComputerName mail.contoso.com -Port 5061"], []),
    ("certificate trust 1010", ("cert-failure-1010.edge.log",), {}, "ms-diagnostics", "1010",
     ["Get-CsCertificate | Format-List Use,Subject,AlternativeNames,Thumbprint,NotAfter"], []),
    ("certificate trust 1010, Edge named", ("cert-failure-1010.edge.log",), {"edge_fqdn": "edge01.contoso.com"},
     "ms-diagnostics", "1010", ["Test-CsFederatedPartner -TargetFqdn edge01.contoso.com -Domain partner.example"], []),
    ("certificate record, expected FQDN", ("cert-failure-1010.edge.log",), {}, "error-records", "CERT_MISMATCH",
     ["Get-CsCertificate", "Resolve-DnsName -Type A -Name sip.partner.example"], []),
    ("session refresh 481 through the Mediation Server", ("session-refresh-481.mediation.log",), {},
     "mid-call-failure", "",
     ["Get-CsTrunkConfiguration | Format-List Identity,EnableSessionTimer"],
     ["Set-CsTrunkConfiguration -Identity PstnGateway:sbc01.contoso.com -EnableSessionTimer $false"]),
]


@pytest.mark.parametrize("names, ctx, rule, part, checks, fixes", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_fix_gives_commands_with_the_traces_names(names, ctx, rule, part, checks, fixes):
    f = _one(_findings(*names, **ctx), rule, part)
    for want in checks:
        assert any(want in line for line in _lines(f, "check")), (want, _lines(f, "check"))
    for want in fixes:
        assert any(want in line for line in _lines(f, "fix")), (want, _lines(f, "fix"))
    assert all(c.doc.startswith("https://learn.microsoft.com/") for c in f.commands if not c.line.startswith("#"))


# (name, samples, rule, summary part): findings with nothing sure to paste
QUIET = [
    ("media failure 21 has no command", ("um-ack-retarget-bye.fe.log",), "ms-diagnostics", " 21 "),
    ("a failed call has no command of its own", ("dns-failure-1008.fe.log",), "failed-call", ""),
    ("a weak 0xC3E93C2F record has no command", ("um-ack-retarget-bye.fe.log",), "error-records", "C3E93C2F"),
]


@pytest.mark.parametrize("names, rule, part", [c[1:] for c in QUIET], ids=[c[0] for c in QUIET])
def test_findings_without_a_sure_command_give_none(names, rule, part):
    assert _one(_findings(*names), rule, part).commands == ()


def test_without_the_um_server_only_the_check_is_given():
    """The Edge's view does not show which UM server answered: the fix would have to guess it."""
    f = _one(_findings("um-ack-retarget-bye.edge.log", "um-ack-retarget-bye.client.UccApilog"), "ack-retarget-bye")
    assert f.fact("um_fqdn") is None
    assert _lines(f, "fix") == []
    assert any(line.startswith("Get-ExchangeCertificate |") for line in _lines(f, "check"))
    assert any("CN=mail.contoso.com" in line for line in _lines(f, "check"))


def test_the_json_adds_commands_by_step_and_keeps_every_schema_1_key():
    f = _one(_findings("um-ack-retarget-bye.fe.log"), "ack-retarget-bye")
    doc = json.loads(json.dumps(f.as_dict()))
    assert {"id", "caused_by", "rule", "severity", "summary", "why", "fix", "call_id", "facts", "evidence",
            "inferred"} < set(doc)
    assert set(doc["commands"]) == {"check", "fix"}
    first = doc["commands"]["check"][0]
    assert first["command"].startswith("Get-ExchangeCertificate -Server um01.contoso.com")
    assert first["shell"] == "the Exchange Management Shell"
    assert first["doc"].endswith("/exchange/get-exchangecertificate")


def test_commands_survive_the_spill_to_disk_and_the_worker_processes():
    f = _one(_findings("um-ack-retarget-bye.fe.log"), "ack-retarget-bye")
    again = pickle.loads(pickle.dumps(f))
    assert again.commands == f.commands and again.id == f.id


def test_the_text_view_shows_the_commands_under_fix_unwrapped_and_only_on_the_root_cause():
    findings = _findings("um-ack-retarget-bye.fe.log")
    root = _one(findings, "ack-retarget-bye")
    text = finding_text(root).splitlines()
    fix_at = next(i for i, line in enumerate(text) if line.lstrip().startswith("fix:"))
    at = text.index("          check, in the Exchange Management Shell:")
    assert at > fix_at
    block = text[at:]
    assert block[1] == ("              Get-ExchangeCertificate -Server um01.contoso.com | "
                        "Format-List Thumbprint,Subject,CertificateDomains,Services")
    assert "          fix, in the Exchange Management Shell:" in block
    assert "          then, in Windows PowerShell on um01.contoso.com:" in block
    symptom = _one(findings, "ruri-host-mismatch")
    assert symptom.commands and "Get-ExchangeCertificate" not in finding_text(symptom)


@pytest.mark.parametrize("value, shown", [
    ("um01.contoso.com", "um01.contoso.com"),
    ("_sipfederationtls._tcp.fabrikam.com", "_sipfederationtls._tcp.fabrikam.com"),
    ("evil.com; Remove-Item C:\\ -Recurse", "'evil.com; Remove-Item C:\\ -Recurse'"),
    ("a'b$(calc)", "'ab(calc)'"),
    ("x\u2019; calc", "'x; calc'"),
    ("$env:PATH", "'env:PATH'"),
    ("mail\u202e.com\n", "'mail.com'"),
])
def test_names_from_a_trace_are_pasted_as_literals(value, shown):
    assert commands.ps(value) == shown


def test_a_crafted_contact_host_never_runs_when_pasted():
    cmds = commands.connect("h;calc", 5061, "fe01.contoso.com")
    assert [c.line for c in cmds] == ["Resolve-DnsName -Name 'h;calc'",
                                      "Test-NetConnection -ComputerName 'h;calc' -Port 5061"]
    assert commands.connect("h", "5061;calc", None)[1].line.endswith("-Port 5061")
