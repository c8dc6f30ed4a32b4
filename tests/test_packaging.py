"""The wheel carries the grammars, and siptrace runs from outside the checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from conftest import ROOT
from records_text import ALL


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(ROOT)], check=True)
    (path,) = out.glob("siptrace-*.whl")
    return path


def test_wheel_contains_the_grammars_and_the_console_script(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for grammar in ("ocslogger.lark", "sip.lark", "sipvalues.lark"):
        assert f"siptrace/grammars/{grammar}" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "siptrace = siptrace.cli.commands:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_installed_package_parses_from_another_folder(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    trace = tmp_path / "t.log"
    trace.write_text(ALL)
    code = ("import siptrace, siptrace.model.grammar as g; "
            "print(g.grammar_dir().parent.parent == __import__('pathlib').Path(%r)); "
            "print(sum(1 for m in siptrace.read(%r) if isinstance(m, siptrace.SipMessage)))" % (str(site), str(trace)))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.split() == ["True", "1"]
