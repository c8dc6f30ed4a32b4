"""Client logs (Lync-UccApi-N.UccApilog): the SIP messages between packet markers.

The marker lines are defined in grammars/uccapi.lark (their real shape is
unverified; the grammar keeps them in one place).  Every line that is not
part of a packet (API traces, one-line XML documents) is skipped and counted:
consecutive ones form one `Skipped` item, so nothing vanishes.  Timestamps
carry no zone; they are read as UTC and corrected against server traces by
the clock-offset estimate when both are given.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import BinaryIO

from lark import Lark
from lark.exceptions import LarkError

from .grammar import _open
from .inputs import counted_lines
from .model import Direction, Item, Origin, Peer, Skipped, TraceDirection
from .recordparse import parse_message_text
from .values import split_hostport

_DIRECTIONS = {
    "begin_send": Direction.OUTGOING, "end_send": Direction.OUTGOING,
    "begin_receive": Direction.INCOMING, "end_receive": Direction.INCOMING,
}


@functools.lru_cache(maxsize=None)
def _parser() -> Lark:
    return _open("uccapi.lark", ["prefixed", "marker"])


def _prefix(line: str) -> tuple[str, str] | None:
    """(prefix, rest) of a timestamped line, or None."""
    if len(line) < 24 or line[2] != "/" or line[10] != "|":
        return None
    try:
        tree = _parser().parse(line, start="prefixed")
    except LarkError:
        return None
    prefix = tree.children[0].value
    rest = tree.children[1].value if len(tree.children) > 1 else ""
    return prefix, rest


def _marker(rest: str) -> tuple[str, Peer | None, Peer | None, int | None] | None:
    """(kind, remote, local, byte count) of a packet marker, or None."""
    low = rest.lower()
    if "packet" not in low and "received" not in low:
        return None
    try:
        tree = _parser().parse(rest, start="marker")
    except LarkError:
        return None
    node = tree.children[0]
    addresses = [t.value for t in node.children if getattr(t, "type", "") == "ADDRESS"]
    count = None
    for child in node.children:
        if getattr(child, "data", None) == "byte_count":
            count = int(child.children[0].value)
    remote = _peer(addresses[0]) if addresses else None
    local = _peer(addresses[1]) if len(addresses) > 1 else None
    return node.data, remote, local, count


def _peer(text: str) -> Peer:
    host, port = split_hostport(text)
    return Peer(host=host, port=port)


def _time(prefix: str) -> datetime | None:
    try:
        return datetime.strptime(prefix[:23], "%m/%d/%Y|%H:%M:%S.%f").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def read_client_log(stream: BinaryIO, name: str, stats) -> Iterator[Item]:  # type: ignore[no-untyped-def]
    """Items of one client log: a `SipMessage` per packet, `Skipped` for the rest."""
    offset = 0
    packet: list[str] | None = None
    opened: tuple | None = None
    other_start: tuple[int, int] | None = None
    other_lines = 0

    def flush_other() -> Iterator[Item]:
        nonlocal other_start, other_lines
        if other_start is not None:
            item = Skipped(origin=Origin(name, other_start[0], other_start[1]),
                           reason="client log lines outside SIP packets", context=f"{other_lines} line(s)")
            stats.count(item)
            yield item
        other_start, other_lines = None, 0

    for lineno, raw in enumerate(counted_lines(stream, stats), start=1):
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        here = offset
        offset += len(raw)
        pre = _prefix(line)
        mark = _marker(pre[1]) if pre else None
        if mark is not None and mark[0].startswith("begin"):
            yield from flush_other()
            if packet is not None and opened is not None:   # a packet never closed
                yield from _emit(packet, opened, name, stats, closed=False)
            packet, opened = [], (lineno, here, pre[0], mark)  # type: ignore[index]
            continue
        if mark is not None and mark[0].startswith("end"):
            if packet is not None and opened is not None:
                yield from _emit(packet, opened, name, stats, closed=True)
                packet, opened = None, None
            continue
        if packet is not None:
            # the first line of a packet carries the log prefix before the SIP start line
            packet.append(pre[1] if (pre and not packet) else line)
            continue
        if line.strip():
            if other_start is None:
                other_start = (lineno, here)
            other_lines += 1
    yield from flush_other()
    if packet is not None and opened is not None:
        yield from _emit(packet, opened, name, stats, closed=False)


def _emit(lines: list[str], opened: tuple, name: str, stats, closed: bool) -> Iterator[Item]:  # type: ignore[no-untyped-def]
    lineno, offset, prefix, (kind, remote, local, _count) = opened
    origin = Origin(name, lineno, offset)
    while lines and not lines[-1].strip():
        lines.pop()
    if not closed:
        item: Item = Skipped(origin=origin, reason="client log packet without its End marker",
                             excerpt="\n".join(lines)[:200])
    elif not any(line.strip() for line in lines):
        item = Skipped(origin=origin, reason="empty packet (a keep-alive, no SIP message)")
    else:
        direction = _DIRECTIONS[kind]
        src, dst = (local, remote) if direction is Direction.OUTGOING else (remote, local)
        text = "\r\n".join(lines) + "\r\n"
        item = parse_message_text(text, origin, _time(prefix),
                                  direction=TraceDirection(direction, direction.value),
                                  peer=remote, src=src, dst=dst)
    stats.count(item)
    yield item
