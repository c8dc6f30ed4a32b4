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
