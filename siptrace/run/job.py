"""One job, several runners: what to read and judge, as one value.

`load`, `diagnose`, `ladder` and `report` each build a `Job` (inputs,
context, rules, input format, the calls to keep, a redactor, limits, a
watcher of judged calls) and hand it to a runner: `run.memory` (the whole
trace in memory, for notebooks), `run.stream` (call by call in bounded
memory) or `run.parallel` (worker processes, each streaming its share of
the calls).  Only the runners know how the stages are wired.

A view that needs more than the findings (the report's summary rows, the
ladders of ``diagnose -v``) gives a `Watcher`: the runner calls it with every
part of the trace it judges, in whichever process judges it, and merges the
watchers of the workers in the parent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..correlate.timeline import Timeline
from ..model.context import Context
from ..model.sip import DiagRecord, Item, SipMessage
from ..read.filters import message_hosts
from ..rules import RULES, Rule
from ..rules.findings import Finding

if TYPE_CHECKING:
    from ..read.redact import Redactor

# How long an answered call that has not ended, with no session timer, may stay
# quiet before it is judged in parts (a conference or a long PSTN call).
HOLD = 7200.0


@dataclass(frozen=True)
class Limits:
    """When the streaming runners judge a call (see `siptrace.run.stream`)."""

    idle: float = 64.0            # seconds of trace time without news before a call is judged
    max_messages: int = 5000      # items of one call before it is judged in parts
    hold: float = HOLD            # how long an answered call that has not ended may stay quiet


@dataclass(frozen=True)
class Selection:
    """Which messages to judge: one call filter for every entry point.

    A message is kept when its Call-ID is one of ``call_ids`` (if any are
    given), it names ``host`` and its time is within ``since``/``until``.  A
    diagnostic record is kept when a message of its call is: a call's
    records travel with it, whatever their own time or host.
    """

    call_ids: frozenset[str] = frozenset()
    host: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @property
    def everything(self) -> bool:
        return not self.call_ids and self.host is None and self.since is None and self.until is None

    def keeps_call(self, call_id: str | None) -> bool:
        """Whether items of this Call-ID can be kept at all (asked as they are read)."""
        return not self.call_ids or call_id in self.call_ids

    def keeps_message(self, msg: SipMessage) -> bool:
        if not self.keeps_call(msg.call_id):
            return False
        if self.host is not None and self.host.lower() not in message_hosts(msg):
            return False
        if self.since is not None and (msg.time is None or msg.time < self.since):
            return False
        return not (self.until is not None and (msg.time is None or msg.time > self.until))

    def select(self, items: Sequence[Item]) -> list[Item]:
        """The kept messages and the diagnostic records of their calls; other records stay (they
        are counted, never judged)."""
        if self.everything:
            return list(items)
        kept_messages = [i for i in items if isinstance(i, SipMessage) and self.keeps_message(i)]
        kept = {id(m) for m in kept_messages}
        calls = {m.call_id for m in kept_messages}
        return [i for i in items if id(i) in kept or (isinstance(i, DiagRecord) and i.call_id and i.call_id in calls)
                or not isinstance(i, (SipMessage, DiagRecord))]


class Watcher(Protocol):
    """What a view gathers from the judged parts of a trace (see the module docstring)."""

    def judged(self, timeline: Timeline, findings: list[Finding]) -> None:
        """One part of the trace was judged: whole calls, with their findings."""

    def merge(self, other: Any) -> None:
        """Take in what a worker's copy of this watcher gathered."""


@dataclass
class Job:
    """Everything a run needs to know; each runner executes it its own way."""

    paths: list[str]
    context: Context = field(default_factory=Context)
    rules: Sequence[type[Rule]] = RULES
    input_format: str | None = None
    selection: Selection = Selection()
    redactor: Redactor | None = None
    limits: Limits = Limits()
    watcher: Watcher | None = None
    render: Callable[[Finding], str] | None = None   # each finding's output text, made where it is found
    progress: bool = False

    @classmethod
    def of(cls, paths: str | Sequence[str], **fields: Any) -> Job:
        return cls([paths] if isinstance(paths, str) else list(paths), **fields)

    def but(self, **changes: Any) -> Job:
        return replace(self, **changes)


@dataclass
class DrawnLadders:
    """The text ladder of every call with a finding at warning or above, drawn while the call
    is in memory (``diagnose -v``); ``draw`` is the view's function."""

    draw: Callable[[Timeline, str, list[Finding]], str]
    ladders: dict[str, str] = field(default_factory=dict)

    def judged(self, timeline: Timeline, findings: list[Finding]) -> None:
        for cid in dict.fromkeys(f.call_id for f in findings if f.call_id and f.severity.rank >= 1):
            if cid is not None and timeline.call(cid) is not None:
                self.ladders[cid] = self.draw(timeline, cid, [f for f in findings if f.call_id == cid])

    def merge(self, other: DrawnLadders) -> None:
        self.ladders.update(other.ladders)





def job_of(paths: str | Sequence[str], ctx: Context | None = None, **options: Any) -> Job:
    """A `Job` from the keyword options the library calls have always taken (``idle``,
    ``max_messages``, ``hold`` go to its `Limits`; ``ladders``, a view's drawing function, to a
    `DrawnLadders` watcher)."""
    limits = {name: options.pop(name) for name in ("idle", "max_messages", "hold") if name in options}
    draw = options.pop("ladders", None)
    if draw is not None:
        options["watcher"] = DrawnLadders(draw)
    return Job.of(paths, context=ctx or Context(), limits=Limits(**limits), **options)
__all__ = ["Job", "Limits", "Selection", "Watcher", "DrawnLadders", "HOLD", "job_of"]
