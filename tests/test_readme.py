"""The README tells the truth: its set-up commands exist and its diagnose output is current."""

from __future__ import annotations

import re

from click.testing import CliRunner

from siptrace.cli.commands import main

from conftest import ROOT


def test_readme_set_up_commands_are_make_targets_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "make demo" in readme and "make test" in readme
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_diagnose_example_matches_the_tool(monkeypatch):
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```text\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    out = CliRunner().invoke(main, ["diagnose", "samples/um-ack-retarget-bye.fe.log", "--um-fqdn",
                                    "um01.contoso.com"]).output
    verdict, _, first_finding = block.split("\n\n")[:3]
    assert out.splitlines()[: len(verdict.splitlines())] == verdict.splitlines()   # the verdict, then patterns
    assert first_finding in out
    for line in block.splitlines():
        if line.startswith("[") or line.startswith("  ↳"):
            assert line in out
