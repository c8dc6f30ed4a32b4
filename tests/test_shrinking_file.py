"""A file cut short while it is read (rotated, truncated) is said once, not as a skip per record."""

from __future__ import annotations

import os

from siptrace.read.framing import RawRecord
from siptrace.read.inputs import open_sources
from siptrace.read.partition import Share
from siptrace.read.ranges import cut_points, index_path, read_pieces, write_index
from siptrace.read.reader import InputStats, read_any

from conftest import SAMPLES


def _trace(tmp_path):
    data = b"".join(p.read_bytes() for p in sorted(SAMPLES.glob("*.fe.log"))) * 8
    assert len(data) > 2 << 20
    path = tmp_path / "trace.fe.log"
    path.write_bytes(data)
    return path, data


def test_workers_stop_where_the_shrunk_file_ends_and_say_so_once(tmp_path):
    path, data = _trace(tmp_path)
    points = cut_points(str(path), 2)
    assert points is not None
    for part in range(len(points) - 1):
        write_index(str(path), points, part, 2, index_path(str(tmp_path), 0, part))
    os.truncate(path, len(data) // 3)
    for worker in range(2):
        damage: list[str] = []
        pieces = list(read_pieces(str(path), points, str(tmp_path), 0, Share(worker, 2), InputStats("x"), damage))
        records = [p for p in pieces if isinstance(p, RawRecord)]
        assert records and all(p.offset + len(p.data) <= len(data) // 3 for p in records)
        assert all(p.data.rstrip().endswith(b"$$end_record") or b"$$begin_record" not in p.data for p in records)
        assert damage == [f"the file shrank from {len(data):,} to {len(data) // 3:,} bytes while it was read "
                          f"(rotated or truncated?): reading stopped at byte {len(data) // 3:,}"]


def test_one_process_says_once_that_the_file_shrank(tmp_path):
    path, data = _trace(tmp_path)
    source = next(open_sources(str(path)))
    os.truncate(path, len(data) // 2)
    stats = InputStats(str(path))
    items = list(read_any(source, stats))
    shrank = [i for i in items if "shrank" in (getattr(i, "reason", None) or "")]
    assert len(shrank) == 1 and shrank[0].kind.name == "ERROR"
    assert stats.skipped + stats.errors <= 3 and stats.balanced
