"""The command line behaves: quiet end on a closed pipe, Call-ID prefixes, file:line, plurals, help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from siptrace.cli.callids import call_ids_in
from siptrace.cli.commands import main

from conftest import sample

REPO = Path(__file__).resolve().parent.parent
UM = "um-ack-retarget-bye.fe.log"
FAILED = "5a3306c8d206a94ff659cf5a15769d51"
REFRESH = "session-refresh-481.mediation.log"


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def _siptrace(*args: str, **kw):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen([sys.executable, "-m", "siptrace", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, **kw)


@pytest.fixture(scope="module")
def big_trace(tmp_path_factory) -> Path:
    """More output than a pipe holds, so the writer meets the closed pipe."""
    path = tmp_path_factory.mktemp("pipe") / "fe.log"
    subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--size", "3MB", "--seed", "5",
                    "-o", str(path), "-q"], check=True)
    return path


@pytest.mark.parametrize("command", [["messages"], ["diagnose", "-j", "1"], ["messages", "--format", "json"]])
def test_output_cut_short_by_head_ends_quietly_with_exit_0(big_trace, command):
    proc = _siptrace(*command, "--quiet", str(big_trace))
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()                    # what `| head -1` does once it has its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert err == ""


def test_stats_cut_short_ends_quietly(big_trace):
    proc = _siptrace("stats", str(big_trace), str(big_trace), str(big_trace))
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0
    assert proc.stderr.read() == b""


# -- Call-ID prefixes ------------------------------------------------------------------------

def test_a_unique_prefix_selects_the_call_in_every_command(tmp_path):
    path = str(sample(UM))
    diagnosed = json.loads(_run("diagnose", path, "--call-id", "5a33", "--format", "json").output)
    assert diagnosed["findings"] and {f["call_id"] for f in diagnosed["findings"]} == {FAILED}
    listed = _run("messages", path, "--call-id", "5A33", "--format", "json")
    assert listed.exit_code == 0 and {m["call_id"] for m in json.loads(listed.output)} == {FAILED}
    drawn = _run("ladder", path, "--call-id", "5a33", "--width", "120")
    assert drawn.exit_code == 0 and drawn.output.startswith(f"Call-ID {FAILED}")
    out = tmp_path / "r.json"
    reported = _run("report", path, "--call-id", "5a33", "-o", str(out), "-q")
    assert reported.exit_code == 0, reported.output
    assert {f["call_id"] for f in json.loads(out.read_text())["findings"]} == {FAILED}


def test_diagnose_keeps_only_the_findings_of_the_call_asked_for():
    path = str(sample(REFRESH))
    every = json.loads(_run("diagnose", path, "--format", "json").output)["findings"]
    calls = {f["call_id"] for f in every}
    assert len(calls) > 1
    one = sorted(calls)[0]
    only = json.loads(_run("diagnose", path, "--format", "json", "--call-id", one[:12]).output)["findings"]
    assert only == [f for f in every if f["call_id"] == one]


def _shared_prefix(ids: list[str]) -> tuple[str, list[str]]:
    firsts = sorted(ids)
    for a, b in zip(firsts, firsts[1:]):
        if a[:2] == b[:2]:
            return a[:2], [i for i in ids if i.startswith(a[:2])]
    raise AssertionError("the sample has no two Call-IDs with a common start")


@pytest.mark.parametrize("command", [["diagnose"], ["messages"], ["ladder"], ["report", "-o", "r.html"]])
def test_an_ambiguous_prefix_is_an_error_that_lists_the_candidates(command, tmp_path):
    path = str(sample(REFRESH))
    prefix, candidates = _shared_prefix(call_ids_in([path], None))
    os.chdir(tmp_path)
    result = _run(command[0], path, *command[1:], "--call-id", prefix)
    assert result.exit_code == 2
    assert f"is the start of {len(candidates)} calls" in result.output
    assert all(c in result.output for c in candidates)
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("command", [["diagnose"], ["messages"], ["ladder"], ["report", "-o", "r.html"]])
def test_an_unknown_call_id_is_an_error_not_an_empty_answer(command, tmp_path):
    path = str(sample("um-two-servers.fe.log"))
    os.chdir(tmp_path)
    result = _run(command[0], path, *command[1:], "--call-id", "zz")
    assert result.exit_code == 2
    assert "no call with Call-ID 'zz'" in result.output and "No problems found" not in result.output
    for call in call_ids_in([path], None):
        assert call in result.output
    assert not (tmp_path / "r.html").exists()


def test_a_close_miss_is_offered_as_the_call_meant():
    result = _run("messages", str(sample(UM)), "--call-id", FAILED[:-1] + "x")
    assert result.exit_code == 2 and f"Did you mean {FAILED}?" in result.output


# -- the messages table, --traceback, plurals, help -------------------------------------------

def test_the_messages_table_shows_file_and_line_whole():
    out = _run("messages", str(sample(UM)), "--method", "INVITE").output
    row = next(line for line in out.splitlines() if "INVITE sip:+14255550150@um01" in line)
    assert f"{UM}:226 " in row and "…" not in row.split()[2]


def test_traceback_is_accepted_after_the_command(tmp_path):
    missing = str(tmp_path / "missing.log")
    after = _siptrace("diagnose", missing, "--traceback")
    _, err = after.communicate(timeout=60)
    assert after.returncode != 0 and b"Traceback" in err
    plain = _siptrace("diagnose", missing)
    _, err = plain.communicate(timeout=60)
    assert plain.returncode == 2 and b"Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_file_named_traceback_after_double_dash_is_a_file(tmp_path):
    os.chdir(tmp_path)
    result = _run("stats", "--", "--traceback")
    assert result.exit_code == 2 and "--traceback" in result.output


def test_counts_of_one_are_singular():
    out = _run("diagnose", str(sample("busy-486.fe.log"))).output
    body = out.split("\n", 1)[1]          # below the verdict line (its own wording)
    assert "1 finding:" in body and "1 dialog," in body and "1 call" in body
    assert "(s)" not in body


def test_top_level_help_gives_examples_on_the_bundled_samples():
    out = _run("--help").output
    assert "Examples" in out and "siptrace diagnose samples/um-ack-retarget-bye.fe.log" in out
    assert "--call-id 5a33" in out and "130" in out
    for line in out.splitlines():
        if line.strip().startswith("siptrace ") and "samples/" in line:
            name = line.split("samples/", 1)[1].split()[0]
            assert (REPO / "samples" / name).is_file(), name


# -- the bundled capture -----------------------------------------------------------------------

def test_the_bundled_capture_is_what_its_writer_writes(tmp_path):
    from pcap_sample import write

    assert write(tmp_path / "again.pcap").read_bytes() == sample("um-gateway-tcp.pcap").read_bytes()


def test_the_bundled_capture_is_diagnosed_as_one_answered_um_call_over_tcp():
    from siptrace.model.context import Context
    from siptrace.run.diagnose import diagnose

    result = diagnose([str(sample("um-gateway-tcp.pcap"))], Context.of())
    s = result.summary
    (read,) = s.inputs
    assert (read.records, read.sip, read.skipped, read.errors, s.calls) == (10, 10, 0, 0, 1)
    assert not [f for f in result.findings if f.severity.rank >= 1]      # the 302 is followed, the call answered
    (call,) = result.timeline.calls
    invites = [m for m in call.messages if m.sip.method == "INVITE"]
    assert [m.sip.ruri.port for m in invites] == [None, 5065]              # Call Router, then the UM service
    assert {m.sip.vias[0].transport.upper() for m in call.messages} == {"TCP"}
    assert result.nothing_read is False
    out = _run("diagnose", str(sample("um-gateway-tcp.pcap")))
    assert out.exit_code == 0 and "0 failed" in out.output.splitlines()[0]
