"""Exceptions that stop a run, and nothing else.

Strategy: bad *content* is data, not an exception.  A record the grammar
rejects becomes a `Skipped` item with its reason and file:line; a state
machine that meets odd input emits an UNEXPECTED event.  Exceptions are kept
for what makes going on impossible: a missing file, an unreadable archive, a
binary .etl trace, a bad option.  Each carries the path and a hint so the CLI
can print one line a person can act on: ``<file>: <what is wrong>. <what to do>.``
"""

from __future__ import annotations


class SiptraceError(Exception):
    """Base of every error siptrace raises on purpose."""

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # keyword-only path/hint: the default pickling (args only) would lose them
        return (_rebuild, (type(self), self.message, self.path, self.hint))

    def __str__(self) -> str:
        head = f"{self.path}: {self.message}" if self.path else self.message
        if self.hint:
            return f"{head.rstrip('.')}. {self.hint}"
        return head


def _rebuild(cls: type[SiptraceError], message: str, path: str | None, hint: str | None) -> SiptraceError:
    return cls(message, path=path, hint=hint)


class InputError(SiptraceError):
    """An input cannot be read at all (missing, directory, .etl, empty, unknown)."""
