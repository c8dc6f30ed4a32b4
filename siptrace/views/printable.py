"""Trace text shown as text: no terminal control sequences, no bidirectional overrides.

A trace is written by others, and a SIP value can hold anything: an escape
sequence that rewrites the terminal (ESC [ ... ), a carriage return that hides
what came before it on the line, or a right-to-left override (U+202E) that
makes ``moc.osotnoc@eci1a`` read as something else.  Every character of that
kind is shown as its ``\\uXXXX`` escape, which is also how JSON writes it, so
JSON output still decodes to the trace's own value.  Tabs and line ends of
siptrace's own layout are kept.
"""

from __future__ import annotations

import io
import re
from typing import TextIO

# C0 controls but tab and LF, DEL, C1 controls, and the invisible marks and
# embeddings/overrides/isolates of Unicode's bidirectional algorithm.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def printable(text: str) -> str:
    """``text`` with every unsafe character written as its ``\\uXXXX`` escape."""
    return _UNSAFE.sub(_escape, text)


class PrintableStream(io.TextIOBase):
    """A text stream that writes through `printable` (stdout and stderr of the command line)."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner
        self.unfiltered = inner        # for siptrace's own drawing (the progress line's carriage returns)

    def write(self, text: str) -> int:
        self._inner.write(printable(text))
        return len(text)

    def flush(self) -> None:
        self._inner.flush()

    def isatty(self) -> bool:
        return self._inner.isatty()

    def fileno(self) -> int:
        return self._inner.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._inner, "encoding", "utf-8")

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self._inner, "errors", None)

    def writable(self) -> bool:
        return True


__all__ = ["PrintableStream", "printable"]
