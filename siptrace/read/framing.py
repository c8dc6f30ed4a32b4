"""Cuts a stream of lines into raw records, before any grammar runs.

A plain string test finds the boundaries (a record starts with a line
beginning ``TL_`` or holding ``$$begin_record``, and ends with a line
``$$end_record``); ocslogger.lark decides whether what lies between is a
record.  A first line without ``$$begin_record`` that the next record start
(or the end of the input) follows at once, blank lines aside, is a whole
record of one line: Lync 2010 SIPStack traces are full of them
(``TL_INFO(TF_COMPONENT) [1]... From client connection, CID [0x2F]``).
Text outside records and records cut short are reported, never dropped:
they become `Junk` and `Truncated` pieces with file:line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
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
    """Lines outside any record: from the first non-blank one to the last, blank lines between
    them kept (bare SIP pasted into a trace is read from it, at its own lines); ``lines``
    counts the non-blank ones."""

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
    oversized: bool = False


Piece = RawRecord | Junk | Truncated


def is_record_start(line: bytes) -> bool:
    return line.startswith(b"TL_") or BEGIN_MARK in line


def is_record_end(line: bytes) -> bool:
    return line.startswith(END_MARK) and not line[len(END_MARK):].strip()


def may_stand_alone(first_line: bytes) -> bool:
    """Whether a record's first line can be the whole record: it opens no ``$$begin_record``."""
    return BEGIN_MARK not in first_line


def frame(lines: Iterable[bytes], first_line: int = 1, first_offset: int = 0) -> Iterator[Piece]:
    """Group lines (each ending in ``\\n`` but maybe the last) into pieces.

    The plain reference: `frame_blocks` gives the same pieces from large
    blocks and is the one the reader uses.
    """
    lineno = first_line - 1
    offset = first_offset
    rec: list[bytes] | None = None
    rec_line = rec_off = 0
    junk: list[bytes] = []
    junk_line = junk_off = 0
    blanks: list[bytes] = []          # blank lines after junk: kept if more junk follows
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
                yield _cut_by_next(rec, rec_line, rec_off, at_eof=False)
                rec, rec_line, rec_off = [line], lineno, offset
            else:
                rec.append(line)
        elif is_record_start(line):
            if junk:
                yield _junk_piece(junk, junk_line, junk_off)
                junk, blanks = [], []
            rec, rec_line, rec_off = [line], lineno, offset
        elif line.strip():
            if not junk:
                junk_line, junk_off = lineno, offset
            junk.extend(blanks)
            blanks = []
            junk.append(line)
        elif junk:
            blanks.append(line)
        offset += len(line)
    if rec is not None:
        yield _cut_by_next(rec, rec_line, rec_off, at_eof=True)
    if junk:
        yield _junk_piece(junk, junk_line, junk_off)


def _junk_piece(lines: list[bytes], line: int, offset: int) -> Junk:
    return Junk(_kept(b"".join(lines)), line, offset, sum(1 for ln in lines if ln.strip()))


_SIP_VERSION = re.compile(rb"SIP/[0-9]+\.[0-9]+")


def _kept(data: bytes) -> bytes:
    """What a junk run keeps: bare SIP text whole (up to `MAX_RECORD`), to be read; other text
    only its start (`JUNK_KEPT`), to be shown."""
    return data[:MAX_RECORD] if _SIP_VERSION.search(data) else data[:JUNK_KEPT]


def _cut_by_next(rec: list[bytes], line: int, offset: int, at_eof: bool) -> Piece:
    """A record that the next start (or the end) interrupts: whole when it is one line, else cut."""
    if may_stand_alone(rec[0]) and not any(r.strip() for r in rec[1:]):
        return RawRecord(rec[0], line, offset)
    return Truncated(b"".join(rec), line, offset, at_eof=at_eof)


BLOCK = 1 << 20
MAX_RECORD = 1 << 24      # a "record" longer than this is cut: its end marker is surely lost
JUNK_KEPT = 4096          # bytes of a junk run kept for the report (all its lines are counted)


class _Finder:
    """Next record start at or after a position, remembering what it already found.

    Without the memory, a file whose records lack a begin marker would be
    scanned again for every record.
    """

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self._tl = -2          # next "TL_" at a line start (-1: none left)
        self._begin = -2       # next line holding $$begin_record (its line start)
        self._end_from: int | None = None   # where the remembered end search started
        self._end = -1         # its result: just past the end line, or -1
        self._end_at = -1      # where that end line starts
        self._mark_from = len(buf) + 1   # where the remembered "\n$$end_record" search started
        self._mark = -1                  # its result

    def _next_tl(self, pos: int) -> int:
        if self._tl == -1 or (self._tl >= pos):
            return self._tl
        buf = self.buf
        if pos == 0 and buf.startswith(b"TL_"):
            self._tl = 0
        else:
            i = buf.find(b"\nTL_", max(pos - 1, 0))
            self._tl = i + 1 if i != -1 else -1
        return self._tl

    def _next_begin(self, pos: int) -> int:
        if self._begin == -1 or self._begin >= pos:
            return self._begin
        buf = self.buf
        i = buf.find(BEGIN_MARK, pos)
        while i != -1:
            line_start = buf.rfind(b"\n", 0, i) + 1
            if line_start >= pos:
                self._begin = line_start
                return line_start
            # the marker sits on the line that starts before pos: try the next one
            i = buf.find(BEGIN_MARK, i + 1)
        self._begin = -1
        return -1

    def next_end(self, pos: int) -> int:
        """Index just past the first "$$end_record" line at or after pos, or -1 (remembered)."""
        if self._end_from is not None and self._end_from <= pos and (self._end == -1 or self._end_at >= pos):
            return self._end
        found = _next_end(self.buf, pos)
        self._end_from, self._end = pos, found
        self._end_at = self.buf.rfind(b"\n", 0, found - 1) + 1 if found != -1 else -1
        return found

    def end_mark(self, pos: int) -> int:
        """Index of the first "\\n$$end_record" at or after pos, or -1 (remembered: records
        that never end must not make every later record search the rest of the buffer)."""
        if self._mark_from <= pos and (self._mark == -1 or self._mark >= pos):
            return self._mark
        self._mark_from, self._mark = pos, self.buf.find(b"\n" + END_MARK, pos)
        return self._mark

    def next_start(self, pos: int) -> int:
        a, b = self._next_tl(pos), self._next_begin(pos)
        if a == -1:
            return b
        if b == -1:
            return a
        return min(a, b)


def _next_end(buf: bytes, pos: int) -> int:
    """Index just past the first "$$end_record" line at or after pos, or -1."""
    i = buf.find(END_MARK, pos)
    while i != -1:
        if i == 0 or buf[i - 1] == 10:
            eol = buf.find(b"\n", i)
            stop = len(buf) if eol == -1 else eol + 1
            if not buf[i + len(END_MARK): stop].strip():
                return stop
        i = buf.find(END_MARK, i + 1)
    return -1


def _plain_end(buf: bytes, pos: int, finder: _Finder) -> int:
    """Index just past the record's end line, for the common record: its first
    ``$$end_record`` line (at or after ``pos``, a line start) is a proper end
    line and no record starts before it.  -1 when it is not so plain (then
    `_Finder` decides), so the result is always the one `_Finder` would give."""
    at = finder.end_mark(pos - 1)
    if at == -1:
        return -1
    eol = buf.find(b"\n", at + 1)
    if eol == -1 or buf[at + 1 + len(END_MARK):eol].strip():
        return -1
    if buf.find(b"\nTL_", pos - 1, at) != -1 or buf.find(BEGIN_MARK, pos, at) != -1:
        return -1
    return eol + 1


_MORE = -2                  # `_alone`: the rest of the buffer is blank, more input may follow
_BLANKS = re.compile(rb"\s*")


def _alone(buf: bytes, pos: int, finder: _Finder, final: bool) -> int:
    """For a first line without a begin marker ending at ``pos``: ``pos`` when the record
    is that line alone (only blank lines before the next record start or the end of
    the input), -1 when other lines follow it, `_MORE` when the buffer cannot tell."""
    if buf.startswith(b"TL_", pos):
        return pos
    n = len(buf)
    nxt = finder.next_start(pos) if pos < n else -1
    stop = n if nxt == -1 else nxt
    if _BLANKS.match(buf, pos, stop).end() != stop:   # type: ignore[union-attr]
        return -1
    return pos if nxt != -1 or final else _MORE


def _junk(buf: bytes, a: int, b: int, line: int, offset: int) -> Junk | None:
    """Non-blank lines of buf[a:b] as one Junk piece (line/offset of the first one)."""
    chunk = buf[a:b]
    if not chunk.strip():
        return None
    parts = chunk.splitlines(keepends=True)
    kept = [ln for ln in parts if ln.strip()]
    first = chunk.find(kept[0])
    last = chunk.rfind(kept[-1]) + len(kept[-1])
    return Junk(_kept(chunk[first:last]), line + chunk.count(b"\n", 0, first), offset + first, len(kept))


def frame_blocks(blocks: Iterable[bytes], first_line: int = 1, first_offset: int = 0,
                 keep: Callable[[bytes, int, int], bool] | None = None,
                 newlines: Callable[[int], None] | None = None) -> Iterator[Piece]:
    """The pieces of a byte stream given as blocks of any size (same result as `frame`).

    ``keep(buffer, start, end)``, when given, is asked about each complete
    record before it is copied out; the records it refuses are passed over
    (another worker reads them), the lines still counted.  ``newlines`` is
    told, at the end, how many line ends the stream held (so no one else
    has to count them again).
    """
    carry = b""
    line, offset = first_line, first_offset
    pending_junk: Junk | None = None
    started = False
    it = iter(blocks)
    final = False
    while not final:
        block = next(it, None)
        if block is None:
            final = True
            buf = carry
            if not started and first_line == 1 and buf.startswith(BOMS[0]):
                buf = buf[3:]
                offset += 3
        else:
            buf = carry + block
            if not started and first_line == 1:
                if len(buf) < 3:
                    carry = buf
                    continue
                started = True
                if buf.startswith(BOMS[0]):
                    buf = buf[3:]
                    offset += 3
            cut = buf.rfind(b"\n") + 1
            if cut == 0:
                carry = buf
                continue
            buf, carry = buf[:cut], buf[cut:]
        if not buf:
            break
        finder = _Finder(buf)
        pos = 0
        n = len(buf)
        while pos < n:
            # a line starting "TL_" right here is the next start; else look for one
            start = pos if buf.startswith(b"TL_", pos) else finder.next_start(pos)
            upto = n if start == -1 else start      # text before the next record is junk
            if upto > pos:
                junk = _junk(buf, pos, upto, line, offset)
                if junk is not None:
                    pending_junk = _merge(pending_junk, junk)
                line += buf.count(b"\n", pos, upto)
                offset += upto - pos
                pos = upto
            if start == -1:
                break
            first_eol = buf.find(b"\n", start)
            after_first = n if first_eol == -1 else first_eol + 1
            end = -1
            if buf.find(BEGIN_MARK, start, after_first) == -1:
                end = _alone(buf, after_first, finder, final)
                if end == _MORE:
                    if n - start <= MAX_RECORD:
                        carry = buf[start:] + carry
                        break
                    end = after_first
            nxt = -1
            if end == -1:
                end = _plain_end(buf, after_first, finder) if first_eol != -1 else -1
            if end == -1:
                end = finder.next_end(after_first)
                nxt = finder.next_start(after_first)
            if nxt != -1 and (end == -1 or nxt < end):
                piece: Piece = Truncated(buf[start:nxt], line, offset, at_eof=False)
                stop = nxt
            elif end == -1:
                if not final and n - start <= MAX_RECORD:
                    carry = buf[start:] + carry
                    break
                piece = Truncated(buf[start:start + MAX_RECORD], line, offset, at_eof=final,
                                  oversized=not final)
                stop = n
            else:
                stop = end
                if keep is not None and not keep(buf, start, end):
                    if pending_junk is not None:     # text before it stays a piece of its own
                        yield pending_junk
                        pending_junk = None
                    line += buf.count(b"\n", start, stop)
                    offset += stop - start
                    pos = stop
                    continue
                piece = RawRecord(buf[start:end], line, offset)
            if pending_junk is not None:
                yield pending_junk
                pending_junk = None
            yield piece
            line += buf.count(b"\n", start, stop)
            offset += stop - start
            pos = stop
        if final:
            break
    if newlines is not None:
        newlines(line - first_line)
    if pending_junk is not None:
        yield pending_junk


def _merge(a: Junk | None, b: Junk) -> Junk:
    if a is None:
        return b
    # the blank lines between the two halves (cut by a block boundary) are put back
    gap = b.line - a.line - a.data.count(b"\n")
    blank = b"\r\n" if a.data.endswith(b"\r\n") else b"\n"
    return Junk(_kept(a.data + blank * max(gap, 0) + b.data), a.line, a.offset, a.lines + b.lines)
