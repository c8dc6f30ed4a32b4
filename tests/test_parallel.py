"""Several worker processes give exactly what one process gives."""

from __future__ import annotations

import io
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from siptrace.model.context import Context
from siptrace.model.errors import InputError
from siptrace.read.framing import frame
from siptrace.run import parallel as _parallel
from siptrace.run.parallel import diagnose_parallel
from siptrace.views.render import diagnosis_lines
from siptrace.read.partition import Share, call_id_key
from siptrace.run.stream import diagnose_stream

from conftest import SAMPLES, sample

REPO = Path(__file__).resolve().parent.parent
UM = ["um-ack-retarget-bye.fe.log", "um-ack-retarget-bye.edge.log"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A 3 MB server trace from the benchmark generator: many calls, failures, TF_DIAG, junk."""
    path = tmp_path_factory.mktemp("gen") / "trace.log"
    subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--size", "3MB", "--seed", "7",
                    "-o", str(path), "-q"], check=True)
    return path


def _same(a, b) -> None:
    da, db = a.as_dict(), b.as_dict()
    assert da["findings"] == db["findings"]          # same findings, same order
    for key in ("messages", "sightings", "calls", "dialogs"):
        assert da[key] == db[key], key
    assert da["inputs"] == db["inputs"]              # counts, skip reasons, times, clock offsets


def test_two_workers_find_and_count_what_one_process_does(generated):
    ctx = Context.of(um_fqdn="um01.contoso.com")
    one = diagnose_stream([str(generated)], ctx)
    two = diagnose_parallel([str(generated)], ctx, jobs=2)
    assert len(one.findings) > 20
    _same(one, two)


def test_three_workers_on_the_front_end_and_edge_logs_merge_the_call_and_the_clocks():
    paths = [str(sample(n)) for n in UM]
    ctx = Context.of(um_fqdn="um01.contoso.com")
    one = diagnose_stream(paths, ctx)
    three = diagnose_parallel(paths, ctx, jobs=3)
    _same(one, three)
    assert any(f.rule == "ack-retarget-bye" for f in three.findings)
    assert round(three.summary.offsets[str(sample(UM[1]))], 3) == 2.350


def test_text_between_records_is_counted_as_by_one_process(tmp_path):
    # junk runs separated by records of other workers must not merge into one
    records = b"".join(sample(n).read_bytes() for n in UM + ["busy-486.fe.log", "cancel.fe.log"])
    ends = re.findall(rb"\$\$end_record\r?\n", records)
    parts = re.split(rb"\$\$end_record\r?\n", records)
    mixed = b"".join(p + end + (b"stray line %d\r\n" % i if i % 2 else b"")
                     for i, (p, end) in enumerate(zip(parts, ends))) + parts[-1]
    path = tmp_path / "mixed.log"
    path.write_bytes(mixed)
    one = diagnose_stream([str(path)])
    assert one.summary.inputs[0].skipped > 5
    for jobs in (2, 3):
        _same(one, diagnose_parallel([str(path)], jobs=jobs))


def test_every_record_is_owned_by_exactly_one_worker():
    data = b"".join(p.read_bytes() for p in sorted(SAMPLES.glob("*.log")))
    pieces = list(frame(data.splitlines(keepends=True)))
    owners = [[i for i in range(3) if Share(i, 3).owns(p)] for p in pieces]
    assert all(len(o) == 1 for o in owners)
    assert {o[0] for o in owners} == {0, 1, 2}    # the calls are spread


def test_records_only_counted_are_spread_and_the_no_call_id_bucket_stays_whole():
    other = [b"TL_INFO(TF_CONNECTION) [0]0A1C.0F2C::11/03/2026-13:32:%02d.412.0004D26E (SIPStack,x.cpp(1))\n"
             b"$$begin_record\nLogType: connection\nPeer: 10.0.0.%d:5061\n$$end_record\n" % (n, n)
             for n in range(40)]
    owners = {next(i for i in range(2) if Share(i, 2).owns_record(r, 0, len(r))) for r in other}
    assert owners == {0, 1}
    no_call_id = [b"TL_ERROR(TF_DIAG) [0]...\nText: no call here\n$$end_record\n",
                  b"TL_INFO(TF_PROTOCOL) [0]...\nstart-line: SIP/2.0 200 OK\nCSeq: 1 BYE\n$$end_record\n",
                  b"TL_INFO(TF_PROTOCOL) [0]...\nlogType: Diagnostic\nText: x\n$$end_record\n",
                  b"TL_INFO(TF_COMPONENT) [0]...\nText: x\n$$end_record\n"]
    for rec in no_call_id:
        assert Share(0, 2).owns_record(rec, 0, len(rec)) and not Share(1, 2).owns_record(rec, 0, len(rec))


def test_the_share_key_is_the_call_id_of_a_request_a_response_and_a_diagnostic_record():
    assert call_id_key(b"TL_INFO(TF_PROTOCOL) [0]...\nCall-ID: abc@x \r\n") == b"abc@x"
    assert call_id_key(b"TL_INFO(TF_PROTOCOL) [0]...\ni:abc\n") == b"abc"
    assert call_id_key(b"TL_ERROR(TF_DIAG) [0]...\nSIP-Call-ID: abc\n") == b"abc"
    assert call_id_key(b"TL_INFO(TF_COMPONENT) [0]...\nText: no call here\n") is None


def test_other_inputs_than_server_traces_are_diagnosed_in_one_process():
    paths = [str(sample("um-ack-retarget-bye.client.UccApilog")), str(sample(UM[0]))]
    ctx = Context.of(um_fqdn="um01.contoso.com")
    _same(diagnose_stream(paths, ctx), diagnose_parallel(paths, ctx, jobs=2))


def test_a_missing_input_is_an_input_error_before_any_worker_starts(tmp_path):
    with pytest.raises(InputError) as err:
        diagnose_parallel([str(tmp_path / "nope.log")], jobs=2)
    assert "nope.log" in str(err.value)


def test_input_errors_keep_their_path_and_hint_across_processes():
    err = InputError("is empty", path="a.log", hint="Check the file")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) == "a.log: is empty. Check the file"


def test_small_inputs_are_diagnosed_in_one_process_unless_jobs_are_asked_for(generated, monkeypatch):
    import siptrace.run.parallel as parallel

    started = []
    def workers(job, jobs, total, files):
        started.append(jobs)
        return parallel.run_streamed(job)

    monkeypatch.setattr(parallel, "_run", workers)
    parallel.diagnose_parallel([str(generated)])                  # 3 MB: below the threshold
    parallel.diagnose_parallel([str(generated)], jobs=2)
    assert started == [2]


@pytest.mark.parametrize("options", [["--format", "json"], ["--format", "text"], ["-v", "--min-severity", "warning"]])
def test_cli_jobs_gives_the_same_report(generated, tmp_path, options):
    def run(jobs: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "siptrace", "diagnose", str(generated), "-j", jobs,
                               "--quiet", *options], capture_output=True, text=True)

    one, two = run("1"), run("2")
    assert one.returncode == two.returncode == 1
    assert one.stdout == two.stdout
    assert one.stdout.count("failed-call") > 10
    if options[-1] in ("json", "text"):    # texts made in the workers = texts made from the findings
        from siptrace.views.patterns import CallNotes, NotedCalls
        from siptrace.views.render import NotedDiagnosis

        found = NotedDiagnosis.of(diagnose_stream([str(generated)], watcher=NotedCalls(CallNotes())))   # as the CLI
        if options[-1] == "json":
            out = io.StringIO()
            found.write_json(out)
            assert out.getvalue() == one.stdout
        else:
            assert "".join(line + "\n" for line in diagnosis_lines(found)) == one.stdout


_real_work = _parallel._work


def _die_in_worker_1(job, share, spill_to):
    if share.index == 1:
        os._exit(9)          # as if killed: no result, no error
    return _real_work(job, share, spill_to)


def _fail_in_worker_1(job, share, spill_to):
    if share.index == 1:
        raise InputError("could not be read", path="trace.log", hint="Check it")
    return _real_work(job, share, spill_to)


def test_a_lost_worker_means_one_process_does_the_job_again(generated, monkeypatch, capsys):
    monkeypatch.setattr(_parallel, "_work", _die_in_worker_1)
    again = diagnose_parallel([str(generated)], jobs=2)
    assert "ended without a result" in capsys.readouterr().err
    _same(diagnose_stream([str(generated)]), again)


def test_an_error_in_a_worker_reaches_the_caller_whole(generated, monkeypatch):
    monkeypatch.setattr(_parallel, "_work", _fail_in_worker_1)
    with pytest.raises(InputError) as err:
        diagnose_parallel([str(generated)], jobs=2)
    assert str(err.value) == "trace.log: could not be read. Check it"


@pytest.mark.parametrize("idle, max_messages", [(64.0, 5000), (0.5, 5000), (64.0, 3)])
def test_calls_judged_together_give_what_calls_judged_one_by_one_give(generated, monkeypatch, idle, max_messages):
    """A short idle time makes calls go quiet and come back (judged in parts); a
    small max_messages judges growing calls early: both as with one call per run."""
    import siptrace.run.stream as stream

    ctx = Context.of(um_fqdn="um01.contoso.com")
    monkeypatch.setattr(stream, "BATCH", 100_000)    # all in one run, but for the calls that come back
    together = diagnose_stream([str(generated)], ctx, idle=idle, max_messages=max_messages)
    monkeypatch.setattr(stream, "BATCH", 1)
    alone = diagnose_stream([str(generated)], ctx, idle=idle, max_messages=max_messages)
    assert len(alone.findings) > 20
    _same(alone, together)


def test_sip_pasted_between_records_is_read_and_judged_as_by_one_process(tmp_path):
    """A ticket that pastes bare SIP between server records: each worker reads the pasted
    messages of its own calls, so one process and two or three find and count the same."""
    # the front end's records of the UM call, and the client's messages of that same call pasted in
    records = b"".join(sample(n).read_bytes() for n in ["busy-486.fe.log", "um-ack-retarget-bye.fe.log",
                                                         "cancel.fe.log", "no-answer-480.fe.log"])
    pasted = sample("um-ack-retarget-bye.snooper.txt").read_bytes()
    cut = records.index(b"$$end_record", len(records) // 2) + len(b"$$end_record\r\n")
    path = tmp_path / "ticket.log"
    path.write_bytes(records[:cut] + b"\r\n" + pasted + b"\r\n" + records[cut:])
    one = diagnose_stream([str(path)])
    assert one.summary.inputs[0].sip > sample("busy-486.fe.log").read_bytes().count(b"Start-Line:")
    pasted_sightings = pasted.count(b"\nCall-ID: 5a3306c8d206a94ff659cf5a15769d51")
    assert pasted_sightings > 5 and any(f.call_id == "5a3306c8d206a94ff659cf5a15769d51" for f in one.findings)
    for jobs in (2, 3):
        _same(one, diagnose_parallel([str(path)], jobs=jobs))


_RECORD = (SAMPLES / "um-ack-retarget-bye.fe.log").read_text(encoding="utf-8").split("$$end_record")[0] + "$$end_record\n"
_CID = "861081d4ca239d4efec5dc0e28e1dfb2"


@pytest.mark.parametrize("name, text", [
    ("as written", _RECORD),
    ("compact i:", _RECORD.replace("Call-ID: ", "i: ")),
    ("other case and spaces", _RECORD.replace("Call-ID: ", "call-id:   ")),
    ("folded value", _RECORD.replace(f"Call-ID: {_CID}", f"Call-ID:\n {_CID}")),
    ("a Call-ID line in the body only", _RECORD.replace(f"Call-ID: {_CID}\n", "").replace(
        "Message-Body: -", "Message-Body: x\nCall-ID: in-the-body")),
    ("a compact one before the long one", _RECORD.replace(f"Call-ID: {_CID}", f"i: first\nCall-ID: {_CID}")),
])
def test_the_worker_share_uses_the_call_id_the_parser_reads(name, text):
    from siptrace import Origin, parse_record_text
    from siptrace.read.partition import call_id_key

    parsed = parse_record_text(text, Origin("fe.log", 1)).call_id
    key = call_id_key(text.encode("utf-8"))
    assert (key.decode() if key is not None else None) == parsed
