"""Framing a server trace in ranges, one per reader of a part, instead of each reader framing all of it.

The reader of each part of the records (`siptrace.read.partition`) must see
its records in file order, and finding the records (framing) is a sixth of a
reader's time: done by every reader, it is paid once per core.  So a plain file
is cut into as many byte ranges as there are parts, each cut at a record
start.  Framing always starts a new piece at a record start (a record cut
short ends there), so the pieces of the ranges are the pieces of one framing
of the whole file.  Each reader frames one range and
writes an index of its pieces, with the part each is in, to a file;
then every reader reads the indexes in file order, and the records of its part
from the file itself.  An index appears (by rename) only once it is complete.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from .framing import BLOCK, MAX_RECORD, Junk, Piece, RawRecord, Truncated, frame_blocks, holds_sip
from .partition import Share

CHUNK = 4096          # index entries pickled together
EVERY = -2            # the owner of pieces every part's reader reads (bare SIP text between records)
WINDOW = 4 << 20      # bytes searched for a record start after each cut
_WAIT = 0.002         # seconds between looks for an index another reader is writing


def cut_points(path: str, parts: int, at: Sequence[int] | None = None) -> tuple[int, ...] | None:
    """The ranges' bounds: 0, then each cut (a record start), then the size; None when
    the file cannot be cut (no record start within `WINDOW` after a cut).

    ``at`` gives the places to cut near (else ``parts`` equal ranges).
    """
    size = os.path.getsize(path)
    points = [0]
    wanted = at if at is not None else [size * k // parts for k in range(1, parts)]
    with open(path, "rb") as f:
        for want in wanted:
            start = _record_start(f, want, points[-1])
            if start is None:
                return None
            if start > points[-1]:
                points.append(start)
    if len(points) < 2:
        return None
    return (*points, size)


def _blocks(f, lo: int, hi: int) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    """The bytes of ``f`` from ``lo`` to ``hi`` (or its end), block by block."""
    f.seek(lo)
    left = hi - lo
    while left > 0:
        block = f.read(min(BLOCK, left))
        if not block:
            break
        left -= len(block)
        yield block


def _record_start(f, at: int, back_to: int) -> int | None:  # type: ignore[no-untyped-def]
    """The first record that starts at or after ``at`` (within `WINDOW`) in a framing of the file.

    A line that looks like a record start may be text inside a message's
    body (`siptrace.read.framing`): only framing from a known record start
    (``back_to``, the previous cut) tells.  When that is far, framing
    begins `MAX_RECORD` before ``at``: whatever it makes of the bytes
    there, it agrees with the framing of the whole file from the end of
    the record it began in, and no record is longer.
    """
    begin = max(back_to, at - MAX_RECORD)
    for piece in frame_blocks(_blocks(f, begin, at + WINDOW), first_line=1 if begin == 0 else 2,
                              first_offset=begin):
        if piece.offset >= at and isinstance(piece, (RawRecord, Truncated)):
            return piece.offset
    return None


def index_path(folder: str, input_no: int, part: int) -> str:
    return os.path.join(folder, f"index-{input_no}-{part}.idx")


def write_index(path: str, points: tuple[int, ...], part: int, count: int, out: str) -> None:
    """Frame range ``part`` of ``path`` and write its index: each piece with its owner.

    The index is a run of pickled chunks, each the entries of up to `CHUNK`
    pieces sorted by owner ({owner: entries}, so a reader passes over the
    others' in one step): records as (offset, length, line), other pieces,
    which part 0 reads, whole (a record's entry also holds its
    `RawRecord.note`, when it has one).  The last chunk also holds the number of line
    ends framed, under -1.
    """
    lo, hi = points[part], points[part + 1]
    line = 1
    if lo:
        with open(path, "rb") as f:
            line += _count_lines(f, lo)
    share = Share(0, count)
    newlines = [0]

    def blocks() -> Iterator[bytes]:
        with open(path, "rb") as f:
            yield from _blocks(f, lo, hi)

    last_part = part == len(points) - 2
    tmp = out + ".tmp"
    with open(tmp, "wb") as index:
        chunk: dict[int, list] = {}
        size = 0
        for piece in frame_blocks(blocks(), first_line=line, first_offset=lo,
                                  newlines=lambda n: newlines.__setitem__(0, n)):
            if isinstance(piece, RawRecord):
                entry: tuple[Any, ...] | Piece = (piece.offset, len(piece.data), piece.line)
                if piece.note is not None:
                    entry = (piece.offset, len(piece.data), piece.line, piece.note)
                owner = share.owner(piece.data)
            else:
                if isinstance(piece, Truncated) and piece.at_eof and not last_part:
                    # the range's end: cut short by the record that starts the next range
                    piece = replace(piece, at_eof=False)
                entry, owner = piece, 0
                if isinstance(piece, Junk) and holds_sip(piece.data):
                    owner = EVERY      # bare SIP text: each part's reader reads the messages of its own calls
            chunk.setdefault(owner, []).append(entry)
            size += 1
            if size >= CHUNK:
                pickle.dump(chunk, index, protocol=pickle.HIGHEST_PROTOCOL)
                chunk, size = {}, 0
        chunk[-1] = [newlines[0]]
        pickle.dump(chunk, index, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, out)


def _count_lines(f, upto: int) -> int:  # type: ignore[no-untyped-def]
    n = 0
    left = upto
    while left > 0:
        block = f.read(min(BLOCK, left))
        if not block:
            break
        n += block.count(b"\n")
        left -= len(block)
    return n


def read_pieces(path: str, points: tuple[int, ...], folder: str, input_no: int, share: Share,
                stats, damage: list[str] | None = None) -> Iterator[Piece]:  # type: ignore[no-untyped-def]
    """The pieces of part ``share`` of ``path``, in file order, from the indexes of every range.

    Sets ``stats.bytes`` as it goes and ``stats.lines`` at the end, as framing
    the whole file would.  A file that shrinks while it is read (rotated,
    truncated) ends the pieces where its bytes end, said once in ``damage``,
    rather than as a record skipped for each entry beyond.
    """
    lines = 0
    me = share.index
    with open(path, "rb") as f:
        window = _Window(f)
        for part in range(len(points) - 1):
            for chunk in _chunks(index_path(folder, input_no, part)):
                lines += sum(chunk.get(-1, ()))
                for entry in [*chunk.get(me, ()), *chunk.get(EVERY, ())]:
                    if isinstance(entry, tuple):
                        offset, length, line = entry[:3]
                        data = window.get(offset, length)
                        if len(data) < length:
                            _shrunk(f, points[-1], damage)
                            stats.lines += lines
                            return
                        stats.bytes = offset + length
                        yield RawRecord(data, line, offset, *entry[3:])
                    else:
                        yield entry
            stats.bytes = points[part + 1]
        if os.fstat(f.fileno()).st_size < points[-1]:
            _shrunk(f, points[-1], damage)
            stats.lines += lines
            return
        f.seek(points[-1] - 1)
        if points[-1] and f.read(1) != b"\n":
            lines += 1           # a last line without its line end
    stats.lines += lines


def _shrunk(f, size: int, damage: list[str] | None) -> None:  # type: ignore[no-untyped-def]
    now = os.fstat(f.fileno()).st_size
    if damage is not None:
        damage.append(f"the file shrank from {size:,} to {now:,} bytes while it was read "
                      f"(rotated or truncated?): reading stopped at byte {now:,}")


def _chunks(index: str) -> Iterator[dict[int, list]]:
    while not os.path.exists(index):
        time.sleep(_WAIT)      # another reader is still framing that range
    with open(index, "rb") as f:
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                return


class _Window:
    """Bytes of a file at increasing offsets, read block by block."""

    def __init__(self, f) -> None:  # type: ignore[no-untyped-def]
        self.f = f
        self.start = 0
        self.buf = b""

    def get(self, offset: int, length: int) -> bytes:
        end = offset + length
        if end > self.start + len(self.buf):
            if offset >= self.start + len(self.buf):
                self.f.seek(offset)
                self.start, self.buf = offset, b""
            else:
                self.buf = self.buf[offset - self.start:]
                self.start = offset
            more = self.f.read(max(BLOCK, end - self.start - len(self.buf)))
            self.buf += more
        return self.buf[offset - self.start:end - self.start]


__all__ = ["cut_points", "index_path", "read_pieces", "write_index"]
