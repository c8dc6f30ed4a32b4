"""The report answers first: the verdict, the root cause with its symptoms, call headlines, patterns,
good vs bad, commands to paste, a ticket snippet of at most 60 lines, charts only when they say something."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

import flows
from rules.um_flows import um_call
from siptrace import __version__
from siptrace.cli.cmd_report import report_command
from siptrace.views.report import TICKET_LINES, md

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
UM_FAILURE = SAMPLES / "um-ack-retarget-bye.fe.log"
EDGE_AND_INTERNAL = SAMPLES / "um-edge-fails-internal-works.fe.log"
UM = ("--um-fqdn", "um01.contoso.com")


def report(tmp_path: Path, name: str, *args: object) -> str:
    out = tmp_path / name
    result = CliRunner().invoke(report_command, [*map(str, args), "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


class _Blocks(HTMLParser):
    """The text of the page's elements in order, with their tag and class."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, str, str]] = []
        self._open: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open.append((tag, dict(attrs).get("class") or ""))

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data: str) -> None:
        if data.strip() and self._open:
            self.items.append((*self._open[-1], data))


def blocks(page: str) -> list[tuple[str, str, str]]:
    parser = _Blocks()
    parser.feed(page.split("<main>", 1)[1])
    return parser.items


# ---------------------------------------------------------------------------
# HTML: verdict first, root causes with symptoms, inputs after
# ---------------------------------------------------------------------------


def test_html_opens_with_the_verdict_then_the_root_cause_and_reads_inputs_last(tmp_path: Path) -> None:
    page = report(tmp_path, "r.html", UM_FAILURE, *UM)
    items = blocks(page)
    first_text = next(text for tag, cls, text in items if tag != "h1")
    assert first_text.startswith("Exchange UM certificate Subject Name is mail.contoso.com, not um01.contoso.com")
    assert 'class="verdict error"' in page
    order = [page.index(marker) for marker in ('id="verdict"', 'id="finding-1"', 'class="finding symptom',
                                               'id="compare"', 'id="ladders"', 'id="calls"', 'id="inputs"')]
    assert order == sorted(order)
    # the root cause's call headline above it, its outcome the fault's
    assert re.search(r'class="headline">Call <span class="callid">5a3306c8d206a94ff659cf5a15769d51</span>: '
                     r"Alice Example → \+14255550150 · answered after 945 ms · dropped after 30\.4 s", page)
    assert "Across calls: ack-retarget-bye (contact_host=mail.contoso.com) hit 1 of 1 Edge-user call" in page


def test_html_root_cause_has_its_commands_in_pre_blocks_escaped_and_symptoms_none(tmp_path: Path) -> None:
    page = report(tmp_path, "r.html", UM_FAILURE, *UM)
    pres = re.findall(r"<pre><code>(.*?)</code></pre>", page, re.S)
    commands = "\n".join(pres)
    assert "Get-ExchangeCertificate -Server um01.contoso.com | Format-List" in commands
    assert "-Services UM,UMCallRouter" in commands and "Restart-Service MSExchangeUM, MSExchangeUMCR" in commands
    # quotes and braces of the PowerShell escaped as text, never markup
    assert "{ $_.Subject -like &#x27;CN=um01.contoso.com*&#x27; }" in commands
    symptoms = page[page.index('class="finding symptom'):page.index('id="compare"')]
    assert "<pre>" not in symptoms


def test_html_footer_names_version_options_and_time(tmp_path: Path) -> None:
    page = report(tmp_path, "r.html", UM_FAILURE, *UM)
    footer = re.search(r"<footer>(.*?)</footer>", page, re.S)
    assert footer is not None
    assert f"siptrace {__version__}" in footer[1]
    assert "with options --um-fqdn um01.contoso.com -o r.html" in footer[1]
    made = re.search(r"report made (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", footer[1])
    assert made is not None
    when = datetime.strptime(made[1], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - when).total_seconds()) < 600
    assert str(UM_FAILURE.name) not in footer[1]          # input names may be personal: not in the options


# ---------------------------------------------------------------------------
# Good vs bad
# ---------------------------------------------------------------------------


def test_failing_edge_call_is_set_beside_the_working_internal_call(tmp_path: Path) -> None:
    page = report(tmp_path, "r.html", EDGE_AND_INTERNAL, *UM)
    section = page[page.index('id="compare"'):page.index('id="ladders"')]
    assert ("First difference: 200 OK (INVITE) Contact host: um01.contoso.com (A, healthy) vs mail.contoso.com "
            "(B, failing)") in section
    assert "compared with internal call to Exchange UM um01.contoso.com" in section
    drawn = re.search(r'<figure class="compare"><img src="data:image/png;base64,([^"]+)"', section)
    assert drawn is not None
    import base64
    import io

    from PIL import Image

    with Image.open(io.BytesIO(base64.b64decode(drawn[1]))) as image:
        width, height = image.size
    assert height > 500 and width > 2 * height      # both ladders side by side, not cut to the titles


def test_without_a_healthy_call_of_the_kind_the_report_says_so(tmp_path: Path) -> None:
    page = report(tmp_path, "r.html", UM_FAILURE, *UM)
    section = page[page.index('id="compare"'):page.index('id="ladders"')]
    assert "No healthy call of the same kind (Edge-user call to Exchange UM um01.contoso.com" in section
    assert "<img" not in section


def test_good_vs_bad_is_the_same_with_workers(tmp_path: Path) -> None:
    from siptrace.model.context import Context
    from siptrace.views.report import build_report

    ctx = Context.of(("um01.contoso.com",), (), ())
    one = build_report(str(EDGE_AND_INTERNAL), ctx, images=False, jobs=1)
    two = build_report(str(EDGE_AND_INTERNAL), ctx, images=False, jobs=2)
    assert one.comparison and one.comparison == two.comparison
    assert one.ladder_text == two.ladder_text and "ACK → mail.contoso.com" in one.ladder_text


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------


def test_markdown_verdict_in_the_first_three_lines_evidence_in_code_ladder_fenced(tmp_path: Path) -> None:
    text = report(tmp_path, "r.md", UM_FAILURE, *UM)
    lines = text.splitlines()
    assert any(line.startswith("**Exchange UM certificate Subject Name is mail.contoso.com") for line in lines[:3])
    assert f"- `{UM_FAILURE}:437` · 2026-11-03 09:14:03.062 · `incoming from um01.contoso.com:5061: SIP/2.0 200 OK" \
        in text
    # no escaped underscore inside a word: the symbol reads as the server wrote it
    assert "SIPPROXY_E_UNKNOWN_USER_OR_EPID" in text and not re.search(r"\w\\_\w", text)
    fences = re.findall(r"^```(\w*)\n(.*?)^```$", text, re.S | re.M)
    assert any(info == "text" and "ACK → mail.contoso.com ≠ um01" in body for info, body in fences)
    assert any(info == "powershell" and "Enable-ExchangeCertificate" in body for info, body in fences)


@pytest.mark.parametrize("value, shown", [
    ("SIPPROXY_E_UNKNOWN_USER_OR_EPID", "SIPPROXY_E_UNKNOWN_USER_OR_EPID"),
    ("um_fqdn=um01", "um_fqdn=um01"),
    ("_under_", "\\_under\\_"),
    ("snake_ _case", "snake\\_ \\_case"),
    ("a__b", "a\\_\\_b"),
    ("*star*", "\\*star\\*"),
])
def test_markdown_escapes_underscores_only_where_they_would_be_emphasis(value: str, shown: str) -> None:
    assert md(value) == shown


# ---------------------------------------------------------------------------
# Ticket snippet
# ---------------------------------------------------------------------------


def test_ticket_snippet_has_verdict_root_cause_evidence_commands_ladder_and_inputs(tmp_path: Path) -> None:
    text = report(tmp_path, "ticket.txt", UM_FAILURE, *UM)
    lines = text.splitlines()
    assert len(lines) <= TICKET_LINES
    assert lines[0].startswith("Exchange UM certificate Subject Name is mail.contoso.com")
    assert any(line.startswith("Root cause: [ERROR] ack-retarget-bye: ACK for the call") for line in lines)
    assert f"  {UM_FAILURE}:437  09:14:03.062  incoming from um01.contoso.com:5061: SIP/2.0 200 OK" in text
    assert "    Enable-ExchangeCertificate -Server um01.contoso.com -Thumbprint $cert.Thumbprint " \
           "-Services UM,UMCallRouter" in lines
    fenced = re.search(r"^Ladder of call 5a3306c8d206a94ff659cf5a15769d51:\n```\n(.*?)\n```$", text, re.S | re.M)
    assert fenced is not None and "ACK → mail.contoso.com ≠ um01" in fenced[1]
    assert "Read:" in lines and any(str(UM_FAILURE) in line and "records =" in line for line in lines)
    assert "\x1b" not in text and "<" not in text.replace("<--", "").replace("|<", "")


def many_failing_calls(folder: Path, n: int) -> Path:
    text = ""
    base = datetime(2026, 11, 3, 9, tzinfo=timezone.utc)
    saved = flows.BASE
    try:
        for k in range(n):
            flows.BASE = base + timedelta(minutes=k)
            text += um_call("mail.contoso.com", call_id=f"{k:032x}", resent=k % 3)
    finally:
        flows.BASE = saved
    path = folder / "fe-many.log"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("which", ["many", "healthy", "um", "edge-and-internal"])
def test_ticket_snippet_never_passes_sixty_lines(tmp_path: Path, which: str) -> None:
    trace = {"many": lambda: many_failing_calls(tmp_path, 30), "healthy": lambda: SAMPLES / "healthy-mixed.fe.log",
             "um": lambda: UM_FAILURE, "edge-and-internal": lambda: EDGE_AND_INTERNAL}[which]()
    text = report(tmp_path, "ticket.txt", trace, *UM)
    assert 3 <= len(text.splitlines()) <= TICKET_LINES
    assert text.splitlines()[-1].startswith(f"siptrace {__version__}; report made ")


def test_ticket_snippet_is_redacted(tmp_path: Path) -> None:
    text = report(tmp_path, "ticket.txt", UM_FAILURE, *UM, "--redact")
    assert "Alice" not in text and "alice" not in text and "5a3306c8d206a94ff659cf5a15769d51" not in text
    assert "+14255550150" not in text and "10.0.1.11" not in text
    assert "Enable-ExchangeCertificate" in text and len(text.splitlines()) <= TICKET_LINES


# ---------------------------------------------------------------------------
# Charts only when they say something
# ---------------------------------------------------------------------------


def test_no_chart_on_a_one_call_ticket(tmp_path: Path) -> None:
    trace = tmp_path / "one.log"
    trace.write_text(um_call("mail.contoso.com"), encoding="utf-8")
    page = report(tmp_path, "r.html", trace, *UM)
    assert 'id="charts"' not in page and 'class="chart"' not in page and "no data" not in page


def test_charts_with_enough_calls_full_width_and_dropped_calls_coloured(tmp_path: Path) -> None:
    from siptrace.views import charts

    page = report(tmp_path, "r.html", many_failing_calls(tmp_path, 12), *UM)
    assert 'id="charts"' in page
    shown = re.findall(r'<figure class="chart"><img ', page)
    assert 2 <= len(shown) < len(charts.CHARTS)       # the findings-by-rule bar of one rule says nothing
    assert "figure.chart img,figure.compare img{width:100%}" in page
    assert "dropped" in charts.OUTCOME_COLOURS
    assert charts.OUTCOME_COLOURS["dropped"] not in (charts.OUTCOME_COLOURS["answered"],
                                                     charts.OUTCOME_COLOURS["failed"])
    calls = page[page.index('id="calls"'):page.index('id="inputs"')]
    assert calls.count("<td>dropped</td>") == 12


def test_html_facts_have_readable_labels_and_json_keeps_the_keys(tmp_path):
    from click.testing import CliRunner

    from siptrace.cli.commands import main
    from siptrace.views.labels import fact_label

    sample = str(SAMPLES / "um-ack-retarget-bye.fe.log")
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    for out in (html, js):
        assert CliRunner().invoke(main, ["report", sample, "--um-fqdn", "um01.contoso.com", "-o", str(out),
                                         "--quiet"]).exit_code in (0, 1)
    page = html.read_text(encoding="utf-8")
    assert "<dt>INVITE sent to</dt>" in page and "<dt>200 OK Contact host</dt>" in page
    assert "<dt>invite_host</dt>" not in page
    assert '"invite_host": "um01.contoso.com"' in js.read_text(encoding="utf-8")
    assert fact_label("data.srv-query") == "srv-query (data)" and fact_label("ring_time_s") == "ring time (s)"


def test_table_cells_wrap_addresses_between_their_parts_not_inside_words():
    from siptrace.views.report import esc_breakable

    assert esc_breakable("sip:+14255550150@um01.contoso.com;user=phone") == \
        "sip:+14255550150@<wbr>um01.<wbr>contoso.<wbr>com;<wbr>user=<wbr>phone"
    assert esc_breakable("5a3306c8d206a94ff659cf5a15769d51") == "5a3306c8d206a94ff659cf5a15769d51"   # no break inside
    assert esc_breakable("short a.b") == "short a.b"
    hostile = esc_breakable("<script>alert(1)</script>\ue000" * 3)      # the break mark from a trace is dropped
    assert "\ue000" not in hostile and hostile.replace("<wbr>", "").count("<") == 0
