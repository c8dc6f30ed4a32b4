"""Every entry point gives the same findings and counts for the same input.

``diagnose`` in one process (streamed, calls judged once quiet), ``diagnose``
with two worker processes, ``report -o x.json`` and ``siptrace.load()`` (the
whole trace in memory) must agree on every sample, on real captures, and on
long calls whose messages are minutes apart.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import siptrace
from siptrace.model.context import Context
from siptrace.run.job import Job
from siptrace.run.parallel import diagnose_parallel
from siptrace.run.clock import SteadyClock, steady_end
from siptrace.run.stream import run_streamed
from siptrace.views.report import build_report, write_report

from conftest import ROOT, SAMPLES
from flows import dialog_headers, record
from rules.call_flows import CID, bye, connected, refresh

PCAPS = ROOT.parent / "shared" / "formats" / "pcap"
UM = ("um-ack-retarget-bye.fe.log", "um-ack-retarget-bye.edge.log")
CASES = [[p.name] for p in sorted(SAMPLES.iterdir()) if p.suffix in (".log", ".UccApilog", ".txt")] + [
    list(UM), ["um-ack-retarget-bye.client.UccApilog", *UM],
    ["forked-call.fe.log", "session-refresh-481.mediation.log", "partial-mid-call.fe.log"],
]


def _keepalives(until: float) -> str:
    """Other traffic every 5 minutes (OPTIONS pings, each its own call): trace time moves on."""
    return "".join(record(t, "OPTIONS sip:sbc01.contoso.com SIP/2.0", dialog_headers(f"ping-{int(t)}", "1 OPTIONS", "p1"))
                   for t in range(150, int(until), 300))


def _in_time_order(text: str) -> str:
    """The records of ``text`` sorted by their time stamp, as a server writes them."""
    records = ["TL_" + r for r in text.split("TL_") if r]
    return "".join(sorted(records, key=lambda r: r.split("::", 1)[1][:23]))


def _long_call_refreshed_every_15_minutes() -> str:
    refreshes = "".join(refresh(2.0 + 900.0 * k, 1 + k, "200 OK") for k in range(1, 8))
    return _in_time_order(connected() + refreshes + bye(7202.0, 9) + _keepalives(7300))


def _long_call_dropped_after_481_at_30_minutes() -> str:
    return _in_time_order(
        connected() + refresh(902.0, 2, "200 OK") + refresh(1802.0, 3, "481 Call Leg/Transaction Does Not Exist")
        + bye(1802.2, 4, reason='SIP;cause=481;text="Call Leg/Transaction Does Not Exist"') + _keepalives(2400))


def _findings(doc_findings: list[dict]) -> list[str]:
    return sorted(json.dumps(f, sort_keys=True) for f in doc_findings)


def _counts(doc: dict) -> tuple:
    return doc["messages"], doc["sightings"], doc["dialogs"], doc["calls"]


def _every_entry_point(paths: list[str], tmp_path: Path) -> dict[str, tuple[tuple, list[str]]]:
    ctx = Context()
    out = {}
    doc = run_streamed(Job.of(paths, context=ctx)).as_dict()
    out["streamed"] = (_counts(doc), _findings(doc["findings"]))
    for jobs in (1, 2):
        doc = diagnose_parallel(paths, ctx, jobs=jobs).as_dict()
        out[f"diagnose -j {jobs}"] = (_counts(doc), _findings(doc["findings"]))
    report = tmp_path / "x.json"
    write_report(build_report(paths, ctx, images=False), report)
    doc = json.loads(report.read_text())
    out["report"] = (_counts(doc), _findings(doc["findings"]))
    trace = siptrace.load(paths)
    size = trace.size
    out["load"] = ((size["messages"], size["sightings"], size["dialogs"], size["calls"]),
                   _findings([f.as_dict() for f in trace.findings_list]))
    return out


def _assert_same(results: dict[str, tuple[tuple, list[str]]]) -> None:
    reference = results["load"]
    for name, result in results.items():
        assert result[0] == reference[0], f"{name}: counts (messages, sightings, dialogs, calls) differ from load()"
        assert result[1] == reference[1], f"{name}: findings differ from load()"


@pytest.mark.parametrize("names", CASES, ids=lambda n: "+".join(n))
def test_every_entry_point_agrees_on_the_samples(names, tmp_path):
    _assert_same(_every_entry_point([str(SAMPLES / n) for n in names], tmp_path))


@pytest.mark.parametrize("name", ["heplify_sip_ipv4_tcp_fragmented.pcap", "heplify_sip_ipv4_tcp.pcap",
                                  "heplify_sip_ipv6_udp.pcap"])
def test_every_entry_point_agrees_on_real_captures(name, tmp_path):
    path = PCAPS / name
    if not path.is_file():
        pytest.skip(f"real capture {name} not available (../shared/formats/pcap absent)")
    _assert_same(_every_entry_point([str(path)], tmp_path))


def test_a_call_refreshed_every_15_minutes_for_two_hours_is_one_healthy_call(write, tmp_path):
    path = write("long.log", _long_call_refreshed_every_15_minutes())
    results = _every_entry_point([str(path)], tmp_path)
    _assert_same(results)
    counts, findings = results["load"]
    assert counts[2] == counts[3]    # one dialog per call: each ping, and the long call once, not in parts
    assert findings == []


def test_a_call_dropped_after_a_481_at_30_minutes_is_found_by_every_entry_point(write, tmp_path):
    path = write("drop.log", _long_call_dropped_after_481_at_30_minutes())
    results = _every_entry_point([str(path)], tmp_path)
    _assert_same(results)
    found = [json.loads(f) for f in results["load"][1]]
    (finding,) = [f for f in found if f["caused_by"] is None]       # the Reason on the BYE is its symptom
    assert all(f["caused_by"] == finding["id"] for f in found if f is not finding)
    assert finding["rule"] == "mid-call-failure" and finding["call_id"] == CID
    assert finding["facts"]["since_answer_s"] == 1800.0 and finding["facts"]["status"] == 481


# -- time stamps that go backwards or jump ----------------------------------------------------------

_STAMP = re.compile(r"::(\d\d)/(\d\d)/(\d{4})-(\d\d):(\d\d):(\d\d)\.(\d{3})")


def _shifted(text: str, shift) -> str:  # type: ignore[no-untyped-def]
    """Each record's time stamp moved by ``shift(n)`` (the n-th record), written as the server writes it."""
    count = iter(range(1_000_000))

    def one(m: re.Match[str]) -> str:
        when = datetime(int(m[3]), int(m[1]), int(m[2]), int(m[4]), int(m[5]), int(m[6]), int(m[7]) * 1000)
        when += shift(next(count))
        return f"::{when:%m/%d/%Y-%H:%M:%S}.{when.microsecond // 1000:03d}"

    return _STAMP.sub(one, text)


def _um_pair(tmp_path: Path, shift) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for name in UM:
        path = tmp_path / name
        path.write_text(_shifted((SAMPLES / name).read_text(encoding="utf-8"), shift), encoding="utf-8")
        out.append(str(path))
    return out


@pytest.mark.parametrize("what, shift", [
    # the 12th and 16th records of each file fall between the INVITE's 200 OK and the BYE
    ("a record a year ahead (a flipped digit)", lambda n: timedelta(days=365) if n == 12 else timedelta(0)),
    ("a record a year behind", lambda n: timedelta(days=-365) if n == 16 else timedelta(0)),
    ("a record written ten minutes late", lambda n: timedelta(minutes=-10) if n == 12 else timedelta(0)),
    ("a clock stepped an hour ahead from the 12th record on",
     lambda n: timedelta(hours=1) if n >= 12 else timedelta(0)),
])
def test_time_stamps_out_of_order_do_not_split_calls_or_add_findings(tmp_path, what, shift):
    _assert_same(_every_entry_point(_um_pair(tmp_path, shift), tmp_path))


def test_the_steady_clock_moves_with_most_records_not_with_a_few():
    t0 = datetime(2026, 11, 3, 9, 0, 0)
    clock = SteadyClock(64.0)
    s = timedelta(seconds=1)
    assert clock.see(t0) == t0
    assert clock.see(t0 + timedelta(days=365)) == t0              # one record far ahead: an outlier
    for n in range(1, 8):
        clock.see(t0 + n * s)
    assert clock.now == t0 + 4 * s                                 # the median of the last nine
    clock.see(t0 + 45 * s)                                         # two outliers in a row, one within
    clock.see(t0 + 100 * s)                                        # a quiet window of the other
    assert clock.now <= t0 + 8 * s
    assert clock.see(t0 - 30 * s) <= t0 + 8 * s                    # a little behind: never backwards
    gap = t0 + timedelta(hours=2)
    for n in range(6):
        clock.see(gap + n * s)
    assert gap <= clock.now <= gap + 5 * s and not clock.stepped_back      # most agree: a gap in the trace
    for n in range(6):
        clock.see(t0 + n * s)
    assert clock.now < gap and clock.stepped_back                  # most went back: the clock was set back


def test_the_trace_ends_where_most_records_end():
    from siptrace import Reader

    items = list(Reader([str(SAMPLES / UM[0])]))
    end = steady_end(items)
    times = [i.time for i in items if getattr(i, "time", None) is not None]
    assert end is not None and min(times) < end <= max(times)


def test_outliers_stamped_up_to_two_minutes_off_do_not_split_calls(tmp_path):
    """One record in forty moved by up to two minutes either way, or a year ahead, in a busy
    front end's trace: the streamed runs judge every call whole, as the in-memory one does."""
    import random
    import subprocess
    import sys

    generated = tmp_path / "busy.log"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--size", "2MB", "--seed", "5",
                    "-o", str(generated), "-q"], check=True)
    rng = random.Random(3)
    shifts = [timedelta(0) if n % 40 else
              (timedelta(days=365) if rng.random() < 0.1 else timedelta(seconds=rng.choice([-120, -75, -30, 45, 100])))
              for n in range(200_000)]
    path = tmp_path / "jitter.log"
    path.write_text(_shifted(generated.read_text(encoding="utf-8"), lambda n: shifts[n]), encoding="utf-8")
    _assert_same(_every_entry_point([str(path)], tmp_path))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(names=st.sampled_from([c for c in CASES if all(n.endswith(".log") for n in c)]).flatmap(st.permutations),
       jitter=st.lists(st.integers(-3000, 3000), min_size=1, max_size=50))
def test_any_order_of_files_and_any_jitter_within_the_quiet_window_gives_one_answer(tmp_path_factory, names,
                                                                                    jitter):
    """Each record moved by up to 3 s either way (well inside the 64 s a call may stay quiet):
    in memory, streamed, -j 1, -j 2 and the report agree."""
    tmp = tmp_path_factory.mktemp("jitter")
    paths = []
    for name in names:
        path = tmp / name
        text = (SAMPLES / name).read_text(encoding="utf-8")
        path.write_text(_shifted(text, lambda n: timedelta(milliseconds=jitter[n % len(jitter)])), encoding="utf-8")
        paths.append(str(path))
    _assert_same(_every_entry_point(paths, tmp))
