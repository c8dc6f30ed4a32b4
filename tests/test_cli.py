"""The command line: outputs, filters, exit codes and one-line errors."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from siptrace.cli.commands import main

from records_text import ALL, PROTOCOL_INVITE


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_messages_json_has_the_documented_fields(write):
    path = write("t.log", ALL)
    result = run("messages", str(path), "--format", "json")
    assert result.exit_code == 0, result.output
    (msg,) = json.loads(result.output)
    assert msg["file"] == str(path) and msg["line"] == 1
    assert msg["time"] == "2026-11-03T09:14:02.117000+00:00"
    assert msg["kind"] == "request" and msg["method"] == "INVITE" and msg["status"] is None
    assert msg["request_uri"] == "sip:+14255550150@um01.contoso.com;user=phone"
    assert msg["call_id"] == "0c8a7f5e3d2b4a1980f6e5d4c3b2a190" and msg["cseq"] == "1 INVITE"
    assert msg["from_uri"] == "sip:alice@contoso.com" and msg["from_tag"] == "5f1c2a9b0e"
    assert msg["to_uri"] == "sip:+14255550150@contoso.com;user=phone" and msg["to_tag"] is None
    assert msg["direction"] == "incoming" and msg["peer"] == "edge01.contoso.com:5061"


def test_messages_filters_by_host_method_status_and_time(write):
    response = (PROTOCOL_INVITE.replace("Start-Line: INVITE sip:+14255550150@um01.contoso.com;user=phone SIP/2.0",
                                        "Start-Line: SIP/2.0 486 Busy Here")
                .replace("09:14:02.117", "09:14:09.500"))
    path = write("t.log", PROTOCOL_INVITE + response)
    def count(*extra):
        out = run("messages", str(path), "--format", "json", *extra)
        assert out.exit_code == 0, out.output
        return len(json.loads(out.output))
    assert count() == 2
    assert count("--method", "invite") == 2          # responses by their CSeq method
    assert count("--status", "4xx") == 1 and count("--status", "486") == 1 and count("--status", "200") == 0
    assert count("--host", "UM01.contoso.com") == 1  # the Request-URI host of the INVITE only
    assert count("--host", "edge01.contoso.com") == 2
    assert count("--since", "2026-11-03T09:14:05") == 1
    assert count("--until", "2026-11-03T09:14:05Z") == 1
    assert count("--call-id", "0c8a") == 2            # a unique start of the Call-ID
    unknown = run("messages", str(path), "--call-id", "nope")
    assert unknown.exit_code == 2 and "0c8a7f5e3d2b4a1980f6e5d4c3b2a190" in unknown.output


def test_messages_table_and_csv(write):
    path = write("t.log", ALL)
    table = run("messages", str(path))
    assert table.exit_code == 0 and "INVITE sip:+14255550150@um01" in table.output
    csv_out = run("messages", str(path), "--format", "csv")
    assert csv_out.output.splitlines()[0].startswith("file,line,time,kind,method")


def test_stats_json_counts_add_up(write):
    path = write("t.log", ALL + "junk line\n")
    result = run("stats", str(path), "--format", "json")
    doc = json.loads(result.output)
    assert {k: doc[k] for k in ("records", "sip", "diagnostic", "other", "skipped", "errors")} == \
        {"records": 5, "sip": 1, "diagnostic": 2, "other": 1, "skipped": 1, "errors": 0}


def test_stats_text_shows_skipped_records_with_file_and_line(write):
    path = write("t.log", ALL + "junk line\n")
    result = run("stats", str(path))
    assert f"{path}:" in result.output and "text outside any record" in result.output


def test_missing_file_is_one_line_and_exit_2(tmp_path):
    result = run("stats", str(tmp_path / "nope.log"))
    assert result.exit_code == 2
    lines = [l for l in result.output.splitlines() if l.strip()]
    assert len(lines) == 1 and "no such file" in lines[0] and "Traceback" not in result.output


def test_etl_is_one_line_and_exit_2(write):
    result = run("messages", str(write("x.etl", b"\0" * 10)))
    assert result.exit_code == 2
    assert "binary trace (.etl)" in result.output and "Traceback" not in result.output


def test_bad_option_value_is_exit_2(write):
    path = write("t.log", ALL)
    assert run("messages", str(path), "--since", "yesterday").exit_code == 2
    assert run("messages", str(path), "--format", "xml").exit_code == 2


def test_every_command_has_help():
    for command in ("messages", "stats", "diagnose", "rules", "ladder", "report"):
        result = run(command, "--help")
        assert result.exit_code == 0
        assert "Example" in result.output or command == "rules"


def test_progress_line_only_on_a_terminal_for_big_inputs():
    import io

    from siptrace.read.progress import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    quiet = Progress(10, stream=Tty())
    quiet.update(5, 1, 1)
    assert not quiet.enabled and quiet.stream.getvalue() == ""
    big = Progress(200 * 1024 * 1024, stream=Tty())
    big.update(100 * 1024 * 1024, 10, 9)
    assert "records" in big.stream.getvalue()
    piped = Progress(200 * 1024 * 1024, stream=io.StringIO())
    piped.update(1, 1, 1)
    assert piped.stream.getvalue() == ""


def test_usage_errors_are_one_line_naming_the_help_to_read():
    import subprocess
    import sys

    for args in (["messages", "x.log", "--format", "xml"], ["bogus"], ["diagnose"],
                 ["diagnose", "x.log", "--input-format", "etl"]):
        out = subprocess.run([sys.executable, "-m", "siptrace", *args], capture_output=True, text=True)
        assert out.returncode == 2, args
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("siptrace: ") and "--help" in lines[0], out.stderr
        assert "Traceback" not in out.stderr


def test_traceback_flag_shows_the_python_traceback(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "siptrace", "--traceback", "stats", str(tmp_path / "nope.log")],
                         capture_output=True, text=True)
    assert out.returncode != 0 and "Traceback" in out.stderr and "InputError" in out.stderr


def test_diagnose_reads_standard_input_as_it_reads_the_file():
    import subprocess
    import sys

    from conftest import sample

    path = sample("um-ack-retarget-bye.fe.log")
    args = [sys.executable, "-m", "siptrace", "diagnose", "--format", "json", "--quiet"]
    from_file = subprocess.run(args + [str(path)], capture_output=True, text=True)
    for jobs in ("1", "2"):
        piped = subprocess.run(args + ["-", "-j", jobs], input=path.read_text(), capture_output=True, text=True)
        assert piped.returncode == from_file.returncode == 1, piped.stderr
        got, want = json.loads(piped.stdout)["findings"], json.loads(from_file.stdout)["findings"]
        assert [(f["rule"], f["summary"], [e["line"] for e in f["evidence"]]) for f in got] == \
            [(f["rule"], f["summary"], [e["line"] for e in f["evidence"]]) for f in want]
        assert {e["file"] for f in got for e in f["evidence"]} == {"<stdin>"}


def test_an_unexpected_error_is_one_line_and_exit_2_not_a_traceback(tmp_path):
    import subprocess

    code = ("import sys, siptrace.run.parallel as p\n"
            "def broken(*a, **k): raise RecursionError('maximum recursion depth exceeded')\n"
            "p.run_streamed = broken\n"
            "from siptrace.cli.commands import main\n"
            "sys.argv = ['siptrace'] + sys.argv[1:]\n"
            "main()\n")
    from conftest import SAMPLES

    sample = str(SAMPLES / "busy-486.fe.log")
    out = subprocess.run([sys.executable, "-c", code, "diagnose", sample], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.startswith("siptrace: internal error (RecursionError") and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    shown = subprocess.run([sys.executable, "-c", code, "--traceback", "diagnose", sample],
                           capture_output=True, text=True)
    assert "Traceback" in shown.stderr


@pytest.mark.parametrize("names, expected", [
    (["um-ack-retarget-bye.fe.log"], "ocslogger"),
    (["um-ack-retarget-bye.fe.log", "um-ack-retarget-bye.edge.log"], "ocslogger"),
    (["um-ack-retarget-bye.client.UccApilog"], "uccapi"),
    (["um-ack-retarget-bye.snooper.txt"], "sip"),
    (["um-ack-retarget-bye.client.UccApilog", "um-ack-retarget-bye.fe.log"], "mixed"),
])
def test_stats_json_format_is_the_inputs_format_or_mixed(names, expected):
    from conftest import sample

    doc = json.loads(run("stats", *[str(sample(n)) for n in names], "--format", "json").output)
    assert doc["format"] == expected
    assert [i["format"] for i in doc["inputs"]] == [
        {"log": "ocslogger", "UccApilog": "uccapi", "txt": "sip"}[n.rsplit(".", 1)[1]] for n in names]
