"""Charts of a whole trace: each function takes a notebook `siptrace.views.notebook.Trace` (or the
`ChartData` a streamed report gathers) and returns a Figure.

They read a `ChartData` (made from the trace's frames, or gathered call by call,
`siptrace.views.gather`),
use matplotlib's object API (a `matplotlib.figure.Figure` on the Agg canvas
that Jupyter shows by itself; no pyplot state, never ``show()``), and give a
figure that says "no data" rather than raise when there is nothing to plot.  `CHARTS` lists them in report order.

They count plain lists, not frames: a report draws them without importing
pandas (tens of MB in the process that draws them); only a `Trace` brings it.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Union

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .printable import printable
from ..rules.findings import Severity
from .gather import ChartData, final_responses as _final_responses, host_counts
from .ladder import SEVERITY_COLOURS, new_figure

if TYPE_CHECKING:
    from .notebook import Trace

Source = Union["Trace", ChartData]

__all__ = ["CHARTS", "ChartData", "chart_data", "calls_over_time", "findings_by_rule", "final_responses", "setup_times", "answer_to_bye",
           "host_messages", "OUTCOME_COLOURS", "MIN_CALLS", "says_something"]

OUTCOME_COLOURS: dict[str, str] = {
    "answered": "#2e7d32", "dropped": "#8e24aa", "failed": "#c62828", "cancelled": "#78909c", "no answer": "#ef6c00",
    "other": "#5c6bc0",
}
STATUS_COLOURS: dict[int, str] = {2: "#2e7d32", 3: "#1565c0", 4: "#ef6c00", 5: "#c62828", 6: "#6a1b9a"}
BAR = "#546e7a"
T1_64 = 32.0   # RFC 3261 §13.3.1.4: a UAS that gets no ACK gives up after 64*T1 = 32 s

# candidate bucket sizes for a time axis, smallest first
_BUCKETS: tuple[tuple[timedelta, str], ...] = tuple((timedelta(seconds=s), name) for s, name in (
    (1, "second"), (5, "5 seconds"), (10, "10 seconds"), (30, "30 seconds"), (60, "minute"),
    (300, "5 minutes"), (600, "10 minutes"), (900, "15 minutes"), (1800, "30 minutes"),
    (3600, "hour"), (3 * 3600, "3 hours"), (6 * 3600, "6 hours"), (12 * 3600, "12 hours"), (86400, "day"),
    (7 * 86400, "week"),
))
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)   # buckets are counted from here, whatever the trace's start
MAX_BUCKETS = 40
_BIN_WIDTHS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 3600.0)


def _title(ax: Axes, text: str) -> None:
    """A title wrapped to the figure's width, so a narrow notebook cell never clips it."""
    import textwrap

    per_line = max(20, int(ax.figure.get_figwidth() * 11))      # ~11 characters an inch at the title's size
    ax.set_title(textwrap.fill(text, per_line), parse_math=False)


def _plain(text: str) -> str:
    """Trace text for a tick or legend label, drawn as written: ``$`` would start mathtext there
    (those labels are made at draw time, where ``parse_math=False`` cannot reach)."""
    return printable(text).replace("$", r"\$")


def _figure(width: float = 8.0, height: float = 4.5) -> tuple[Figure, Axes]:
    fig = new_figure(width, height, layout="constrained")
    return fig, fig.add_subplot()


def _no_data(title: str, what: str) -> Figure:
    fig, ax = _figure(8.0, 3.0)
    _title(ax, title)
    ax.text(0.5, 0.5, f"no data: {what}", ha="center", va="center", fontsize=11, color="#607d8b",
            transform=ax.transAxes, parse_math=False, gid="no-data")
    ax.set_axis_off()
    return fig


def _stacked(ax: Axes, table: Mapping[Any, Sequence[float]], colours: dict[Any, str], horizontal: bool = False) -> None:
    """Stacked bars of ``table`` (part → one value per bar; parts stacked in the table's order)."""
    bars = len(next(iter(table.values()), ()))
    positions = list(range(bars))
    base = [0.0] * bars
    for column, counts in table.items():
        values = [float(v) for v in counts]
        if not any(values):
            continue
        colour = colours.get(column, BAR)
        if horizontal:
            ax.barh(positions, values, left=base, color=colour, label=_plain(str(column)), height=0.7)
        else:
            ax.bar(positions, values, bottom=base, color=colour, label=_plain(str(column)), width=0.85)
        base = [b + v for b, v in zip(base, values)]


def _bucket(span: timedelta) -> tuple[timedelta, str]:
    for size, name in _BUCKETS:
        if span / size < MAX_BUCKETS:
            return size, name
    return _BUCKETS[-1]


def chart_data(trace: Source) -> ChartData:
    """What the charts draw of a notebook `Trace` (a `ChartData` is taken as it is)."""
    if isinstance(trace, ChartData):
        return trace
    made = trace.__dict__.get("_chart_data")
    if isinstance(made, ChartData):
        return made
    data = trace.__dict__["_chart_data"] = ChartData()
    calls = trace.calls.dropna(subset=["first_time"])
    data.starts = [(t.to_pydatetime(), o if isinstance(o, str) else "other")
                   for t, o in zip(calls["first_time"], calls["outcome"])]
    data.add_findings(trace.findings_list)
    timeline = trace.timeline
    data.finals = _final_responses(timeline.messages)
    data.setup_s = [float(v) for v in trace.dialogs["setup_s"].dropna()]
    data.answer_to_bye_s = [float(v) for v in trace.dialogs["answer_to_bye_s"].dropna()]
    data.sent, data.received = host_counts(timeline.messages, timeline.diagnostics)
    return data


def _utc(when: datetime) -> datetime:
    """A naive time is taken as UTC, as the trace writes it."""
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def calls_over_time(trace: Source) -> Figure:
    """Calls started per time bucket, stacked by outcome (answered, failed, cancelled, no answer, other)."""
    title = "Calls over time by outcome"
    starts = [(_utc(t), o if isinstance(o, str) else "other") for t, o in chart_data(trace).starts]
    if not starts:
        return _no_data(title, "no call has a time")
    start, end = min(t for t, _ in starts), max(t for t, _ in starts)
    size, name = _bucket(end - start)
    first = _EPOCH + (start - _EPOCH) // size * size
    counts = Counter(((t - first) // size, o) for t, o in starts)
    index = [first + i * size for i in range((end - first) // size + 1)]
    outcomes = {o for _, o in starts}
    order = [o for o in OUTCOME_COLOURS if o in outcomes] + sorted(outcomes - set(OUTCOME_COLOURS))
    table = {o: [counts[(i, o)] for i in range(len(index))] for o in order}
    fig, ax = _figure(max(6.0, min(14.0, 2.0 + 0.3 * len(index))), 4.5)
    _stacked(ax, table, OUTCOME_COLOURS)
    fmt = "%H:%M:%S" if size < timedelta(minutes=1) else "%H:%M" if end - start < timedelta(days=1) else "%m-%d %H:%M"
    step = max(1, -(-len(index) // 10))   # at most 10 labels
    ticks = list(range(0, len(index), step))
    ax.set_xticks(ticks, [index[i].strftime(fmt) for i in ticks], rotation=30, ha="right")
    ax.set_xlim(-0.6, len(index) - 0.4)
    _title(ax, f"{title} (per {name}, from {start:%Y-%m-%d %H:%M:%S} UTC)")
    ax.set_ylabel("calls")
    ax.set_xlabel("time (UTC)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(title="outcome", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


def findings_by_rule(trace: Source) -> Figure:
    """Findings per rule, stacked by severity."""
    title = "Findings by rule and severity"
    findings = chart_data(trace).findings
    if not findings:
        return _no_data(title, "no findings")
    counts = Counter(findings)
    totals = Counter(rule for rule, _ in findings)
    rules = sorted(sorted(totals), key=lambda r: totals[r])   # by name, then the most at the top
    present = {severity for _, severity in findings}
    severities = [s.value for s in sorted(Severity, key=lambda s: -s.rank) if s.value in present]
    table = {s: [counts[(rule, s)] for rule in rules] for s in severities}
    fig, ax = _figure(8.0, 1.4 + 0.38 * len(rules))
    _stacked(ax, table, {s.value: SEVERITY_COLOURS[s] for s in Severity}, horizontal=True)
    ax.set_yticks(range(len(rules)), [str(r) for r in rules])
    for i, rule in enumerate(rules):
        ax.text(totals[rule], i, f" {totals[rule]}", va="center", fontsize=8, parse_math=False)
    ax.set_xlim(0, max(totals.values()) * 1.12 + 0.5)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("findings")
    _title(ax, title)
    ax.legend(title="severity", loc="lower right", frameon=False)
    return fig


def final_responses(trace: Source) -> Figure:
    """How INVITEs were answered: one bar per final status (retransmissions not counted)."""
    title = "Final responses to INVITE"
    counts = chart_data(trace).finals
    if not counts:
        return _no_data(title, "no final response to an INVITE")
    by_status: dict[int, tuple[str, int]] = {}
    for (status, reason), n in sorted(counts.items()):
        name, total = by_status.get(status, (reason, 0))
        by_status[status] = (name or reason, total + n)
    labels = [f"{s} {r}".strip() for s, (r, _) in by_status.items()]
    values = [n for _, n in by_status.values()]
    fig, ax = _figure(max(5.0, min(14.0, 1.5 + 1.0 * len(values))), 4.5)
    ax.bar(range(len(values)), values, color=[STATUS_COLOURS.get(s // 100, BAR) for s in by_status], width=0.7)
    for i, n in enumerate(values):
        ax.text(i, n, str(n), ha="center", va="bottom", fontsize=9, parse_math=False)
    ax.set_xticks(range(len(values)), [_plain(label) for label in labels], rotation=20 if len(values) > 3 else 0,
                  ha="right" if len(values) > 3 else "center")
    ax.set_ylim(0, max(values) * 1.15 + 0.5)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylabel("responses")
    _title(ax, title)
    return fig


def _histogram(values: list[float], title: str, xlabel: str, mark: float | None = None,
               mark_label: str = "") -> Figure:
    fig, ax = _figure(8.0, 4.2)
    top = max(max(values), (mark or 0.0) * 1.15, 1.0)
    step = next((w for w in _BIN_WIDTHS if top / w <= 60), top / 60)
    edges = [i * step for i in range(int(top // step) + 2)]
    counts, _edges, _patches = ax.hist(values, bins=edges, color=BAR, edgecolor="white")
    top = edges[-1] + step
    ax.set_ylim(0, max(counts) * 1.3 + 0.5)   # room for the legend above the bars
    median = statistics.median(values)
    ax.axvline(median, color="#1565c0", linewidth=1.2, linestyle=":", label=f"median {median:.2f} s")
    if mark is not None:
        ax.axvline(mark, color=SEVERITY_COLOURS[Severity.ERROR], linewidth=1.5, linestyle="--", label=mark_label)
    ax.legend(loc="upper right", frameon=True, framealpha=0.9)
    ax.set_xlim(0, top)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("dialogs")
    _title(ax, f"{title} ({len(values)} dialogs)")
    return fig


def setup_times(trace: Source) -> Figure:
    """Distribution of call setup time: INVITE to 200 OK (``dialogs.setup_s``)."""
    title = "Setup time: INVITE → 200 OK"
    values = [float(v) for v in chart_data(trace).setup_s]
    if not values:
        return _no_data(title, "no answered INVITE")
    return _histogram(values, title, "seconds from the INVITE to its 200 OK")


def answer_to_bye(trace: Source) -> Figure:
    """Distribution of 200 OK → BYE, with 32 s (64×T1) marked: calls torn down for want of an ACK."""
    title = "200 OK → BYE"
    values = [float(v) for v in chart_data(trace).answer_to_bye_s]
    if not values:
        return _no_data(title, "no answered call ended by BYE")
    near = sum(abs(v - T1_64) <= 2.0 for v in values)
    return _histogram(values, title, "seconds from the 200 OK to the first BYE", mark=T1_64,
                      mark_label=f"32 s = 64×T1 ({near} within ±2 s)")


def host_messages(trace: Source) -> Figure:
    """Messages each host sent and received (arrows of every call's ladder, hosts merged as there)."""
    title = "Messages per host"
    data = chart_data(trace)
    sent, received = data.sent, data.received
    hosts = sorted(set(sent) | set(received), key=lambda h: (-(sent[h] + received[h]), h))
    if not hosts:
        return _no_data(title, "no SIP messages")
    shown = hosts[:25][::-1]      # the busiest at the top
    table = {"sent": [sent[h] for h in shown], "received": [received[h] for h in shown]}
    fig, ax = _figure(8.0, 1.4 + 0.36 * len(shown))
    _stacked(ax, table, {"sent": "#1565c0", "received": "#90caf9"}, horizontal=True)
    ax.set_yticks(range(len(shown)), [_plain(h if len(h) <= 40 else h[:39] + "…") for h in shown])
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("messages (one per hop)")
    more = f", top {len(shown)} of {len(hosts)}" if len(hosts) > len(shown) else ""
    _title(ax, f"{title}{more}")
    ax.legend(loc="lower right", frameon=False)
    return fig


MIN_CALLS = 10      # fewer calls: each one's ladder says more than a chart of them


def says_something(name: str, data: ChartData) -> bool:
    """Whether chart ``name`` tells a reader of the report more than its findings and ladders do:
    over-time, response and host charts need `MIN_CALLS` calls, distributions as many values,
    findings by rule several rules over as many findings; never an empty chart."""
    calls = len(data.starts)
    if name in ("calls_over_time", "host_messages"):
        return calls >= MIN_CALLS
    if name == "final_responses":
        return calls >= MIN_CALLS and len(data.finals) > 1
    if name == "setup_times":
        return len(data.setup_s) >= MIN_CALLS
    if name == "answer_to_bye":
        return len(data.answer_to_bye_s) >= MIN_CALLS
    if name == "findings_by_rule":
        return len(data.findings) >= MIN_CALLS and len({rule for rule, _ in data.findings}) > 1
    return True


CHARTS: dict[str, Callable[[Source], Figure]] = {
    "calls_over_time": calls_over_time,
    "findings_by_rule": findings_by_rule,
    "final_responses": final_responses,
    "setup_times": setup_times,
    "answer_to_bye": answer_to_bye,
    "host_messages": host_messages,
}
