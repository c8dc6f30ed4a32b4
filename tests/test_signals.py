"""A run stopped by a signal ends with the shell's code for it, and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def big_trace(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("signals") / "fe.log"
    subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--size", "40MB", "--seed", "3",
                    "-o", str(path), "-q"], check=True)
    return path


def _start(args: list[str], tmp: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, TMPDIR=str(tmp))
    return subprocess.Popen([sys.executable, "-m", "siptrace", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_spill(tmp: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not any(p.name.startswith("siptrace-findings-") for p in tmp.iterdir()):
        assert proc.poll() is None, "the run ended before it could be stopped"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_signal_stops_workers_removes_the_spill_and_exits_with_its_code(big_trace, tmp_path, signum, code):
    proc = _start(["diagnose", "-j", "2", "--quiet", str(big_trace)], tmp_path)
    _wait_for_spill(tmp_path, proc)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not list(tmp_path.iterdir()), "the findings spill was left behind"


def test_signal_while_waiting_on_a_pipe_exits_with_its_code(tmp_path):
    fifo = tmp_path / "feed"
    os.mkfifo(fifo)
    (tmp_path / "tmp").mkdir()
    proc = _start(["diagnose", str(fifo)], tmp_path / "tmp")
    with open(fifo, "wb") as pipe:          # the run blocks reading: nothing more comes
        pipe.write(b"TL_INFO(TF_PROTOCOL) [0]0A1C.1B44::11/03/2026-09:13:58.402.0000000a (SIPStack,SIPAdminLog::"
                   b"TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record\r\n")
        pipe.flush()
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert err.strip() == "siptrace: stopped by SIGTERM"


def test_a_worker_ended_by_its_parent_exits_quietly_not_with_a_traceback():
    code = ("import multiprocessing as mp, os, signal, sys, time\n"
            "from siptrace.cli import commands as cli\n"
            "cli._catch_signals()\n"
            "def work(): time.sleep(30)\n"
            "proc = mp.get_context('fork').Process(target=work); proc.start()\n"
            "time.sleep(0.5); proc.terminate(); proc.join(10)\n"
            "print(proc.exitcode)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == str(-signal.SIGTERM)
    assert out.stderr == ""
