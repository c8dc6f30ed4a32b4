"""Root cause first: symptoms are linked to their cause by a table, ordered under it, in every output."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from siptrace.rules.causes import LINKS, Link, link_causes
from siptrace.model.context import Context
from siptrace.run.diagnose import diagnose
from siptrace.rules.findings import Evidence, Finding, Severity, sort_findings
from siptrace.model.sip import Origin
from siptrace.run.parallel import diagnose_parallel
from siptrace.run.diagnose import finding_json
from siptrace.views.render import diagnosis_text
from siptrace.views.report import build_report, render_markdown
from siptrace.run.spill import FindingWriter
from siptrace.run.stream import diagnose_stream

from conftest import ROOT, sample

UM = ["um-ack-retarget-bye.fe.log", "um-ack-retarget-bye.edge.log"]
CTX = Context.of(um_fqdn="um01.contoso.com")


def _doc(result) -> dict:
    out = io.StringIO()
    result.write_json(out)
    return json.loads(out.getvalue())


def test_um_certificate_failure_is_the_root_of_its_symptoms():
    doc = _doc(diagnose_stream([str(sample(UM[0]))], CTX))
    root, *rest = doc["findings"]
    assert root["rule"] == "ack-retarget-bye" and root["caused_by"] is None
    assert {f["rule"] for f in rest} == {"ms-diagnostics", "ruri-host-mismatch", "error-records"}
    assert all(f["caused_by"] == root["id"] for f in rest)
    codes = {f["facts"].get("code") or f["facts"].get("symbol") for f in rest}
    assert {21, 1038, "SIPPROXY_E_UNKNOWN_USER_OR_EPID"} <= codes


def test_the_verdict_is_the_first_line_with_the_calls_hit_and_the_symptoms():
    text = diagnosis_text(diagnose_stream([str(sample(n)) for n in UM], CTX))
    first = text.splitlines()[0]
    assert first == ("Exchange UM certificate Subject Name is mail.contoso.com, not um01.contoso.com: calls to "
                     "voicemail drop ~30 s after answer (1 of 1 call); 4 related symptoms")
    assert "  ↳ [ERROR] ms-diagnostics: ms-client-diagnostics 21" in text


def test_a_failed_call_is_a_symptom_of_the_diagnostic_its_response_carried():
    doc = _doc(diagnose_stream(str(sample("dns-failure-1008.fe.log"))))
    root, *rest = doc["findings"]
    assert root["rule"] == "ms-diagnostics" and root["facts"]["code"] == 1008
    assert {f["rule"] for f in rest} == {"failed-call", "error-records"}
    assert all(f["caused_by"] == root["id"] for f in rest)
    assert doc["verdict"].startswith("Unable to resolve DNS SRV record (ms-diagnostics 1008 from sip.contoso.com)")


def test_findings_of_another_call_are_never_linked():
    findings = [_f("ack-retarget-bye", Severity.ERROR, "call-a", 1), _f("ruri-host-mismatch", Severity.WARNING, "call-b", 2)]
    assert all(f.cause is None for f in link_causes(findings))


def _f(rule, severity, call_id, line, facts=()):
    origin = Origin("fe.log", line, line * 100)
    return Finding(rule=rule, severity=severity, summary=f"{rule} {line}", why="", fix="",
                   evidence=(Evidence(origin, datetime(2026, 1, 1, 0, 0, line), "x"),), facts=tuple(facts),
                   call_id=call_id, time=datetime(2026, 1, 1, 0, 0, line))


def test_a_symptom_worse_than_its_root_places_the_group_by_the_worse():
    table = (Link("ms-diagnostics", "ruri-host-mismatch"),)
    root = _f("ruri-host-mismatch", Severity.WARNING, "c1", 5)
    symptom = _f("ms-diagnostics", Severity.ERROR, "c1", 9)
    other = _f("failed-call", Severity.ERROR, "c2", 7)
    ordered = sort_findings(link_causes([other, symptom, root], table))
    assert [f.rule for f in ordered] == ["ruri-host-mismatch", "ms-diagnostics", "failed-call"]
    assert ordered[1].cause == ordered[0].id


def test_a_symptom_of_a_symptom_points_at_the_root():
    table = (Link("error-records", "ms-diagnostics"), Link("ms-diagnostics", "ack-retarget-bye"))
    a, b, c = (_f("ack-retarget-bye", Severity.ERROR, "c", 1), _f("ms-diagnostics", Severity.WARNING, "c", 2),
               _f("error-records", Severity.INFO, "c", 3))
    linked = {f.rule: f for f in link_causes([c, b, a], table)}
    assert linked["error-records"].cause == linked["ms-diagnostics"].cause == a.id


def test_a_loop_in_the_table_leaves_both_as_roots():
    table = (Link("a", "b"), Link("b", "a"))
    linked = link_causes([_f("a", Severity.ERROR, "c", 1), _f("b", Severity.ERROR, "c", 2)], table)
    assert [f.cause for f in linked] == [None, None]


def test_the_spill_keeps_each_group_together_and_root_first(tmp_path):
    table = (Link("ms-diagnostics", "ruri-host-mismatch"),)
    batch = link_causes([_f("ms-diagnostics", Severity.ERROR, "c1", 9), _f("ruri-host-mismatch", Severity.WARNING, "c1", 5)],
                        table)
    other = [_f("failed-call", Severity.ERROR, "c2", 3), _f("failed-call", Severity.INFO, "c3", 1)]
    writer = FindingWriter(str(tmp_path), render=finding_json)
    writer.add(other[:1])
    writer.add(batch)
    writer.add(other[1:])
    spilled = writer.finish()
    assert [f.rule for f in spilled] == ["failed-call", "ruri-host-mismatch", "ms-diagnostics", "failed-call"]
    texts = list(spilled.texts(finding_json))
    assert [(s, c) for s, c, _ in texts] == [(Severity.ERROR, "c2"), (Severity.WARNING, "c1"),
                                              (Severity.ERROR, "c1"), (Severity.INFO, "c3")]
    assert spilled.tally.symptoms[("ruri-host-mismatch", "")] == 1


def test_every_table_row_names_rules_that_exist():
    from siptrace.rules import RULES

    ids = {r.id for r in RULES}
    assert all(link.symptom in ids and link.cause in ids for link in LINKS)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gen") / "trace.log"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--size", "2MB", "--seed", "11",
                    "-o", str(path), "-q"], check=True)
    return path


def test_workers_give_byte_identical_json_with_the_links(generated):
    one = diagnose_parallel([str(generated)], CTX, jobs=1, render=finding_json)
    two = diagnose_parallel([str(generated)], CTX, jobs=2, render=finding_json)
    a, b = io.StringIO(), io.StringIO()
    one.write_json(a)
    two.write_json(b)
    assert a.getvalue() == b.getvalue()
    doc = json.loads(a.getvalue())
    linked = [f for f in doc["findings"] if f["caused_by"]]
    assert linked
    ids = [f["id"] for f in doc["findings"]]
    for f in linked:            # each symptom comes after its cause, in the cause's group
        assert ids.index(f["caused_by"]) < ids.index(f["id"])


def test_memory_stream_and_report_give_the_same_order(tmp_path):
    paths = [str(sample(n)) for n in UM]
    memory = [f.id for f in diagnose(paths, CTX).findings]
    streamed = [f["id"] for f in _doc(diagnose_stream(paths, CTX))["findings"]]
    report = build_report(paths, CTX, images=False)
    assert memory == streamed == [f.id for f in report.findings]
    text, _ = render_markdown(report, str(tmp_path / "img"))
    assert "A symptom of finding 1." in text
    assert text.index("# siptrace report") < text.index("Exchange UM certificate Subject Name")


def test_notebook_findings_frame_links_each_symptom_to_its_root_cause_by_id():
    import siptrace
    from conftest import sample

    trace = siptrace.load([str(sample("um-ack-retarget-bye.fe.log"))], um_fqdn="um01.contoso.com")
    frame = trace.findings
    roots = frame[frame["caused_by"].isna()]
    symptoms = frame[frame["caused_by"].notna()]
    assert "ack-retarget-bye" in set(roots["rule"]) and len(symptoms) >= 2
    assert set(symptoms["caused_by"]) <= set(roots["id"])
    assert str(frame["caused_by"].dtype) == "string"
