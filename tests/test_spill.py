"""Findings written to disk come back whole, in order, and the folder goes away."""

from __future__ import annotations

import gc
import io
import json
import os
import pickle
from collections import Counter
from datetime import datetime, timedelta

from siptrace.model.context import Context
from siptrace.rules.findings import Evidence, Finding, Severity, sort_findings
from siptrace.model.sip import Origin
from siptrace.run import spill
from siptrace.run.spill import FindingWriter, SpilledFindings, severities, spill_directory
from siptrace.run.stream import diagnose_stream

from conftest import sample

T0 = datetime(2026, 11, 3, 9, 0, 0)


def _finding(n: int, severity: Severity) -> Finding:
    origin = Origin(f"fe{n % 2}.log", 10 * n, 100 * n)
    return Finding(rule=f"rule-{n % 3}", severity=severity, summary=f"summary {n} é",
                   why="why " * 50, fix="fix", evidence=(Evidence(origin, T0 + timedelta(seconds=n % 7), "INVITE"),),
                   facts=(("n", n), ("when", T0.isoformat())), call_id=f"call-{n}", time=T0 + timedelta(seconds=n % 7))


def test_spilled_findings_read_back_equal_and_in_sort_order(tmp_path, monkeypatch):
    monkeypatch.setattr(spill, "RUN", 16)       # many sorted runs to merge
    made = [_finding(n, [Severity.INFO, Severity.ERROR, Severity.WARNING][n % 3]) for n in range(300)]
    writer = FindingWriter(str(tmp_path))
    writer.add(made[:100])
    writer.add(made[100:])
    spilled = writer.finish()
    assert len(spilled.runs) == 19
    assert len(spilled) == 300
    assert list(spilled) == sort_findings(made)
    assert spilled[0] == sort_findings(made)[0] and spilled[5:7] == sort_findings(made)[5:7]
    assert severities(spilled) == severities(made) == {Severity.INFO: 100, Severity.ERROR: 100, Severity.WARNING: 100}


def test_runs_are_merged_before_too_many_files_would_be_open(tmp_path, monkeypatch):
    monkeypatch.setattr(spill, "RUN", 4)
    monkeypatch.setattr(spill, "MAX_RUNS", 3)
    made = [_finding(n, [Severity.INFO, Severity.ERROR][n % 2]) for n in range(101)]
    writer = FindingWriter(str(tmp_path))
    for n in range(0, 101, 5):
        writer.add(made[n:n + 5])
    spilled = writer.finish()
    assert len(spilled.runs) < 3
    assert list(spilled) == sort_findings(made)
    assert len([p for p in tmp_path.iterdir() if ".run" in p.name]) == len(spilled.runs)


def test_two_workers_files_merge_into_one_order(tmp_path):
    made = [_finding(n, Severity.WARNING) for n in range(50)]
    a, b = FindingWriter(str(tmp_path), "a.bin"), FindingWriter(str(tmp_path), "b.bin")
    a.add(made[::2])
    b.add(made[1::2])
    parts = [pickle.loads(pickle.dumps(w.finish())) for w in (a, b)]    # as they come back from workers
    merged = SpilledFindings.merge(parts)
    assert list(merged) == sort_findings(made)
    assert merged[-1] == sort_findings(made)[-1] and len(merged) == 50


def test_the_folder_is_removed_once_the_findings_are_dropped():
    folder = spill_directory()
    writer = FindingWriter(folder)
    writer.add([_finding(1, Severity.ERROR)])
    spilled = writer.finish()
    spilled.remove_when_done(folder)
    assert os.path.isdir(folder)
    del spilled
    gc.collect()
    assert not os.path.exists(folder)


def test_streamed_json_is_the_same_document_as_dumping_it_whole():
    result = diagnose_stream([str(sample("um-ack-retarget-bye.fe.log")), str(sample("um-ack-retarget-bye.edge.log"))],
                             Context.of(um_fqdn="um01.contoso.com"))
    out = io.StringIO()
    result.write_json(out)
    assert out.getvalue() == json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n"
    assert isinstance(result.findings, SpilledFindings) and len(result.findings) >= 5


def test_a_failed_run_leaves_no_findings_folder(tmp_path, monkeypatch):
    import tempfile

    import pytest

    from siptrace.model.errors import InputError

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))     # spill_directory() makes its folders here
    with pytest.raises(InputError):
        diagnose_stream([str(sample("um-ack-retarget-bye.fe.log")), str(tmp_path / "missing.log")])
    assert list(tmp_path.iterdir()) == []


def _text(f: Finding) -> str:
    return f"{f.rule} {f.summary}"


def test_rendered_texts_come_back_in_order_with_severity_and_call(tmp_path, monkeypatch):
    monkeypatch.setattr(spill, "RUN", 8)
    made = [_finding(n, [Severity.INFO, Severity.ERROR, Severity.WARNING][n % 3]) for n in range(60)]
    a, b = FindingWriter(str(tmp_path), "a", render=_text), FindingWriter(str(tmp_path), "b", render=_text)
    a.add(made[::2])
    b.add(made[1::2])
    parts = [pickle.loads(pickle.dumps(w.finish())) for w in (a, b)]    # as they come back from workers
    merged = SpilledFindings.merge(parts)
    texts = merged.texts(_text)
    assert texts is not None
    assert list(texts) == [(f.severity, f.call_id, _text(f)) for f in sort_findings(made)]
    assert list(merged) == sort_findings(made)          # the findings themselves are still there


def test_texts_made_otherwise_are_not_given(tmp_path):
    plain = FindingWriter(str(tmp_path), "plain")
    plain.add([_finding(1, Severity.ERROR)])
    other = FindingWriter(str(tmp_path), "other", render=_text)
    other.add([_finding(2, Severity.ERROR)])
    assert plain.finish().texts(_text) is None
    done = other.finish()
    assert done.texts(repr) is None
    assert SpilledFindings.merge([done, SpilledFindings([], Counter())]).texts(_text) is None
