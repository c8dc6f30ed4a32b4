"""A trace framed in parts by several workers gives the pieces of one framing of the whole file."""

from __future__ import annotations

import random
import re

import pytest

from siptrace.read import ranges
from siptrace.read.framing import BEGIN_MARK, RawRecord, Truncated, frame
from siptrace.read.partition import Share
from siptrace.read.ranges import cut_points, index_path, read_pieces, write_index
from siptrace.read.reader import InputStats

from conftest import SAMPLES


def _trace() -> bytes:
    data = b"".join(p.read_bytes() for p in sorted(SAMPLES.glob("*.log")))
    assert data.count(b"$$end_record") > 40
    return data


def _framed_in_parts(path, count: int, folder) -> tuple[list, list[InputStats]]:
    points = cut_points(str(path), count)
    assert points is not None
    for part in range(len(points) - 1):
        write_index(str(path), points, part, count, index_path(str(folder), 0, part))
    per_worker, stats = [], []
    for i in range(count):
        s = InputStats(str(path))
        per_worker.append(list(read_pieces(str(path), points, str(folder), 0, Share(i, count), s)))
        stats.append(s)
    return per_worker, stats


def _whole(data: bytes) -> list:
    return list(frame(data.splitlines(keepends=True)))


def _check(data: bytes, tmp_path, count: int) -> list[list]:
    path = tmp_path / "trace.log"
    path.write_bytes(data)
    per_worker, stats = _framed_in_parts(path, count, tmp_path)
    whole = _whole(data)
    merged = sorted((p for pieces in per_worker for p in pieces), key=lambda p: p.offset)
    assert merged == whole
    for i, pieces in enumerate(per_worker):
        assert all(Share(i, count).owns(p) for p in pieces)
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    assert all(s.lines == lines and s.bytes == len(data) for s in stats)
    return per_worker


@pytest.mark.parametrize("count", [2, 3, 5])
def test_the_parts_give_the_pieces_of_one_framing(tmp_path, count):
    per_worker = _check(_trace(), tmp_path, count)
    assert sum(1 for pieces in per_worker if pieces) >= 2


@pytest.mark.parametrize("count", [2, 3])
def test_junk_cut_records_crlf_and_a_missing_last_line_end_survive_the_cuts(tmp_path, count):
    data = _trace()
    ends = [m.end() for m in re.finditer(rb"\$\$end_record\r?\n", data)]
    out, last = [], 0
    for n, end in enumerate(ends):
        piece = data[last:end]
        if n % 7 == 3:
            piece = piece[: piece.rfind(b"$$end_record")]        # a record cut short
        if n % 5 == 1:
            piece += b"stray text %d\r\n\r\n" % n                # text outside records
        out.append(piece)
        last = end
    damaged = b"\xef\xbb\xbf" + b"".join(out) + data[last:] + b"TL_INFO(TF_PROTOCOL) [0]0A1C.0F2C::no end"
    _check(damaged, tmp_path, count)


@pytest.mark.parametrize("count", [2, 3, 5])
def test_one_line_records_at_and_around_the_cuts_stay_whole_records(tmp_path, count):
    from records_text import ONE_LINE, PROTOCOL_INVITE

    rng = random.Random(count)
    parts = [rng.choice([ONE_LINE, ONE_LINE, ONE_LINE + "\r\n", PROTOCOL_INVITE]) for _ in range(400)]
    data = ("".join(parts) + ONE_LINE.rstrip("\r\n")).encode()
    per_worker = _check(data, tmp_path, count)
    pieces = [p for ps in per_worker for p in ps]
    assert len(pieces) == 401 and all(isinstance(p, RawRecord) for p in pieces)


def test_a_record_cut_short_just_before_a_cut_is_cut_by_the_next_record_not_the_end(tmp_path):
    data = _trace()
    path = tmp_path / "trace.log"
    path.write_bytes(data)
    points = cut_points(str(path), 2)
    assert points is not None
    cut = points[1]
    before = data.rfind(b"$$end_record", 0, cut)
    damaged = data[:before] + data[cut:]             # the record before the cut loses its end
    per_worker = _check(damaged, tmp_path, 2)
    truncated = [p for pieces in per_worker for p in pieces if isinstance(p, Truncated)]
    assert truncated and not any(p.at_eof for p in truncated)


def test_cuts_are_at_record_starts(tmp_path):
    path = tmp_path / "trace.log"
    data = _trace()
    path.write_bytes(data)
    points = cut_points(str(path), 4)
    assert points is not None and points[0] == 0 and points[-1] == len(data)
    assert list(points) == sorted(set(points))
    for at in points[1:-1]:
        line = data[at:data.find(b"\n", at)]
        assert data[at - 1:at] == b"\n" and (line.startswith(b"TL_") or BEGIN_MARK in line)


def test_a_file_without_a_record_start_near_a_cut_is_not_cut(tmp_path):
    path = tmp_path / "text.log"
    path.write_bytes(b"TL_INFO(TF_PROTOCOL) [0]x\n" + b"just text\n" * 5000)
    assert cut_points(str(path), 2) is None


def test_a_worker_waits_for_the_index_another_is_still_writing(tmp_path, monkeypatch):
    path = tmp_path / "trace.log"
    path.write_bytes(_trace())
    points = cut_points(str(path), 2)
    assert points is not None
    write_index(str(path), points, 1, 2, index_path(str(tmp_path), 0, 1))
    waited = []

    def sleep(seconds: float) -> None:       # part 0 appears while worker 1 waits for it
        waited.append(seconds)
        write_index(str(path), points, 0, 2, index_path(str(tmp_path), 0, 0))

    monkeypatch.setattr(ranges.time, "sleep", sleep)
    pieces = list(read_pieces(str(path), points, str(tmp_path), 0, Share(1, 2), InputStats(str(path))))
    assert waited and pieces
