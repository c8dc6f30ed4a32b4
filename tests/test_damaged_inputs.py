"""Damaged containers lose only the damaged part; odd encodings and line ends are read.

Each case starts from a bundled sample, damages its container or changes its
bytes the way real files are damaged or written, and checks that the records
before the damage are still read, that the damage is one counted record naming
where it is, and that the counts add up.
"""

from __future__ import annotations

import gzip
import io
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from siptrace import Reader
from siptrace.model.sip import SipMessage, Skipped

from conftest import SAMPLES

TRACE = (SAMPLES / "um-ack-retarget-bye.fe.log").read_bytes()
OTHER = (SAMPLES / "busy-486.fe.log").read_bytes()


def _read(path: Path) -> tuple[list, list]:
    reader = Reader([str(path)])
    items = list(reader)
    for stats in reader.stats:
        assert stats.balanced, stats
    assert sum(s.records for s in reader.stats) == len(items)
    return items, reader.stats


def _sip(items: list) -> int:
    return sum(isinstance(i, SipMessage) for i in items)


def _errors(items: list) -> list[Skipped]:
    return [i for i in items if isinstance(i, Skipped) and i.error]


@pytest.fixture(scope="module")
def full_count(tmp_path_factory) -> int:
    path = tmp_path_factory.mktemp("plain") / "fe.log"
    path.write_bytes(TRACE)
    items, _ = _read(path)
    return _sip(items)


# --- gzip ---------------------------------------------------------------------------------------

def test_truncated_gzip_keeps_what_came_before_and_says_where_it_stopped(tmp_path, full_count):
    data = gzip.compress(TRACE)
    path = tmp_path / "fe.log.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    items, stats = _read(path)
    assert 0 < _sip(items) < full_count
    [damage] = _errors(items)
    assert "gzip data damaged" in damage.reason and "bytes" in damage.reason
    assert damage.origin.file == str(path)
    assert damage.origin.offset == stats[0].bytes > 0


def test_corrupt_gzip_block_keeps_the_records_before_it(tmp_path, full_count):
    data = bytearray(gzip.compress(TRACE))
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(64)
    path = tmp_path / "fe.log.gz"
    path.write_bytes(bytes(data))
    items, _ = _read(path)
    assert _sip(items) < full_count
    assert len(_errors(items)) >= 1
    assert any("gzip data damaged" in e.reason for e in _errors(items))


def test_gzip_with_a_bad_checksum_keeps_every_record_and_names_the_damage(tmp_path, full_count):
    data = bytearray(gzip.compress(TRACE))
    data[-8:-4] = struct.pack("<I", zlib.crc32(TRACE) ^ 0xFFFF)
    path = tmp_path / "fe.log.gz"
    path.write_bytes(bytes(data))
    items, _ = _read(path)
    assert _sip(items) == full_count
    [damage] = _errors(items)
    assert "CRC" in damage.reason or "crc" in damage.reason


def test_sound_gzip_has_no_damage_record(tmp_path, full_count):
    path = tmp_path / "fe.log.gz"
    path.write_bytes(gzip.compress(TRACE))
    items, _ = _read(path)
    assert _sip(items) == full_count and not _errors(items)


# --- zip ----------------------------------------------------------------------------------------

def _patch_member(data: bytes, name: str, *, flag: int | None = None, method: int | None = None,
                  crc: int | None = None) -> bytes:
    """Change one member's header fields in both the local header and the central directory."""
    out = bytearray(data)
    raw = name.encode()
    for sig, flag_at, method_at, crc_at, name_len_at, name_at in (
            (b"PK\x03\x04", 6, 8, 14, 26, 30), (b"PK\x01\x02", 8, 10, 16, 28, 46)):
        at = out.find(sig)
        while at != -1:
            n = struct.unpack_from("<H", out, at + name_len_at)[0]
            if bytes(out[at + name_at:at + name_at + n]) == raw:
                if flag is not None:
                    struct.pack_into("<H", out, at + flag_at, flag)
                if method is not None:
                    struct.pack_into("<H", out, at + method_at, method)
                if crc is not None:
                    struct.pack_into("<I", out, at + crc_at, crc)
            at = out.find(sig, at + 4)
    return bytes(out)


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("damage, words", [
    ("encrypted", "encrypted"),
    ("deflate64", "Deflate64"),
    ("etl", ".etl"),
    ("bad-crc", "CRC"),
])
def test_zip_with_one_bad_member_reads_the_others_and_names_the_bad_one(tmp_path, full_count, damage, words):
    bad_name = "fe02.etl" if damage == "etl" else "fe02.log"
    data = _zip({"fe01.log": TRACE, bad_name: b"\x00" * 200 if damage == "etl" else OTHER})
    if damage == "encrypted":
        data = _patch_member(data, bad_name, flag=0x1)
    elif damage == "deflate64":
        data = _patch_member(data, bad_name, method=9)
    elif damage == "bad-crc":
        data = _patch_member(data, bad_name, crc=zlib.crc32(OTHER) ^ 1)
    path = tmp_path / "cls.zip"
    path.write_bytes(data)
    items, stats = _read(path)
    good = [i for i in items if isinstance(i, SipMessage) and i.origin.file.endswith("!fe01.log")]
    assert len(good) == full_count
    [named] = _errors(items)
    assert named.origin.file == f"{path}!{bad_name}"
    assert words in named.reason
    assert [s.path for s in stats] == [f"{path}!fe01.log", f"{path}!{bad_name}"]


def test_empty_zip_member_is_named_as_skipped_not_as_an_error(tmp_path, full_count):
    path = tmp_path / "cls.zip"
    path.write_bytes(_zip({"fe01.log": TRACE, "empty.log": b""}))
    items, _ = _read(path)
    assert _sip(items) == full_count
    assert not _errors(items)
    [empty] = [i for i in items if isinstance(i, Skipped)]
    assert empty.origin.file.endswith("!empty.log") and "empty" in empty.reason


def test_diagnose_on_a_zip_with_a_bad_member_is_not_an_input_error(tmp_path):
    data = _patch_member(_zip({"fe01.log": TRACE, "fe02.log": OTHER}), "fe02.log", flag=0x1)
    path = tmp_path / "cls.zip"
    path.write_bytes(data)
    out = subprocess.run([sys.executable, "-m", "siptrace", "stats", str(path)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "encrypted" in out.stdout and "fe02.log" in out.stdout


# --- line ends and encodings --------------------------------------------------------------------

def _lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


@pytest.mark.parametrize("name, convert", [
    ("CR only", lambda d: _lf(d).replace(b"\n", b"\r")),
    ("LF then CR", lambda d: _lf(d)[: len(_lf(d)) // 2] + _lf(d)[len(_lf(d)) // 2:].replace(b"\n", b"\r")),
    ("CRLF then CR", lambda d: d[: len(d) // 2] + _lf(d[len(d) // 2:]).replace(b"\n", b"\r")),
    ("UTF-16 LE without BOM", lambda d: d.decode().encode("utf-16-le")),
    ("UTF-16 BE without BOM", lambda d: d.decode().encode("utf-16-be")),
    ("two UTF-16 files joined", lambda d: d.decode().encode("utf-16") + d.decode().encode("utf-16")),
])
def test_odd_line_ends_and_encodings_read_every_message(tmp_path, full_count, name, convert):
    path = tmp_path / "fe.log"
    path.write_bytes(convert(TRACE))
    items, _ = _read(path)
    expected = full_count * (2 if "joined" in name else 1)
    assert _sip(items) == expected, name
    assert not _errors(items)


def test_lone_cr_translation_keeps_byte_offsets(tmp_path):
    data = _lf(TRACE).replace(b"\n", b"\r")
    path = tmp_path / "fe.log"
    path.write_bytes(data)
    items, _ = _read(path)
    for item in items:
        assert data[item.origin.offset:].startswith(b"TL_")


def test_binary_with_nuls_on_both_sides_is_not_taken_for_bomless_utf16():
    from siptrace.read.inputs import utf16_without_bom

    assert utf16_without_bom(bytes(range(256)) * 8) is None
    assert utf16_without_bom(b"\x00" * 4096) is None
    assert utf16_without_bom("TL_INFO(TF_PROTOCOL)\r\n".encode("utf-16-le") * 50) == "utf-16-le"


def test_two_utf8_files_joined_read_every_record_despite_the_second_bom(tmp_path, full_count):
    bom = b"\xef\xbb\xbf"
    path = tmp_path / "joined.log"
    path.write_bytes(bom + TRACE + bom + TRACE)
    items, stats = _read(path)
    assert _sip(items) == 2 * full_count
    assert stats[0].skipped == 0


# --- pipes and file names -----------------------------------------------------------------------

def _fifo(tmp_path: Path, data: bytes) -> Path:
    import os
    import threading

    path = tmp_path / "feed"
    os.mkfifo(path)

    def feed() -> None:
        with open(path, "wb") as pipe:
            pipe.write(data)

    threading.Thread(target=feed, daemon=True).start()
    return path


@pytest.mark.parametrize("compress", [False, True], ids=["text", "gzip"])
def test_a_pipe_is_read_once_as_it_comes_not_called_empty(tmp_path, full_count, compress):
    import gzip

    path = _fifo(tmp_path, gzip.compress(TRACE) if compress else TRACE)
    out = subprocess.run([sys.executable, "-m", "siptrace", "stats", "--format", "json", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert f'"sip": {full_count}' in out.stdout


def test_diagnose_with_workers_reads_a_pipe_in_one_process(tmp_path):
    path = _fifo(tmp_path, OTHER)
    out = subprocess.run([sys.executable, "-m", "siptrace", "diagnose", "-j", "2", "--format", "json", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode in (0, 1), out.stderr
    assert '"rule": "failed-call"' in out.stdout


def test_file_name_that_is_not_utf8_is_shown_escaped_not_a_traceback(tmp_path):
    import os

    name = os.fsdecode(b"M\xfcller.log")
    path = tmp_path / name
    path.write_bytes(OTHER)
    out = subprocess.run([sys.executable, "-m", "siptrace", "diagnose", str(path)],
                         capture_output=True, text=True, errors="replace")
    assert out.returncode in (0, 1), out.stderr
    assert "Traceback" not in out.stderr
    assert "M\\xfcller.log" in out.stdout


def test_a_crlf_file_is_read_as_it_is_on_disk_so_workers_can_frame_it_in_parts(tmp_path):
    from siptrace.read.inputs import has_lone_cr, open_sources

    assert not has_lone_cr(b"a\r\nb\r\n") and not has_lone_cr(b"a\r\nb\r") and has_lone_cr(b"a\rb\r\n")
    path = tmp_path / "fe.log"
    path.write_bytes(TRACE)
    (source,) = open_sources(str(path))
    assert source.file == str(path)
    source.close()
