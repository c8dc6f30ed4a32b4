"""A reader asked "keep this record?" by any `Part` reads each record once across complementary parts."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from siptrace.model.sip import SipMessage
from siptrace.read.framing import Piece
from siptrace.read.inputs import Source, open_sources
from siptrace.read.reader import InputStats, read_any

from conftest import SAMPLES


class ByRecordBytes:
    """Part ``index`` of two, chosen by a hash of each record's own bytes (not by call): the
    reader must not care how a runner chooses."""

    def __init__(self, index: int) -> None:
        self.index = index

    def keeps_record(self, data: bytes, start: int, end: int) -> bool:
        return zlib.crc32(data[start:end]) % 2 == self.index

    def keeps_call(self, call_id: str | None) -> bool:
        return zlib.crc32((call_id or "").encode()) % 2 == self.index

    @property
    def keeps_rest(self) -> bool:
        return self.index == 1

    def framed(self, source: Source, stats: InputStats) -> Iterator[Piece] | None:
        return None


def _read(path, part) -> tuple[list, InputStats]:
    (source,) = open_sources(str(path))
    stats = InputStats(source.name)
    return list(read_any(source, stats, None, part)), stats


def _key(item) -> tuple:
    return (item.origin.line, item.origin.offset, type(item).__name__, getattr(item, "call_id", None))


def test_two_complementary_parts_read_every_item_once_and_their_counts_add_up(tmp_path):
    path = tmp_path / "trace.log"
    data = b"".join(p.read_bytes() for p in sorted(SAMPLES.glob("*.log")))
    pasted = (SAMPLES / "um-ack-retarget-bye.snooper.txt").read_bytes()
    cut = data.find(b"$$end_record") + len(b"$$end_record\n")
    path.write_bytes(data[:cut] + b"\n" + pasted + b"\n" + data[cut:])      # bare SIP between records
    first, last = data[:cut].count(b"\n") + 2, data[:cut].count(b"\n") + 1 + pasted.count(b"\n")

    whole, stats = _read(path, None)
    parts = [_read(path, ByRecordBytes(i)) for i in (0, 1)]
    assert all(items for items, _ in parts)
    assert sorted(_key(i) for items, _ in parts for i in items) == sorted(_key(i) for i in whole)
    for name in ("records", "sip", "diagnostic", "other", "skipped", "errors"):
        assert sum(getattr(s, name) for _, s in parts) == getattr(stats, name), name
    pasted_in_whole = [i for i in whole if isinstance(i, SipMessage) and first <= i.origin.line <= last]
    assert len(pasted_in_whole) >= 5
    for index, (items, _) in enumerate(parts):     # each pasted message by the part that keeps its call
        mine = [_key(i) for i in pasted_in_whole if ByRecordBytes(index).keeps_call(i.call_id)]
        assert [_key(i) for i in items if isinstance(i, SipMessage) and first <= i.origin.line <= last] == mine
