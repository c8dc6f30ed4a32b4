#!/usr/bin/env python3
"""Checkouts of siptrace, the same command, runs taking turns: medians and their ratios.

    python bench/ab.py OLD_CHECKOUT NEW_CHECKOUT [MORE ...] --runs 5 -- diagnose -j 1 --format json /tmp/t12.log

On a shared machine one checkout's runs cannot all fall in a quiet or a busy
minute: they take turns (A B A B ...), and each figure is a median.  Each run
is ``python -m siptrace ARGS`` started in the checkout itself (``python -m``
puts the current directory first on ``sys.path``) with it on ``PYTHONPATH``;
its output is thrown away.  Printed per checkout: user CPU, wall time and peak
RSS (medians, with the lowest and highest), then each one's ratio to the first.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def run_once(tree: str, args: list[str]) -> tuple[float, float, int]:
    """(user CPU s of the command and its workers, wall s, peak RSS of the largest process in KiB)."""
    env = dict(os.environ, PYTHONPATH=tree)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "siptrace", *args], cwd=tree, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):       # 1: findings at error level
        raise SystemExit(f"{tree}: exit {proc.returncode}")
    return usage.ru_utime, wall, usage.ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="+", metavar="CHECKOUT")
    ap.add_argument("--runs", type=int, default=5)
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    ns = ap.parse_args(argv[:cut])
    args = argv[cut + 1:]
    if not args or len(ns.trees) < 2:
        ap.error("two checkouts or more, then -- and the siptrace arguments")
    trees = [os.path.abspath(t) for t in ns.trees]
    got: list[list[tuple[float, float, int]]] = [[] for _ in trees]
    for _ in range(ns.runs):
        for n, tree in enumerate(trees):
            got[n].append(run_once(tree, args))
    med = []
    for n, tree in enumerate(trees):
        user, wall, rss = zip(*got[n])
        med.append([statistics.median(user), statistics.median(wall), statistics.median(rss)])
        print(f"{tree}: user {med[n][0]:.2f} s [{min(user):.2f}-{max(user):.2f}]  "
              f"wall {med[n][1]:.2f} s [{min(wall):.2f}-{max(wall):.2f}]  peak RSS {med[n][2] / 1024:.0f} MB")
    for n in range(1, len(trees)):
        print("{} / {}: user {:.3f}  wall {:.3f}  rss {:.3f}".format(
            trees[n], trees[0], *(med[n][i] / med[0][i] for i in range(3))))


if __name__ == "__main__":
    main()
