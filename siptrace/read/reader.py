"""The reading pipeline: paths → sources → raw pieces → model items, with counts.

`read` is a generator, so memory does not grow with the input; `ReadStats`
counts as it goes and always adds up:
``records = sip + diagnostic + other + skipped + errors``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from . import framing
from .framing import BLOCK, Junk, LongLine, Piece, RawRecord, Truncated, frame_blocks, holds_sip
from .detect import FORMATS, detect
from ..model.errors import InputError
from .inputs import Source, open_sources
from .progress import Progress
from ..model.sip import Item, Kind, Origin, SipMessage, Skipped
from .recordparse import parse_record_text

KEEP_SKIPPED = 20


class Part(Protocol):
    """Which records of a server trace a reading keeps, asked before they are parsed.

    A runner that splits a trace between readers implements it, so that every
    record is kept by exactly one of them and their counts add up to one
    reading's.  Whatever has no Call-ID to choose by (text outside records,
    records cut short, what is said about a whole input) is kept where
    ``keeps_rest`` holds.
    """

    def keeps_record(self, data: bytes, start: int, end: int) -> bool:
        """Whether the raw record ``data[start:end]`` is kept (asked before it is copied)."""

    def keeps_call(self, call_id: str | None) -> bool:
        """Whether a message found outside any record (bare SIP text), with this Call-ID, is kept."""

    @property
    def keeps_rest(self) -> bool:
        """Whether the pieces and notes with no Call-ID are kept."""

    def framed(self, source: Source, stats: InputStats) -> Iterator[Piece] | None:
        """The kept pieces of ``source`` when they were framed elsewhere, or None to frame it here."""


@dataclass
class InputStats:
    """What one input gave: counts by kind, skip reasons, first/last time."""

    path: str
    format: str = "ocslogger"
    records: int = 0
    sip: int = 0
    diagnostic: int = 0
    other: int = 0
    skipped: int = 0
    errors: int = 0
    bytes: int = 0
    lines: int = 0
    decode_replaced: int = 0
    first_time: datetime | None = None
    last_time: datetime | None = None
    skip_reasons: Counter[str] = field(default_factory=Counter)
    other_kinds: Counter[str] = field(default_factory=Counter)   # what the "other" records were, when named
    examples: list[Skipped] = field(default_factory=list)
    with_problems: int = 0          # SIP messages kept although something in them is wrong
    problem_examples: list[SipMessage] = field(default_factory=list)

    def count(self, item: Item) -> None:
        self.records += 1
        if isinstance(item, Skipped):
            if item.error:
                self.errors += 1
            else:
                self.skipped += 1
            self.skip_reasons[_reason_key(item.reason)] += 1
            if len(self.examples) < KEEP_SKIPPED:
                self.examples.append(item)
            return
        kind = item.kind
        if kind is Kind.SIP:
            self.sip += 1
            if isinstance(item, SipMessage) and item.problems:
                self.with_problems += 1
                if len(self.problem_examples) < KEEP_SKIPPED:
                    self.problem_examples.append(item)
        elif kind is Kind.DIAGNOSTIC:
            self.diagnostic += 1
        else:
            self.other += 1
        when = item.time
        if when is not None:
            if self.first_time is None or when < self.first_time:
                self.first_time = when
            if self.last_time is None or when > self.last_time:
                self.last_time = when

    def add(self, other: InputStats) -> None:
        """Add another count of records: another input's, or another part of this one.

        Bytes and lines are left to the caller: every part is read from all of an input.
        """
        for name in ("records", "sip", "diagnostic", "other", "skipped", "errors", "decode_replaced", "with_problems"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.skip_reasons.update(other.skip_reasons)
        self.other_kinds.update(other.other_kinds)
        for when in (other.first_time, other.last_time):
            if when is not None:
                self.first_time = when if self.first_time is None else min(self.first_time, when)
                self.last_time = when if self.last_time is None else max(self.last_time, when)

    @property
    def balanced(self) -> bool:
        return self.records == self.sip + self.diagnostic + self.other + self.skipped + self.errors

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path, "format": self.format, "records": self.records, "sip": self.sip,
            "diagnostic": self.diagnostic, "other": self.other, "skipped": self.skipped,
            "errors": self.errors, "bytes": self.bytes, "lines": self.lines,
            "decode_replaced": self.decode_replaced,
            "first_time": self.first_time.isoformat() if self.first_time else None,
            "last_time": self.last_time.isoformat() if self.last_time else None,
            "skip_reasons": dict(self.skip_reasons),
            "with_problems": self.with_problems,
            "problems": [{"line": m.origin.line, "message": m.summary, "problems": list(m.problems)}
                         for m in self.problem_examples],
            "other_kinds": dict(self.other_kinds),
        }


def _reason_key(reason: str) -> str:
    # group "... at record line 7" and "... at record line 9" together
    head, sep, _ = reason.partition(" at record line ")
    return head if sep else reason


def _decode(data: bytes, stats: InputStats) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        stats.decode_replaced += 1
        return data.decode("utf-8", errors="replace")


def _junk_reason(piece: Junk) -> str:
    head = piece.data.lstrip()[:16]
    if head.startswith(b"SIP/2.0") or b" sip:" in piece.data.split(b"\n", 1)[0]:
        return "bare SIP text outside any record"
    return "text outside any record"


def _embedded_sip(piece: Junk, name: str, stats: InputStats, part: Part | None) -> Iterator[Item]:
    """The messages of bare SIP text between records, each counted once: by the part that keeps
    its Call-ID; the text around them (and a piece with no message at all) by the part that keeps
    the rest."""
    from .siptext import read_embedded

    items = read_embedded(piece.data, name, piece.line, piece.offset)
    if not any(isinstance(item, SipMessage) for item in items):
        if part is None or part.keeps_rest:
            skipped = Skipped(origin=Origin(name, piece.line, piece.offset), reason=_junk_reason(piece),
                              context=f"{piece.lines} line(s)",
                              excerpt=piece.data[:200].decode("utf-8", errors="replace"))
            stats.count(skipped)
            yield skipped
        return
    for item in items:
        mine = part is None or (part.keeps_call(item.call_id) if isinstance(item, SipMessage) else part.keeps_rest)
        if mine:
            stats.count(item)
            yield item


def pieces_to_items(pieces: Iterable[Piece], name: str, stats: InputStats,
                    part: Part | None = None) -> Iterator[Item]:
    """Parse framed pieces of one input into items, counting each.

    With a ``part``, only the pieces it keeps are parsed and counted.
    Complete records are expected to be chosen already, by the framer
    (`Part.keeps_record` as its ``keep``).
    """
    for piece in pieces:
        if isinstance(piece, Junk) and holds_sip(piece.data):
            yield from _embedded_sip(piece, name, stats, part)
            continue
        if part is not None and not isinstance(piece, RawRecord) and not part.keeps_rest:
            continue
        origin = Origin(name, piece.line, piece.offset)
        item: Item
        if isinstance(piece, RawRecord):
            data = piece.data
            if data.startswith(b"\xef\xbb\xbf"):     # a byte-order mark where two files were joined
                data = data[3:]
            item = parse_record_text(_decode(data, stats), origin)
            if piece.note is not None and isinstance(item, SipMessage):
                item = replace(item, problems=(*item.problems, piece.note))
        elif isinstance(piece, LongLine):
            item = Skipped(origin=origin, reason=framing.long_line_reason(), context=f"{piece.length:,} bytes")
        elif isinstance(piece, Truncated):
            if piece.long_line:
                reason = f"record cut short by a line longer than {framing.size_text(framing.MAX_LINE)}"
            elif piece.oversized:
                reason = f"record longer than {framing.size_text(framing.MAX_RECORD)} without $$end_record (cut)"
            else:
                where = "the end of the input" if piece.at_eof else "the next record"
                reason = f"record cut short: no $$end_record before {where}"
            item = Skipped(origin=origin, reason=reason,
                           excerpt=piece.data[:200].decode("utf-8", errors="replace"))
        else:
            item = Skipped(origin=origin, reason=_junk_reason(piece), context=f"{piece.lines} line(s)",
                           excerpt=piece.data[:200].decode("utf-8", errors="replace"))
        stats.count(item)
        yield item


def read_source(source: Source, stats: InputStats, part: Part | None = None) -> Iterator[Item]:
    """Items of one opened server-trace `Source`."""

    def blocks() -> Iterator[bytes]:
        last = b""
        while True:
            block = source.stream.read(BLOCK)
            if not block:
                break
            stats.bytes += len(block)
            last = block
            yield block
        if last and not last.endswith(b"\n"):
            stats.lines += 1

    try:
        pieces = part.framed(source, stats) if part is not None else None
        if pieces is not None:
            yield from pieces_to_items(pieces, source.name, stats, part)
            return
        keep = part.keeps_record if part is not None else None
        def newlines(n: int) -> None:
            stats.lines += n

        yield from pieces_to_items(frame_blocks(blocks(), keep=keep, newlines=newlines), source.name, stats, part)
        if source.file is not None and source.size is not None and stats.bytes < source.size:
            source.damage.append(f"the file shrank from {source.size:,} to {stats.bytes:,} bytes while it was "
                                 f"read (rotated or truncated?): reading stopped at byte {stats.bytes:,}")
    finally:
        source.close()


def read_any(source: Source, stats: InputStats, input_format: str | None = None,
             part: Part | None = None) -> Iterator[Item]:
    """Items of one source, with the reader its content (or ``input_format``) calls for.

    A ``part`` (the records to keep, `Part`) applies to server traces only.
    """
    if source.problem is not None:
        # a part of an archive that has no bytes to read: one counted record names it
        stats.format = "unknown"
        if part is None or part.keeps_rest:
            item = Skipped(origin=Origin(source.name, 1, 0), reason=source.problem,
                           error=source.problem_is_error)
            stats.count(item)
            yield item
        source.close()
        return
    yield from _read_format(source, stats, input_format, part)
    if source.damage and (part is None or part.keeps_rest):
        # the input broke off: what came before was read; say where it stopped
        for reason in source.damage:
            item = Skipped(origin=Origin(source.name, stats.lines + 1, stats.bytes), reason=reason, error=True)
            stats.count(item)
            yield item


def _read_format(source: Source, stats: InputStats, input_format: str | None,
                 part: Part | None) -> Iterator[Item]:
    fmt = input_format or detect(source.head(), source.name)
    stats.format = fmt or "unknown"
    if fmt is None:
        # one input that is no trace must not stop the others being read: it is one counted
        # record that says so, and a run in which nothing at all was read says that instead
        excerpt = source.head(200).decode("utf-8", errors="replace")
        source.close()
        if part is None or part.keeps_rest:
            item = Skipped(origin=Origin(source.name, 1, 0),
                           reason="not a trace siptrace knows (no server trace record, client log line, SIP start "
                                  f"line or capture header); to force a reader use --input-format "
                                  f"({'|'.join(FORMATS)})",
                           excerpt=excerpt)
            stats.count(item)
            yield item
        return
    if fmt == "ocslogger":
        yield from read_source(source, stats, part)
        return
    if part is not None:
        source.close()
        raise ValueError("only server traces can be read in parts")
    try:
        if fmt == "uccapi":
            from .uccapi import read_client_log
            yield from read_client_log(source.stream, source.name, stats)
        elif fmt == "sip":
            from .siptext import read_sip_text
            yield from read_sip_text(source.stream, source.name, stats)
        elif fmt == "pcap":
            from .pcap import read_capture
            yield from read_capture(source.stream, source.name, stats)
        else:
            raise InputError(f"unknown input format {fmt!r}", path=source.name,
                             hint=f"Use one of {', '.join(FORMATS)}")
    finally:
        source.close()


class Reader:
    """Reads several inputs in order; `stats` holds one `InputStats` per input.

    With ``progress=True`` a progress line is drawn on stderr for inputs over
    50 MB when stderr is a terminal.
    """

    def __init__(self, paths: Sequence[str], input_format: str | None = None, progress: bool = False) -> None:
        self.paths = list(paths)
        self.input_format = input_format
        self.progress = progress
        self.stats: list[InputStats] = []

    def __iter__(self) -> Iterator[Item]:
        for path in self.paths:
            for source in open_sources(path):
                stats = InputStats(source.name)
                self.stats.append(stats)
                items = read_any(source, stats, self.input_format)
                if self.progress:
                    items = Progress(source.size).follow(
                        items, lambda s=stats: (s.bytes, s.records, s.sip))   # type: ignore[misc]
                yield from items

    def totals(self) -> InputStats:
        """The counts of every input together; its format is theirs, or "mixed"."""
        formats = {s.format for s in self.stats}
        total = InputStats("total", format=formats.pop() if len(formats) == 1 else "mixed" if formats else "none")
        for s in self.stats:
            total.add(s)
            total.bytes += s.bytes
            total.lines += s.lines
        return total


def read(paths: str | Sequence[str], input_format: str | None = None) -> Iterator[Item]:
    """Every item of the inputs, in file order (a generator)."""
    if isinstance(paths, str):
        paths = [paths]
    yield from Reader(paths, input_format)


def messages(paths: str | Sequence[str]) -> Iterator[SipMessage]:
    """Only the SIP messages of the inputs."""
    for item in read(paths):
        if isinstance(item, SipMessage):
            yield item


__all__ = ["InputStats", "Part", "Reader", "read", "read_any", "messages"]
