"""The UM samples: the right UM server is named, healthy deployments stay quiet, every entry point agrees."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import siptrace
from siptrace.cli.commands import main
from siptrace.model.context import Context
from siptrace.run.diagnose import diagnose
from siptrace.views.ladder import build_ladder

from conftest import sample

UM1 = "um01.contoso.com"
UM_RULES = ("ack-retarget-bye", "ruri-host-mismatch", "ack-missing")
FAILED = "5a3306c8d206a94ff659cf5a15769d51"
DIRECTOR = "c3e8a1f05b7d4926b4e0d2c6a8f1b3d5"


def _diagnose(*names, um=None):
    return diagnose([str(sample(n)) for n in names], Context.of(um_fqdn=um))


def _um(result, rule=None):
    return [f for f in result.findings if f.rule in UM_RULES and (rule is None or f.rule == rule)]


@pytest.mark.parametrize("names", [("um-ack-retarget-bye.fe.log", "um-ack-retarget-bye.edge.log"),
                                   ("um-ack-retarget-bye.client.UccApilog", "um-ack-retarget-bye.fe.log"),
                                   ("um-director.dir.log", "um-director.fe.log")])
def test_with_the_front_end_log_the_um_is_inferred_from_the_hop_it_answered(names):
    result = _diagnose(*names)
    (f,) = _um(result, "ack-retarget-bye")
    assert f.fact("um_fqdn") == UM1 and f.fact("invite_host") == UM1 and f.inferred == ("um_fqdn",)
    assert f"Subject Name = the UM server's FQDN ({UM1})" in f.fix
    (w,) = _um(result, "ruri-host-mismatch")
    assert w.fact("um_fqdn") == UM1
    # the ladder marks the front end's hop toward the UM, not the Edge's or Director's hop toward the front end
    ladder = build_ladder(result.timeline, f.call_id, result.findings)
    (row,) = [r for r in ladder.rows if r.hop is not None and f.evidence[0].origin in r.hop.origins]
    assert ladder.hosts.label(row.hop.dst) == UM1 and row.hop.message.sip.method == "INVITE"


@pytest.mark.parametrize("name", ["um-ack-retarget-bye.edge.log", "um-ack-retarget-bye.client.UccApilog",
                                  "um-director.dir.log"])
def test_without_the_hop_to_the_um_the_failure_is_found_and_the_fqdn_is_unknown(name):
    (f,) = _um(_diagnose(name), "ack-retarget-bye")
    assert f.fact("um_fqdn") is None and "UM FQDN unknown" in f.summary
    assert "--um-fqdn" in f.fix and "the UM server's FQDN, not mail.contoso.com" in f.fix
    assert " contoso.com" not in f.fix and "(contoso.com)" not in f.fix and " contoso.com" not in f.summary
    (given,) = _um(_diagnose(name, um=UM1), "ack-retarget-bye")
    assert given.fact("um_fqdn") == UM1 and "UM FQDN unknown" not in given.summary


@pytest.mark.parametrize("um", [UM1, None])
def test_two_um_servers_behind_call_router_redirects_are_healthy(um):
    result = _diagnose("um-two-servers.fe.log", um=um)
    assert _um(result) == []
    assert not [f for f in result.findings if f.severity.value == "error"]
    answered = {m.sip.contacts[0].host for c in result.timeline.calls for m in c.messages
                if m.sip.status == 200 and m.sip.cseq_method == "INVITE"}
    assert answered == {"um01.contoso.com", "um02.contoso.com"}


@pytest.mark.parametrize("um", [UM1, None])
def test_latent_certificate_name_that_still_routes_is_only_a_warning(um):
    result = _diagnose("um-latent-cert-name.fe.log", um=um)
    (f,) = _um(result)
    assert f.rule == "ruri-host-mismatch" and f.severity.value == "warning"
    assert f.fact("hosts") == "exchange.contoso.com" and f.fact("um_fqdn") == UM1 and f.fact("call_worked") is True
    assert "Edge (remote) users will fail" in f.summary
    assert not [x for x in result.findings if x.severity.value == "error"]


@pytest.mark.parametrize("um", [UM1, None])
def test_edge_only_view_of_a_healthy_call_to_a_second_um_is_quiet(um):
    result = _diagnose("um-edge-healthy.edge.log", um=um)
    assert [f for f in result.findings if f.severity.rank >= 1] == []


UM_SAMPLES = [("um-ack-retarget-bye.fe.log", "um-ack-retarget-bye.edge.log"), ("um-ack-retarget-bye.edge.log",),
              ("um-ack-retarget-bye.client.UccApilog",), ("um-director.dir.log",),
              ("um-director.dir.log", "um-director.fe.log"), ("um-two-servers.fe.log",),
              ("um-latent-cert-name.fe.log",), ("um-edge-healthy.edge.log",)]


def _key(rule, severity, call_id, summary, um_fqdn):
    return (rule, severity, call_id, summary, um_fqdn)


@pytest.mark.parametrize("names", UM_SAMPLES, ids=["+".join(n) for n in UM_SAMPLES])
def test_diagnose_report_and_load_give_the_same_um_findings(names, tmp_path):
    paths = [str(sample(n)) for n in names]
    cli = CliRunner().invoke(main, ["diagnose", *paths, "--format", "json", "-q"])
    assert cli.exit_code in (0, 1), cli.output
    streamed = {_key(f["rule"], f["severity"], f["call_id"], f["summary"], f["facts"].get("um_fqdn"))
                for f in json.loads(cli.output)["findings"] if f["rule"] in UM_RULES}
    out = tmp_path / "x.json"
    rep = CliRunner().invoke(main, ["report", *paths, "-o", str(out)])
    assert rep.exit_code in (0, 1), rep.output
    reported = {_key(f["rule"], f["severity"], f["call_id"], f["summary"], f["facts"].get("um_fqdn"))
                for f in json.loads(out.read_text())["findings"] if f["rule"] in UM_RULES}
    trace = siptrace.load(paths)
    loaded = {_key(f.rule, f.severity.value, f.call_id, f.summary, f.fact("um_fqdn"))
              for f in trace.findings_list if f.rule in UM_RULES}
    assert streamed == reported == loaded


def test_verdict_without_the_hop_to_the_um_names_no_domain_as_the_um():
    from siptrace.model.context import Context
    from siptrace.run.diagnose import diagnose

    line = diagnose([str(sample("um-ack-retarget-bye.edge.log"))], Context()).verdict()
    assert "mail.contoso.com, not the UM server's FQDN (unknown in this trace" in line
    assert "not contoso.com" not in line
    both = diagnose([str(sample(n)) for n in ("um-ack-retarget-bye.edge.log", "um-ack-retarget-bye.fe.log")],
                    Context()).verdict()
    assert both.startswith("Exchange UM certificate Subject Name is mail.contoso.com, not um01.contoso.com")
