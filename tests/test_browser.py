"""report.html in a real browser: headless Chromium shows the findings and images, runs nothing from the trace."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from siptrace.cli.cmd_report import report_command
from test_report import INJECTED_CALL_ID, charts_available, ladder_available, write_traces


def _chromium() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless Chromium not found (/usr/bin/chromium); install Debian's 'chromium' package "
           "(.ci/run does) to open report.html in a browser")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]


def chromium(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp / 'profile'}", *args],
                          capture_output=True, text=True, timeout=180, check=False)


def console_errors(stderr: str) -> list[str]:
    """Lines of the page's console: script errors and policy violations (Chromium's own noise aside)."""
    return [line for line in stderr.splitlines() if re.search(r"Uncaught|CONSOLE|Refused to", line)]


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    traces = write_traces(folder)
    out = folder / "report.html"
    result = CliRunner().invoke(report_command, [*map(str, traces), "--um-fqdn", "um01.contoso.com", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_browser_shows_findings_and_images_and_runs_no_trace_script(report_html: Path, tmp_path: Path) -> None:
    done = chromium(tmp_path, "--dump-dom", report_html.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    # the injected script would have set the title and would be an element of the DOM
    assert "<title>siptrace report</title>" in dom and "pwned" not in re.findall(r"<title>(.*?)</title>", dom)[0]
    assert "<script" not in dom.lower()
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom       # shown as text
    assert "ack-retarget-bye" in dom and "failed-call" in dom and "Re-issue the Exchange UM certificate" in dom
    assert INJECTED_CALL_ID.replace("<", "&lt;").replace(">", "&gt;") in dom
    images = re.findall(r"<img [^>]*>", dom)
    if ladder_available() or charts_available():
        assert images and all('src="data:image/png;base64,' in i for i in images)
    assert console_errors(done.stderr) == []


def test_browser_screenshot_is_drawn(report_html: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    done = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", report_html.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 20_000
    assert console_errors(done.stderr) == []
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        top = image.convert("RGB").crop((0, 0, 1280, 900))
        colours = top.getcolors(maxcolors=1 << 20) or []
        assert len(colours) > 50            # text, tables and severity colours, not a blank page
        # the error badge of the first finding is drawn in its red
        assert any(r > 180 and g < 80 and b < 80 for _, (r, g, b) in colours)


# ---------------------------------------------------------------------------
# The UM failure's report: the verdict and the root cause on the first screen
# ---------------------------------------------------------------------------

UM_SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "um-ack-retarget-bye.fe.log"
FIRST_SCREEN = 900

# A page of the test's own that loads the report in a frame and writes where the report's
# elements are (the report itself carries no script and gets none).
MEASURE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{margin:0}
iframe{border:0;width:1280px;height:2400px}</style></head><body>
<iframe id="report" src="REPORT"></iframe>
<script>
document.getElementById("report").addEventListener("load", function () {
  var doc = this.contentDocument, out = [];
  ["verdict", "finding-1"].forEach(function (id) {
    var el = doc.getElementById(id);
    var box = el ? el.getBoundingClientRect() : null;
    out.push(id + "=" + (box ? Math.round(box.top) + "," + Math.round(box.bottom) : "missing"));
  });
  var head = doc.querySelector("#finding-1 .summary");
  var box = head ? head.getBoundingClientRect() : null;
  out.push("summary=" + (box ? Math.round(box.top) + "," + Math.round(box.bottom) : "missing"));
  var pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = out.join(";");
  document.body.appendChild(pre);
});
</script></body></html>
"""


@pytest.fixture(scope="module")
def um_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("um") / "report.html"
    result = CliRunner().invoke(report_command, [str(UM_SAMPLE), "--um-fqdn", "um01.contoso.com", "-o", str(out),
                                                 "-q"])
    assert result.exit_code == 0, result.output
    return out


def test_um_report_verdict_and_root_cause_are_within_the_first_900_px(um_report: Path, tmp_path: Path) -> None:
    page = tmp_path / "measure.html"
    page.write_text(MEASURE.replace("REPORT", um_report.as_uri()), encoding="utf-8")
    done = chromium(tmp_path, "--allow-file-access-from-files", "--window-size=1280,2400", "--dump-dom",
                    page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    found = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout)
    assert found is not None, done.stdout[-2000:]
    boxes = dict(item.split("=") for item in found[1].split(";"))
    assert "missing" not in boxes.values(), boxes
    top = {name: tuple(map(int, value.split(","))) for name, value in boxes.items()}
    assert 0 <= top["verdict"][0] < top["verdict"][1] <= FIRST_SCREEN // 3
    # the root cause: its heading and summary are on the first screen
    assert top["verdict"][1] <= top["finding-1"][0] < top["summary"][1] <= FIRST_SCREEN
    text = um_report.read_text(encoding="utf-8")
    assert 'id="finding-1"' in text and "ack-retarget-bye" in text.split('id="finding-1"', 1)[1][:400]


def test_um_report_first_screen_screenshot_shows_the_verdict_colour(um_report: Path, tmp_path: Path) -> None:
    shot = Path(os.environ.get("SIPTRACE_SCREENSHOTS", tmp_path)) / "um-report-first-screen.png"
    done = chromium(tmp_path, f"--screenshot={shot}", f"--window-size=1280,{FIRST_SCREEN}", um_report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_errors(done.stderr) == []
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1280, FIRST_SCREEN)
        rgb = image.convert("RGB")
        # the verdict's red bar near the top, and the root cause's error badge below it, on this screen
        reds = [y for y in range(FIRST_SCREEN) for x in range(0, 1280, 4)
                if (lambda p: p[0] > 180 and p[1] < 80 and p[2] < 80)(rgb.getpixel((x, y)))]
        assert reds and min(reds) < 150 and max(reds) > min(reds) + 60
