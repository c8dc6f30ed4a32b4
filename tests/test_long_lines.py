"""Memory is bounded whatever the line length: a line over the limit is skipped with a reason.

The limit (`framing.MAX_LINE`) is lowered here so the tests stay fast; one
test runs at the real limit.
"""

from __future__ import annotations

import gzip

import pytest

from siptrace.read import framing
from siptrace.read.framing import LongLine, RawRecord, Truncated, frame_blocks
from siptrace.read.partition import Share
from siptrace.read.ranges import cut_points, index_path, read_pieces, write_index
from siptrace.read.reader import InputStats, Reader

from conftest import sample
from records_text import ALL, PROTOCOL_INVITE

LIMIT = 2000


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(framing, "MAX_LINE", LIMIT)


def _blocks(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def _read(path) -> tuple[list, InputStats]:
    reader = Reader([str(path)])
    items = list(reader)
    return items, reader.stats[0]


def _skips(items) -> list[str]:
    return [i.reason for i in items if i.kind.name in ("SKIPPED", "ERROR")]


LONG = b"A" * (LIMIT * 5) + b"\r\n"
TRACE = ALL.encode() + LONG + ALL.encode()


def test_a_long_line_between_records_is_one_skip_and_every_record_around_it_is_read(small_limit):
    for size in (7, 500, 4096, len(TRACE) + 1):
        pieces = list(frame_blocks(_blocks(TRACE, size)))
        longs = [p for p in pieces if isinstance(p, LongLine)]
        assert len(longs) == 1, size
        assert longs[0].length == len(LONG) and longs[0].offset == len(ALL.encode())
        assert longs[0].line == ALL.count("\n") + 1
        assert sum(isinstance(p, RawRecord) for p in pieces) == 8
        after = [p for p in pieces if isinstance(p, RawRecord)][4]
        assert after.line == ALL.count("\n") + 2 and after.offset == len(ALL.encode()) + len(LONG)


def test_a_line_at_the_limit_is_kept_and_one_byte_more_is_skipped(small_limit):
    at_limit = b"x" * LIMIT + b"\n"
    over = b"x" * (LIMIT + 1) + b"\n"
    assert not any(isinstance(p, LongLine) for p in frame_blocks([at_limit * 3]))
    assert [type(p) for p in frame_blocks(_blocks(over * 2, 333))] == [LongLine, LongLine]


def test_a_long_line_inside_a_record_cuts_the_record_short(small_limit, tmp_path):
    cut = PROTOCOL_INVITE.encode().replace(b"Max-Forwards: 69\r\n", b"Subject: " + b"s" * (LIMIT * 3) + b"\r\n")
    path = tmp_path / "fe.log"
    path.write_bytes(cut + ALL.encode())
    items, stats = _read(path)
    reasons = _skips(items)
    assert reasons[0].startswith("record cut short by a line longer than 2,000 bytes")
    assert reasons[1] == "line longer than 2,000 bytes skipped (never held in memory)"
    assert reasons[2] == "text outside any record"        # the rest of the cut record
    assert len(reasons) == 3 and stats.sip == 1 and stats.balanced and stats.records == 3 + 4


def test_workers_framing_byte_ranges_see_the_long_line_as_one_process_does(small_limit, tmp_path):
    data = (ALL.encode() + LONG) * 6 + ALL.encode()
    path = tmp_path / "trace.log"
    path.write_bytes(data)
    whole = list(frame_blocks(_blocks(data, 1 << 20)))
    assert sum(isinstance(p, LongLine) for p in whole) == 6
    for count in (2, 3, 5):
        points = cut_points(str(path), count)
        assert points is not None and len(points) > 2
        folder = tmp_path / str(count)
        folder.mkdir()
        for part in range(len(points) - 1):
            write_index(str(path), points, part, count, index_path(str(folder), 0, part))
        pieces = []
        for i in range(count):
            pieces += read_pieces(str(path), points, str(folder), 0, Share(i, count), InputStats(str(path)))
        assert sorted(pieces, key=lambda p: p.offset) == whole


def test_a_long_line_after_decompression_is_skipped(small_limit, tmp_path):
    path = tmp_path / "fe.log.gz"
    path.write_bytes(gzip.compress(ALL.encode() + b"\0" * (LIMIT * 50) + b"\n" + ALL.encode()))
    items, stats = _read(path)
    assert _skips(items) == ["line longer than 2,000 bytes skipped (never held in memory)"]
    assert stats.records == 9 and stats.balanced


def test_sip_text_with_a_long_line_reads_the_messages_around_it(small_limit, tmp_path):
    text = sample("pasted-damaged-messages.txt").read_bytes()
    path = tmp_path / "pasted.txt"
    path.write_bytes(text + b"\n" + b"<" * (LIMIT * 4) + b"\n\n" + text)
    once, once_stats = _read(sample("pasted-damaged-messages.txt"))
    items, stats = _read(path)
    assert stats.format == "sip"
    assert [r for r in _skips(items) if "longer than" in r] == ["SIP text: line longer than 2,000 bytes skipped "
                                                              "(never held in memory)"]
    assert stats.sip == 2 * once_stats.sip and stats.balanced
    assert stats.lines == 2 * text.count(b"\n") + 3


def test_a_client_log_with_a_long_line_reads_the_messages_around_it(small_limit, tmp_path):
    text = sample("um-ack-retarget-bye.client.UccApilog").read_bytes()
    path = tmp_path / "client.UccApilog"
    path.write_bytes(text + b"11/03/2026|09:15:00.000 1F24:0A88 TRACE  :: " + b"x" * (LIMIT * 4) + b"\r\n" + text)
    once, once_stats = _read(sample("um-ack-retarget-bye.client.UccApilog"))
    items, stats = _read(path)
    assert stats.format == "uccapi"
    assert [r for r in _skips(items) if "longer than" in r] == ["client log line longer than 2,000 bytes skipped "
                                                              "(never held in memory)"]
    assert stats.sip == 2 * once_stats.sip and stats.balanced


def test_a_line_over_the_real_limit_is_skipped_without_holding_it(tmp_path):
    path = tmp_path / "fe.log"
    with open(path, "wb") as f:
        f.write(ALL.encode())
        chunk = b"B" * (1 << 20)
        for _ in range((framing.MAX_LINE >> 20) + 2):
            f.write(chunk)
        f.write(b"\r\n" + ALL.encode())
    items, stats = _read(path)
    assert _skips(items) == ["line longer than 16 MB skipped (never held in memory)"]
    assert stats.sip == 2 and stats.records == 9 and stats.balanced


def test_a_record_without_its_end_before_a_long_line_is_cut_by_the_line(small_limit):
    data = PROTOCOL_INVITE.encode()[:-len("$$end_record\r\n")] + LONG
    pieces = list(frame_blocks([data]))
    assert isinstance(pieces[0], Truncated) and pieces[0].long_line and not pieces[0].at_eof
    assert isinstance(pieces[1], LongLine)


def test_a_small_gzip_that_inflates_to_a_200_mb_line_is_read_in_bounded_memory(tmp_path):
    import tracemalloc
    import zlib

    path = tmp_path / "bomb.log.gz"
    pack = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as f:
        f.write(pack.compress(ALL.encode()))
        zeros = b"\0" * (1 << 20)
        for _ in range(200):
            f.write(pack.compress(zeros))
        f.write(pack.compress(b"\n" + ALL.encode()) + pack.flush())
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        items, stats = _read(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert _skips(items) == ["line longer than 16 MB skipped (never held in memory)"]
    assert stats.records == 9 and stats.balanced and stats.bytes == len(ALL.encode()) * 2 + (200 << 20) + 1
    assert peak < 3 * framing.MAX_LINE             # a line held while the next block joins it, not 200 MB
