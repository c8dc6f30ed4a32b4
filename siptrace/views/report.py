"""Reports for a support ticket: one self-contained HTML file, Markdown with images, or JSON.

`build_report` runs the diagnosis as a `Job` on the streaming runners (in
worker processes for a large server trace), optionally redacted
(`siptrace.read.redact`, before correlation, so every view sees only
pseudonyms).  While calls are judged, its watcher (`siptrace.views.gather`)
keeps summary rows and the worst calls, never the whole timeline; the
ladders of the worst calls and the charts are drawn from those at the end.
The `render_*` functions only format that `Report`; they decide nothing.

Every value that comes from a trace is escaped for the output it goes into:
HTML text and attributes (a ``<script>`` in a header shows as text), Markdown
(backticks, emphasis, brackets, ``<``, ``>``, ``|``, leading ``#``).  No value
from a trace becomes a link or a file name: images are named by their place
in the report.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import html
import io
import json
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .. import __version__
from ..model.context import Context
from ..run.diagnose import SCHEMA, Diagnosis, Summary
from ..rules.findings import Finding, Severity
from .gather import MAX_CALL_ROWS, ReportRows
from .outfiles import write_atomically
from .patterns import CallNote, Pattern, patterns
from ..model.words import plural
from .labels import fact_label
from .printable import printable
from .render import NotedDiagnosis, call_notes

if TYPE_CHECKING:
    from ..correlate.timeline import Timeline
    from ..read.redact import Redactor

FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".json": "json", ".txt": "text"}
MAX_LADDERS = 20
MAX_SKIPPED_SHOWN = 5
MAX_PATTERNS = 3
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@dataclass
class Image:
    """One picture of the report: a call's ladder or a chart, or why it is missing."""

    kind: str                  # "ladder", "chart" or "compare"
    name: str                  # file stem, from the report's own counters: "ladder-1", "chart-2"
    title: str                 # caption; may hold trace values (escaped when shown)
    png: bytes | None = None
    note: str = ""             # why there is no picture
    call_id: str | None = None


@dataclass
class Report:
    """Everything a report shows, already redacted when asked."""

    diagnosis: Diagnosis
    rows: ReportRows
    redacted: bool = False
    redacted_domains: bool = False
    call_filter: tuple[str, ...] = ()
    images: list[Image] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sweep: Callable[[str], str] | None = None   # the redactor's final sweep, over every text shown
    command: str = ""                           # the options it was made with (no input names)
    made: datetime | None = None
    calls: dict[str, CallNote] = field(default_factory=dict)    # what is known of each call (headlines)
    patterns: list[Pattern] = field(default_factory=list)        # root causes across calls
    comparison: str = ""                        # the worst failing call beside a healthy one, as text
    comparison_note: str = ""                   # why there is none, or what it was compared with
    ladder_call: str = ""                       # the worst call, and its text ladder (the ticket's)
    ladder_text: str = ""

    @property
    def findings(self) -> Sequence[Finding]:
        return self.diagnosis.findings

    @property
    def ladders(self) -> list[Image]:
        return [i for i in self.images if i.kind == "ladder"]

    @property
    def charts(self) -> list[Image]:
        return [i for i in self.images if i.kind == "chart"]

    @property
    def compared(self) -> list[Image]:
        return [i for i in self.images if i.kind == "compare"]

    def headline(self, call_id: str | None) -> str:
        note = self.calls.get(call_id or "")
        return note.headline if note is not None else ""


# ---------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------


def build_report(paths: str | Sequence[str], ctx: Context | None = None, *, call_ids: Sequence[str] = (),
                 redactor: Redactor | None = None, input_format: str | None = None, progress: bool = False,
                 images: bool = True, max_ladders: int = MAX_LADDERS, tables: bool = True,
                 jobs: int | None = None, command: str = "") -> Report:
    """Read, (redact,) correlate and diagnose trace files, and draw the report's pictures.

    Args:
        paths: trace files (or folders) to read.
        ctx: the deployment's UM / Edge / pool FQDNs.
        call_ids: keep only these calls (original Call-IDs, before redaction).
        redactor: replace personal values before correlation; its `mapping()`
            afterwards says what became what.
        images: draw ladders and charts (PNG).
        max_ladders: at most this many ladders, for the worst findings' calls.
        tables: keep a row of every call and dialog (the JSON report's tables);
            without, only the first calls the HTML and Markdown tables show.
        jobs: worker processes (`siptrace.run.parallel.run_parallel`).
        command: the options the report is made with, for its footer.
    """
    from ..run.job import Job, Selection
    from ..run.parallel import run_parallel

    rows = ReportRows(all_rows=tables, max_ladders=max_ladders, ctx=ctx or Context())
    job = Job.of(paths, context=ctx or Context(), input_format=input_format, progress=progress,
                 selection=Selection(frozenset(call_ids)), redactor=redactor, watcher=rows)
    ran = run_parallel(job, jobs)
    ran.ladders = rows.ladders                  # each call's note, as diagnose keeps them
    diagnosis = NotedDiagnosis.of(ran)          # its JSON adds patterns and call headlines
    sweep = redactor.sweep if redactor is not None else None
    if images:    # the charts (pandas and matplotlib) in another process, forked before this one grows;
        # a redacted report draws every picture here, where the final sweep is seen to pass over it
        charts = _Aside(lambda: _swept_charts(rows, sweep), fork=redactor is None)
    diagnosis.findings = list(diagnosis.findings)
    rows.charts.add_findings(diagnosis.findings)
    wanted_shown = tuple(redactor.call_id(c) for c in call_ids) if redactor is not None else tuple(call_ids)
    report = Report(diagnosis, rows, redacted=redactor is not None,
                    redacted_domains=bool(redactor and redactor.redact_domains), call_filter=wanted_shown,
                    sweep=redactor.sweep if redactor is not None else None, command=command,
                    made=datetime.now(timezone.utc))
    report.calls = call_notes(diagnosis)
    report.patterns = patterns(diagnosis.findings, report.calls)
    if call_ids and not rows.call_count:
        report.notes.append("No call of the trace has the Call-ID(s) asked for.")
    _text_ladder(report)
    comparison = _comparison(report, draw=images)
    if images:
        say = _phases(progress)
        with _sweeping(report):
            report.images.extend(_ladders(rows, report.notes, say))
            if comparison is not None:
                say("drawing the comparison")
                report.images.append(_comparison_image(*comparison))
        say("drawing the charts")
        report.images.extend(charts.result())
        say("")
    return report


def _text_ladder(report: Report) -> None:
    """The text ladder of the worst call (the ticket snippet's and the Markdown's)."""
    worst = report.rows.worst_calls()
    if not worst:
        return
    cid, timeline, found = worst[0]
    try:
        from .ladder import ladder_text

        report.ladder_call, report.ladder_text = cid, ladder_text(timeline, cid, found, width=100)
    except Exception as err:  # one call's drawing must not cost the report
        report.ladder_call, report.ladder_text = cid, f"ladder unavailable ({_why(err)})"


def _comparison(report: Report, draw: bool) -> tuple[Timeline, Any] | None:
    """The worst failing call beside the healthy call of its kind (`siptrace.views.compare`) as
    text; the timeline and comparison to draw, or None when there is nothing to draw."""
    from .compare import align, comparison_text

    if not any(f.severity.rank >= Severity.WARNING.rank for f in report.findings):
        return None
    failing, healthy, note = report.rows.comparison()
    report.comparison_note = note
    if failing is None or healthy is None:
        return None
    good, timeline = healthy
    compared = align(good, failing)          # good on the left, bad on the right, as `siptrace compare`
    report.comparison = comparison_text(compared, 110)
    return (timeline, compared) if draw else None


def _comparison_image(timeline: Timeline, compared: Any) -> Image:
    title = (f"Healthy call {compared.a.call.call_id} beside failing call {compared.b.call.call_id}"
             + (f"; first difference: {compared.first.text(compared.names())}" if compared.first else ""))
    try:
        from .compare import comparison_figure

        fig = comparison_figure(timeline, compared, prepare=_sweep_figure)
        return Image("compare", "compare-1", title, png=_png(fig, tight=False),
                     call_id=compared.b.call.call_id)
    except Exception as err:  # the comparison's drawing must not cost the report
        return Image("compare", "compare-1", title, note=f"comparison unavailable ({_why(err)})")


def _swept_charts(rows: ReportRows, sweep: Callable[[str], str] | None) -> list[Image]:
    with _sweeping_with(sweep):
        return _charts(rows, lambda _text: None)


def _phases(progress: bool) -> Callable[[str], None]:
    """Says on a terminal what is being drawn (drawing takes seconds after reading ends)."""
    import sys

    stream = sys.stderr
    shown = progress and getattr(stream, "isatty", lambda: False)()

    def say(text: str) -> None:
        if shown:
            stream.write(f"\r{text:<78}" if text else "\r" + " " * 78 + "\r")
            stream.flush()

    return say


class _Aside:
    """``work()`` done in a forked process while this one does other work (two cores, half the
    wait); done here where there is no fork, or if that process fails."""

    def __init__(self, work: Callable[[], Any], fork: bool = True) -> None:
        import multiprocessing

        self.work = work
        self.proc: Any = None
        if not fork or "fork" not in multiprocessing.get_all_start_methods():
            return
        mp = multiprocessing.get_context("fork")
        self.pipe, child = mp.Pipe(duplex=False)
        self.proc = mp.Process(target=self._run, args=(child,), daemon=True)
        self.proc.start()
        child.close()

    def _run(self, pipe: Any) -> None:
        pipe.send(self.work())
        pipe.close()

    def result(self) -> Any:
        if self.proc is not None:
            try:
                return self.pipe.recv()
            except (EOFError, OSError):
                pass            # the process died: do it here
            finally:
                self.proc.join()
        return self.work()


# A redacted report passes every text it shows through the redactor's final sweep: each value
# before it is escaped for HTML or Markdown, each string of the JSON document, the text report,
# and every string a picture draws.  A value that a pattern missed but that was learned anywhere
# in the trace (a user name inside a host name, a number in a folder name) cannot reach the page.
_SWEEP: contextvars.ContextVar[Callable[[str], str] | None] = contextvars.ContextVar("sweep", default=None)


@contextlib.contextmanager
def _sweeping(report: Report) -> Iterator[None]:
    with _sweeping_with(report.sweep):
        yield


@contextlib.contextmanager
def _sweeping_with(sweep: Callable[[str], str] | None) -> Iterator[None]:
    token = _SWEEP.set(sweep)
    try:
        yield
    finally:
        _SWEEP.reset(token)


def _swept(text: str) -> str:
    sweep = _SWEEP.get()
    return sweep(text) if sweep is not None and text else text


def _swept_doc(value: Any, sweep: Callable[[str], str]) -> Any:
    """Every string (keys too) of a JSON document swept, without recursion on its depth."""
    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        item = parent[key]
        if isinstance(item, str):
            parent[key] = sweep(item)
        elif isinstance(item, dict):
            fresh = {sweep(k) if isinstance(k, str) else k: v for k, v in item.items()}
            parent[key] = fresh
            stack.extend((fresh, k) for k in fresh)
        elif isinstance(item, (list, tuple)):
            fresh_list = list(item)
            parent[key] = fresh_list
            stack.extend((fresh_list, i) for i in range(len(fresh_list)))
    return root[0]


def _sweep_figure(fig: Any) -> None:
    """The strings a figure draws (texts, tick labels, legends, titles) through the final sweep."""
    if _SWEEP.get() is None:
        return
    from matplotlib.text import Text
    from matplotlib.ticker import FixedFormatter

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for formatter in (axis.get_major_formatter(), axis.get_minor_formatter()):
                if isinstance(formatter, FixedFormatter):
                    formatter.seq = [_swept(str(label)) for label in formatter.seq]
    for text in fig.findobj(Text):
        value = text.get_text()
        swept = _swept(value)
        if swept != value:
            text.set_text(swept)


def _png(fig: Any, tight: bool = True) -> bytes:
    """``tight``: cropped to what is drawn (a picture of pictures, as the comparison, is not: its
    images would be cut away)."""
    buf = io.BytesIO()
    try:
        _sweep_figure(fig)
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight" if tight else None)
    finally:
        try:
            import matplotlib.pyplot as plt

            plt.close(fig)
        except Exception:  # pragma: no cover - a figure made without pyplot
            pass
    return buf.getvalue()


def _ladders(rows: ReportRows, notes: list[str], say: Callable[[str], None]) -> list[Image]:
    """The ladder of each of the worst calls with findings, worst finding first."""
    calls = rows.worst_calls()
    if rows.calls_with_findings > len(calls):
        notes.append(f"Ladders of the first {len(calls)} of {rows.calls_with_findings} calls with findings "
                     "(worst first).")
    if not calls:
        return []
    try:
        from .ladder import ladder_figure
    except Exception as err:  # the ladder module is optional for a report
        return [Image("ladder", f"ladder-{n}", f"Call {cid}", note=f"ladder unavailable ({_why(err)})",
                      call_id=cid) for n, (cid, _, _) in enumerate(calls, 1)]
    out = []
    for n, (cid, timeline, found) in enumerate(calls, 1):
        say(f"drawing the ladder of call {n} of {len(calls)}")
        out.append(_ladder_image(n, cid, timeline, found, ladder_figure))
    say("")
    return out


def _ladder_image(n: int, cid: str, timeline: Timeline, found: list[Finding], draw: Any) -> Image:
    rules = ", ".join(dict.fromkeys(f.rule for f in found))
    title = f"Call {cid} ({rules})"
    try:
        return Image("ladder", f"ladder-{n}", title, png=_png(draw(timeline, cid, found)), call_id=cid)
    except Exception as err:  # one call's drawing must not cost the report
        return Image("ladder", f"ladder-{n}", title, note=f"ladder unavailable ({_why(err)})", call_id=cid)


def _charts(rows: ReportRows, say: Callable[[str], None]) -> list[Image]:
    try:
        from .charts import CHARTS, says_something
    except Exception as err:
        return [Image("chart", "chart-1", "Charts", note=f"charts unavailable ({_why(err)})")]
    out = []
    shown = [(name, draw) for name, draw in CHARTS.items() if says_something(name, rows.charts)]
    for n, (name, draw) in enumerate(shown, 1):
        say(f"drawing chart {n} of {len(shown)}")
        title = str(name).replace("_", " ").replace("-", " ").capitalize()
        try:
            out.append(Image("chart", f"chart-{n}", title, png=_png(draw(rows.charts))))
        except Exception as err:
            out.append(Image("chart", f"chart-{n}", title, note=f"chart unavailable ({_why(err)})"))
    say("")
    return out


def _why(err: BaseException) -> str:
    return f"{type(err).__name__}: {err}" if str(err) else type(err).__name__


# ---------------------------------------------------------------------------
# Plain values shared by the formats
# ---------------------------------------------------------------------------


def _time(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if when else "-"


def _counts(findings: Sequence[Finding]) -> str:
    by = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    return (f"{plural(len(findings), 'finding')}: {by[Severity.ERROR]} error, {by[Severity.WARNING]} warning, "
            f"{by[Severity.INFO]} info")


def _span(report: Report) -> str:
    first, last = report.rows.first, report.rows.last
    if first is None or last is None:
        return "no timed messages"
    return f"{_time(first)} to {_time(last)} UTC ({(last - first).total_seconds():.1f} s)"


def _totals(report: Report) -> str:
    s = report.diagnosis.summary
    assert s is not None
    return (f"{s.messages} unique messages ({s.sightings} sightings), {s.dialogs} dialogs, {s.calls} calls; "
            f"{_span(report)}")


def _facts(f: Finding) -> list[tuple[str, str]]:
    """The finding's facts with readable labels (the JSON keeps the keys)."""
    return [(fact_label(str(k)), str(v)) for k, v in f.facts if v not in (None, "")]


def _context_lines(ctx: Context, findings: Sequence[Finding]) -> list[str]:
    out = []
    inferred = any("um_fqdn" in f.inferred for f in findings)
    if ctx.um_fqdns:
        out.append(f"UM FQDN: {', '.join(ctx.um_fqdns)} (given)")
    elif inferred:
        out.append("UM FQDN: not given; inferred from the trace (see the findings)")
    if ctx.edge_fqdns:
        out.append(f"Edge FQDN: {', '.join(ctx.edge_fqdns)}")
    if ctx.pool_fqdns:
        out.append(f"Pool FQDN: {', '.join(ctx.pool_fqdns)}")
    return out


def _redaction_line(report: Report) -> str | None:
    if not report.redacted:
        return None
    what = ["user names", "display names", "phone numbers", "IP addresses", "tags", "Call-IDs", "EPIDs",
            "GRUUs", "conference ids", "authentication values", "input file names"]
    if report.redacted_domains:
        what += ["domains", "host names"]
    return f"Redacted: {', '.join(what[:-1])} and {what[-1]} are replaced by consistent pseudonyms."


def _input_rows(report: Report) -> list[list[str]]:
    s = report.diagnosis.summary
    assert s is not None
    rows = []
    for i in s.inputs:
        rows.append([i.path, i.format, str(i.records), str(i.sip), str(i.diagnostic), str(i.other),
                     str(i.skipped), str(i.errors), _time(i.first_time), _time(i.last_time), _clock(s, i.path)])
    return rows


def _clock(s: Summary, path: str) -> str:
    offset, reference = s.clock(path)
    if offset is None or reference is None:
        return "unknown (no message shared with another input)" if len(s.inputs) > 1 else "-"
    if reference == path:
        return "reference"
    several = len(set(s.references.values())) > 1
    return f"{offset:+.3f} s" + (f" against {reference}" if several else "")


def _reading_notes(report: Report) -> list[str]:
    """What could not be read, said before the findings."""
    s = report.diagnosis.summary
    assert s is not None
    out = [f"Not read: {i.path}: {why}; its calls are not judged." for i, why in s.unreadable()]
    out += [f"Partly read: {i.path}: {i.skipped + i.errors} of {i.records} records skipped."
            for i in s.partly_read()]
    return out


INPUT_HEADER = ["file", "format", "records", "SIP", "diagnostic", "other", "skipped", "errors",
                "first record (UTC)", "last record (UTC)", "clock offset"]
CALL_HEADER = ["Call-ID", "first message (UTC)", "outcome", "final status", "from", "to", "dialogs",
               "messages", "findings"]


def _skip_lines(report: Report) -> list[str]:
    s = report.diagnosis.summary
    assert s is not None
    out = []
    for i in s.inputs:
        for reason, n in i.skip_reasons.most_common(3):
            out.append(f"{i.path}: {n} skipped: {reason}")
        for item in i.examples[:MAX_SKIPPED_SHOWN]:
            out.append(f"{item.origin}: {item.reason}")
    return out


def _call_rows(report: Report) -> list[list[str]]:
    rows = []
    for rec in report.rows.call_table(MAX_CALL_ROWS):
        rows.append([_cell(rec["call_id"]), _time(rec["first_time"]), _cell(rec["outcome"]),
                     _cell(rec["final_status"]), _cell(rec["from_uri"]), _cell(rec["to_uri"]),
                     _cell(rec["dialogs"]), _cell(rec["messages"]), _cell(rec["findings"])])
    return rows


def _cell(value: Any) -> str:
    value = _py(value)
    return "-" if value is None else str(value)


def _py(value: Any) -> Any:
    """A row's value as a plain, JSON-safe Python value (NaN → None)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for rec in rows:
        row = {}
        for key, value in rec.items():
            value = _py(value)
            row[str(key)] = value.isoformat() if isinstance(value, datetime) else value
        out.append(row)
    return out


# ---------------------------------------------------------------------------
# JSON and text
# ---------------------------------------------------------------------------


def render_json(report: Report) -> str:
    """The ``diagnose --format json`` document (schema 1) plus the dialog and call tables.

    Schema 1 already uses ``calls`` and ``dialogs`` for the counts, so the
    rows (one per dialog / call, the columns of `siptrace.frames`) go under
    ``tables``: ``{"dialogs": [...], "calls": [...]}``.
    """
    doc = report.diagnosis.as_dict()
    doc["tables"] = {"dialogs": _json_rows(report.rows.dialog_table()), "calls": _json_rows(report.rows.call_table())}
    doc["redacted"] = report.redacted
    if report.sweep is not None:
        doc = _swept_doc(json.loads(json.dumps(doc, default=str)), report.sweep)
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"


TICKET_LINES = 60
TICKET_EVIDENCE = 6


def render_text(report: Report) -> str:
    """The ticket snippet: at most `TICKET_LINES` plain lines for a ticket field or a mail (the
    verdict, the root cause with its evidence file:line, the commands, the worst call's text
    ladder, what was read); the ladder is cut to what is left."""
    with _sweeping(report):
        head, tail = _ticket_lines(report)
    ladder: list[str] = []
    if report.ladder_text:
        room = TICKET_LINES - len(head) - len(tail) - 4      # its title, two fences, a blank line
        lines = report.ladder_text.split("\n")
        if len(lines) > room:
            lines = _without_trying(lines)
        if room < 5:
            ladder = []
        elif len(lines) > room:
            cut = len(lines) - room + 1
            lines = lines[:room - 1] + [f"… {cut} more lines: siptrace ladder FILE --call-id {report.ladder_call}"]
        if room >= 5:
            ladder = [f"Ladder of call {report.ladder_call}:", "```", *lines, "```", ""]
    head = head[:TICKET_LINES - len(tail)]        # what was read and the footer always close it
    text = "\n".join([*head, *ladder, *tail]) + "\n"
    return report.sweep(text) if report.sweep is not None else text


_ROW_TIME = re.compile(r"^\s*[+-]?\d+(?:\.\d+)? m?s\b")


def _without_trying(lines: list[str]) -> list[str]:
    """A text ladder without its 100 Trying rows (hop by hop, each proxy sends its own): the
    rows that say something fit the ticket."""
    out: list[str] = []
    skip = False
    for n, line in enumerate(lines):
        if skip:
            skip = False
            continue
        if "100 Trying" in line and "*" not in line:
            # a label over its arrow (the next line, with the time) or one line with both
            skip = not _ROW_TIME.match(line) and n + 1 < len(lines) and bool(_ROW_TIME.match(lines[n + 1])) \
                and "*" not in lines[n + 1]
            if skip or _ROW_TIME.match(line):
                continue
        out.append(line)
    if len(out) < len(lines):
        out.insert(1, "(100 Trying left out)")
    return out


def _wrapped(text: str, indent: str = "") -> list[str]:
    import textwrap

    return textwrap.wrap(text, 100, initial_indent=indent, subsequent_indent=indent or "  ") or [indent]


def _ticket_lines(report: Report) -> tuple[list[str], list[str]]:
    """(what comes before the ladder, what comes after it)."""
    d, findings = report.diagnosis, report.findings
    head = _wrapped(d.verdict())
    head += [line for p in report.patterns[:1] for line in _wrapped(f"Across calls: {p.text()}")]
    head += _reading_notes(report)
    head.append("")
    roots = [f for f in findings if not f.cause and f.severity.rank >= Severity.WARNING.rank]
    if roots:
        root = roots[0]
        head += _wrapped(f"Root cause: [{root.severity.value.upper()}] {root.rule}: {root.summary}")
        line = report.headline(root.call_id).split(" · root cause: ", 1)[0]     # the cause is said above
        if line:
            head += _wrapped(f"Call {root.call_id}: {line}")
        if root.evidence:
            head.append("Evidence:")
            for e in root.evidence[:TICKET_EVIDENCE]:
                when = e.time.strftime("%H:%M:%S.%f")[:-3] if e.time else "--:--:--"
                text = e.text if len(e.text) <= 140 else e.text[:139] + "…"
                head.append(f"  {e.origin}  {when}  {text}")
            if len(root.evidence) > TICKET_EVIDENCE:
                head.append(f"  … {len(root.evidence) - TICKET_EVIDENCE} more in the full report")
        symptoms = [f for f in findings if f.cause == root.id]
        if symptoms:
            head += _wrapped(f"Symptoms: {len(symptoms)} ({', '.join(dict.fromkeys(f.rule for f in symptoms))})")
        blocks = _command_blocks(root)
        if not blocks:                          # the commands say it where there are some
            head += _wrapped(f"Fix: {root.fix}")
        for title, lines in blocks:
            head += [title, *(f"    {line}" for line in lines)]
        if len(roots) > 1:
            others = ", ".join(dict.fromkeys(f.rule for f in roots[1:]))
            head += _wrapped(f"Other root causes: {len(roots) - 1} ({others}); see the full report.")
        head.append("")
    tail = ["Read:"]
    s = d.summary
    assert s is not None
    for i in s.inputs[:4]:
        tail.append(f"  {i.path} ({i.format}): {i.records} records = {i.sip} SIP + {i.diagnostic} diagnostic + "
                    f"{i.other} other + {i.skipped} skipped + {i.errors} errors")
    if len(s.inputs) > 4:
        tail.append(f"  and {len(s.inputs) - 4} more inputs")
    tail.append(f"  {s.messages} unique messages, {s.dialogs} dialogs, {s.calls} calls; {_span(report)}")
    redaction = _redaction_line(report)
    tail += _wrapped(redaction) if redaction else []
    tail.append(_footer(report))
    return [_plain_line(x) for x in head], [_plain_line(x) for x in tail]


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def esc(value: Any) -> str:
    """Any value as HTML text or attribute content: ``& < > " '`` escaped, control characters
    replaced, bidirectional overrides shown as their escapes (`printable`)."""
    return html.escape(printable(_CONTROL.sub("\ufffd", _swept(str(value)))), quote=True)


def esc_block(text: str) -> str:
    """Lines for a ``<pre>``: each escaped as `esc` does, the line breaks kept."""
    return "\n".join(esc(line) for line in text.split("\n"))


_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1d2330;margin:0;background:#f4f5f7}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:14px;font-weight:600;color:#5b6472;margin:0 0 6px;text-transform:uppercase;letter-spacing:.04em}
.verdict{font-size:21px;line-height:1.35;font-weight:650;margin:0 0 8px;padding:10px 14px;
border-left:6px solid #2e7d32;background:#f1f8f2;overflow-wrap:anywhere}
.verdict.error{border-left-color:#c62828;background:#fdf1f1}.verdict.warning{border-left-color:#e09b00;background:#fff8e6}
.across{margin:4px 0;overflow-wrap:anywhere}.headline{font-weight:600;margin:18px 0 4px;overflow-wrap:anywhere}
pre{font-family:ui-monospace,SFMono-Regular,Consolas,"Liberation Mono",monospace;font-size:12.5px;background:#f6f8fa;
border:1px solid #dde1e7;border-radius:4px;padding:8px 10px;overflow-x:auto;white-space:pre;margin:4px 0 10px}
.cmdhead{margin:8px 0 2px;font-size:13px;color:#3b4350}
figure.chart img,figure.compare img{width:100%}h2{font-size:20px;margin:34px 0 10px;border-bottom:2px solid #e3e6eb;padding-bottom:4px}
h3{font-size:16px;margin:0 0 6px}
.lead{font-size:17px;margin:4px 0}.meta{color:#5b6472;margin:2px 0}.redacted{color:#6a4b00;background:#fff6d6;padding:6px 10px;border-radius:4px}
nav a{margin-right:14px;color:#2458b3;text-decoration:none}
table{border-collapse:collapse;width:100%;margin:6px 0 12px;font-size:13px}
th,td{border:1px solid #dde1e7;padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:break-word;word-break:normal}
th{background:#f0f2f5;font-weight:600}
table.evidence{table-layout:fixed}table.evidence td{overflow-wrap:break-word}
col.where{width:25%}col.when{width:14.5em}td.n{white-space:nowrap}
table.calls td:nth-child(5),table.calls td:nth-child(6),table.inputs td:nth-child(1){overflow-wrap:break-word}
table.calls td:nth-child(1){font-family:ui-monospace,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
.callid{font-family:ui-monospace,SFMono-Regular,Consolas,"Liberation Mono",monospace;font-size:14px;color:#1d2330}
code,.mono{font-family:ui-monospace,SFMono-Regular,Consolas,"Liberation Mono",monospace;font-size:12.5px}
.finding{border:1px solid #dde1e7;border-left:6px solid #888;border-radius:4px;padding:10px 14px;margin:12px 0}
.finding.symptom{margin-left:32px}.finding.error{border-left-color:#c62828}.finding.warning{border-left-color:#e09b00}.finding.info{border-left-color:#2f6fbf}
.sev{display:inline-block;min-width:62px;text-align:center;font-size:12px;font-weight:700;color:#fff;border-radius:3px;padding:1px 6px;margin-right:6px}
.sev.error{background:#c62828}.sev.warning{background:#b97f00}.sev.info{background:#2f6fbf}
.rule{font-family:ui-monospace,Consolas,monospace}
.summary{font-size:15px;margin:4px 0 8px;overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0;font-size:13px}
dl.facts dt{color:#5b6472}dl.facts dd{margin:0;overflow-wrap:anywhere}
.why,.fix{margin:6px 0}.note{color:#5b6472;font-style:italic}
figure{margin:14px 0 22px}figure img{max-width:100%;height:auto;border:1px solid #dde1e7}
figcaption{color:#3b4350;font-size:13px;margin-top:4px;overflow-wrap:anywhere}
footer{color:#5b6472;font-size:12px;margin-top:36px}
"""


def _table(header: list[str], rows: list[list[str]], cls: str = "", cols: Sequence[str] = ()) -> str:
    """A table of escaped cells; ``cols`` are class names of the columns (see the style)."""
    group = "<colgroup>" + "".join(f'<col class="{c}">' for c in cols) + "</colgroup>" if cols else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_td(c) for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}">{group}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _td(cell: str) -> str:
    # times and counts never wrap
    short = len(cell) <= 24 and bool(re.fullmatch(r"[-+0-9 :.s]+", cell))
    return f'<td class="n">{esc(cell)}</td>' if short else f"<td>{esc_breakable(cell)}</td>"


# Where a long identifier may wrap: after the punctuation that separates its parts
# (URI parameters, host labels, path segments), never inside a word or a hex run.
_LONG_TOKEN = re.compile(r"\S{24,}")
_PART_END = re.compile(r"([;@/.:=,&?>_-])(?=\w)")
_SOFT = "\ue000"          # a private-use mark for the break, made <wbr> after escaping


def esc_breakable(value: Any) -> str:
    """`esc`, with a soft break (``<wbr>``) offered after the separators of long tokens, so a
    table cell wraps an address between its parts instead of in the middle of a word."""
    text = _LONG_TOKEN.sub(lambda m: _PART_END.sub(r"\1" + _SOFT, m.group(0)), str(value).replace(_SOFT, ""))
    return esc(text).replace(_SOFT, "<wbr>")


def _headed(report: Report, findings: Sequence[Finding]) -> Iterator[tuple[int, Finding, str | None]]:
    """Each finding with its number, and its call's headline when it is the call's first root cause."""
    headed: set[str] = set()
    for n, f in enumerate(findings, 1):
        line = report.headline(f.call_id)
        first = bool(line) and not f.cause and f.call_id not in headed
        if first:
            headed.add(f.call_id or "")
        yield n, f, line if first else None


def _numbers(findings: Sequence[Finding]) -> dict[str, int]:
    """Each finding's number in the report, by its id (symptoms name their cause's)."""
    return {f.id: n for n, f in enumerate(findings, 1)}


def _finding_html(n: int, f: Finding, numbers: dict[str, int] | None = None) -> str:
    sev = f.severity.value
    cause = (numbers or {}).get(f.cause) if f.cause else None
    kind = " symptom" if cause else ""
    parts = [f'<article class="finding{kind} {sev}" id="finding-{n}">',
             f'<h3><span class="sev {sev}">{esc(sev.upper())}</span><span class="rule">{esc(f.rule)}</span></h3>',
             f'<p class="summary">{esc(f.summary)}</p>']
    if cause:
        parts.append(f'<p class="meta">A symptom of <a href="#finding-{cause}">finding {cause}</a>.</p>')
    if f.call_id:
        parts.append(f'<p class="meta">Call-ID <span class="callid">{esc(f.call_id)}</span></p>')
    if f.evidence:
        rows = [[str(e.origin), _time(e.time), e.text] for e in f.evidence]
        parts.append(_table(["where", "time (UTC)", "evidence"], rows, "evidence", ("where", "when", "what")))
    facts = _facts(f)
    if facts:
        parts.append('<dl class="facts">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
                     + "</dl>")
    if f.inferred:
        parts.append(f'<p class="note">inferred: {esc(", ".join(f.inferred))}</p>')
    parts.append(f'<p class="why"><b>Why:</b> {esc(f.why)}</p>')
    parts.append(f'<p class="fix"><b>Fix:</b> {esc(f.fix)}</p>')
    if not cause:        # a symptom goes with its root cause, whose commands are above
        for head, lines in _command_blocks(f):
            parts.append(f'<p class="cmdhead">{esc(head)}</p><pre><code>{esc_block(chr(10).join(lines))}</code></pre>')
    parts.append("</article>")
    return "\n".join(parts)


def _command_blocks(f: Finding) -> list[tuple[str, list[str]]]:
    """The finding's commands as blocks to paste: ("check, in the Exchange Management Shell:", lines)."""
    out: list[tuple[str, list[str]]] = []
    last = ""
    for step, shell, lines in f.blocks():
        out.append((f"{'then' if step == last else step.capitalize()}, in {shell}:", list(lines)))
        last = step
    return out


def _figure_html(image: Image) -> str:
    if image.png is None:
        return f'<p class="note">{esc(image.title)}: {esc(image.note)}</p>'
    data = base64.b64encode(image.png).decode("ascii")
    caption = f"<figcaption>{esc(image.title)}</figcaption>" if image.kind != "chart" else ""
    return (f'<figure class="{image.kind}"><img src="data:image/png;base64,{data}" alt="{esc(image.title)}">'
            f'{caption}</figure>')


def _verdict_class(findings: Sequence[Finding]) -> str:
    worst = max((f.severity.rank for f in findings), default=0)
    return ("error" if worst >= Severity.ERROR.rank else "warning" if worst >= Severity.WARNING.rank
            else "healthy")


def _footer(report: Report) -> str:
    made = report.made.strftime("%Y-%m-%d %H:%M:%S UTC") if report.made else "-"
    options = f" with options {report.command}" if report.command else ""
    return f"siptrace {__version__}; report made {made}{options}."


def render_html(report: Report) -> str:
    """One self-contained page: no script, no external resource, images inline."""
    with _sweeping(report):
        return _render_html(report)


def _render_html(report: Report) -> str:
    d, findings = report.diagnosis, report.findings
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">',
           '<meta name="referrer" content="no-referrer">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>siptrace report</title>", f"<style>{_STYLE}</style>", "</head>", "<body>", "<main>",
           "<header>", "<h1>siptrace report</h1>",
           f'<p class="verdict {_verdict_class(findings)}" id="verdict">{esc(d.verdict())}</p>']
    out += [f'<p class="redacted">{esc(line)}</p>' for line in _reading_notes(report)]
    out += [f'<p class="across">Across calls: {esc(p.text())}</p>' for p in report.patterns[:MAX_PATTERNS]]
    out += [f'<p class="meta">{esc(_counts(findings) if findings else "No problems found.")}; '
            f'{esc(_totals(report))}</p>']
    note = _redaction_line(report)
    if note:
        out.append(f'<p class="redacted">{esc(note)}</p>')
    if report.call_filter:
        out.append(f'<p class="meta">Only the calls {esc(", ".join(report.call_filter))}</p>')
    links = [("findings", "Findings"), ("compare", "Good vs bad"), ("ladders", "Call flows"),
             *([("charts", "Charts")] if report.charts else []), ("calls", "Calls"), ("inputs", "What was read")]
    out.append("<nav>" + "".join(f'<a href="#{a}">{t}</a>' for a, t in links) + "</nav>")
    out.append("</header>")

    out.append('<section id="findings"><h2>Findings: root causes, their symptoms under them</h2>')
    if not findings:
        out.append('<p class="note">No problems found.</p>')
    numbers = _numbers(findings)
    for n, f, line in _headed(report, findings):
        if line:
            out.append(f'<p class="headline">Call <span class="callid">{esc(f.call_id)}</span>: {esc(line)}</p>')
        out.append(_finding_html(n, f, numbers))
    out.append("</section>")

    out.append('<section id="compare"><h2>Good vs bad: the worst failing call beside a healthy one</h2>')
    out.extend(_comparison_html(report))
    out.append("</section>")

    out.append('<section id="ladders"><h2>Call flows of the calls with findings</h2>')
    ladders = report.ladders
    if not ladders:
        out.append('<p class="note">No call has a finding.</p>')
    out.extend(_figure_html(i) for i in ladders)
    out.append("</section>")

    if report.charts:
        out.append('<section id="charts"><h2>Charts</h2>')
        out.extend(_figure_html(i) for i in report.charts)
        out.append("</section>")

    out.append('<section id="calls"><h2>Calls</h2>')
    out.append(_table(CALL_HEADER, _call_rows(report), "calls"))
    if report.rows.call_count > MAX_CALL_ROWS:
        out.append(f'<p class="note">First {MAX_CALL_ROWS} of {report.rows.call_count} calls.</p>')
    out.append("</section>")

    out.append('<section id="inputs"><h2>What was read</h2>')
    out.append(_table(INPUT_HEADER, _input_rows(report), "inputs"))
    for line in _context_lines(d.context, findings):
        out.append(f'<p class="meta">{esc(line)}</p>')
    skipped = _skip_lines(report)
    if skipped:
        out.append("<h3>Skipped input</h3><ul>" + "".join(f"<li>{esc(s)}</li>" for s in skipped) + "</ul>")
    out.append("</section>")
    for line in report.notes:
        out.append(f'<p class="note">{esc(line)}</p>')
    out.append(f"<footer>{esc(_footer(report))} JSON schema {SCHEMA}.</footer>")
    out += ["</main>", "</body>", "</html>", ""]
    return "\n".join(out)


def _comparison_html(report: Report) -> list[str]:
    out = []
    if report.comparison_note:
        out.append(f'<p class="note">{esc(report.comparison_note)}</p>')
    if report.comparison:
        out.append(f"<pre><code>{esc_block(report.comparison)}</code></pre>")
    out.extend(_figure_html(i) for i in report.compared)
    if not out:
        out.append('<p class="note">No failing call: nothing to compare.</p>')
    return out


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#&!~$])")
# What a renderer would turn into a link however it is escaped (GFM's autolinks:
# a scheme, www., an e-mail address); such values go in a code span.
_MD_LINKISH = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://|www\.|@[^\s@]+\.|\b(?:sips?|tel|mailto|xmpp):", re.I)
# What starts a block when it begins a line: a rule or setext underline, a list item, a quote.
_MD_BLOCK_START = re.compile(r"^(?:[-+=>]|\d+[.)])")


def md(value: Any) -> str:
    """A value as Markdown text that renders as written: one line, never a link, rule, list,
    heading, emphasis or math; values that look like addresses are code spans."""
    words = printable(_CONTROL.sub("\ufffd", _swept(str(value)))).split()   # a newline would end a table row
    text = " ".join(_md_code(w) if _MD_LINKISH.search(w) else _md_escape(w) for w in words)
    start = _MD_BLOCK_START.match(text)
    if start is None:
        return text
    at = start.end() - 1            # escape the marker itself ("1\\." not "\\1.")
    return text[:at] + "\\" + text[at:]


def _md_escape(word: str) -> str:
    """Markdown's marks in one word escaped; an underscore between two letters or digits is left
    as it is (CommonMark never reads it as emphasis: SIPPROXY_E_UNKNOWN stays readable)."""
    def one(m: re.Match[str]) -> str:
        at = m.start()
        if m.group(1) == "_" and 0 < at < len(word) - 1 and word[at - 1].isalnum() and word[at + 1].isalnum():
            return "_"
        return "\\" + m.group(1)

    return _MD_SPECIAL.sub(one, word)


def _plain_line(value: Any) -> str:
    return printable(_CONTROL.sub("\ufffd", _swept(str(value))))


def md_span(value: Any) -> str:
    """A value as one code span (evidence, Call-IDs): shown as written, never markup."""
    return _md_code(" ".join(_plain_line(value).split()) or " ")


def md_fence(text: str, info: str = "text") -> list[str]:
    """Lines of text as a fenced block: a fence longer than any run of backticks in them."""
    lines = [_plain_line(line) for line in text.split("\n")]
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + info, *lines, fence]


def _md_code(text: str) -> str:
    """``text`` as a code span: a fence longer than any run of backticks in it; pipes escaped (tables)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(md(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
    return out


def render_markdown(report: Report, image_dir: str) -> tuple[str, dict[str, bytes]]:
    """Markdown text and the images it links to (``{file name: PNG}``), under ``image_dir``."""
    with _sweeping(report):
        return _render_markdown(report, image_dir)


def _render_markdown(report: Report, image_dir: str) -> tuple[str, dict[str, bytes]]:
    d, findings = report.diagnosis, report.findings
    files: dict[str, bytes] = {}
    out = ["# siptrace report", "", f"**{md(d.verdict())}**", ""]      # the verdict is line 3
    out += [f"> {md(line)}\n" for line in _reading_notes(report)]
    out += [f"Across calls: {md(p.text())}  " for p in report.patterns[:MAX_PATTERNS]]
    out += [md((_counts(findings) if findings else "No problems found.") + "; " + _totals(report)), ""]
    note = _redaction_line(report)
    if note:
        out += [f"> {md(note)}", ""]
    if report.call_filter:
        out += [md(f"Only the calls {', '.join(report.call_filter)}"), ""]

    out += ["## Findings: root causes, their symptoms under them", ""]
    if not findings:
        out += ["No problems found.", ""]
    numbers = _numbers(findings)
    for n, f, line in _headed(report, findings):
        if line:
            out += [f"**Call {md_span(f.call_id)}:** {md(line)}", ""]
        out += [f"### {n}. {md(f.severity.value.upper())} {md(f.rule)}", "", md(f.summary), ""]
        cause = numbers.get(f.cause) if f.cause else None
        if cause:
            out += [f"A symptom of finding {cause}.", ""]
        if f.call_id:
            out += [f"call {md(f.call_id)}", ""]
        for e in f.evidence:
            out.append(f"- {md_span(e.origin)} · {md(_time(e.time))} · {md_span(e.text)}")
        if f.evidence:
            out.append("")
        facts = _facts(f)
        if facts:
            out += ["Facts: " + md("; ".join(f"{k} = {v}" for k, v in facts)), ""]
        if f.inferred:
            out += [f"Inferred: {md(', '.join(f.inferred))}", ""]
        out += [f"**Why:** {md(f.why)}", "", f"**Fix:** {md(f.fix)}", ""]
        if not cause:
            for head, lines in _command_blocks(f):
                out += [md(head), "", *md_fence("\n".join(lines), "powershell"), ""]

    def figure(image: Image) -> list[str]:
        if image.png is None:
            return [f"*{md(image.title)}: {md(image.note)}*", ""]
        name = f"{image.name}.png"
        files[name] = image.png
        target = quote(f"{image_dir}/{name}")
        return [f"![{md(image.title)}]({target})", "", md(image.title), ""]

    out += ["## Good vs bad: the worst failing call beside a healthy one", ""]
    if report.comparison_note:
        out += [md(report.comparison_note), ""]
    if report.comparison:
        out += [*md_fence(report.comparison), ""]
    for image in report.compared:
        out += figure(image)
    if not (report.comparison_note or report.comparison or report.compared):
        out += ["No failing call: nothing to compare.", ""]

    out += ["## Call flows of the calls with findings", ""]
    if not report.ladders and not report.ladder_text:
        out += ["No call has a finding.", ""]
    if report.ladder_text:
        out += [f"The worst call, {md_span(report.ladder_call)}:", "", *md_fence(report.ladder_text), ""]
    for image in report.ladders:
        out += figure(image)
    if report.charts:
        out += ["## Charts", ""]
        for image in report.charts:
            out += figure(image)
    out += ["## Calls", ""]
    out += _md_table(CALL_HEADER, _call_rows(report)) + [""]
    out += ["## What was read", ""]
    out += _md_table(INPUT_HEADER, _input_rows(report)) + [""]
    for line in _context_lines(d.context, findings):
        out += [md(line), ""]
    skipped = _skip_lines(report)
    if skipped:
        out += ["### Skipped input", ""] + [f"- {md(s)}" for s in skipped] + [""]
    out += [f"*{md(n)}*" for n in report.notes]
    out += ["", md(_footer(report)), ""]
    return "\n".join(out), files


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def format_of(path: str | Path) -> str | None:
    """``html``, ``md``, ``json`` or ``text`` from the output's extension, else None."""
    return FORMATS.get(Path(path).suffix.lower())


def write_report(report: Report, output: str | Path) -> list[Path]:
    """Write the report in the format its extension names; returns every file written.

    Markdown images go to ``<stem>_files/`` next to the report, named by
    their place in it (``ladder-1.png``, ``chart-2.png``).
    """
    out = Path(output)
    fmt = format_of(out)
    written = [out]
    out.parent.mkdir(parents=True, exist_ok=True)   # -o reports/ticket-123/report.html
    if fmt == "html":
        write_atomically(out, render_html(report))
    elif fmt == "json":
        write_atomically(out, render_json(report))
    elif fmt == "text":
        write_atomically(out, printable(render_text(report)))      # read in a terminal: no control sequences
    elif fmt == "md":
        folder = out.with_name(f"{out.stem}_files")
        text, files = render_markdown(report, folder.name)
        if files:
            folder.mkdir(exist_ok=True)
            for name, data in files.items():
                path = folder / name
                write_atomically(path, data)
                written.append(path)
        write_atomically(out, text)
    else:
        raise ValueError(f"{out}: unknown report format; use .html, .md or .json")
    return written


__all__ = ["Image", "Report", "build_report", "format_of", "render_html", "render_json", "render_markdown",
           "render_text", "write_report", "esc", "md", "CSP"]
