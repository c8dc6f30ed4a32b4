"""siptrace report: one self-contained, escaped HTML page; Markdown with its images; the diagnose JSON."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flows import dialog_headers, record
from rules.um_flows import um_call
from siptrace.cli.commands import main as cli_main
from siptrace.cli.cmd_report import report_command
from siptrace.views.tables import CALL_COLUMNS, DIALOG_COLUMNS
from markdown_text import outside_code

SCRIPT = "<script>document.title='pwned'</script>"
INJECTED_CALL_ID = "x'\"><script>alert(1)</script>"
MARKDOWN_BAIT = "`tick` *star* _under_ [a](javascript:alert(1)) |pipe| # hash ![i](http://evil.example/i.png)"
SERVER = f"javascript:alert(1) \"dq\" 'sq' {SCRIPT} {MARKDOWN_BAIT}"
UM_CALL_ID = "5d2c6f0e9b8a47c3a1e2f3b4c5d6e7f8"


def injection_trace() -> str:
    """A failed call whose Call-ID, display name, reason phrase and headers carry markup and script."""
    caller, callee = "sip:mallory@contoso.com", "sip:trent@contoso.com;p=javascript:alert(1)"

    def h(cseq: str, to: str | None = None) -> list[tuple[str, str]]:
        headers = dialog_headers(INJECTED_CALL_ID, cseq, "m4l", to, caller=caller, callee=callee)
        headers[1] = ("From", f'"{SCRIPT} \\"x\\" \'y\'" <{caller}>;tag=m4l')
        return headers

    return "".join([
        record(100.0, f"INVITE {callee} SIP/2.0", h("1 INVITE") + [("Subject", f"{SCRIPT} {MARKDOWN_BAIT}")]),
        record(100.5, f"SIP/2.0 503 Service {SCRIPT}", h("1 INVITE", "t0") + [
            ("Server", SERVER),
            ("ms-diagnostics", f'1046;reason="Failed {SCRIPT} javascript:alert(1)";source="fe01.contoso.com"')]),
        record(100.51, f"ACK {callee} SIP/2.0", h("1 ACK", "t0")),
    ])


def write_traces(folder: Path) -> list[Path]:
    """The UM certificate failure and the injection call, in one front-end trace."""
    path = folder / "fe01.log"
    path.write_text(um_call("mail.contoso.com", call_id=UM_CALL_ID) + injection_trace(), encoding="utf-8")
    return [path]


def run_report(*args: object) -> Result:
    return CliRunner().invoke(report_command, [str(a) for a in args])


def ladder_available() -> bool:
    try:
        import siptrace.views.ladder  # noqa: F401
    except ImportError:
        return False
    return True


def charts_available() -> bool:
    try:
        import siptrace.views.charts  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_traces(tmp_path_factory.mktemp("traces"))


@pytest.fixture(scope="module")
def html_report(traces: list[Path], tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("html") / "report.html"
    result = run_report(*traces, "--um-fqdn", "um01.contoso.com", "-o", out)
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

ALLOWED_TAGS = {"wbr",                                     # a soft break between an address's parts
                "html", "head", "meta", "title", "style", "body", "main", "header", "h1", "h2", "h3", "p", "nav",
                "a", "section", "table", "colgroup", "col", "thead", "tbody", "tr", "th", "td", "article", "span",
                "dl", "dt", "dd", "b", "ul", "li", "figure", "img", "figcaption", "footer", "code", "pre"}
ALLOWED_ATTRS = {"lang", "charset", "http-equiv", "content", "name", "href", "class", "id", "src", "alt"}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_title:
            self.title += data


def _parse(page: str) -> _Collector:
    parser = _Collector()
    parser.feed(page)
    parser.close()
    return parser


def test_html_escapes_every_trace_value(html_report: str) -> None:
    page = html_report
    assert "<script" not in page.lower()
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    parsed = _parse(page)
    text = "".join(parsed.text)
    # the values are shown, as text
    assert SCRIPT in text and "javascript:alert(1)" in text and INJECTED_CALL_ID in text
    assert MARKDOWN_BAIT in text
    assert parsed.title == "siptrace report"


def test_html_has_only_known_tags_and_attributes_and_no_links_out(html_report: str) -> None:
    parsed = _parse(html_report)
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, tag
        for name, value in attrs:
            assert name in ALLOWED_ATTRS, (tag, name)
            value = value or ""
            if name == "href":
                assert value.startswith("#"), value          # only links within the page
            if name == "src":
                assert value.startswith("data:image/png;base64,"), value[:40]
            if name not in ("alt", "content"):
                assert "javascript:" not in value.lower() and "http" not in value.lower(), (tag, name, value[:80])


def test_html_is_self_contained_with_a_restrictive_policy(html_report: str) -> None:
    page = html_report
    assert ('<meta http-equiv="Content-Security-Policy" content="default-src &#x27;none&#x27;; '
            'img-src data:; style-src &#x27;unsafe-inline&#x27;">') in page
    parsed = _parse(page)
    csp = [dict(a) for t, a in parsed.tags if t == "meta" and dict(a).get("http-equiv") == "Content-Security-Policy"]
    assert csp == [{"http-equiv": "Content-Security-Policy",
                    "content": "default-src 'none'; img-src data:; style-src 'unsafe-inline'"}]
    style = page[page.index("<style>"):page.index("</style>")]
    assert "url(" not in style and "@import" not in style
    assert not re.search(r"<(link|iframe|object|embed|base|form|svg|script)\b", page, re.I)
    assert not re.search(r"\son\w+\s*=", page, re.I)      # no event handler attributes


def test_html_findings_worst_first_with_evidence_why_and_fix(html_report: str) -> None:
    parsed = _parse(html_report)
    text = " ".join(parsed.text)
    assert "ack-retarget-bye" in text and "failed-call" in text and "ms-diagnostics" in text
    order = [dict(a).get("class", "") for t, a in parsed.tags if t == "article"]
    groups: list[list[int]] = []      # a root cause, then its symptoms
    for c in order:
        rank = {"error": 2, "warning": 1, "info": 0}[c.split()[-1]]
        if "symptom" in c.split():
            groups[-1].append(rank)
        else:
            groups.append([rank])
    worst = [max(g) for g in groups]
    assert worst == sorted(worst, reverse=True) and worst[0] == 2 and groups[0][0] == 2
    assert "fe01.log:" in "".join(parsed.text) and "Why:" in text and "Fix:" in text   # <wbr> adds no space
    assert "Re-issue the Exchange UM certificate" in text
    assert "um01.contoso.com (given)" in text


def test_html_has_inline_images_of_ladders_and_charts(html_report: str) -> None:
    parsed = _parse(html_report)
    images = [dict(a) for t, a in parsed.tags if t == "img"]
    for image in images:
        data = base64.b64decode(image["src"].split(",", 1)[1])
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    ladders = [i for i in images if i["alt"].startswith("Call ")]
    if ladder_available():
        # one ladder per call with a finding: the UM call and the injected one
        assert len(ladders) == 2
        assert any(UM_CALL_ID in i["alt"] and "ack-retarget-bye" in i["alt"] for i in ladders)
    else:
        assert "ladder unavailable" in html_report and not ladders
    # two calls: no chart (each call's ladder says more); see test_charts_only_with_enough_calls
    assert not [i for i in images if i["alt"] and not i["alt"].startswith(("Call ", "Healthy call "))]
    assert 'id="charts"' not in html_report and "no data" not in html_report


def test_html_without_findings_says_so(tmp_path: Path) -> None:
    trace = tmp_path / "ok.log"
    trace.write_text(um_call("um01.contoso.com"), encoding="utf-8")
    out = tmp_path / "ok.html"
    result = run_report(trace, "--um-fqdn", "um01.contoso.com", "-o", out)
    assert result.exit_code == 0, result.output
    text = " ".join(_parse(out.read_text(encoding="utf-8")).text)
    assert "No problems found." in text and "No call has a finding." in text


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------


def _md_escaped(value: str) -> str:
    return re.sub(r"([\\`*_\[\]<>|#&!~$])", r"\\\1", value)


def test_markdown_writes_its_images_next_to_it(traces: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    result = run_report(*traces, "--um-fqdn", "um01.contoso.com", "-o", out)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\n]*?\]\(([^)\s]+)\)", outside_code(text))
    folder = tmp_path / "report_files"
    written = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    # image names come from the report's own counters, never from the trace
    assert all(re.fullmatch(r"(ladder|chart)-\d+\.png", name) for name in written)
    assert sorted(Path(link).name for link in links) == written
    for link in links:
        assert link.startswith("report_files/")
        assert (tmp_path / link).read_bytes().startswith(b"\x89PNG")
    if ladder_available():
        assert sum(name.startswith("ladder-") for name in written) == 2
    else:
        assert "ladder unavailable" in text
    assert set(tmp_path.iterdir()) <= {folder, out}      # nothing else written, nowhere else


def test_markdown_escapes_what_markdown_would_interpret(traces: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    assert run_report(*traces, "-o", out).exit_code == 0
    text = out.read_text(encoding="utf-8")
    # no raw HTML and no link or image other than the report's own images
    bare = outside_code(text)
    assert not re.search(r"(?<!\\)<", bare)
    assert all(link.startswith("report_files/") for link in re.findall(r"(?<!\\)\]\(([^)]*)\)", bare))
    assert "http://evil.example" not in bare
    assert _md_escaped(INJECTED_CALL_ID) in text
    # every backtick, emphasis mark, bracket, pipe or angle bracket taken from the trace is escaped,
    # and the one address in it is a code span
    server_line = next(line for line in text.splitlines() if "server = " in line)
    server = server_line.split("server = ", 1)[1].split("; ", 1)[0]
    assert "`![i](http://evil.example/i.png)" in server     # a code span
    assert not re.search(r"(?<!\\)[`*<>|\[\]]", outside_code(server))
    # table rows keep their columns: no raw pipe from a value
    for line in text.splitlines():
        if line.startswith("| "):
            assert len(re.findall(r"(?<!\\)\|", line)) in (10, 12), line


def test_markdown_escapes_a_leading_hash() -> None:
    from siptrace.views.report import md

    assert md("# not a heading") == "\\# not a heading"
    assert md("a\nb|c") == "a b\\|c"


# ---------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------


def _no_nan(value: str) -> None:
    raise AssertionError(f"{value} in JSON")


def test_json_is_the_diagnose_schema_plus_dialog_and_call_tables(traces: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    assert run_report(*traces, "--um-fqdn", "um01.contoso.com", "-o", out).exit_code == 0
    doc = json.loads(out.read_text(encoding="utf-8"), parse_constant=_no_nan)
    diagnose = CliRunner().invoke(cli_main, ["diagnose", *map(str, traces), "--um-fqdn", "um01.contoso.com",
                                             "--format", "json", "-q"])
    expected = json.loads(diagnose.stdout)
    assert doc["patterns"] and doc["calls_with_findings"]
    assert any(c["call_id"] == UM_CALL_ID and "dropped after" in c["headline"] for c in doc["calls_with_findings"])
    assert doc["schema"] == expected["schema"] == 1
    # every key of the diagnose document, unchanged, plus the tables
    assert set(doc) - set(expected) == {"tables", "redacted"} and set(expected) <= set(doc)
    for key in expected:
        if key != "findings":
            assert doc[key] == expected[key], key
    assert [f["rule"] for f in doc["findings"]] == [f["rule"] for f in expected["findings"]]
    assert all(set(f) == set(g) for f, g in zip(doc["findings"], expected["findings"]))
    dialogs, calls = doc["tables"]["dialogs"], doc["tables"]["calls"]
    assert len(dialogs) == expected["dialogs"] and len(calls) == expected["calls"]
    assert all(set(row) == set(DIALOG_COLUMNS) for row in dialogs)
    assert all(set(row) == set(CALL_COLUMNS) for row in calls)
    um = next(c for c in calls if c["call_id"] == UM_CALL_ID)
    assert um["outcome"] == "dropped" and um["final_status"] == 200 and um["findings"] >= 1   # torn down by its fault
    assert isinstance(um["first_time"], str) and um["first_time"].startswith("2026-11-03T09:00")
    assert doc["redacted"] is False


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


def test_unknown_report_extension_is_a_usage_error(traces: list[Path], tmp_path: Path) -> None:
    result = run_report(*traces, "-o", tmp_path / "report.pdf")
    assert result.exit_code == 2 and ".html, .md or .json" in result.output
    assert not (tmp_path / "report.pdf").exists()


def test_missing_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run_report(tmp_path / "absent.log", "-o", tmp_path / "r.html")
    assert result.exit_code == 2
    assert result.output.startswith("siptrace: ") and len(result.output.strip().splitlines()) == 1


def test_unwritable_output_is_one_line_and_exit_2(traces: list[Path], tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_report(*traces, "-o", blocker / "r.html")   # a folder that cannot exist
    assert result.exit_code == 2 and result.output.startswith("siptrace: ")


def test_missing_output_folders_are_created(traces: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "ticket" / "123" / "r.html"
    result = run_report(*traces, "-o", out)
    assert result.exit_code == 0 and out.is_file()


def test_redaction_map_cannot_overwrite_the_report(traces: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    result = run_report(*traces, "-o", out, "--redact-map", out)
    assert result.exit_code == 2 and not out.exists()


def test_call_id_keeps_only_that_call(traces: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "one.json"
    assert run_report(*traces, "--call-id", UM_CALL_ID, "--um-fqdn", "um01.contoso.com", "-o", out).exit_code == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [c["call_id"] for c in doc["tables"]["calls"]] == [UM_CALL_ID]
    assert {f["call_id"] for f in doc["findings"]} == {UM_CALL_ID}
