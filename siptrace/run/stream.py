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
* Trace time is a `SteadyClock`: it only moves forward, and a record far
  ahead of or behind the others (a flipped digit, a late diagnostic record)
  moves it only when the next record agrees.  A call's last news is the
  clock when its item arrived, not the item's own stamp, so a record stamped
  early or late neither splits its call nor keeps it in memory.
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
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any, Protocol, Sized

from ..correlate.calls import OffsetEstimator
from ..correlate.timeline import build_timeline
from ..model.context import Context
from ..model.sip import DiagRecord, Item, SipMessage
from ..read.inputs import open_sources
from ..read.progress import Progress
from ..read.reader import InputStats, Part, read_any
from ..rules import run_rules
from .clock import SteadyClock
from .diagnose import Diagnosis, Summary
from .job import HOLD, Job, job_of
from .spill import FindingWriter, spill_directory

_NO_CALL = "(no Call-ID)"
_DIALOG_METHODS = frozenset({"INVITE", "UPDATE", "INFO", "BYE"})


class _Bucket:
    __slots__ = ("items", "last", "seen", "open", "expires")

    def __init__(self) -> None:
        self.items: list[Item] = []
        self.last: datetime | None = None
        self.seen = 0                               # the number of the item that came last
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


def _merged(job: Job, inputs: list[InputStats], meter: Meter | Callable[[int], Meter] | None, found: Sized,
            part: Part | None = None) -> Iterator[Item]:
    """Items of every input, merged by time (each input is read in its own order)."""
    sources = [src for path in job.paths for src in open_sources(path)]
    if callable(meter):
        meter = meter(sum(s.size or 0 for s in sources))
    streams = []
    for source in sources:
        stats = InputStats(source.name)
        inputs.append(stats)
        streams.append(read_any(source, stats, job.input_format, part))
    items: Iterator[Item]
    if len(streams) == 1:
        items = streams[0]      # nothing to merge with
    else:
        jump = job.limits.idle
        items = (item for _, _, _, item in heapq.merge(*(_keyed(s, n, jump) for n, s in enumerate(streams))))
    if meter is not None:
        items = meter.follow(items, lambda: (sum(s.bytes for s in inputs), sum(s.records for s in inputs),
                                             sum(s.sip for s in inputs), len(found)))
    yield from items


def _keyed(items: Iterator[Item], n: int, jump: float) -> Iterator[tuple[datetime, int, int, Item]]:
    """Each item with its input's steady time: one record stamped far off does not hold the
    whole input back behind the others (nor push it ahead)."""
    clock = SteadyClock(jump)
    last = datetime.min
    for seq, item in enumerate(items):
        when = getattr(item, "time", None)
        if when is not None:
            last = clock.see(when.replace(tzinfo=None))
        yield (last, n, seq, item)


def run_streamed(job: Job, *, part: Part | None = None, meter: Meter | None = None,
                 estimator: OffsetEstimator | None = None, spill_to: str | None = None,
                 findings_name: str = "findings-0") -> Diagnosis:
    """Run ``job`` in bounded memory; the result has findings and counts, no timeline.

    A ``part`` limits the run to the records it keeps (a worker's, in
    `siptrace.run.parallel`); a ``meter`` replaces the progress line; an
    ``estimator`` given by the caller collects the clock differences.
    Findings go to the file ``findings_name`` in ``spill_to`` (a new temporary
    folder, removed when the result is dropped, if not given), so memory does
    not grow with them.
    With a redactor, the inputs are read twice: once to learn every value it
    replaces, once to judge.
    """
    own_folder = spill_to is None
    folder = spill_to or spill_directory()
    try:
        with _collector_paused():
            result = _Run(job, part, meter, estimator, folder, findings_name).run()
    except BaseException:
        if own_folder:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    if own_folder:
        result.findings.remove_when_done(folder)   # type: ignore[attr-defined]
    return result


def diagnose_stream(paths: str | Sequence[str], ctx: Context | None = None, **options: Any) -> Diagnosis:
    """`run_streamed` of the job these options make (`siptrace.run.job.job_of`)."""
    job = job_of(paths, ctx, **options)
    result = run_streamed(job)
    result.ladders = getattr(job.watcher, "ladders", {})
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
_RECENT = 20_000      # calls judged lately whose dialogs are remembered (a later part counts them once)


class _Run:
    """One streamed run: the calls in memory, and what was judged."""

    def __init__(self, job: Job, part: Part | None, meter: Meter | None, estimator: OffsetEstimator | None,
                 folder: str, findings_name: str) -> None:
        self.job = job
        self.part = part
        self.meter: Meter | Callable[[int], Meter] | None = meter
        if meter is None and job.progress:
            self.meter = Progress   # type: ignore[assignment]   # sized once the inputs are open
        self.ctx = job.context
        self.inputs: list[InputStats] = []
        self.estimator = estimator if estimator is not None else OffsetEstimator()
        self.findings = FindingWriter(folder, findings_name, job.render)
        self.summary = Summary(inputs=self.inputs)
        self.buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self.held: dict[str, _Bucket] = {}                       # quiet, but answered and not ended
        self.deadlines: list[tuple[datetime, str]] = []          # (when a held call is judged, Call-ID)
        self.recently: OrderedDict[str, set[tuple]] = OrderedDict()   # calls judged lately: their dialogs
        self.ready: dict[str, _Bucket] = {}      # calls gone quiet, judged together (see `BATCH`)
        self.clock = SteadyClock(job.limits.idle)
        self.count = 0                  # items put with their calls so far

    # -- the loop --------------------------------------------------------------
    def run(self) -> Diagnosis:
        job = self.job
        redactor = job.redactor
        if redactor is not None:
            self._learn_originals()
        window = timedelta(seconds=job.limits.idle)
        checked: datetime | None = None
        keeps_call, clock = job.selection.keeps_call, self.clock
        for n, item in enumerate(_merged(job, self.inputs, self.meter, self.findings, self.part), 1):
            if not n % _COLLECT_EVERY:
                gc.collect()
            if not isinstance(item, (SipMessage, DiagRecord)):
                continue   # other records and skipped input are in the counts already
            call_id = item.call_id      # a message's is read from its headers each time: once here
            if not keeps_call(call_id):
                continue
            if item.time is not None:
                clock.see(item.time)
                if clock.stepped_back:
                    self._stepped_back()
            if self._add(call_id or _NO_CALL, item):
                continue
            now = clock.now
            if now is not None and now != checked:
                checked = now                   # the oldest calls can only go quiet as time goes on
                self._quiet_since(now - window)
                self._held_too_long(now)
        self._judge()          # the parts gone quiet first: a call may have one there and one still open
        for call_id in [*self.held, *self.buckets]:
            self._done_with(call_id)
        self._judge()
        return self._result()

    def _stepped_back(self) -> None:
        """The trace's clock was set back: every call had news now."""
        clock = self.clock
        clock.stepped_back = False
        now = clock.now
        assert now is not None
        limits = self.job.limits
        for bucket in (*self.buckets.values(), *self.held.values()):
            bucket.last = now
        self.deadlines = [(now + timedelta(seconds=b.hold(limits.idle, limits.hold) or limits.idle), cid)
                          for cid, b in self.held.items()]
        heapq.heapify(self.deadlines)

    def _learn_originals(self) -> None:
        """A redactor learns every value of the trace before the first is replaced, so pseudonyms
        are the same as when the trace is redacted whole."""
        redactor = self.job.redactor
        assert redactor is not None
        redactor.learn_context(self.job.context)
        keep = self.job.selection.keeps_call
        redactor.learn(i for i in _merged(self.job, [], None, (), self.part)
                       if isinstance(i, (SipMessage, DiagRecord)) and keep(i.call_id))
        self.ctx = redactor.redact_context(self.job.context)

    def _add(self, call_id: str, item: SipMessage | DiagRecord) -> bool:
        """Put the item with its call; True when that made the call too long and judged it."""
        bucket = self.buckets.get(call_id)
        if bucket is None:
            bucket = self.held.pop(call_id, None)
            if bucket is None:
                if call_id in self.ready:
                    self._judge()      # the call comes back: its earlier part is judged on its own first
                bucket = _Bucket()
            self.buckets[call_id] = bucket
        else:
            self.buckets.move_to_end(call_id)
        bucket.items.append(item)
        if isinstance(item, SipMessage):
            bucket.note(item)
        self.count += 1
        bucket.seen = self.count
        now = self.clock.now
        if now is not None:
            bucket.last = now                 # news of the call, in steady trace time
        if len(bucket.items) < self.job.limits.max_messages:
            return False
        self._done_with(call_id)
        self._judge()          # now, with the others ready: its end of trace is now
        if bucket.open:        # the rest of the call is still held while it is connected
            rest = self.buckets[call_id] = _Bucket()
            rest.open, rest.expires, rest.last = bucket.open, bucket.expires, bucket.last
        return True

    # -- calls going quiet -----------------------------------------------------
    def _quiet_since(self, cutoff: datetime) -> None:
        buckets = self.buckets
        while buckets:
            oldest_id, oldest = next(iter(buckets.items()))
            if oldest.last is None or oldest.last >= cutoff or oldest.seen > self.count - SteadyClock.WINDOW:
                break       # the clock follows the median of the last records: those are news to it yet
            self._gone_quiet(oldest_id)

    def _gone_quiet(self, call_id: str) -> None:
        bucket = self.buckets[call_id]
        limits = self.job.limits
        longer = bucket.hold(limits.idle, limits.hold)
        if longer is None or bucket.last is None:
            self._done_with(call_id)
            return
        self.held[call_id] = self.buckets.pop(call_id)
        heapq.heappush(self.deadlines, (bucket.last + timedelta(seconds=longer), call_id))

    def _held_too_long(self, now: datetime) -> None:
        limits = self.job.limits
        while self.deadlines and self.deadlines[0][0] < now:
            _, call_id = heapq.heappop(self.deadlines)
            bucket = self.held.get(call_id)
            if bucket is None or bucket.last is None:
                continue        # it came back, or was judged already
            longer = bucket.hold(limits.idle, limits.hold) or limits.idle
            if bucket.last + timedelta(seconds=longer) < now:
                self._done_with(call_id)

    def _done_with(self, call_id: str) -> None:
        bucket = self.buckets.pop(call_id, None)
        self.ready[call_id] = bucket if bucket is not None else self.held.pop(call_id)
        if len(self.ready) >= BATCH:
            self._judge()

    # -- judging ---------------------------------------------------------------
    def _judge(self) -> None:
        """Correlate and judge the calls in ``ready`` as one timeline."""
        if not self.ready:
            return
        items = [item for bucket in self.ready.values() for item in bucket.items]
        self.ready.clear()
        items = self.job.selection.select(items)
        if self.job.redactor is not None:
            items = [self.job.redactor.redact_item(item) for item in items]
        timeline = build_timeline(items, self.inputs, self.estimator, end=self.clock.now)
        found = run_rules(timeline, self.ctx, self.job.rules)
        self.findings.add(found)
        if self.job.watcher is not None:
            self.job.watcher.judged(timeline, found)
        self._count(timeline)

    def _count(self, timeline: Any) -> None:
        summary, recently = self.summary, self.recently
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
        while len(recently) > _RECENT:
            recently.popitem(last=False)

    def _result(self) -> Diagnosis:
        summary = self.summary
        clocks = self.estimator.clocks([s.path for s in self.inputs])
        summary.offsets, summary.references = clocks.offsets, clocks.references
        if self.job.redactor is not None:
            summary.inputs = [self.job.redactor.redact_stats(s) for s in self.inputs]
        return Diagnosis(None, self.ctx, self.findings.finish(), summary)


__all__ = ["diagnose_stream", "run_streamed", "SteadyClock", "HOLD"]
