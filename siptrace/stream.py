"""``diagnose`` in bounded memory: the trace is read once and judged call by call.

Theory of operation:

* Inputs are read side by side, merged by time, so the sightings of one call
  from the front end, the Edge and a client log arrive close together.
* Items are gathered per Call-ID.  A call is judged (correlated, run through
  the state machine and the rules) once nothing has come for it for
  ``idle`` seconds of trace time, or when it grows past ``max_messages``
  items (messages and diagnostic records: the "(no Call-ID)" bucket of
  records that name no call may never go quiet); its items are then dropped
  and only its findings are kept.
* ``idle`` (64 s by default) is longer than anything a rule waits for (the
  BYE 20-45 s after a 200 OK, 64*T1 = 32 s of 2xx retransmissions), so a call
  judged in parts is only ever a long call whose later messages no rule
  needs together with its start.
* Clock offsets are learnt as calls are judged (`OffsetEstimator`) and the
  final estimate is reported, per group of files that share messages.
"""

from __future__ import annotations

import gc
import heapq
import shutil
from contextlib import contextmanager
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Protocol, Sized

from .context import Context
from .correlate import OffsetEstimator
from .diagnose import Diagnosis, Summary
from .findings import Finding
from .inputs import open_sources
from .model import DiagRecord, Item, SipMessage
from .partition import Share
from .progress import Progress
from .reader import InputStats, read_any
from .rules import RULES, Rule, run_rules
from .spill import FindingWriter, spill_directory
from .timeline import build_timeline

_NO_CALL = "(no Call-ID)"


class _Bucket:
    __slots__ = ("items", "last")

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.last: datetime | None = None


class Meter(Protocol):
    """What follows a run's progress: `Progress` on a terminal, or a parent's counters."""

    def follow(self, items: Iterable[Item], counts: Callable[[], tuple[int, ...]]) -> Iterator[Item]: ...


def _merged(paths: Sequence[str], input_format: str | None, inputs: list[InputStats],
            meter: Meter | Callable[[int], Meter] | None, found: Sized,
            share: Share | None = None) -> Iterator[Item]:
    """Items of every input, merged by time (each input is read in its own order)."""
    sources = [src for path in paths for src in open_sources(path)]
    if callable(meter):
        meter = meter(sum(s.size or 0 for s in sources))
    streams = []
    for source in sources:
        stats = InputStats(source.name)
        inputs.append(stats)
        streams.append(read_any(source, stats, input_format, share))
    items: Iterator[Item]
    if len(streams) == 1:
        items = streams[0]      # nothing to merge with
    else:
        items = (item for _, _, _, item in heapq.merge(*(_keyed(s, n) for n, s in enumerate(streams))))
    if meter is not None:
        items = meter.follow(items, lambda: (sum(s.bytes for s in inputs), sum(s.records for s in inputs),
                                             sum(s.sip for s in inputs), len(found)))
    yield from items


def _keyed(items: Iterator[Item], n: int) -> Iterator[tuple[datetime, int, int, Item]]:
    last = datetime.min
    for seq, item in enumerate(items):
        when = getattr(item, "time", None)
        if when is not None:
            last = when.replace(tzinfo=None)
        yield (last, n, seq, item)


def diagnose_stream(paths: str | Sequence[str], ctx: Context | None = None,
                    rules: Sequence[type[Rule]] = RULES, input_format: str | None = None,
                    progress: bool = False, idle: float = 64.0, max_messages: int = 5000,
                    ladders: bool = False, share: Share | None = None,
                    meter: Meter | None = None, estimator: OffsetEstimator | None = None,
                    spill_to: str | None = None, render: Callable[[Finding], str] | None = None) -> Diagnosis:
    """Diagnose in bounded memory; the result has findings and counts, no timeline.

    With ``ladders``, the text ladder of every call with a finding at warning or
    above is drawn while the call is still in memory (``Diagnosis.ladders``).
    A ``share`` limits the run to one worker's part of the records
    (`siptrace.parallel`); a ``meter`` replaces the progress line; an
    ``estimator`` given by the caller collects the clock differences.
    Findings go to a file in ``spill_to`` (a new temporary folder, removed
    when the result is dropped, if not given), so memory does not grow with them;
    with ``render``, their output text too (`SpilledFindings.texts`).
    """
    own_folder = spill_to is None
    folder = spill_to or spill_directory()
    try:
        with _collector_paused():
            result = _diagnose(paths, ctx or Context(), rules, input_format, progress, idle, max_messages,
                               ladders, share, meter, estimator, folder, render)
    except BaseException:
        if own_folder:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    if own_folder:
        result.findings.remove_when_done(folder)   # type: ignore[attr-defined]
    return result


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector walks every live object, and a run holds thousands
    of calls' messages: 10-25% of the time.  The model makes no reference cycles
    (what a call held is freed by reference counting once it is judged), so the
    collector is paused, and `_COLLECT_EVERY` items the loop collects once, in
    case something ever does make cycles."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_COLLECT_EVERY = 100_000
# Calls gone quiet are judged this many at a time: building a timeline and
# running the rules has a cost per run that a call of a few messages would
# otherwise pay alone.  Calls are still judged apart in every way that
# matters: by Call-ID, and a call that comes back is judged in parts as before.
BATCH = 64


def _diagnose(paths: str | Sequence[str], ctx: Context, rules: Sequence[type[Rule]], input_format: str | None,
              progress: bool, idle: float, max_messages: int, ladders: bool, share: Share | None,
              meter: Meter | None, estimator: OffsetEstimator | None, spill_to: str,
              render: Callable[[Finding], str] | None) -> Diagnosis:
    paths = [paths] if isinstance(paths, str) else list(paths)
    inputs: list[InputStats] = []
    estimator = estimator if estimator is not None else OffsetEstimator()
    findings = FindingWriter(spill_to, f"findings-{share.index if share else 0}", render)
    summary = Summary(inputs=inputs)
    buckets: OrderedDict[str, _Bucket] = OrderedDict()
    recently: OrderedDict[str, None] = OrderedDict()    # calls judged lately: count each once
    window = timedelta(seconds=idle)
    drawn: dict[str, str] = {}
    now: datetime | None = None

    ready: dict[str, _Bucket] = {}      # calls gone quiet, judged together (see `BATCH`)

    def judge() -> None:
        """Correlate and judge the calls in ``ready`` as one timeline."""
        if not ready:
            return
        items = [item for bucket in ready.values() for item in bucket.items]
        timeline = build_timeline(items, inputs, estimator, end=now)
        found = run_rules(timeline, ctx, rules)
        findings.add(found)
        if ladders:
            from .ladder import ladder_text

            for cid in {f.call_id for f in found if f.call_id and f.severity.rank >= 1}:
                if timeline.call(cid) is not None:
                    drawn[cid] = ladder_text(timeline, cid, [f for f in found if f.call_id == cid])
        summary.messages += len(timeline.messages)
        summary.sightings += timeline.sightings
        summary.dialogs += len(timeline.dialogs)
        fresh = {cid for cid in ready if cid not in recently}
        summary.calls += sum(1 for c in timeline.calls if c.messages and c.call_id in fresh)
        summary.sessions += sum(1 for c in timeline.calls if c.messages and c.call_id in fresh
                                and any(d.method == "INVITE" for d in c.dialogs))
        for cid in ready:
            recently[cid] = None
            recently.move_to_end(cid)
        while len(recently) > 20_000:
            recently.popitem(last=False)
        ready.clear()

    def done_with(call_id: str) -> None:
        ready[call_id] = buckets.pop(call_id)
        if len(ready) >= BATCH:
            judge()

    checked: datetime | None = None
    if meter is None and progress:
        meter = Progress   # type: ignore[assignment]   # sized once the inputs are open
    for n, item in enumerate(_merged(paths, input_format, inputs, meter, findings, share), 1):
        if not n % _COLLECT_EVERY:
            gc.collect()
        if isinstance(item, SipMessage):
            call_id = item.call_id or _NO_CALL
        elif isinstance(item, DiagRecord):
            call_id = item.call_id or _NO_CALL
        else:
            continue   # other records and skipped input are in the counts already
        bucket = buckets.get(call_id)
        if bucket is None:
            if call_id in ready:
                judge()      # the call comes back: its earlier part is judged on its own first
            bucket = buckets[call_id] = _Bucket()
        else:
            buckets.move_to_end(call_id)
        bucket.items.append(item)
        if item.time is not None:
            bucket.last = item.time
            now = item.time if now is None or item.time > now else now
        if len(bucket.items) >= max_messages:
            done_with(call_id)
            judge()          # now, with the others ready: its end of trace is now
            continue
        if now is not None and now != checked:
            checked = now                   # the oldest calls can only go quiet as time goes on
            cutoff = now - window
            while buckets:
                oldest_id, oldest = next(iter(buckets.items()))
                if oldest.last is None or oldest.last >= cutoff:
                    break
                done_with(oldest_id)
    judge()          # the parts gone quiet first: a call may have one there and one still open
    for call_id in list(buckets):
        done_with(call_id)
    judge()
    clocks = estimator.clocks([s.path for s in inputs])
    summary.offsets, summary.references = clocks.offsets, clocks.references
    result = Diagnosis(None, ctx, findings.finish(), summary)
    result.ladders = drawn
    return result


__all__ = ["diagnose_stream"]
