"""Record boundaries: the block scanner gives exactly the pieces of the line-by-line reference."""

from __future__ import annotations

import random

import pytest

from siptrace.framing import frame, frame_blocks

from records_text import ALL, COMPONENT_FREE_TAIL, CONNECTION, PROTOCOL_INVITE


def _blocks(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


def _same(data: bytes) -> None:
    ref = list(frame(data.splitlines(keepends=True)))
    for size in (1, 7, 64, 1000, len(data) + 1):
        assert list(frame_blocks(_blocks(data, size))) == ref, size


PIECES = [PROTOCOL_INVITE, CONNECTION, COMPONENT_FREE_TAIL, "noise line\r\n", "\r\n", "  \n",
          PROTOCOL_INVITE[:250] + "\r\n", "$$end_record\r\n", "x $$begin_record\n", "TL_\n"]


@pytest.mark.parametrize("seed", range(40))
def test_block_scanner_matches_reference_on_random_mixtures(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12)))
    data = text.encode()
    if rng.random() < 0.3:
        data = data[: rng.randrange(len(data) + 1)]
    if rng.random() < 0.2:
        data = b"\xef\xbb\xbf" + data
    _same(data)


def test_block_scanner_on_records_without_begin_markers_only():
    _same((COMPONENT_FREE_TAIL * 50).encode())


def test_all_three_tails_and_lf_endings():
    _same(ALL.replace("\r\n", "\n").encode())


@pytest.mark.parametrize("data", [
    b"", b"junk", b"\n\n\n", b"TL_INFO(TF_PROTOCOL) x\nabc",
    b"TL_INFO(TF_PROTOCOL) [0]1.2::11/03/2026-09:00:00.000.1 (a,b:c(1))$$begin_record\r\nX: y\r\n$$end_record\r\nafter",
])
def test_the_reader_counts_every_line_once_framing_has_seen_them(tmp_path, data):
    from siptrace.reader import Reader

    path = tmp_path / "t.log"
    path.write_bytes(data + (b"" if data else b"\n"))
    reader = Reader([str(path)], input_format="ocslogger")
    list(reader)
    written = path.read_bytes()
    assert reader.stats[0].lines == written.count(b"\n") + (0 if written.endswith(b"\n") else 1)
