"""Trace time that a few badly stamped records cannot move.

A record's own time can be wrong: a flipped digit, a record written late, a
clock stepped back.  The runners judge a call once trace time has moved on
past it, so trace time must follow the bulk of the records, and the in-memory
runner must end the trace where the streamed one does.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta

from ..model.sip import Item


class SteadyClock:
    """Trace time that moves forward with the bulk of the records, not on the word of a few.

    The clock is the median of the last `WINDOW` record times, and it only moves
    forward: a record or two stamped far off (a flipped digit, a record written
    late or early, outliers one after another) cannot move it, since the median
    ignores them; a real gap in the trace moves it once most of the recent
    records agree.  When the median falls more than ``jump`` seconds behind the
    clock, the trace's clock was set back: the clock follows and
    ``stepped_back`` says so.
    """

    WINDOW = 9
    __slots__ = ("now", "stepped_back", "_recent", "_sorted", "_jump")

    def __init__(self, jump: float) -> None:
        self.now: datetime | None = None
        self.stepped_back = False
        self._recent: deque[datetime] = deque()
        self._sorted: list[datetime] = []
        self._jump = timedelta(seconds=jump)

    def see(self, when: datetime) -> datetime:
        recent, ordered = self._recent, self._sorted
        recent.append(when)
        insort(ordered, when)
        if len(recent) > self.WINDOW:
            del ordered[bisect_left(ordered, recent.popleft())]
        median = ordered[(len(ordered) - 1) // 2]
        now = self.now
        if now is None or median > now:
            self.now = median
        elif median < now - self._jump:
            self.now, self.stepped_back = median, True
        return self.now     # type: ignore[return-value]


def steady_end(items: Iterable[Item], jump: float = 64.0) -> datetime | None:
    """Where the trace ends: the latest of each input's steady clock at its last record
    (one record stamped a year ahead does not make the trace a year long)."""
    clocks: dict[str, SteadyClock] = {}
    for item in items:
        when = getattr(item, "time", None)
        if when is None:
            continue
        name = item.origin.file
        clock = clocks.get(name)
        if clock is None:
            clock = clocks[name] = SteadyClock(jump)
        clock.see(when)
    ends = [c.now for c in clocks.values() if c.now is not None]
    return max(ends) if ends else None


__all__ = ["SteadyClock", "steady_end"]
