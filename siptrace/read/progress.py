"""A progress line on stderr for big inputs, only when a person is watching."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")

THRESHOLD = 50 * 1024 * 1024     # inputs smaller than this finish before a bar helps


class Progress:
    """Bytes read, records, SIP messages; redrawn at most a few times a second."""

    def __init__(self, total: int | None, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        # its own text, drawn with carriage returns: past any filter that escapes a trace's control
        # characters (the command line's stderr is one; it keeps the stream it filters as `unfiltered`)
        drawn_on: TextIO = getattr(sys.stderr, "unfiltered", None) or sys.stderr
        self.stream: TextIO = stream or drawn_on
        self.total = total or 0
        if enabled is None:
            enabled = bool(total and total >= THRESHOLD and getattr(self.stream, "isatty", lambda: False)())
        self.enabled = enabled
        self._last = 0.0
        self._start = time.monotonic()

    def update(self, done: int, records: int, sip: int, findings: int | None = None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.25:
            return
        self._last = now
        mb = done / 1e6
        rate = mb / max(now - self._start, 1e-6)
        share = f"{100 * done / self.total:5.1f}% " if self.total else ""
        extra = f", {findings:,} findings" if findings is not None else ""
        self.stream.write(f"\r{share}{mb:,.0f} MB read ({rate:,.0f} MB/s), {records:,} records, {sip:,} SIP{extra}  ")
        self.stream.flush()

    def follow(self, items: Iterable[T], counts: Callable[[], tuple[int, ...]]) -> Iterator[T]:
        """Pass ``items`` through, redrawing from ``counts()`` (bytes, records, SIP[, findings]) now and then."""
        try:
            for n, item in enumerate(items):
                if not n & 1023:
                    self.update(*counts())
                yield item
            self.update(*counts())
        finally:
            self.close()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 78 + "\r")
            self.stream.flush()
