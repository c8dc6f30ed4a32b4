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
  BYE 20-45 s after a 200 OK, 64*T1 = 32 s of 2xx retransmissions).
* A call that was answered and has not ended (a 2xx to INVITE, no BYE yet)
  is not judged when it goes quiet: a connected call is quiet for minutes
  between session refreshes (RFC 4028), and its re-INVITE, UPDATE or BYE
  must be judged with its start, as `siptrace.load` judges them.  Such a
  call is held, with its items, until it ends, until it has been quiet for
  its session interval plus 64 s (by then a refresh or a BYE was due), or,
  with no session timer, for ``hold`` seconds (2 hours by default).  Only
  then, or past ``max_messages``, is a call judged in parts; a later part
  starting mid-dialog is still known as one (a re-INVITE is never a new
  call) and its dialogs are not counted twice.
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

from ..model.context import Context
from ..correlate.calls import OffsetEstimator
from .diagnose import Diagnosis, Summary
from ..rules.findings import Finding
from ..read.inputs import open_sources
from ..model.sip import DiagRecord, Item, SipMessage
from ..read.partition import Share
from ..read.progress import Progress
from ..read.reader import InputStats, read_any
from ..rules import RULES, Rule, run_rules
from .spill import FindingWriter, spill_directory
from ..correlate.timeline import Timeline, build_timeline

# a view's text of one call (timeline, Call-ID, the call's findings → text, "" for none), made in the worker
Ladder = Callable[[Timeline, str, list[Finding]], str]

_NO_CALL = "(no Call-ID)"
# How long an answered call that has not ended, with no session timer, may stay
# quiet before it is judged in parts (a conference or a long PSTN call).
HOLD = 7200.0
_DIALOG_METHODS = frozenset({"INVITE", "UPDATE", "INFO", "BYE"})


class _Bucket:
    __slots__ = ("items", "last", "open", "expires")

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.last: datetime | None = None
        self.open: dict[frozenset, bool] | None = None   # dialogs not ended yet → answered?
        self.expires: int | None = None             # longest session interval seen (RFC 4028)

    def note(self, sip: SipMessage) -> None:
        """Follows whether the call holds a dialog that was answered, or is seen mid-call, and
        has not ended: a 2xx to INVITE or an in-dialog re-INVITE, UPDATE or INFO opens it, a
        BYE ends it, and so does a final failure of an INVITE that was never answered."""
        method = sip.cseq_method
        if method not in _DIALOG_METHODS:
            return
        to_tag = sip.to_tag
        if not to_tag:
            return
        tags = frozenset((sip.from_tag, to_tag))
        status = sip.status
        if method == "BYE":
            if self.open and status is None:
                self.open.pop(tags, None)
            return
        if self.open is None:
            self.open = {}
        if status is None:
            self.open.setdefault(tags, False)
            self._session(sip)
        elif method == "INVITE" and 200 <= status < 300:
            self.open[tags] = True
            self._session(sip)
        elif method == "INVITE" and status >= 300 and not self.open.get(tags, False):
            self.open.pop(tags, None)   # the early dialog ended with the INVITE's failure

    def _session(self, sip: SipMessage) -> None:
        value = sip.headers.get("session-expires")
        lead = value.split(";", 1)[0].strip() if value else ""
        if lead.isdigit():
            self.expires = max(self.expires or 0, int(lead))

    def hold(self, idle: float, hold: float) -> float | None:
        """How long the call may stay quiet before it is judged, if longer than ``idle``."""
        if not self.open:
            return None
        return max(idle, self.expires + 64.0) if self.expires else max(idle, hold)


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
                    ladders: Ladder | None = None, share: Share | None = None,
                    meter: Meter | None = None, estimator: OffsetEstimator | None = None,
                    spill_to: str | None = None, render: Callable[[Finding], str] | None = None,
                    hold: float = HOLD) -> Diagnosis:
    """Diagnose in bounded memory; the result has findings and counts, no timeline.

    With ``ladders`` (a view's function, e.g. `siptrace.views.patterns.CallNotes`),
    each call's text is made while the call is still in memory and kept in
    ``Diagnosis.ladders`` when not empty.
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
                               ladders, share, meter, estimator, folder, render, hold)
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
              progress: bool, idle: float, max_messages: int, ladders: Ladder | None, share: Share | None,
              meter: Meter | None, estimator: OffsetEstimator | None, spill_to: str,
              render: Callable[[Finding], str] | None, hold: float = HOLD) -> Diagnosis:
    paths = [paths] if isinstance(paths, str) else list(paths)
    inputs: list[InputStats] = []
    estimator = estimator if estimator is not None else OffsetEstimator()
    findings = FindingWriter(spill_to, f"findings-{share.index if share else 0}", render)
    summary = Summary(inputs=inputs)
    buckets: OrderedDict[str, _Bucket] = OrderedDict()
    held: dict[str, _Bucket] = {}                       # quiet, but answered and not ended
    deadlines: list[tuple[datetime, str]] = []          # (when a held call is judged, Call-ID)
    recently: OrderedDict[str, set[tuple]] = OrderedDict()   # calls judged lately: their dialogs, counted once
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
        if ladders is not None:      # every call: the view says which it keeps ("" for none)
            of_call: dict[str, list[Finding]] = {}
            for f in found:
                of_call.setdefault(f.call_id or "", []).append(f)
            for call in timeline.calls:
                text = ladders(timeline, call.call_id, of_call.get(call.call_id, []))
                if text:
                    drawn[call.call_id] = text
        summary.messages += len(timeline.messages)
        summary.sightings += timeline.sightings
        for call in timeline.calls:
            keys = [(d.call_id, frozenset((d.caller_tag, d.callee_tag))) for d in call.dialogs]
            earlier = recently.get(call.call_id)
            if earlier is None:
                if call.messages:
                    summary.calls += 1
                    summary.sessions += any(d.method == "INVITE" for d in call.dialogs)
                summary.dialogs += len(keys)
                recently[call.call_id] = set(keys)
            else:          # a later part of a call judged in parts: its dialogs counted once
                summary.dialogs += sum(1 for k in set(keys) if k not in earlier)
                earlier.update(keys)
                recently.move_to_end(call.call_id)
        while len(recently) > 20_000:
            recently.popitem(last=False)
        ready.clear()

    def done_with(call_id: str) -> None:
        bucket = buckets.pop(call_id, None)
        ready[call_id] = bucket if bucket is not None else held.pop(call_id)
        if len(ready) >= BATCH:
            judge()

    def gone_quiet(call_id: str) -> None:
        bucket = buckets[call_id]
        longer = bucket.hold(idle, hold)
        if longer is None or bucket.last is None:
            done_with(call_id)
            return
        held[call_id] = buckets.pop(call_id)
        heapq.heappush(deadlines, (bucket.last + timedelta(seconds=longer), call_id))

    def held_too_long(now: datetime) -> None:
        while deadlines and deadlines[0][0] < now:
            _, call_id = heapq.heappop(deadlines)
            bucket = held.get(call_id)
            if bucket is None or bucket.last is None:
                continue        # it came back, or was judged already
            longer = bucket.hold(idle, hold) or idle
            if bucket.last + timedelta(seconds=longer) < now:
                done_with(call_id)

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
            bucket = held.pop(call_id, None)
            if bucket is None:
                if call_id in ready:
                    judge()      # the call comes back: its earlier part is judged on its own first
                bucket = _Bucket()
            buckets[call_id] = bucket
        else:
            buckets.move_to_end(call_id)
        bucket.items.append(item)
        if isinstance(item, SipMessage):
            bucket.note(item)
        if item.time is not None:
            bucket.last = item.time
            now = item.time if now is None or item.time > now else now
        if len(bucket.items) >= max_messages:
            done_with(call_id)
            judge()          # now, with the others ready: its end of trace is now
            if bucket.open:  # the rest of the call is still held while it is connected
                rest = buckets[call_id] = _Bucket()
                rest.open, rest.expires, rest.last = bucket.open, bucket.expires, bucket.last
            continue
        if now is not None and now != checked:
            checked = now                   # the oldest calls can only go quiet as time goes on
            cutoff = now - window
            while buckets:
                oldest_id, oldest = next(iter(buckets.items()))
                if oldest.last is None or oldest.last >= cutoff:
                    break
                gone_quiet(oldest_id)
            held_too_long(now)
    judge()          # the parts gone quiet first: a call may have one there and one still open
    for call_id in [*held, *buckets]:
        done_with(call_id)
    judge()
    clocks = estimator.clocks([s.path for s in inputs])
    summary.offsets, summary.references = clocks.offsets, clocks.references
    result = Diagnosis(None, ctx, findings.finish(), summary)
    result.ladders = drawn
    return result


__all__ = ["diagnose_stream"]
