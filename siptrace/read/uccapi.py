"""Client logs (Lync-UccApi-N.UccApilog): the SIP messages among the client's own trace lines.

Real logs confirm only the line prefix (``MM/DD/YYYY|hh:mm:ss.mmm PID:TID
LEVEL :: text``) and lines without it.  The words of the packet markers are
not confirmed, so a message is found by its SIP start line, not by its
marker: it begins right after a prefix (or alone on the line after a
prefixed line) and runs up to the next prefixed line.  The prefixed line
before it is its marker; grammars/uccapi.lark says which marker words tell
the direction and the addresses, and when they do not, both stay unknown.

Every other line is counted: consecutive ones form one `Skipped` item, so
nothing vanishes.  Timestamps carry no zone; they are read as UTC and
corrected against server traces by the clock-offset estimate when both are
given.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, BinaryIO

from lark import Lark
from lark.exceptions import LarkError

from ..model.grammar import load_grammar, terminal_pattern
from . import framing
from .inputs import LongLine, counted_lines
from ..model.sip import Direction, Item, Origin, Peer, Skipped, TraceDirection
from .recordparse import parse_message_text
from ..model.values import split_hostport

_DIRECTIONS = {"send": Direction.OUTGOING, "receive": Direction.INCOMING}


@functools.lru_cache(maxsize=None)
def _parser() -> Lark:
    return load_grammar("uccapi.lark", ["prefixed", "start_line", "marker"])


@functools.lru_cache(maxsize=None)
def _patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The grammar's own prefix, start-line and marker-word terminals, for a quick look at each line."""
    p = _parser()
    words = "|".join(terminal_pattern(p, n) for n in ("SENDING", "RECEIVING"))
    return (re.compile(terminal_pattern(p, "PREFIX")),
            re.compile(terminal_pattern(p, "START_LINE")),
            re.compile(words))


@dataclass(frozen=True, slots=True)
class Marker:
    """What a packet marker line says: opens or closes a packet, which way, between which addresses."""

    begin: bool
    direction: Direction
    remote: Peer | None = None
    local: Peer | None = None


def parse_marker(rest: str) -> Marker | None:
    """The marker in the text after a line prefix, or None when its words are not known."""
    if _patterns()[2].search(rest) is None:
        return None
    try:
        tree = _parser().parse(rest.strip(), start="marker")
    except LarkError:
        return None
    node: Any = tree.children[0]      # a tree; its tokens are Lark's or lark-cython's
    begin_end, way = node.data.split("_")
    addresses = [t.value for t in node.children if getattr(t, "type", "") == "ADDRESS"]
    remote = _peer(addresses[0]) if addresses else None
    local = _peer(addresses[1]) if len(addresses) > 1 else None
    return Marker(begin_end == "begin", _DIRECTIONS[way], remote, local)


def _empty_packet(first: str, then: str) -> bool:
    """Whether a marker opening a packet is followed at once by one closing it."""
    closing = parse_marker(then)
    if closing is None or closing.begin:
        return False
    opening = parse_marker(first)
    return opening is not None and opening.begin


def _peer(text: str) -> Peer:
    host, port = split_hostport(text)
    return Peer(host=host, port=port)


def _time(prefix: str) -> datetime | None:
    try:
        return datetime.strptime(prefix[:23], "%m/%d/%Y|%H:%M:%S.%f").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


@dataclass(slots=True)
class _Line:
    """A prefixed line not (yet) known to be part of a message: maybe the marker of the next one."""

    number: int
    offset: int
    prefix: str
    rest: str
    bad_bytes: bool = False


@dataclass(slots=True)
class _Message:
    number: int
    offset: int
    when: datetime | None
    marker: Marker | None
    lines: list[str] = field(default_factory=list)
    bad_bytes: bool = False


class _ClientLog:
    """The state of reading one client log, line by line."""

    def __init__(self, name: str, stats) -> None:  # type: ignore[no-untyped-def]
        self.name = name
        self.stats = stats
        self.held: _Line | None = None           # the last prefixed line outside a message
        self.message: _Message | None = None
        self.other_start: tuple[int, int] | None = None
        self.other_lines = 0
        self.other_bad = False

    # -- lines outside messages --------------------------------------------
    def other(self, number: int, offset: int, bad: bool) -> None:
        if self.other_start is None:
            self.other_start = (number, offset)
        self.other_lines += 1
        self.other_bad = self.other_bad or bad

    def flush_other(self) -> Iterator[Item]:
        if self.other_start is not None:
            item = Skipped(origin=Origin(self.name, *self.other_start),
                           reason="client log lines outside SIP messages",
                           context=f"{self.other_lines} line(s)")
            yield self._count(item, self.other_bad)
        self.other_start, self.other_lines, self.other_bad = None, 0, False

    def release_held(self) -> None:
        if self.held is not None:
            self.other(self.held.number, self.held.offset, self.held.bad_bytes)
            self.held = None

    # -- messages -------------------------------------------------------------
    def open(self, number: int, offset: int, prefix: str, start: str, marker_line: _Line | None,
             bad: bool) -> Iterator[Item]:
        """Start a message at its start line; ``marker_line`` is the prefixed line before it, if any."""
        marker = parse_marker(marker_line.rest) if marker_line is not None else None
        if marker is not None and not marker.begin:
            marker = None                       # an "End of ..." line is no opening marker
        yield from self.flush_other()
        self.message = _Message(number, offset, _time(prefix), marker, [start], bad)

    def close(self) -> Iterator[Item]:
        msg, self.message = self.message, None
        if msg is None:
            return
        lines = msg.lines
        while lines and not lines[-1].strip():
            lines.pop()
        marker = msg.marker
        direction = src = dst = peer = None
        if marker is not None:
            direction = TraceDirection(marker.direction, marker.direction.value)
            peer = marker.remote
            if marker.direction is Direction.OUTGOING:
                src, dst = marker.local, marker.remote
            else:
                src, dst = marker.remote, marker.local
        text = "\r\n".join(lines) + "\r\n"
        item = parse_message_text(text, Origin(self.name, msg.number, msg.offset), msg.when,
                                  direction=direction, peer=peer, src=src, dst=dst, what="client log")
        yield self._count(item, msg.bad_bytes)

    def _count(self, item: Item, bad: bool) -> Item:
        if bad:
            self.stats.decode_replaced += 1
        self.stats.count(item)
        return item

    # -- one line ---------------------------------------------------------------
    def line(self, number: int, offset: int, text: str, bad: bool) -> Iterator[Item]:
        prefix_re, start_re, _ = _patterns()
        m = prefix_re.match(text)
        if m is None:
            yield from self._plain(number, offset, text, bad)
            return
        prefix, rest = text[:m.end()], text[m.end():]
        if self.message is not None:
            yield from self.close()
            held = None
            ended = parse_marker(rest)
            if ended is not None and not ended.begin:
                return                          # the message's own "End of ..." line
        else:
            held = self.held
            self.held = None
        start = rest.strip()
        if start_re.fullmatch(start):
            if held is not None and parse_marker(held.rest) is None:
                self.other(held.number, held.offset, held.bad_bytes)   # not this message's marker
                held = None
            yield from self.open(number, offset, prefix, start, held, bad)
            return
        if held is not None:
            if _empty_packet(held.rest, rest):
                yield from self.flush_other()
                item = Skipped(origin=Origin(self.name, held.number, held.offset),
                               reason="empty packet (a keep-alive, no SIP message)")
                yield self._count(item, held.bad_bytes or bad)
                return
            self.other(held.number, held.offset, held.bad_bytes)
        self.held = _Line(number, offset, prefix, rest, bad_bytes=bad)

    def _plain(self, number: int, offset: int, text: str, bad: bool) -> Iterator[Item]:
        """A line without the prefix: part of the open message, a start line after a marker, or other."""
        if self.message is not None:
            self.message.lines.append(text)
            self.message.bad_bytes = self.message.bad_bytes or bad
            return
        if not text.strip():
            return
        held = self.held
        if held is not None and _patterns()[1].fullmatch(text.strip()):
            # the start line on the line after the marker: that prefixed line is the marker,
            # whatever its words
            self.held = None
            yield from self.open(number, offset, held.prefix, text.strip(), held, bad)
            return
        self.release_held()
        self.other(number, offset, bad)

    def end(self) -> Iterator[Item]:
        yield from self.close()
        self.release_held()
        yield from self.flush_other()


def read_client_log(stream: BinaryIO, name: str, stats) -> Iterator[Item]:  # type: ignore[no-untyped-def]
    """Items of one client log: a `SipMessage` per message found, `Skipped` for the rest."""
    log = _ClientLog(name, stats)
    offset = 0
    for number, raw in enumerate(counted_lines(stream, stats), start=1):
        if isinstance(raw, LongLine):
            # too long to hold: it ends what was open, and is counted as skipped
            yield from log.end()
            item = Skipped(origin=Origin(name, number, offset), reason=f"client log {framing.long_line_reason()}",
                           context=f"{raw.size:,} bytes")
            stats.count(item)
            yield item
            offset += raw.size
            continue
        try:
            text, bad = raw.decode("utf-8"), False
        except UnicodeDecodeError:
            text, bad = raw.decode("utf-8", errors="replace"), True
        here = offset
        offset += len(raw)
        yield from log.line(number, here, text.rstrip("\r\n"), bad)
    yield from log.end()
