"""The notebook API: ``siptrace.load(paths, um_fqdn=...)`` → a `Trace` of DataFrames.

A `Trace` holds the correlated `Timeline` (every message in memory), the
findings, and lazily built DataFrames.  Each pipeline stage is also a public
function (`siptrace.read`, `build_timeline`, `run_rules`) for notebooks that
want to stop earlier.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Sequence
from datetime import datetime
from html import escape

import pandas as pd

from . import tables as frames
from ..model.context import Context
from ..model.words import plural
from .callview import CallView, ComparisonView
from ..rules.findings import Finding
from ..correlate.timeline import Timeline
from ..read.filters import parse_time


class Trace:
    """One or more trace files, correlated and diagnosed, as frames for pandas."""

    def __init__(self, timeline: Timeline, context: Context, findings: list[Finding],
                 memory_mb: float | None = None) -> None:
        self.timeline = timeline
        self.context = context
        self.findings_list = findings
        self.memory_mb = memory_mb      # growth of this process's memory while loading, if measurable

    # -- frames -------------------------------------------------------------
    @functools.cached_property
    def messages(self) -> pd.DataFrame:
        """One row per unique message (its sightings counted in ``sightings``)."""
        return frames.messages_frame(self.timeline)

    @functools.cached_property
    def dialogs(self) -> pd.DataFrame:
        return frames.dialogs_frame(self.timeline)

    @functools.cached_property
    def calls(self) -> pd.DataFrame:
        return frames.calls_frame(self.timeline, self.findings_list)

    @functools.cached_property
    def findings(self) -> pd.DataFrame:
        return frames.findings_frame(self.findings_list)

    @functools.cached_property
    def verdict(self) -> str:
        """The one sentence ``siptrace diagnose`` starts with."""
        from ..run.diagnose import Diagnosis

        return Diagnosis(self.timeline, self.context, self.findings_list).verdict()

    @functools.cached_property
    def patterns(self) -> pd.DataFrame:
        """Each root cause's reach: one row per kind of call it hit (and the same place reached another way)."""
        from .patterns import notes_of, patterns

        rows = [{"rule": p.rule, "key": p.key, "kind": r.kind.label(), "hit": r.hit, "calls": r.calls,
                 "first": p.first, "last": p.last, "text": p.text()}
                for p in patterns(self.findings_list, notes_of(self.timeline, self.findings_list, self.context))
                for r in p.reach]
        return frames.frame(rows, PATTERN_COLUMNS)

    # -- navigation ---------------------------------------------------------
    def call(self, call_id: str) -> CallView:
        """One call (its Call-ID, or a unique start of it): ``.messages``, ``.findings``, ``.headline``,
        ``.ladder()``, ``.compare(other)``; ``.call`` is the correlated `Call`."""
        found = self.timeline.call(call_id)
        if found is None:
            starts = [c for c in self.timeline.calls if c.call_id.startswith(call_id)] if call_id else []
            if len(starts) != 1:
                raise KeyError(f"no call with Call-ID {call_id!r} in this trace"
                               + (f" ({len(starts)} start with it)" if starts else ""))
            found = starts[0]
        return CallView(self, found)

    def compare(self, a: str | None = None, b: str | None = None) -> ComparisonView:
        """Two calls side by side, step by step, with the first point where they differ.

        Without ``b``: call ``a`` (by default the worst failing call) beside the
        best healthy call of the same kind; a `LookupError` says when there is none.
        """
        from .callview import compare_calls
        from .compare import pick

        if a is not None and b is not None:
            return compare_calls(self, self.call(a).call_id, self.call(b).call_id)
        chosen = pick(self.timeline, self.findings_list, self.context, self.call(a).call_id if a else None)
        if chosen.failing is None or chosen.healthy is None:
            raise LookupError(chosen.note)
        return compare_calls(self, chosen.healthy, chosen.failing)

    def findings_of(self, call_id: str) -> list[Finding]:
        return [f for f in self.findings_list if f.call_id == call_id]

    @property
    def failing_call_id(self) -> str | None:
        """The Call-ID of the worst finding's call (findings are sorted worst first)."""
        return next((f.call_id for f in self.findings_list if f.call_id), None)

    def ladder(self, call_id: str | None = None):  # type: ignore[no-untyped-def]
        """The ladder (sequence) diagram of one call as a matplotlib Figure, findings marked.

        Without ``call_id``: the call of the worst finding.
        """
        from .ladder import ladder_figure

        call_id = self._pick(call_id)
        return ladder_figure(self.timeline, call_id, self.findings_of(call_id))

    def ladder_text(self, call_id: str | None = None, width: int = 100) -> str:
        from .ladder import ladder_text

        call_id = self._pick(call_id)
        return ladder_text(self.timeline, call_id, self.findings_of(call_id), width)

    def _pick(self, call_id: str | None) -> str:
        """The call asked for (a clear KeyError if unknown), else the worst one, else the first."""
        call_id = call_id or self.failing_call_id or (self.timeline.calls[0].call_id if self.timeline.calls else "")
        return self.call(call_id).call_id

    @property
    def size(self) -> dict[str, int]:
        """How much this trace holds in memory."""
        t = self.timeline
        return {"messages": len(t.messages), "sightings": t.sightings, "calls": len(t.calls),
                "dialogs": len(t.dialogs), "diagnostic_records": len(t.diagnostics),
                "other_records": len(t.records), "skipped": len(t.skipped),
                "input_bytes": sum(i.bytes for i in t.inputs)}

    def _memory(self) -> str:
        return f", about {self.memory_mb:,.0f} MB in memory" if self.memory_mb is not None else ""

    def __repr__(self) -> str:
        s = self.size
        return (f"<siptrace.Trace {plural(len(self.timeline.inputs), 'file')}: {plural(s['messages'], 'message')}, "
                f"{plural(s['calls'], 'call')}, {plural(len(self.findings_list), 'finding')}{self._memory()}>")

    def _repr_html_(self) -> str:
        s = self.size
        files = "".join(f"<li><code>{escape(i.path)}</code>: {i.records} records ({i.sip} SIP, "
                        f"{i.skipped} skipped, {i.errors} errors)</li>" for i in self.timeline.inputs)
        worst = "".join(f"<li><b>[{escape(f.severity.value)}] {escape(f.rule)}</b>: {escape(f.summary)}</li>"
                        for f in self.findings_list[:10])
        return (f"<div><b>siptrace.Trace</b>: {s['messages']} messages ({s['sightings']} sightings), "
                f"{s['dialogs']} dialogs, {s['calls']} calls{escape(self._memory())}<ul>{files}</ul>"
                f"<b>Findings</b> ({len(self.findings_list)}):<ul>{worst}</ul></div>")


def load(paths: str | Sequence[str], um_fqdn: str | Sequence[str] | None = None,
         edge_fqdn: str | Sequence[str] | None = None, pool_fqdn: str | Sequence[str] | None = None,
         *, call_id: str | Sequence[str] | None = None, host: str | None = None,
         since: str | datetime | None = None, until: str | datetime | None = None,
         input_format: str | None = None) -> Trace:
    """Read, correlate and diagnose trace files for a notebook.

    The whole trace is held in memory (`Trace.size`, `Trace.memory_mb` say how
    much).  The filters (``call_id``, ``host``, ``since``, ``until``) keep only
    the matching messages, for traces too large to hold whole; without them, a
    large input gives a warning that says so.  ``siptrace diagnose`` judges
    any size in bounded memory.
    """
    from ..run.diagnose import run_in_memory
    from ..run.job import Job, Selection

    ids = {call_id} if isinstance(call_id, str) else set(call_id or ())
    selection = Selection(frozenset(ids), host, _time(since), _time(until))
    ctx = Context.of(um_fqdn, edge_fqdn, pool_fqdn)
    before = _resident_mb()
    result = run_in_memory(Job.of(paths, context=ctx, input_format=input_format, selection=selection))
    after = _resident_mb()
    assert result.timeline is not None
    trace = Trace(result.timeline, ctx, list(result.findings),
                  memory_mb=max(0.0, after - before) if before is not None and after is not None else None)
    unfiltered = not ids and host is None and since is None and until is None
    read = trace.size["input_bytes"]
    if unfiltered and read > LARGE_INPUT:
        warnings.warn(f"siptrace.load is holding all {trace.size['messages']:,} messages of {read / 1e6:,.0f} MB "
                      f"of input{trace._memory()}; pass call_id=, host=, since= or until= to keep less, or "
                      f"run `siptrace diagnose` (bounded memory)", ResourceWarning, stacklevel=2)
    return trace


PATTERN_COLUMNS = {"rule": "string", "key": "string", "kind": "string", "hit": "int64", "calls": "int64",
                   "first": frames.TIME, "last": frames.TIME, "text": "string"}
LARGE_INPUT = 200_000_000   # bytes of input above which an unfiltered load warns


def _resident_mb() -> float | None:
    """This process's resident memory in MB, where the system tells it (Linux)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _time(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return parse_time(value)
