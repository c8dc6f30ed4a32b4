"""Planted values: no original of any class survives `report --redact` in any output format.

The trace (tests/planted.py) carries users, display names, numbers in every written form,
IPv4 / IPv6 addresses (leading zeros, dashes), EPIDs, tags, Call-IDs, GRUUs, a conference id,
authentication values, SDP addresses and keys, domains of any TLD and case, in every header,
parameter, TF_DIAG field, the record framing and the folder and file name.  Each output is
searched for every original as a whole token, in the form a reader sees it (HTML unescaped,
Markdown unescaped, JSON decoded), and the text the pictures draw is searched too (SVG text of
every figure, rendered just before the PNG).
"""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from planted import CALL_ID, INSIDE, OTHER_CALL_ID, PLANTED, write_planted
from siptrace.cli.cmd_report import report_command


def _boundary(value: str) -> re.Pattern[str]:
    return re.compile(r"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))" + re.escape(value) + r"(?![A-Za-z0-9])", re.I)


def leaks(texts: list[str], domains: bool) -> list[tuple[str, str]]:
    found = []
    for cls, values in PLANTED.items():
        if cls == "domain" and not domains:
            continue
        for value in values:
            if any(_boundary(value).search(t) for t in texts):
                found.append((cls, value))
    found += [("inside", v) for v in INSIDE if any(v.lower() in t.lower() for t in texts)]
    return found


def readable(path: Path) -> list[str]:
    """The file as written and as its reader sees it."""
    raw = path.read_text(encoding="utf-8")
    raw = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", raw)
    out = [raw, html.unescape(raw), re.sub(r"\\(.)", r"\1", raw)]
    if path.suffix == ".json":
        strings: list[str] = []
        stack = [json.loads(raw)]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                strings += [str(k) for k in item]
                stack += list(item.values())
            elif isinstance(item, list):
                stack += item
            else:
                strings.append(str(item))
        out.append("\n".join(strings))
    return out


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_planted(tmp_path_factory.mktemp("cases"))


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SVG text of every picture, taken at the moment it is saved as PNG (text kept as text)."""
    import matplotlib
    from matplotlib.figure import Figure

    svgs: list[str] = []
    original = Figure.savefig

    def savefig(self, fname, *args, **kwargs):  # type: ignore[no-untyped-def]
        buf = io.StringIO()
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            original(self, buf, format="svg")
        svgs.append(buf.getvalue())
        return original(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return svgs


def run(trace: Path, out: Path, *extra: str) -> None:
    args = [str(trace), "--um-fqdn", "um01.contoso.com", "-o", str(out), "-q", *extra]
    result = CliRunner().invoke(report_command, args)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("suffix", [".html", ".md", ".json", ".txt"])
@pytest.mark.parametrize("domains", [False, True], ids=["redact", "redact-domains"])
def test_no_planted_value_survives_in_any_output(trace: Path, tmp_path: Path, drawn: list[str], suffix: str,
                                                 domains: bool) -> None:
    out = tmp_path / f"report{suffix}"
    run(trace, out, "--redact-domains" if domains else "--redact", "--call-id", CALL_ID)
    texts = readable(out)
    assert leaks(texts, domains) == []
    if suffix == ".md":
        files = sorted((tmp_path / "report_files").iterdir())
        assert files and leaks([p.name for p in files], domains) == []
    if suffix in (".html", ".md"):
        assert len(drawn) >= 1                      # the call's ladder (one call: no chart)
        assert leaks(drawn, domains) == []
    # the report still says what happened, under pseudonyms
    text = texts[0]
    assert "480" in text and re.search(r"\bfile\d+\.log\b", text) and re.search(r"\bcall\d+", text)


def test_the_call_ids_asked_for_are_echoed_as_their_pseudonyms(trace: Path, tmp_path: Path) -> None:
    out, mapping = tmp_path / "r.html", tmp_path / "map.json"
    run(trace, out, "--redact", "--call-id", OTHER_CALL_ID, "--call-id", CALL_ID[:8], "--redact-map", str(mapping))
    text = out.read_text(encoding="utf-8")
    table = json.loads(mapping.read_text(encoding="utf-8"))["call_id"]
    assert OTHER_CALL_ID not in text and CALL_ID not in text and CALL_ID[:8] not in text
    assert f"Only the calls {table[OTHER_CALL_ID]}, {table[CALL_ID]}" in text


def test_an_unknown_call_id_writes_no_report(trace: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = CliRunner().invoke(report_command, [str(trace), "-o", str(out), "--redact", "-q",
                                       "--call-id", "deadbeefcafe4242feedface0badf00d"])
    assert result.exit_code == 2 and "no call with Call-ID" in result.output and not out.exists()


def test_the_mapping_names_every_planted_value_it_replaced(trace: Path, tmp_path: Path) -> None:
    out, mapping = tmp_path / "r.json", tmp_path / "map.json"
    run(trace, out, "--redact-domains", "--redact-map", str(mapping))
    table = json.loads(mapping.read_text(encoding="utf-8"))
    assert {"jdoe", "kwilson", "pjones", "tbrown", "mgarcia", "lchen"} <= set(table["user"])
    assert {"John Doe", "Kim Wilson", "Pat Jones", "Tom Brown"} <= set(table["display"])
    assert {"4255550199", "4255550142", "4255550188", "4255550177", "14255550100"} <= set(table["phone"])
    assert {"10.1.2.3", "10.9.8.7", "10.20.30.40"} <= set(table["ipv4"])
    assert table["conf"] == {"7XK9P2QJ": "conf1"} and "Xq9zR2mN7kLpWv" in table["gruu"]
    assert "fabrikam.xyz" in table["domain"] and "sfb.northwind.lan" in table["host"]
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [i["path"] for i in doc["inputs"]] == [table["file"][str(p)] for p in [Path(p) for p in table["file"]]
                                                  if str(p).endswith(".log")]
