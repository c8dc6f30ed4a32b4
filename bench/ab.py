#!/usr/bin/env python3
"""Two checkouts of siptrace, the same command, runs taking turns: medians and their ratio.

    python bench/ab.py OLD_CHECKOUT NEW_CHECKOUT --runs 5 -- diagnose -j 1 --format json /tmp/t12.log

On a shared machine one checkout's runs cannot all fall in a quiet or a busy
minute: the two alternate (A B A B ...), and each figure is a median.  Each run
is ``python -m siptrace ARGS`` started in the checkout itself (``python -m``
puts the current directory first on ``sys.path``) with it on ``PYTHONPATH``;
its output is thrown away.  Printed per checkout: user CPU, wall time and peak
RSS (medians, with the lowest and highest), then NEW / OLD for each.
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
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--runs", type=int, default=5)
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    ns = ap.parse_args(argv[:cut])
    args = argv[cut + 1:]
    if not args:
        ap.error("no siptrace arguments after --")
    trees = {"old": os.path.abspath(ns.old), "new": os.path.abspath(ns.new)}
    got: dict[str, list[tuple[float, float, int]]] = {"old": [], "new": []}
    for _ in range(ns.runs):
        for name, tree in trees.items():
            got[name].append(run_once(tree, args))
    med = {}
    for name in trees:
        cols = list(zip(*got[name]))
        med[name] = [statistics.median(c) for c in cols]
        user, wall, rss = cols
        print(f"{name}: user {med[name][0]:.2f} s [{min(user):.2f}-{max(user):.2f}]  "
              f"wall {med[name][1]:.2f} s [{min(wall):.2f}-{max(wall):.2f}]  "
              f"peak RSS {med[name][2] / 1024:.0f} MB  ({trees[name]})")
    print("new/old: user {:.3f}  wall {:.3f}  rss {:.3f}".format(
        *(med["new"][i] / med["old"][i] for i in range(3))))


if __name__ == "__main__":
    main()
