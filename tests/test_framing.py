"""Record boundaries: the block scanner gives exactly the pieces of the line-by-line reference."""

from __future__ import annotations

import random

import pytest

from siptrace.read.framing import RawRecord, Truncated, frame, frame_blocks

from records_text import ALL, COMPONENT_FREE_TAIL, CONNECTION, ONE_LINE, PROTOCOL_INVITE


def _blocks(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


def _same(data: bytes) -> None:
    ref = list(frame(data.splitlines(keepends=True)))
    for size in (1, 7, 64, 1000, len(data) + 1):
        assert list(frame_blocks(_blocks(data, size))) == ref, size


PIECES = [PROTOCOL_INVITE, CONNECTION, COMPONENT_FREE_TAIL, "noise line\r\n", "\r\n", "  \n",
          PROTOCOL_INVITE[:250] + "\r\n", "$$end_record\r\n", "x $$begin_record\n", "TL_\n",
          ONE_LINE, ONE_LINE, ONE_LINE.rstrip("\r\n")]


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


def test_block_scanner_on_one_line_records_only():
    _same((ONE_LINE * 300).encode())
    _same((ONE_LINE * 300).replace("\r\n", "\n\n").encode())


def test_all_three_tails_and_lf_endings():
    _same(ALL.replace("\r\n", "\n").encode())


@pytest.mark.parametrize("data", [
    b"", b"junk", b"\n\n\n", b"TL_INFO(TF_PROTOCOL) x\nabc",
    b"TL_INFO(TF_PROTOCOL) [0]1.2::11/03/2026-09:00:00.000.1 (a,b:c(1))$$begin_record\r\nX: y\r\n$$end_record\r\nafter",
])
def test_the_reader_counts_every_line_once_framing_has_seen_them(tmp_path, data):
    from siptrace.read.reader import Reader

    path = tmp_path / "t.log"
    path.write_bytes(data + (b"" if data else b"\n"))
    reader = Reader([str(path)], input_format="ocslogger")
    list(reader)
    written = path.read_bytes()
    assert reader.stats[0].lines == written.count(b"\n") + (0 if written.endswith(b"\n") else 1)


def _pieces(text: str) -> list:
    pieces = list(frame_blocks([text.encode()]))
    assert pieces == list(frame(text.encode().splitlines(keepends=True)))
    return pieces


def test_a_first_line_without_begin_marker_followed_by_the_next_record_is_a_whole_record():
    pieces = _pieces(ONE_LINE + PROTOCOL_INVITE + ONE_LINE + "\r\n\r\n" + ONE_LINE + CONNECTION + ONE_LINE)
    assert [type(p) for p in pieces] == [RawRecord] * 6
    assert [p.data.decode() for p in pieces] == [ONE_LINE, PROTOCOL_INVITE, ONE_LINE, ONE_LINE, CONNECTION, ONE_LINE]
    assert [p.line for p in pieces] == [1, 2, 24, 27, 28, 36]


def test_a_one_line_record_at_the_end_without_a_line_end_is_whole():
    pieces = _pieces(PROTOCOL_INVITE + ONE_LINE.rstrip("\r\n"))
    assert isinstance(pieces[-1], RawRecord) and pieces[-1].data == ONE_LINE.rstrip("\r\n").encode()


def test_a_first_line_without_begin_marker_and_lines_after_it_but_no_end_is_still_cut_short():
    # what follows it makes it a record of several lines, and its $$end_record is missing
    cut = COMPONENT_FREE_TAIL.replace("$$end_record\r\n", "")
    pieces = _pieces(cut + PROTOCOL_INVITE + cut)
    assert [type(p) for p in pieces] == [Truncated, RawRecord, Truncated]
    assert not pieces[0].at_eof and pieces[2].at_eof


def test_a_first_line_with_a_begin_marker_alone_is_cut_short_not_a_record():
    first = PROTOCOL_INVITE.split("\r\n", 1)[0] + "\r\n"
    pieces = _pieces(first + ONE_LINE + first)
    assert [type(p) for p in pieces] == [Truncated, RawRecord, Truncated]


def _im(body: str, length: int | None = None) -> str:
    """A MESSAGE record whose body is ``body`` (its Content-Length ``length`` when given)."""
    head = PROTOCOL_INVITE.split("Content-Length:")[0].replace("INVITE", "MESSAGE")
    n = len(body.encode()) if length is None else length
    return head + f"Content-Length: {n}\r\nMessage-Body: {body}$$end_record\r\n"


FORGING = [_im("hi\r\n$$end_record\r\n" + COMPONENT_FREE_TAIL + CONNECTION),
           _im("TL_ERROR(TF_DIAG) [0]1.2::11/03/2026-09:00:00.000.1 (a,b:c(1))$$begin_record\r\n"),
           _im("no line end"), _im("x\r\n$$end_record\r\n" + ONE_LINE, length=7),
           _im("Subject: x $$begin_record\r\n"), PROTOCOL_INVITE, CONNECTION, ONE_LINE, "noise\r\n"]


@pytest.mark.parametrize("seed", range(30))
def test_bodies_holding_record_marks_frame_alike_in_blocks_and_lines(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice(FORGING) for _ in range(rng.randint(1, 10)))
    if rng.random() < 0.3:
        text = text.replace("\r\n", "\n")
    _same(text.encode())


def test_a_body_holding_record_marks_is_one_record_and_a_wrong_length_is_named():
    pieces = list(frame_blocks([(FORGING[0] + FORGING[3] + CONNECTION).encode()]))
    assert [type(p) for p in pieces] == [RawRecord] * 4
    assert pieces[0].note is None and b"TL_INFO(TF_CONNECTION)" in pieces[0].data
    assert pieces[1].note == ("Content-Length 7 does not fit the body as written before $$end_record "
                              "(the record was framed by its first $$end_record line)")
    assert pieces[2].data.startswith(ONE_LINE.encode())     # what the wrong length left after the end


def test_a_header_line_holding_a_begin_marker_starts_no_record():
    data = PROTOCOL_INVITE.replace("Max-Forwards: 69", "Subject: see $$begin_record").encode()
    assert list(frame_blocks([data])) == [RawRecord(data, 1, 0)]
