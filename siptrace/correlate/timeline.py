"""A whole trace after correlation: the object rules and views read.

`build_timeline` runs the pipeline after reading: de-duplicate sightings,
estimate clock offsets, order the timeline, group calls and dialogs, run the
INVITE state machine.  Rules never change a `Timeline`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from .calls import Call, Dialog, Message, OffsetEstimator, apply_offsets, build_calls, deduplicate
from ..model.sip import DiagRecord, Item, Record, SipMessage, Skipped
from ..read.reader import InputStats, Reader
from .statemachine import DialogRun, run


KEEP_SKIPPED = 1000   # examples kept in memory; a file of junk must not fill it


@dataclass
class Timeline:
    messages: list[Message]
    calls: list[Call]
    runs: dict[int, DialogRun]                    # id(dialog) → its state machine run
    diagnostics: list[DiagRecord] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    inputs: list[InputStats] = field(default_factory=list)
    offsets: dict[str, float] = field(default_factory=dict)    # file → seconds ahead of its reference
    references: dict[str, str] = field(default_factory=dict)   # file → the file its offset is against
    end: datetime | None = None      # how far the trace is known to run (a part may end earlier)
    _by_id: dict[str, Call] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def dialogs(self) -> list[Dialog]:
        return [d for call in self.calls for d in call.dialogs]

    def run_of(self, dialog: Dialog) -> DialogRun | None:
        return self.runs.get(id(dialog))

    def call(self, call_id: str) -> Call | None:
        if self._by_id is None or len(self._by_id) != len(self.calls):
            self._by_id = {}
            for c in self.calls:
                self._by_id.setdefault(c.call_id, c)    # the first, as a scan would find
        return self._by_id.get(call_id)

    @property
    def sightings(self) -> int:
        return sum(len(m.sightings) for m in self.messages)

    @property
    def time_span(self) -> tuple[datetime | None, datetime | None]:
        times = [m.time for m in self.messages if m.time is not None]
        return (min(times), max(times)) if times else (None, None)


def build_timeline(items: Iterable[Item], inputs: Sequence[InputStats] = (),
                   estimator: OffsetEstimator | None = None, end: datetime | None = None) -> Timeline:
    """Correlate read items into a `Timeline` (holds every message in memory).

    A streaming run passes its `OffsetEstimator`, so each part is ordered with
    the clock offsets learnt from everything read so far.
    """
    sightings: list[SipMessage] = []
    diagnostics: list[DiagRecord] = []
    records: list[Record] = []
    skipped: list[Skipped] = []
    for item in items:
        if isinstance(item, SipMessage):
            sightings.append(item)
        elif isinstance(item, DiagRecord):
            diagnostics.append(item)
        elif isinstance(item, Record):
            records.append(item)
        elif len(skipped) < KEEP_SKIPPED:   # the counts are in the input stats
            skipped.append(item)
    sightings.sort(key=lambda s: (s.time is None, s.time or datetime.min))
    messages = deduplicate(sightings)
    estimator = estimator if estimator is not None else OffsetEstimator()
    estimator.add(messages)
    clocks = estimator.clocks([s.path for s in inputs])
    offsets = clocks.offsets
    apply_offsets(messages, offsets)
    messages.sort(key=lambda m: (m.time is None, m.time or datetime.min, m.index))
    calls = build_calls(messages, diagnostics)
    runs = {id(d): run(d) for call in calls for d in call.dialogs if d.method == "INVITE"}
    last = messages[-1].time if messages and messages[-1].time else None
    # a runner's end (its steady clock) is the trace's end: a message stamped far ahead
    # (a flipped digit) must not make the trace run on for a year
    end = end or last
    return Timeline(messages=messages, calls=calls, runs=runs, diagnostics=diagnostics, records=records,
                    skipped=skipped, inputs=list(inputs), offsets=offsets,
                    references=clocks.references, end=end)


def load_timeline(paths: str | Sequence[str], input_format: str | None = None,
                  progress: bool = False) -> Timeline:
    """Read and correlate files in one step."""
    reader = Reader([paths] if isinstance(paths, str) else list(paths), input_format, progress)
    return build_timeline(reader, reader.stats)   # reader.stats is complete once the items are read
