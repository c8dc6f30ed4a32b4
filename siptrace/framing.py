"""Cuts a stream of lines into raw records, before any grammar runs.

A plain string test finds the boundaries (a record starts with a line
beginning ``TL_`` or holding ``$$begin_record``, and ends with a line
``$$end_record``); ocslogger.lark decides whether what lies between is a
record.  Text outside records and records cut short are reported, never
dropped: they become `Junk` and `Truncated` pieces with file:line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

BEGIN_MARK = b"$$begin_record"
END_MARK = b"$$end_record"
BOMS = (b"\xef\xbb\xbf",)


@dataclass(slots=True)
class RawRecord:
    data: bytes
    line: int
    offset: int


@dataclass(slots=True)
class Junk:
    """Non-blank lines outside any record."""

    data: bytes
    line: int
    offset: int
    lines: int


@dataclass(slots=True)
class Truncated:
    """A record with no ``$$end_record`` (cut by the next record or the end of input)."""

    data: bytes
    line: int
    offset: int
    at_eof: bool


Piece = RawRecord | Junk | Truncated


def is_record_start(line: bytes) -> bool:
    return line.startswith(b"TL_") or BEGIN_MARK in line


def is_record_end(line: bytes) -> bool:
    return line.startswith(END_MARK) and not line[len(END_MARK):].strip()


def frame(lines: Iterable[bytes], first_line: int = 1, first_offset: int = 0) -> Iterator[Piece]:
    """Group lines (each ending in ``\\n`` but maybe the last) into pieces."""
    lineno = first_line - 1
    offset = first_offset
    rec: list[bytes] | None = None
    rec_line = rec_off = 0
    junk: list[bytes] = []
    junk_line = junk_off = 0
    for line in lines:
        lineno += 1
        if lineno == 1 and line.startswith(BOMS[0]):
            offset += 3
            line = line[3:]
        if rec is not None:
            if is_record_end(line):
                rec.append(line)
                yield RawRecord(b"".join(rec), rec_line, rec_off)
                rec = None
            elif is_record_start(line):
                yield Truncated(b"".join(rec), rec_line, rec_off, at_eof=False)
                rec, rec_line, rec_off = [line], lineno, offset
            else:
                rec.append(line)
        elif is_record_start(line):
            if junk:
                yield Junk(b"".join(junk), junk_line, junk_off, len(junk))
                junk = []
            rec, rec_line, rec_off = [line], lineno, offset
        elif line.strip():
            if not junk:
                junk_line, junk_off = lineno, offset
            junk.append(line)
        offset += len(line)
    if rec is not None:
        yield Truncated(b"".join(rec), rec_line, rec_off, at_eof=True)
    if junk:
        yield Junk(b"".join(junk), junk_line, junk_off, len(junk))
