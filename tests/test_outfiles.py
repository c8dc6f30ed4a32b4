"""Reports and drawings appear whole or not at all (a full disk leaves no truncated file)."""

from __future__ import annotations

import errno

from click.testing import CliRunner

from siptrace.views import outfiles
from siptrace.cli.commands import main

from conftest import SAMPLES

SAMPLE = str(SAMPLES / "um-ack-retarget-bye.fe.log")


def _disk_full(*_args):  # type: ignore[no-untyped-def]
    raise OSError(errno.ENOSPC, "No space left on device")


def test_report_to_a_full_disk_leaves_the_old_file_and_no_part_file(tmp_path, monkeypatch):
    out = tmp_path / "report.html"
    out.write_text("the report of yesterday")
    monkeypatch.setattr(outfiles.os, "fsync", _disk_full)
    result = CliRunner().invoke(main, ["report", SAMPLE, "-o", str(out), "--quiet"])
    assert result.exit_code == 2
    assert "No space left on device" in result.output
    assert out.read_text() == "the report of yesterday"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_report_written_whole_replaces_the_old_one(tmp_path):
    out = tmp_path / "report.json"
    out.write_text("old")
    result = CliRunner().invoke(main, ["report", SAMPLE, "-o", str(out), "--quiet"])
    assert result.exit_code in (0, 1), result.output
    assert out.read_text().lstrip().startswith("{")
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_ladder_image_to_a_full_disk_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "flow.png"
    monkeypatch.setattr(outfiles.os, "fsync", _disk_full)
    result = CliRunner().invoke(main, ["ladder", SAMPLE, "-o", str(out)])
    assert result.exit_code == 2
    assert not list(tmp_path.iterdir())
