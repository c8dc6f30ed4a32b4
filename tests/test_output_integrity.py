"""Trace values are shown as written: never a link, rule, math or markup in Markdown, never
mathtext in a chart, never a terminal control sequence or a bidirectional override."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from siptrace.cli.commands import main
from siptrace.views.printable import printable
from siptrace.views.report import md

from conftest import SAMPLES
from markdown_text import outside_code

HOSTILE = "Busy \x1b[2J\x1b[31mHere \u202egnp.exe $e=mc^2$ http://evil.example/x www.evil.example x@evil.example ---"


@pytest.fixture
def hostile_trace(tmp_path):
    text = (SAMPLES / "busy-486.fe.log").read_text(encoding="utf-8")
    assert "486 Busy Here" in text
    path = tmp_path / "fe.log"
    path.write_text(text.replace("486 Busy Here", "486 " + HOSTILE), encoding="utf-8")
    return path


@pytest.mark.parametrize("value, shown", [
    ("Call to sip:alice@contoso.com busy", "Call to `sip:alice@contoso.com` busy"),
    ("see http://evil.example/x", "see `http://evil.example/x`"),
    ("www.evil.example", "`www.evil.example`"),
    ("mail x@evil.example", "mail `x@evil.example`"),
    ("---", "\\---"),
    ("===", "\\==="),
    ("+ item", "\\+ item"),
    ("1. item", "1\\. item"),
    ("$e=mc^2$", "\\$e=mc^2\\$"),
    ("*bold* _it_ <b>", "\\*bold\\* \\_it\\_ \\<b\\>"),
    ("a|b", "a\\|b"),
    ("http://a/`b`|c", "``http://a/`b`\\|c``"),
    ("two\nlines", "two lines"),
])
def test_markdown_value_is_shown_as_written(value, shown):
    assert md(value) == shown


def test_markdown_report_turns_no_trace_value_into_links_math_or_rules(hostile_trace, tmp_path):
    out = tmp_path / "r.md"
    result = CliRunner().invoke(main, ["report", str(hostile_trace), "-o", str(out), "--quiet"])
    assert result.exit_code in (0, 1), result.output
    text = out.read_text(encoding="utf-8")
    assert "evil.example" in text
    bare = outside_code(text)
    assert "evil.example" not in bare and "http://" not in bare
    assert not re.search(r"(?<!\\)\$", bare)
    assert not any(line.startswith(("---", "===")) for line in text.splitlines()
                   if "---|" not in line and line != "---")
    assert "\x1b" not in text and "\u202e" not in text


def test_html_report_shows_bidi_overrides_as_escapes(hostile_trace, tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", str(hostile_trace), "-o", str(out), "--quiet"])
    assert result.exit_code in (0, 1), result.output
    html = out.read_text(encoding="utf-8")
    assert "\u202e" not in html and "\x1b" not in html
    assert "\\u202egnp.exe" in html


@pytest.mark.parametrize("command", [["diagnose"], ["diagnose", "-v"], ["stats", "--show-skipped", "5"],
                                     ["messages"], ["messages", "--format", "csv"], ["ladder"]])
def test_terminal_output_carries_no_control_sequence(hostile_trace, command):
    result = CliRunner().invoke(main, [*command, str(hostile_trace)])
    assert result.exit_code in (0, 1), result.output
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", result.output)


def test_json_output_still_decodes_to_the_trace_value(hostile_trace):
    result = CliRunner().invoke(main, ["messages", "--format", "json", str(hostile_trace)])
    assert "\u202e" not in result.output and "\x1b" not in result.output
    reasons = {m["reason"] for m in json.loads(result.output) if m.get("reason")}
    assert any(r.startswith("Busy \x1b[2J") and "\u202egnp" in r for r in reasons)


def test_printable_keeps_layout_and_plain_text():
    assert printable("a\tb\nc — é 中") == "a\tb\nc — é 中"
    assert printable("\x1b[31m\r\x85\u2066") == "\\u001b[31m\\u000d\\u0085\\u2066"


def test_chart_labels_from_the_trace_are_not_mathtext(hostile_trace):
    import siptrace
    from siptrace.views.charts import final_responses

    fig = final_responses(siptrace.load(str(hostile_trace)))
    fig.canvas.draw()
    labels = [t for t in fig.axes[0].get_xticklabels() if "Busy" in t.get_text()]
    assert labels
    for label in labels:
        assert label._preprocess_math(label.get_text())[1] is False
        assert "$e=mc^2$" in label._preprocess_math(label.get_text())[0]


def test_the_progress_line_keeps_its_carriage_returns_behind_the_filter(monkeypatch):
    import io
    import sys

    from siptrace.read.progress import Progress
    from siptrace.views.printable import PrintableStream

    raw = io.StringIO()
    monkeypatch.setattr(sys, "stderr", PrintableStream(raw))
    bar = Progress(100 << 20, enabled=True)
    bar.update(60 << 20, 10, 5)
    bar.close()
    assert "\r" in raw.getvalue() and "\\u000d" not in raw.getvalue()
    sys.stderr.write("a trace's \r text")
    assert raw.getvalue().endswith("a trace's \\u000d text")
