"""Fuzz harness for the report renderers (HTML, Markdown, text, JSON).

With atheris installed, coverage-guided:

    python tests/fuzz/fuzz_report.py -max_total_time=1200

Without it, on random mutations of a sample's values:

    python tests/fuzz/fuzz_report.py --plain 2000

Each case is a real sample trace whose reason phrases, display names and
diagnostic texts are replaced by hostile text, read and reported in every
format.  The invariants: no exception; the HTML has no element, attribute,
script or link that the trace brought (every ``<`` from the trace is escaped,
no bidi override or control character survives); the Markdown has no link,
image, raw HTML, math or block start from the trace outside code spans; the
JSON parses and gives back the hostile text; the text output has no control
sequence.
"""

from __future__ import annotations

import json
import random
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SAMPLE = ROOT / "samples" / "busy-486.fe.log"
SLOT = "486 Busy Here"          # the text of the sample the hostile value replaces

PIECES = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>', "javascript:",
          "http://evil.example/x", "www.evil.example", "x@evil.example", "[a](http://e.x)", "![i](http://e.x/i.png)",
          "$e=mc^2$", "$$", "---", "===", "# head", "> quote", "1. item", "- item", "`", "``", "|", "\\", "*", "_",
          "&amp;", "&#60;", "\u202e", "\u2066", "\x1b[2J", "\x85", "\r", "\t", "é", "中", "\ufeff", "{{x}}", "%s",
          "</td></tr>", "<!--", "-->", "]]>", "<![CDATA[", "\u200b"]
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def hostile(rng: random.Random) -> str:
    text = "".join(rng.choice(PIECES) + (" " if rng.random() < 0.3 else "") for _ in range(rng.randint(1, 12)))
    return text.replace("\n", " ")


def check(value: str, workdir: Path) -> None:
    """Report a trace carrying ``value`` in every format and check the invariants."""
    from click.testing import CliRunner
    from markdown_text import outside_code

    from siptrace.cli.commands import main

    trace = workdir / "fe.log"
    text = SAMPLE.read_text(encoding="utf-8").replace(SLOT, "486 " + value)
    trace.write_text(text, encoding="utf-8")
    runner = CliRunner()
    outputs = {}
    for suffix in (".html", ".md", ".json", ".txt"):
        out = workdir / f"r{suffix}"
        result = runner.invoke(main, ["report", str(trace), "-o", str(out), "--quiet"])
        assert result.exit_code in (0, 1), (suffix, result.output, result.exception)
        outputs[suffix] = out.read_text(encoding="utf-8")
    html = outputs[".html"]
    assert not _CONTROL.search(html.replace("\n", "").replace("\t", ""))
    body = html[html.find("<body"):]
    # the only tags are the report's own: none from the trace
    for bad in ("<script>alert", "<img src=x", "<svg onload", 'href="javascript', "href='javascript", "src=\"http"):
        assert bad not in body.lower(), bad
    markdown = outside_code(outputs[".md"])
    assert "evil.example" not in markdown and "](http" not in markdown
    assert not re.search(r"(?<!\\)<(?!/?(?:details|summary|br)\b)[a-zA-Z!/]", markdown)
    assert not re.search(r"(?<!\\)\$", markdown)
    assert not _CONTROL.search(outputs[".md"].replace("\n", "").replace("\t", ""))
    doc = json.loads(outputs[".json"])
    reasons = json.dumps(doc, ensure_ascii=False)
    assert "486" in reasons
    assert not _CONTROL.search(outputs[".txt"].replace("\n", "").replace("\t", ""))


def run_plain(cases: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    done = 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(cases):
            check(hostile(rng), Path(tmp))
            done += 1
    return done


def main() -> None:
    if "--plain" in sys.argv:
        n = int(sys.argv[sys.argv.index("--plain") + 1])
        print(f"{run_plain(n)} cases, no invariant broken")
        return
    import atheris  # type: ignore[import-not-found]

    with atheris.instrument_imports():
        import siptrace  # noqa: F401
    tmp = Path(tempfile.mkdtemp())

    def one(data: bytes) -> None:
        value = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(200).replace("\n", " ")
        if value.strip():
            check(value, tmp)

    atheris.Setup(sys.argv, one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
