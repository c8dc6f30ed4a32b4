"""Charts of a whole trace: what each one counts, and "no data" instead of an exception."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import siptrace
from siptrace.views import charts
from siptrace.views.notebook import Trace
from siptrace.model.context import Context
from siptrace.views.ladder import HostMap, build_ladder, ladder_figure
from siptrace.correlate.timeline import build_timeline

import flows
from conftest import SAMPLES
from flows import dialog_headers, record
from rules.um_flows import um_call


@pytest.fixture(scope="module")
def trace() -> Trace:
    return siptrace.load(sorted(str(p) for p in SAMPLES.glob("*.log")), um_fqdn="um01.contoso.com")


def _empty() -> Trace:
    return Trace(build_timeline([]), Context(), [])


def _bars(fig: Figure):
    return [p for c in fig.axes[0].containers for p in c]


def test_registry_is_in_report_order():
    assert list(charts.CHARTS) == ["calls_over_time", "findings_by_rule", "final_responses", "setup_times",
                                   "answer_to_bye", "host_messages"]
    assert all(callable(f) for f in charts.CHARTS.values())


@pytest.mark.parametrize("name", list(charts.CHARTS))
def test_every_chart_is_an_agg_figure_that_saves(trace, name):
    fig = charts.CHARTS[name](trace)
    assert isinstance(fig, Figure) and isinstance(fig.canvas, FigureCanvasAgg)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    assert out.getvalue().startswith(b"\x89PNG")
    assert fig.axes[0].get_title()


@pytest.mark.parametrize("name", list(charts.CHARTS))
def test_empty_trace_gives_a_no_data_figure(name):
    fig = charts.CHARTS[name](_empty())
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_gid() == "no-data"]
    assert len(texts) == 1 and texts[0].startswith("no data")
    fig.savefig(io.BytesIO(), format="png")


def test_calls_over_time_stacks_every_call_by_outcome(trace):
    fig = charts.calls_over_time(trace)
    ax = fig.axes[0]
    calls = trace.calls.dropna(subset=["first_time"])
    assert sum(p.get_height() for p in _bars(fig)) == len(calls)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    seen = set(calls["outcome"])
    assert legend == [o for o in charts.OUTCOME_COLOURS if o in seen] + sorted(seen - set(charts.OUTCOME_COLOURS))
    for outcome, container in zip(legend, ax.containers):
        assert sum(p.get_height() for p in container) == (calls["outcome"] == outcome).sum()
    assert "per hour" in ax.get_title()   # two days of samples: hourly buckets


@pytest.mark.parametrize("apart, bucket", [(timedelta(seconds=2), "per second"),
                                           (timedelta(minutes=3), "per 30 seconds"),
                                           (timedelta(hours=2), "per 10 minutes")])
def test_calls_over_time_picks_a_bucket_from_the_span(write, monkeypatch, apart, bucket):
    text = ""
    for n in range(4):
        monkeypatch.setattr(flows, "BASE", datetime(2026, 11, 3, 9, tzinfo=timezone.utc) + n * apart)
        text += um_call("um01.contoso.com", call_id=f"{n:032x}", bye_at=None)
    fig = charts.calls_over_time(siptrace.load(str(write("fe.log", text))))
    assert bucket in fig.axes[0].get_title()
    assert sum(p.get_height() for p in _bars(fig)) == 4
    assert len(fig.axes[0].get_xticklabels()) <= 11


def test_findings_by_rule_stacks_severities(trace):
    fig = charts.findings_by_rule(trace)
    ax = fig.axes[0]
    assert sum(p.get_width() for p in _bars(fig)) == len(trace.findings)
    rules = [t.get_text() for t in ax.get_yticklabels()]
    assert sorted(rules) == sorted(set(trace.findings["rule"]))
    totals = trace.findings["rule"].value_counts()
    assert totals[rules[-1]] == totals.max()          # the rule with most findings on top
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [s for s in ("error", "warning", "info") if s in set(trace.findings["severity"])]


def test_final_responses_counts_invite_final_statuses(trace):
    fig = charts.final_responses(trace)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "200 OK" in labels and "486 Busy Here" in labels and "487 Request Terminated" in labels
    m = trace.messages
    finals = m[(m["kind"] == "response") & (m["cseq_method"] == "INVITE") & (m["status"] >= 200)
               & ~m["retransmission"]]
    heights = {label: p.get_height() for label, p in zip(labels, _bars(fig))}
    assert heights["200 OK"] == (finals["status"] == 200).sum()
    assert sum(heights.values()) == len(finals)


def test_setup_times_is_a_histogram_of_answered_dialogs(trace):
    fig = charts.setup_times(trace)
    values = trace.dialogs["setup_s"].dropna()
    assert sum(p.get_height() for p in fig.axes[0].patches) == len(values)
    assert "median" in fig.axes[0].get_legend().get_texts()[0].get_text()


def test_answer_to_bye_marks_64_t1(trace):
    fig = charts.answer_to_bye(trace)
    ax = fig.axes[0]
    values = trace.dialogs["answer_to_bye_s"].dropna()
    assert sum(p.get_height() for p in ax.patches) == len(values)
    assert any(list(line.get_xdata()) == [32.0, 32.0] for line in ax.lines)
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "32 s = 64×T1" in legend and "2 within ±2 s" in legend   # ack-missing (32.0) and the UM call


def test_host_messages_counts_arrows_with_merged_hosts(trace):
    fig = charts.host_messages(trace)
    hosts = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "fe01.contoso.com" in hosts and "fe01" not in hosts     # one name per host across calls
    assert "mail.contoso.com" in hosts and "um01.contoso.com" in hosts
    timeline = trace.timeline
    shared = HostMap().learn(timeline.messages, timeline.diagnostics)
    arrows = sum(len(build_ladder(timeline, c.call_id, hosts=shared).hops) for c in timeline.calls)
    sent, received = fig.axes[0].containers
    assert sum(p.get_width() for p in sent) == arrows == sum(p.get_width() for p in received)


def test_charts_with_calls_but_nothing_answered(write):
    h = lambda cseq, to=None: dialog_headers("f" * 32, cseq, "t1", to)  # noqa: E731
    text = (record(0.0, "INVITE sip:carol@contoso.com SIP/2.0", h("1 INVITE"), peer="10.0.10.54:5061")
            + record(0.5, "SIP/2.0 486 Busy Here", h("1 INVITE", "x"), direction="outgoing",
                     peer="10.0.10.54:5061"))
    trace = siptrace.load(str(write("busy.log", text)))
    assert [t.get_text() for t in charts.final_responses(trace).axes[0].get_xticklabels()] == ["486 Busy Here"]
    for name in ("setup_times", "answer_to_bye"):
        fig = charts.CHARTS[name](trace)
        assert any(t.get_gid() == "no-data" for t in fig.axes[0].texts)


def test_figures_show_themselves_in_jupyter_without_pyplot(trace):
    fig = charts.findings_by_rule(trace)
    assert fig._repr_png_().startswith(b"\x89PNG")   # what IPython displays
    ladder = ladder_figure(trace.timeline, trace.timeline.calls[0].call_id)
    assert ladder._repr_png_().startswith(b"\x89PNG")


def test_a_long_chart_title_wraps_inside_a_narrow_figure():
    import matplotlib.pyplot as plt

    from siptrace.views.charts import _title

    fig, ax = plt.subplots(figsize=(4.0, 3.0))
    _title(ax, "Calls over time (per 1 min, from 2026-11-03 09:14:02 UTC) through the Edge to Exchange UM")
    fig.canvas.draw()
    box = ax.title.get_window_extent(fig.canvas.get_renderer())
    assert "\n" in ax.get_title() and box.width <= fig.bbox.width
    plt.close(fig)


def test_report_charts_are_drawn_without_importing_pandas():
    """The report draws its charts from gathered lists: pandas (tens of MB) stays out of that process."""
    import subprocess
    import sys
    from pathlib import Path

    code = """
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from siptrace.views.charts import CHARTS
from siptrace.views.gather import ChartData
t0 = datetime(2026, 11, 3, 9, 14, tzinfo=timezone.utc)
data = ChartData(starts=[(t0 + timedelta(seconds=7 * i), "answered" if i % 3 else "failed") for i in range(30)],
                 findings=[("ack-missing", "error"), ("busy", "info")] * 6,
                 finals=Counter({(200, "OK"): 20, (486, "Busy Here"): 10}),
                 setup_s=[0.4 + i / 10 for i in range(30)], answer_to_bye_s=[31.5 + i / 10 for i in range(12)],
                 sent=Counter({"fe01": 40, "um01": 20}), received=Counter({"um01": 40, "fe01": 20}))
for draw in CHARTS.values():
    draw(data).savefig(__import__("io").BytesIO(), format="png")
print("pandas" in sys.modules)
"""
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                         env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, check=True)
    assert out.stdout.strip() == "False"


def test_calls_over_time_buckets_naive_and_offset_times_as_the_same_utc_instants():
    from siptrace.views.gather import ChartData

    utc = [datetime(2026, 11, 3, 9, 14, 2, tzinfo=timezone.utc) + timedelta(seconds=45 * i) for i in range(12)]
    plus_one = timezone(timedelta(hours=1))
    mixed = [t.replace(tzinfo=None) if i % 2 else t.astimezone(plus_one) for i, t in enumerate(utc)]

    def drawn(times):
        fig = charts.calls_over_time(ChartData(starts=[(t, "answered") for t in times]))
        ax = fig.axes[0]
        return ax.get_title(), [t.get_text() for t in ax.get_xticklabels()], [p.get_height() for p in _bars(fig)]

    title, ticks, heights = drawn(utc)
    assert drawn(mixed) == (title, ticks, heights)
    assert "per 30 seconds, from 2026-11-03 09:14:02 UTC" in title and ticks[0] == "09:14:00"
    assert sum(heights) == 12
