#!/usr/bin/env python3
"""Benchmark siptrace against a floor (grep) on generated server traces.

    python bench/run.py [--sizes 10MB,100MB] [--workdir /tmp/siptrace-bench] [--repeat N] [--json out.json]

For each size: generate the trace (cached in the workdir), then run every available tool on it
as a separate process, side by side, and print wall time, MB/s, messages/s and peak RSS.

Each measured command runs under a small wrapper process (``python -c``) that starts it, waits
for it and reads ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` (KiB on Linux); a fresh wrapper
per measurement, so the figure is that command's own. While it waits, the wrapper also sums VmRSS
over the command and its descendants every 20 ms, since a command with worker processes uses
the memory of all of them at once; peak RSS is the larger of the two. The wrapper times the
command itself, so Python start-up of the wrapper is not counted.

Tools are rows of TOOLS below: a name, the kind of input they read, an argv builder, an
availability check and an output parser. Add a row to benchmark another command.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GENERATOR = HERE / "generate.py"
sys.path.insert(0, str(HERE))
from generate import GENERATOR_VERSION, parse_size  # noqa: E402

MB = 1_000_000

# The wrapper: start the command, wait, report its wall time and resource usage.
# -I -S and os.posix_spawnp keep the wrapper small. On Linux the figure cannot be lower
# than the wrapper's own RSS at the moment it spawns the command (the kernel carries the
# pre-exec address space's high-water mark over into the child), so run.py measures that
# floor once (with `true`) and marks figures that sit on it.
WRAPPER = r"""
import os, sys, time, resource, select
res, argv = sys.argv[1], sys.argv[2:]

def tree_rss_kib(root):
    # VmRSS summed over the command and all its descendants (worker processes)
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                pending.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            pass
    return total

t0 = time.perf_counter()
try:
    pid = os.posix_spawnp(argv[0], argv, os.environ)
except OSError as e:
    open(res, "w").write("spawn-error %s\n" % e)
    raise SystemExit(127)
peak = 0
try:
    waiter = os.pidfd_open(pid)
except (AttributeError, OSError):
    waiter = None
while True:
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    peak = max(peak, tree_rss_kib(pid))
    if waiter is not None:
        select.select([waiter], [], [], 0.02)   # wakes at once when the command ends
    else:
        time.sleep(0.02)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
open(res, "w").write("%d %.6f %d %.6f %.6f %d\n" % (os.waitstatus_to_exitcode(st), wall, ru.ru_maxrss, ru.ru_utime, ru.ru_stime, peak))
"""


# --------------------------------------------------------------------------- context

@dataclass
class Input:
    kind: str            # "trace" (text server trace); later e.g. "pcap"
    path: Path
    size: int            # bytes
    meta: dict           # what the generator says is inside (records, sip, ...)


@dataclass
class Context:
    workdir: Path
    siptrace: list[str] | None = None       # how to start siptrace, if it can be started
    siptrace_env: dict[str, str] | None = None
    siptrace_why: str = ""                  # how it is started, or why it cannot be
    siptrace_checked: bool = False
    notes: list[str] = field(default_factory=list)


@dataclass
class Tool:
    name: str
    input_kind: str
    argv: Callable[[Context, Input], list[str]]
    available: Callable[[Context], str | None]       # None if it can run, else why not (one line)
    parse: Callable[[str, Input], dict] = lambda out, inp: {}   # stdout -> {"messages": n, ...}
    env: Callable[[Context], dict[str, str] | None] = lambda ctx: None
    floor: bool = False                                 # the reference for the time ratio
    ok_rc: tuple[int, ...] = (0,)                       # exit codes that mean "ran fine"


# --------------------------------------------------------------------------- tools

def _which_tool(name: str, install: str = "") -> Callable[[Context], str | None]:
    how = f" (install: {install})" if install else ""
    return lambda ctx: None if shutil.which(name) else f"{name} not found on PATH{how}"


def parse_grep(out: str, inp: Input) -> dict:
    n = int(out.strip() or 0)
    return {"begin_markers": n}


def _find_sip(doc) -> dict:
    """Pick the counters from `siptrace stats --format json` (top level, or a total, or summed inputs)."""
    keys = ("records", "sip", "diagnostic", "other", "skipped", "errors")
    if isinstance(doc, dict) and "sip" in doc:
        return {k: doc.get(k) for k in keys if k in doc}
    if isinstance(doc, dict) and isinstance(doc.get("total"), dict) and "sip" in doc["total"]:
        return {k: doc["total"].get(k) for k in keys if k in doc["total"]}
    if isinstance(doc, dict) and isinstance(doc.get("inputs"), list):
        acc: dict = {}
        for s in doc["inputs"]:
            for k in keys:
                if isinstance(s.get(k), int):
                    acc[k] = acc.get(k, 0) + s[k]
        if "sip" in acc:
            return acc
    raise ValueError("no 'sip' count in siptrace's JSON")


def parse_siptrace_stats(out: str, inp: Input) -> dict:
    got = _find_sip(json.loads(out))
    got["messages"] = got["sip"]
    return got


def parse_siptrace_diagnose(out: str, inp: Input) -> dict:
    doc = json.loads(out)
    sip = sum(i["sip"] for i in doc["inputs"])
    return {"sip": sip, "messages": sip, "errors": sum(i["errors"] for i in doc["inputs"]),
            "findings": len(doc["findings"])}


def find_siptrace(ctx: Context) -> str | None:
    """Find a way to start siptrace: console script (next to this Python, then PATH), else -m."""
    candidates: list[tuple[list[str], dict[str, str] | None, str]] = []
    here_bin = Path(sys.executable).parent / "siptrace"
    if here_bin.is_file() and os.access(here_bin, os.X_OK):
        candidates.append(([str(here_bin)], None, str(here_bin)))
    on_path = shutil.which("siptrace")
    if on_path and on_path != str(here_bin):
        candidates.append(([on_path], None, on_path))
    if importlib.util.find_spec("siptrace") is not None:
        candidates.append(([sys.executable, "-m", "siptrace"], None, f"{sys.executable} -m siptrace"))
    elif (REPO / "siptrace" / "__main__.py").is_file():
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        candidates.append(([sys.executable, "-m", "siptrace"], env,
                           f"{sys.executable} -m siptrace (PYTHONPATH={REPO})"))
    if not candidates:
        return "siptrace is not installed (no console script, no importable package)"
    why = ""
    for argv, env, label in candidates:
        try:
            p = subprocess.run(argv + ["stats", "--help"], env=env, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            why = f"{label}: {e}"
            continue
        if p.returncode == 0:
            ctx.siptrace, ctx.siptrace_env, ctx.siptrace_why = argv, env, label
            return None
        last = (p.stderr.strip().splitlines() or p.stdout.strip().splitlines() or ["exit %d" % p.returncode])[-1]
        why = f"{label} does not start: {last}"
    return why


def siptrace_available(ctx: Context) -> str | None:
    if not ctx.siptrace_checked:
        ctx.siptrace_checked = True
        why = find_siptrace(ctx)
        if why:
            ctx.siptrace_why = why
    return None if ctx.siptrace is not None else ctx.siptrace_why


TOOLS: list[Tool] = [
    Tool(name="grep-floor",            # the floor: `grep -c '$$begin_record' FILE`
         input_kind="trace",
         # '$$begin_record' is passed as one literal argv item: no shell, no $ expansion.
         argv=lambda ctx, inp: ["grep", "-c", "$$begin_record", str(inp.path)],
         available=_which_tool("grep"),
         parse=parse_grep,
         floor=True),
    Tool(name="siptrace-stats",
         input_kind="trace",
         argv=lambda ctx, inp: ctx.siptrace + ["stats", str(inp.path), "--format", "json"],
         available=siptrace_available,
         parse=parse_siptrace_stats,
         env=lambda ctx: ctx.siptrace_env),
    Tool(name="siptrace-diagnose",
         input_kind="trace",
         argv=lambda ctx, inp: ctx.siptrace + ["diagnose", str(inp.path), "--format", "json", "--quiet"],
         available=siptrace_available,
         parse=parse_siptrace_diagnose,
         env=lambda ctx: ctx.siptrace_env,
         ok_rc=(0, 1)),            # 1 = findings at or above --fail-on: a normal outcome here
    Tool(name="siptrace-report",       # the HTML report: findings, the worst calls' ladders, charts
         input_kind="trace",
         argv=lambda ctx, inp: ctx.siptrace + ["report", str(inp.path), "-q", "-o",
                                               str(ctx.workdir / (inp.path.stem + ".report.html"))],
         available=siptrace_available,
         parse=lambda out, inp: {},
         env=lambda ctx: ctx.siptrace_env),
    Tool(name="siptrace-load",         # the notebook API: siptrace.load(), the whole trace in memory
         input_kind="trace",
         argv=lambda ctx, inp: [sys.executable, "-W", "ignore", "-c",
                                "import sys, siptrace; t = siptrace.load(sys.argv[1]); "
                                "print(t.size['messages'], t.size['sightings'])", str(inp.path)],
         available=siptrace_available,
         parse=lambda out, inp: {"messages": int(out.split()[1])} if out.strip() else {},
         env=lambda ctx: ctx.siptrace_env),
    # The same messages as a pcap, read by the tools an administrator would pick
    # instead (install: Debian's `tshark`, PyPI's `sip-doctor`).
    Tool(name="tshark",
         input_kind="pcap",
         argv=lambda ctx, inp: ["tshark", "-r", str(inp.path), "-Y", "sip", "-T", "fields", "-e", "sip.Call-ID"],
         available=_which_tool("tshark", "apt install tshark"),
         parse=lambda out, inp: {"messages": sum(1 for line in out.splitlines() if line.strip())}),
    Tool(name="sip-doctor",
         input_kind="pcap",
         argv=lambda ctx, inp: ["sip-doctor", str(inp.path), "--no-flow", "--no-rtp", "--json"],
         available=_which_tool("sip-doctor", "pip install sip-doctor"),
         parse=lambda out, inp: {},
         ok_rc=(0, 1, 2)),
]


# --------------------------------------------------------------------------- inputs

def build_trace(ctx: Context, size_arg: str, seed: int) -> Input:
    target = parse_size(size_arg)
    path = ctx.workdir / f"trace-{size_arg}-seed{seed}.log"
    meta_path = path.with_name(path.name + ".meta.json")
    meta = None
    if path.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
            if (meta.get("generator_version") != GENERATOR_VERSION or meta.get("bytes") != path.stat().st_size
                    or meta.get("seed") != seed):
                meta = None
        except (OSError, ValueError):
            meta = None
    if meta is None:
        print(f"generating {path.name} ({target / MB:g} MB, seed {seed}) ...", flush=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, str(GENERATOR), "--size", size_arg, "--seed", str(seed),
                        "-o", str(path), "--meta", str(meta_path), "-q"], check=True)
        dt = time.perf_counter() - t0
        meta = json.loads(meta_path.read_text())
        print(f"  {meta['bytes'] / MB:.1f} MB, {meta['records']} records, {meta['sip']} SIP messages "
              f"in {dt:.1f} s ({meta['bytes'] / MB / dt:.0f} MB/s)", flush=True)
    else:
        print(f"using cached {path.name}", flush=True)
    return Input("trace", path, path.stat().st_size, meta)


def build_pcap(ctx: Context, size_arg: str, seed: int) -> Input:
    """The same SIP messages as the trace of this size, as a pcap (bench/topcap.py)."""
    trace = build_trace(ctx, size_arg, seed)
    path = trace.path.with_suffix(".pcap")
    if not path.is_file() or path.stat().st_mtime < trace.path.stat().st_mtime:
        print(f"converting {trace.path.name} to {path.name} ...", flush=True)
        subprocess.run([sys.executable, str(REPO / "bench" / "topcap.py"), str(trace.path), str(path)],
                       check=True, env=ctx.siptrace_env)
    return Input(kind="pcap", path=path, size=path.stat().st_size, meta=trace.meta)


INPUT_BUILDERS: dict[str, Callable[[Context, str, int], Input]] = {"trace": build_trace, "pcap": build_pcap}


def warm(path: Path) -> None:
    """Read the file once so every tool sees it in the page cache (warm-cache figures)."""
    with open(path, "rb", buffering=0) as f:
        while f.read(8 << 20):
            pass


# --------------------------------------------------------------------------- measuring

def measure(argv: list[str], env: dict[str, str] | None, workdir: Path, timeout: float) -> dict:
    fd, res = tempfile.mkstemp(prefix="m-", suffix=".res", dir=workdir)
    os.close(fd)
    out_path = Path(res).with_suffix(".out")
    err_path = Path(res).with_suffix(".err")
    try:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen([sys.executable, "-I", "-S", "-c", WRAPPER, res] + argv, stdout=out, stderr=err,
                                 stdin=subprocess.DEVNULL, env=env, start_new_session=True)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)   # the wrapper's own session: it and the command
                p.wait()
                return {"ok": False, "error": f"timed out after {timeout:g} s"}
        line = Path(res).read_text().split()
        if not line or line[0] == "spawn-error":
            return {"ok": False, "error": " ".join(line) or "wrapper failed (exit %d)" % p.returncode}
        rc, wall, rss_kib, ut, st = int(line[0]), float(line[1]), int(line[2]), float(line[3]), float(line[4])
        tree_kib = int(line[5]) if len(line) > 5 else 0
        # the larger of: the biggest single process (exact), the summed tree (sampled every 20 ms)
        r = {"ok": True, "rc": rc, "wall_s": wall, "rss_kib": max(rss_kib, tree_kib), "user_s": ut, "sys_s": st,
             "max_process_rss_kib": rss_kib, "tree_rss_kib": tree_kib,
             "stdout": out_path.read_text(errors="replace"), "stderr": err_path.read_text(errors="replace")}
        return r
    finally:
        for q in (Path(res), out_path, err_path):
            try:
                q.unlink()
            except OSError:
                pass


def wrapper_floor_kib(workdir: Path) -> int:
    r = measure(["true"], None, workdir, 60)
    return r.get("rss_kib", 0)


# --------------------------------------------------------------------------- report

def machine_info() -> dict:
    model = ""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8", errors="replace"):
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        nproc = len(os.sched_getaffinity(0))
    except AttributeError:
        nproc = os.cpu_count() or 0
    mem = ""
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal:"):
                mem = "%.1f GB" % (int(line.split()[1]) * 1024 / 1e9)
                break
    except OSError:
        pass
    grep_v = ""
    if shutil.which("grep"):
        try:
            grep_v = subprocess.run(["grep", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        except (OSError, IndexError):
            pass
    return {"nproc": nproc, "cpu": model or platform.processor() or platform.machine(), "memory": mem,
            "python": platform.python_version(), "python_executable": sys.executable,
            "platform": platform.platform(), "grep": grep_v}


def fmt_rate(x: float | None) -> str:
    if x is None:
        return "-"
    if x >= 1e6:
        return "%.2fM" % (x / 1e6)
    if x >= 1e3:
        return "%.1fk" % (x / 1e3)
    return "%.0f" % x


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10MB,100MB", help="comma-separated sizes (default %(default)s)")
    ap.add_argument("--workdir", default="/tmp/siptrace-bench", help="where traces are cached (default %(default)s)")
    ap.add_argument("--seed", type=int, default=1, help="generator seed (default %(default)s)")
    ap.add_argument("--repeat", type=int, help="runs per command, best wall time kept "
                                               "(default 3 below 100MB, 1 from 100MB)")
    ap.add_argument("--tools", help="comma-separated tool names to run (default: all available); "
                                    "names: " + ", ".join(t.name for t in TOOLS))
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per command (default %(default)s)")
    ap.add_argument("--json", dest="json_out", help="also write all figures to this JSON file")
    args = ap.parse_args(argv)

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    try:
        for s in sizes:
            parse_size(s)
    except ValueError as e:
        ap.error(str(e))
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ctx = Context(workdir=workdir)

    tools = TOOLS
    if args.tools:
        wanted = [w.strip() for w in args.tools.split(",") if w.strip()]
        unknown = [w for w in wanted if w not in {t.name for t in TOOLS}]
        if unknown:
            ap.error("unknown tool(s): %s (known: %s)" % (", ".join(unknown), ", ".join(t.name for t in TOOLS)))
        tools = [t for t in TOOLS if t.name in wanted]

    info = machine_info()
    print("machine: %s, nproc %d, %s RAM; Python %s (%s); %s" % (
        info["cpu"], info["nproc"], info["memory"] or "?", info["python"], info["platform"], info["grep"]))

    runnable: list[Tool] = []
    skipped: dict[str, str] = {}
    for t in tools:
        why = t.available(ctx)
        if why is None and t.input_kind not in INPUT_BUILDERS:
            why = f"no builder for input kind {t.input_kind!r}"
        if why is None:
            runnable.append(t)
        else:
            skipped[t.name] = why
            print(f"{t.name}: not run: {why}")
    if ctx.siptrace:
        print(f"siptrace: {ctx.siptrace_why}")
    if not runnable:
        print("nothing to run")
        return 1

    floor_kib = wrapper_floor_kib(workdir)
    print("RSS floor of the measuring wrapper: %.1f MB (figures at this level mean 'at most this')"
          % (floor_kib * 1024 / MB))

    rows: list[dict] = []
    for size_arg in sizes:
        inputs: dict[str, Input] = {}
        for kind in sorted({t.input_kind for t in runnable}):
            inputs[kind] = INPUT_BUILDERS[kind](ctx, size_arg, args.seed)
        n = args.repeat or (1 if parse_size(size_arg) >= 100 * MB else 3)
        for inp in inputs.values():
            warm(inp.path)
        runs: dict[str, list[dict]] = {t.name: [] for t in runnable}
        for _ in range(n):                       # interleave tools so drift hits all alike
            for t in runnable:
                inp = inputs[t.input_kind]
                r = measure(t.argv(ctx, inp), t.env(ctx), workdir, args.timeout)
                runs[t.name].append(r)
        for t in runnable:
            inp = inputs[t.input_kind]
            rs = runs[t.name]
            good = [r for r in rs if r.get("ok") and r["rc"] in t.ok_rc]
            row = {"size": size_arg, "bytes": inp.size, "tool": t.name, "floor": t.floor, "runs": len(rs),
                   "input": str(inp.path)}
            if not good:
                bad = rs[-1]
                msg = bad.get("error") or "exit %d: %s" % (bad["rc"], (bad["stderr"].strip().splitlines()
                                                                       or ["(no stderr)"])[-1][:200])
                row.update({"ok": False, "error": msg})
                print(f"{size_arg} {t.name}: failed: {msg}")
                rows.append(row)
                continue
            best = min(good, key=lambda r: r["wall_s"])
            try:
                parsed = t.parse(best["stdout"], inp)
            except (ValueError, KeyError, TypeError) as e:
                parsed = {"parse_error": str(e)}
                print(f"{size_arg} {t.name}: could not read its output: {e}")
            msgs = parsed.get("messages")
            msgs_src = "tool"
            if msgs is None:
                msgs, msgs_src = inp.meta.get("sip"), "generator"
            rss_kib = max(r["rss_kib"] for r in good)
            row.update({
                "ok": True, "wall_s": best["wall_s"], "user_s": best["user_s"], "sys_s": best["sys_s"],
                "all_wall_s": [r["wall_s"] for r in good],
                "mb_per_s": inp.size / MB / best["wall_s"] if best["wall_s"] > 0 else None,
                "messages": msgs, "messages_from": msgs_src,
                "msgs_per_s": msgs / best["wall_s"] if msgs is not None and best["wall_s"] > 0 else None,
                "peak_rss_mb": rss_kib * 1024 / MB, "rss_at_wrapper_floor": rss_kib <= floor_kib * 1.05,
                "output": parsed,
            })
            # Cross-checks against what the generator wrote.
            if "begin_markers" in parsed and parsed["begin_markers"] != inp.meta.get("records_with_begin_marker"):
                ctx.notes.append(f"{size_arg}: grep counted {parsed['begin_markers']} begin markers, the generator "
                                 f"wrote {inp.meta.get('records_with_begin_marker')}")
            if msgs_src == "tool" and msgs != inp.meta.get("sip"):
                ctx.notes.append(f"{size_arg}: {t.name} reports {msgs} SIP messages, the generator wrote "
                                 f"{inp.meta.get('sip')}")
            if parsed.get("errors"):
                ctx.notes.append(f"{size_arg}: {t.name} reports errors={parsed['errors']}")
            rows.append(row)

    # ratios
    floor_by_size = {r["size"]: r for r in rows if r.get("ok") and r["floor"]}
    for r in rows:
        f = floor_by_size.get(r["size"])
        r["time_vs_floor"] = (r["wall_s"] / f["wall_s"]) if r.get("ok") and f and f["wall_s"] > 0 else None

    hdr = ("size", "tool", "wall s", "MB/s", "msgs/s", "peak RSS MB", "x floor")
    table = []
    for r in rows:
        if not r.get("ok"):
            table.append((r["size"], r["tool"], "failed", "", "", "", ""))
            continue
        table.append((r["size"], r["tool"], "%.3f" % r["wall_s"], "%.1f" % r["mb_per_s"], fmt_rate(r["msgs_per_s"]),
                      ("%.1f" % r["peak_rss_mb"]) + ("*" if r["rss_at_wrapper_floor"] else ""),
                      "-" if r["floor"] else ("%.1f" % r["time_vs_floor"] if r["time_vs_floor"] else "-")))
    widths = [max(len(str(x[i])) for x in table + [hdr]) for i in range(len(hdr))]
    print()
    print("  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(hdr, widths))))
    print("  ".join("-" * w for w in widths))
    for line in table:
        print("  ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w) for i, (c, w) in enumerate(zip(line, widths))))
    if any(r.get("rss_at_wrapper_floor") for r in rows if r.get("ok")):
        print("* at the wrapper's RSS floor (%.1f MB): the command's own peak is at most this." % (floor_kib * 1024 / MB))

    growth = []
    ok_rows = [r for r in rows if r.get("ok")]
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        for t in runnable:
            a = next((r for r in ok_rows if r["tool"] == t.name and r["size"] == small), None)
            b = next((r for r in ok_rows if r["tool"] == t.name and r["size"] == big), None)
            if a and b and a["peak_rss_mb"] > 0:
                g = {"tool": t.name, "from": small, "to": big, "size_ratio": b["bytes"] / a["bytes"],
                     "rss_ratio": b["peak_rss_mb"] / a["peak_rss_mb"]}
                growth.append(g)
        if growth:
            print()
            for g in growth:
                print("RSS %s / RSS %s for %s: %.2fx (input %.1fx larger)" % (
                    g["to"], g["from"], g["tool"], g["rss_ratio"], g["size_ratio"]))
    for r in ok_rows:
        if not r["floor"] and r["time_vs_floor"]:
            print("time %s / floor at %s: %.1fx" % (r["tool"], r["size"], r["time_vs_floor"]))
    head_to_head = []
    for size in sizes:
        mine = next((r for r in ok_rows if r["tool"] == "siptrace-diagnose" and r["size"] == size), None)
        for other in ("tshark", "sip-doctor"):
            theirs = next((r for r in ok_rows if r["tool"] == other and r["size"] == size), None)
            if mine and theirs and mine["msgs_per_s"] and theirs["msgs_per_s"]:
                h = {"size": size, "other": other, "speed": mine["msgs_per_s"] / theirs["msgs_per_s"],
                     "time": theirs["wall_s"] / mine["wall_s"]}
                head_to_head.append(h)
                print("siptrace-diagnose / %s at %s: %.2fx the messages per second (wall time %.2fx as short)"
                      % (other, size, h["speed"], h["time"]))
    if ctx.notes:
        print()
        for n_ in ctx.notes:
            print("note: " + n_)

    if args.json_out:
        doc = {"machine": info, "wrapper_rss_floor_mb": floor_kib * 1024 / MB, "seed": args.seed,
               "sizes": sizes, "skipped_tools": skipped,
               "siptrace_command": ctx.siptrace_why if ctx.siptrace else None,
               "rows": [{k: v for k, v in r.items()} for r in rows], "rss_growth": growth,
               "diagnose_vs": head_to_head, "notes": ctx.notes,
               "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        print(f"\nfigures written to {args.json_out}")
    return 0 if all(r.get("ok") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
