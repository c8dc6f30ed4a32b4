"""An input that could not be read is said, never passed off as "No problems found."."""

from __future__ import annotations

import json

from click.testing import CliRunner

from siptrace.cli.commands import main

from conftest import sample
from records_text import CONNECTION, PROTOCOL_INVITE

# records that are all broken: a TF_PROTOCOL record whose start line is not SIP
BROKEN = PROTOCOL_INVITE.replace("Start-Line: INVITE", "Start-Line: INVITED").replace(" SIP/2.0", " XIP/9")


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_a_file_with_only_connection_records_is_nothing_read(write):
    path = write("conn.log", CONNECTION * 3)
    result = run("diagnose", path)
    assert result.exit_code == 2
    first = result.output.splitlines()[0]
    assert first.startswith("Nothing could be read:") and "conn.log" in first
    assert "no SIP message among its 3 records (0 diagnostic, 3 other" in first
    assert "No problems found" not in result.output


def test_a_file_whose_every_record_is_skipped_is_nothing_read(write):
    text = "junk before any record\r\n" + BROKEN * 2
    path = write("bad.log", text)
    result = run("diagnose", path)
    assert result.exit_code == 2
    assert "Nothing could be read" in result.output and "skipped" in result.output.splitlines()[0]
    doc = json.loads(run("diagnose", path, "--format", "json").stdout)
    assert doc["nothing_read"] is True and doc["inputs"][0]["read"] == "none"
    assert doc["findings"] == []


def test_an_unreadable_input_next_to_a_good_one_is_named_before_the_findings(write):
    conn = write("conn.log", CONNECTION)
    result = run("diagnose", conn, sample("busy-486.fe.log"))
    assert result.exit_code == 0                  # the readable input is healthy: the findings decide
    lines = result.output.splitlines()
    assert "not read:" in lines[0] and "conn.log" in lines[0]
    note = next(n for n, line in enumerate(lines) if line.startswith("Not read:"))
    first_finding = next(n for n, line in enumerate(lines) if line.startswith("["))
    assert note < first_finding and "conn.log" in lines[note]
    doc = json.loads(run("diagnose", conn, sample("busy-486.fe.log"), "--format", "json").stdout)
    assert [i["read"] for i in doc["inputs"]] == ["none", "fully"]
    assert "not read" in doc["verdict"]


def test_a_partly_read_input_is_said_before_the_findings(write):
    text = sample("busy-486.fe.log").read_text(encoding="utf-8") + BROKEN
    result = run("diagnose", write("part.log", text))
    lines = result.output.splitlines()
    assert any(line.startswith("Partly read:") and "1 of 11 records skipped" in line for line in lines[:3])


def test_report_of_nothing_read_says_so_and_exits_2(write, tmp_path):
    out = tmp_path / "r.html"
    result = run("report", write("conn.log", CONNECTION), "-o", out)
    assert result.exit_code == 2 and "Nothing could be read" in result.output
    assert "Nothing could be read" in out.read_text(encoding="utf-8")
    md = tmp_path / "r.md"
    run("report", write("conn2.log", CONNECTION), sample("busy-486.fe.log"), "-o", md)
    text = md.read_text(encoding="utf-8")
    assert text.index("Not read") < text.index("## Findings")


def test_a_healthy_trace_says_what_was_looked_at():
    result = run("diagnose", sample("um-healthy-fqdn-contact.fe.log"))
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "1 call, 0 failed; 1 input read fully"


def test_a_pasted_diagnostic_header_alone_is_explained_though_nothing_is_read(tmp_path):
    """A line copied from a client log or an event into a ticket: no SIP message, but a code to explain."""
    from click.testing import CliRunner

    from siptrace.cli.commands import main

    path = tmp_path / "ticket-note.txt"
    path.write_text('Ms-client-diagnostics: 23; reason="Call failed to establish"\n'
                    "Error code: 0xC3E93C2F(SIPPROXY_E_UNKNOWN_USER_OR_EPID)\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["diagnose", str(path)])
    assert result.exit_code == 2
    first = result.output.splitlines()[0]
    assert first.startswith("Nothing could be read: ")
    assert "ms-client-diagnostics 23 (Call failed to establish due to a media connectivity failure when one " \
           "endpoint is internal and the other is remote)" in first
    assert "0xC3E93C2F (SIPPROXY_E_UNKNOWN_USER_OR_EPID)" in first and "no SIP message to judge" in first
