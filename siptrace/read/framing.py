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

What a logged message carries cannot forge records.  Inside a record that
logs a SIP message with a Content-Length (or ``l:``), the body after
``Message-Body:`` is taken by its length, so ``$$end_record`` or a record's
first line written in an instant message, a pidf or a sipfrag neither ends
the record nor starts one.  The length is *plausible* when, counted from the
byte after ``Message-Body:`` (and the one blank after it), the body ends
right before an ``$$end_record`` line, or before one line end and then that
line (the logger's own line end, whether or not the body ends with one).
What stands right after the body is the logger's, never the sender's, so
this leniency lets nothing from the body through.  The body
is counted twice: byte for byte (the trace as written, CRLF kept) and with
every bare LF counted as CRLF (a trace whose line ends were turned into LF
after it was written); the count of the record's own line ends is tried
first.  When neither count fits, the record is framed by its first
``$$end_record`` line, as any other record, and `RawRecord.note` says so (it
becomes a problem of the message).  Likewise a line that holds
``$$begin_record`` but is shaped as a header (``Subject: ... $$begin_record``)
starts no record.

Memory is bounded whatever the input: a line longer than `MAX_LINE` bytes is
never held; it becomes a `LongLine` piece (its line, offset and length) and
the record it stood in is cut short.  A record is never longer than
`MAX_RECORD` bytes.
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
    note: str | None = None     # why its Content-Length could not frame it, when it could not


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
    long_line: bool = False     # cut short by a line longer than `MAX_LINE`


@dataclass(slots=True)
class LongLine:
    """A line longer than `MAX_LINE` bytes: skipped, never held in memory."""

    line: int
    offset: int
    length: int                 # its bytes, line end included


Piece = RawRecord | Junk | Truncated | LongLine

MAX_LINE = 1 << 24        # a longer line is skipped (`LongLine`)
MAX_RECORD = 1 << 24      # a "record" longer than this is cut: its end marker is surely lost
BODY_KEY = b"Message-Body:"
# a header line (RFC 3261 token, then a colon): never a record's first line
_HEADER_LINE = re.compile(rb"[-!%*+.0-9A-Za-z^_`'~]+[ \t]*:")
_LENGTH = re.compile(rb"\n(?:content-length|l)[ \t]*:[ \t]*(\d{1,10})[ \t]*\r?(?=\n)", re.I)


def size_text(n: int) -> str:
    """A limit in words: "16 MB", "2,000 bytes"."""
    return f"{n >> 20} MB" if n >= 1 << 20 and not n % (1 << 20) else f"{n:,} bytes"


def long_line_reason() -> str:
    return f"line longer than {size_text(MAX_LINE)} skipped (never held in memory)"


def is_record_start(line: bytes) -> bool:
    return line.startswith(b"TL_") or (BEGIN_MARK in line and _HEADER_LINE.match(line) is None)


def is_record_end(line: bytes) -> bool:
    return line.startswith(END_MARK) and not line[len(END_MARK):].strip()


def may_stand_alone(first_line: bytes) -> bool:
    """Whether a record's first line can be the whole record: it opens no ``$$begin_record``."""
    return BEGIN_MARK not in first_line


def body_length(buf: bytes, start: int, end: int) -> int | None:
    """The Content-Length that frames a record's body, from its lines before ``Message-Body:``
    (``buf[start:end]``, ``start`` right after a line end, ``end`` right after another).

    None when there is none, when two disagree, or when it is 0 or beyond
    `MAX_RECORD` (then nothing is framed by it).
    """
    found = {int(m.group(1)) for m in _LENGTH.finditer(buf, start - 1, end)}
    if len(found) != 1:
        return None
    length = found.pop()
    return length if 0 < length <= MAX_RECORD else None


def body_start(buf: bytes, key: int) -> int:
    """Where the body begins, for a ``Message-Body:`` line at ``key``."""
    at = key + len(BODY_KEY)
    return at + 1 if buf[at:at + 1] in (b" ", b"\t") else at


def _end_line_at(buf: bytes, x: int) -> int:
    """Index just past an ``$$end_record`` line that starts at ``x``, or after one line end
    there (a logger's own line end after the body), else -1."""
    if x > len(buf):
        return -1
    if not (buf.startswith(END_MARK, x) and (x == 0 or buf[x - 1] == 10)):
        if buf.startswith(b"\r\n", x):
            x += 2
        elif buf.startswith(b"\n", x):
            x += 1
        else:
            return -1
        if not buf.startswith(END_MARK, x):
            return -1
    eol = buf.find(b"\n", x)
    stop = len(buf) if eol == -1 else eol + 1
    return stop if not buf[x + len(END_MARK):stop].strip() else -1


def _bare_lf(buf: bytes, a: int, b: int) -> int:
    return buf.count(b"\n", a, b) - buf.count(b"\r\n", a, b)


def _lf_point(buf: bytes, b0: int, length: int) -> int:
    """Where a body of ``length`` bytes written with CRLF ends when its line ends are LF here:
    x with (x - b0) + bare LFs in [b0, x) == length, or -1.  That sum grows with x: bisect."""
    lo, hi = b0 + length // 2, min(b0 + length, len(buf))
    while lo < hi:
        mid = (lo + hi) // 2
        if (mid - b0) + _bare_lf(buf, b0, mid) < length:
            lo = mid + 1
        else:
            hi = mid
    return lo if (lo - b0) + _bare_lf(buf, b0, lo) == length else -1


_MORE = -2                  # the buffer cannot tell yet: more input may follow


def body_end(buf: bytes, b0: int, length: int, crlf: bool, final: bool) -> int:
    """Index just past the ``$$end_record`` line after a body of ``length`` bytes at ``b0``;
    -1 when the length is not plausible (see the module's docstring), `_MORE` when
    ``buf`` is too short to tell and ``final`` is false."""
    p = b0 + length
    if not final and p + len(END_MARK) + 2 > len(buf):
        return _MORE
    if crlf:
        end = _end_line_at(buf, p)
        if end == -1:
            q = _lf_point(buf, b0, length)
            end = _end_line_at(buf, q) if q not in (-1, p) else -1
    else:
        q = _lf_point(buf, b0, length)
        end = _end_line_at(buf, q) if q != -1 else -1
        if end == -1 and q != p:
            end = _end_line_at(buf, p)
    return end


def mismatch(length: int) -> str:
    return (f"Content-Length {length} does not fit the body as written before $$end_record "
            "(the record was framed by its first $$end_record line)")


def frame(lines: Iterable[bytes], first_line: int = 1, first_offset: int = 0) -> Iterator[Piece]:
    """Group lines (each ending in ``\\n`` but maybe the last) into pieces.

    The plain reference: `frame_blocks` gives the same pieces from large
    blocks and is the one the reader uses.  Lines longer than `MAX_LINE`
    are `frame_blocks`' business only.
    """
    todo = list(lines)
    lineno = first_line - 1
    offset = first_offset
    rec: list[bytes] | None = None
    rec_line = rec_off = 0
    note: str | None = None
    junk: list[bytes] = []
    junk_line = junk_off = 0
    blanks: list[bytes] = []          # blank lines after junk: kept if more junk follows
    i = 0
    while i < len(todo):
        line = todo[i]
        i += 1
        lineno += 1
        if lineno == 1 and line.startswith(BOMS[0]):
            offset += 3
            line = line[3:]
        if rec is not None:
            if is_record_end(line):
                rec.append(line)
                yield RawRecord(b"".join(rec), rec_line, rec_off, note)
                rec = None
            elif is_record_start(line):
                yield _cut_by_next(rec, rec_line, rec_off, at_eof=False)
                rec, rec_line, rec_off, note = [line], lineno, offset, None
            elif line.startswith(BODY_KEY) and note is None and not any(
                    r.startswith((BODY_KEY, END_MARK)) for r in rec):
                length = body_length(b"\n" + b"".join(rec[1:]), 1, 1 + sum(map(len, rec[1:])))
                taken = _take_body(rec, todo, i - 1, line, length) if length is not None else None
                if taken is None:
                    if length is not None:
                        note = mismatch(length)
                    rec.append(line)
                else:
                    count, size = taken
                    rec.extend(todo[i - 1:i - 1 + count])
                    yield RawRecord(b"".join(rec), rec_line, rec_off, note)
                    rec = None
                    lineno += count - 1
                    offset += size - len(line)
                    i += count - 1
            else:
                rec.append(line)
        elif is_record_start(line):
            if junk:
                yield _junk_piece(junk, junk_line, junk_off)
                junk, blanks = [], []
            rec, rec_line, rec_off, note = [line], lineno, offset, None
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


# A SIP version in text between records: messages pasted into a trace (tickets, articles),
# read as bare SIP text rather than skipped whole
_SIP_VERSION = re.compile(rb"SIP/[0-9]+\.[0-9]+")


def holds_sip(data: bytes) -> bool:
    """Whether text outside any record holds SIP (every reader of a part reads such a piece)."""
    return _SIP_VERSION.search(data) is not None


def _kept(data: bytes) -> bytes:
    """What a junk run keeps: bare SIP text whole (up to `MAX_RECORD`), to be read; other text
    only its start (`JUNK_KEPT`), to be shown."""
    return data[:MAX_RECORD] if holds_sip(data) else data[:JUNK_KEPT]


def _take_body(rec: list[bytes], todo: list[bytes], at: int, line: bytes,
               length: int) -> tuple[int, int] | None:
    """(lines, bytes) from the ``Message-Body:`` line ``todo[at]`` to the record's end line
    when ``length`` frames the body, else None."""
    tail = [line]
    size = len(line)
    b0 = body_start(line, 0)
    j = at + 1
    while j < len(todo) and size < b0 + length + len(END_MARK) + 2:
        tail.append(todo[j])
        size += len(todo[j])
        j += 1
    if j < len(todo):
        tail.append(todo[j])    # the line after: the end line may follow one line end
    buf = b"".join(tail)
    end = body_end(buf, b0, length, rec[0].endswith(b"\r\n"), final=True)
    if end == -1:
        return None
    count = buf.count(b"\n", 0, end) + (0 if buf[end - 1:end] == b"\n" else 1)
    return count, end


def _cut_by_next(rec: list[bytes], line: int, offset: int, at_eof: bool) -> Piece:
    """A record that the next start (or the end) interrupts: whole when it is one line, else cut."""
    if may_stand_alone(rec[0]) and not any(r.strip() for r in rec[1:]):
        return RawRecord(rec[0], line, offset)
    return Truncated(b"".join(rec), line, offset, at_eof=at_eof)


BLOCK = 1 << 20
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
            if line_start >= pos and (buf.startswith(b"TL_", line_start)
                                      or _HEADER_LINE.match(buf, line_start) is None):
                self._begin = line_start
                return line_start
            # the marker sits on a header line or on the line that starts before pos: try the next one
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


_BODY_LINE = b"\n" + BODY_KEY
_CONTENT_LENGTH = b"\nContent-Length:"


def _plain_record(buf: bytes, pos: int, finder: _Finder, final: bool) -> tuple[int, bool]:
    """(index just past the record's end line, whether `_by_length` leaves that end as it
    is, so need not run), for the common record: its first ``$$end_record`` line (at or
    after ``pos``, a line start) is a proper end line and no record starts before it.
    (-1, False) when it is not so plain (then `_Finder` decides), so the end is always
    the one `_Finder` would give.

    `_by_length` leaves it when the record has no ``Message-Body:`` line, when the
    length of its last ``Content-Length`` header (spelled as loggers write it) is 0 (as
    in most records: nothing is framed by a length that is or may be 0), or when that
    length frames the body right up to the end line: any other length header then
    changes nothing either (when all agree the body ends there; when one disagrees
    nothing is framed by length, and the record ends there all the same).  Any other case is left to `_by_length`: a
    record with no plain end, a compact or oddly spelled length, a body that does not
    fit or that holds the end line (a forged record)."""
    at = finder.end_mark(pos - 1)
    if at == -1:
        return -1, False
    eol = buf.find(b"\n", at + 1)
    if eol == -1 or buf[at + 1 + len(END_MARK):eol].strip():
        return -1, False
    if buf.find(b"\nTL_", pos - 1, at) != -1 or buf.find(BEGIN_MARK, pos, at) != -1:
        return -1, False
    end = eol + 1
    key = buf.find(_BODY_LINE, pos - 1, at)
    if key == -1:
        return end, True
    cl = buf.rfind(_CONTENT_LENGTH, pos - 1, key + 1)
    m = _LENGTH.match(buf, cl, key + 1) if cl != -1 else None
    if m is None:
        return end, False
    length = int(m.group(1))
    if not 0 < length <= MAX_RECORD:
        return end, True            # `body_length` is None whatever the other headers say
    b0 = key + 1 + len(BODY_KEY)
    if buf[b0:b0 + 1] in (b" ", b"\t"):
        b0 += 1
    p = b0 + length
    if not final and p + len(END_MARK) + 2 > len(buf):
        return end, False
    if buf.startswith(b"\r\n", pos - 2):          # `body_end`'s first try, for this end line
        if p == at + 1 or (p == at and buf[at] == 10) or (p == at - 1 and buf[p:at + 1] == b"\r\n"):
            return end, True
    return end, body_end(buf, b0, p - b0, buf.startswith(b"\r\n", pos - 2), final) == end


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


def _by_length(buf: bytes, start: int, hs: int, finder: _Finder, final: bool) -> tuple[int, str | None]:
    """(index just past the record's end line, None) when the Content-Length of the
    message the record at ``start`` logs frames its body; (-1, why) when it does not fit;
    (-1, None) when the record has no such length; (`_MORE`, None) when the buffer
    cannot tell.  ``hs`` is where the record's second line starts."""
    n = len(buf)
    mark = finder.end_mark(hs - 1)
    stop = n if mark == -1 else mark          # the key comes before the end mark...
    if stop - hs > 1 << 16:                   # ...and before the next record (sought only when
        nxt = finder.next_start(hs)           # the mark is far: records without end marks)
        stop = stop if nxt == -1 else min(stop, nxt)
    key = buf.find(b"\n" + BODY_KEY, hs - 1, stop)
    if key == -1:
        return -1, None
    key += 1
    if buf.find(b"\nTL_", hs - 1, key) != -1 or buf.find(BEGIN_MARK, hs, key) != -1:
        nxt = finder.next_start(hs)
        if nxt != -1 and nxt < key:
            return -1, None
    length = body_length(buf, hs, key)
    if length is None:
        return -1, None
    end = body_end(buf, body_start(buf, key), length, buf.startswith(b"\r\n", hs - 2), final)
    return (-1, mismatch(length)) if end == -1 else (end, None)


@dataclass(slots=True)
class _Gap:
    """A line longer than `MAX_LINE`, left out of the blocks."""

    length: int
    newline: bool = False


def _long_line(data: bytes, limit: int) -> tuple[int, int] | None:
    """(start, index of its line end or -1) of the first line of data longer than limit."""
    pos = 0
    while True:
        eol = data.find(b"\n", pos)
        if eol == -1:
            return (pos, -1) if len(data) - pos > limit else None
        if eol - pos > limit:
            return pos, eol
        pos = eol + 1


def _bounded(blocks: Iterable[bytes]) -> Iterator[bytes | _Gap]:
    """The blocks as runs of whole lines (the last maybe not), lines longer than `MAX_LINE`
    (line end left out) replaced by a `_Gap`: at most `MAX_LINE` bytes of a line are held."""
    limit = MAX_LINE
    held = b""
    gap: _Gap | None = None
    for block in blocks:
        if gap is not None:
            eol = block.find(b"\n")
            if eol == -1:
                gap.length += len(block)
                continue
            gap.length += eol + 1
            gap.newline = True
            yield gap
            gap = None
            block = block[eol + 1:]
        if len(held) + len(block) <= limit:      # no line can be too long: whole lines, one copy at most
            cut = block.rfind(b"\n") + 1
            if not cut:
                held += block
            elif held or cut < len(block):
                yield b"".join((held, memoryview(block)[:cut]))
                held = block[cut:]
            else:
                yield block
            continue
        data = held + block if held else block
        held = b""
        while data:
            bad = _long_line(data, limit) if len(data) > limit else None
            if bad is None:
                cut = data.rfind(b"\n") + 1
                if cut:
                    yield data[:cut]
                held = data[cut:]
                break
            at, eol = bad
            if at:
                yield data[:at]
            if eol == -1:
                gap = _Gap(len(data) - at)
                break
            yield _Gap(eol + 1 - at, True)
            data = data[eol + 1:]
    if gap is not None:
        yield gap
    elif held:
        yield held


def frame_blocks(blocks: Iterable[bytes], first_line: int = 1, first_offset: int = 0,
                 keep: Callable[[bytes, int, int], bool] | None = None,
                 newlines: Callable[[int], None] | None = None) -> Iterator[Piece]:
    """The pieces of a byte stream given as blocks of any size (same result as `frame`).

    ``keep(buffer, start, end)``, when given, is asked about each complete
    record before it is copied out; the records it refuses are passed over
    (another reader reads them), the lines still counted.  ``newlines`` is
    told, at the end, how many line ends the stream held (so no one else
    has to count them again).
    """
    carry = b""
    line, offset = first_line, first_offset
    pending_junk: Junk | None = None
    started = False
    it = iter(_bounded(blocks))
    final = False
    while not final:
        event = next(it, None)
        gap = event if isinstance(event, _Gap) else None
        closing = event is None or gap is not None     # nothing follows what is held
        if closing:
            final = event is None
            buf = carry
            carry = b""
            if not started and first_line == 1 and buf.startswith(BOMS[0]):
                buf = buf[3:]
                offset += 3
            started = True
        else:
            assert isinstance(event, bytes)
            buf = carry + event
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
                end = _alone(buf, after_first, finder, closing)
                if end == _MORE:
                    if n - start <= MAX_RECORD:
                        carry = buf[start:] + carry
                        break
                    end = after_first
            nxt = -1
            note = None
            if end == -1 and first_eol != -1:
                plain, same = _plain_record(buf, after_first, finder, closing or n - start > MAX_RECORD)
                if not same:
                    end, note = _by_length(buf, start, after_first, finder, closing or n - start > MAX_RECORD)
                    if end == _MORE:
                        carry = buf[start:] + carry
                        break
                if end == -1:
                    end = plain
            if end == -1:
                end = finder.next_end(after_first)
                nxt = finder.next_start(after_first)
            if nxt != -1 and (end == -1 or nxt < end):
                piece: Piece = Truncated(buf[start:nxt], line, offset, at_eof=False)
                stop = nxt
            elif end == -1:
                if not closing and n - start <= MAX_RECORD:
                    carry = buf[start:] + carry
                    break
                piece = Truncated(buf[start:start + MAX_RECORD], line, offset, at_eof=final,
                                  oversized=not closing, long_line=gap is not None)
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
                piece = RawRecord(buf[start:end], line, offset, note)
            if pending_junk is not None:
                yield pending_junk
                pending_junk = None
            yield piece
            line += buf.count(b"\n", start, stop)
            offset += stop - start
            pos = stop
        if gap is not None:
            if pending_junk is not None:
                yield pending_junk
                pending_junk = None
            yield LongLine(line, offset, gap.length)
            line += gap.newline
            offset += gap.length
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
