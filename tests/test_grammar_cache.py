"""The analysed grammars are kept in the user's cache folder, and a bad cache costs nothing."""

from __future__ import annotations

import os
import subprocess
import sys

from siptrace.model.grammar import cache_file

from conftest import sample

RUN = [sys.executable, "-m", "siptrace", "stats", "--format", "json"]


def _run(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(RUN + [str(sample("um-ack-retarget-bye.fe.log"))], capture_output=True, text=True,
                          env={**os.environ, **env})


def test_the_cache_goes_in_the_users_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("SIPTRACE_NO_CACHE", raising=False)
    path = cache_file("ocslogger.lark", "record")
    assert path is not None and path.startswith(str(tmp_path / "siptrace"))
    assert cache_file("ocslogger.lark", "record") == path != cache_file("ocslogger.lark", ["other"])
    assert oct((tmp_path / "siptrace").stat().st_mode & 0o777) == oct(0o700)
    monkeypatch.setenv("SIPTRACE_NO_CACHE", "1")
    assert cache_file("ocslogger.lark", "record") is None


def test_no_writable_cache_folder_means_no_cache(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    monkeypatch.delenv("SIPTRACE_NO_CACHE", raising=False)
    assert cache_file("ocslogger.lark", "record") is None


def test_a_run_writes_the_cache_and_a_damaged_one_is_rebuilt(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path), "SIPTRACE_NO_CACHE": ""}
    first = _run(env)
    assert first.returncode == 0, first.stderr
    files = sorted((tmp_path / "siptrace").iterdir())
    assert files and all(f.stat().st_size > 1000 for f in files)
    assert _run(env).stdout == first.stdout
    for f in files:
        f.write_bytes(f.read_bytes()[:200] + b"\x00garbage")
    damaged = _run(env)
    assert damaged.returncode == 0 and damaged.stdout == first.stdout and damaged.stderr == ""
