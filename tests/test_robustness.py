"""Bad input never crashes and never loses a record silently: the counts add up."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from siptrace import InputError, Reader
from siptrace.model.sip import DiagRecord, Record, SipMessage, Skipped

from records_text import ALL, CONNECTION, DIAG_TAIL_SEQUENCE, PROTOCOL_INVITE


def _read(path):
    reader = Reader([str(path)])
    items = list(reader)
    stats = reader.stats[0]
    assert stats.balanced
    assert stats.records == len(items)
    return items, stats


def test_well_formed_file_counts_each_kind(write):
    items, s = _read(write("t.log", ALL))
    assert (s.records, s.sip, s.diagnostic, s.other, s.skipped, s.errors) == (4, 1, 2, 1, 0, 0)
    assert [type(i) for i in items] == [SipMessage, DiagRecord, DiagRecord, Record]


def test_origins_point_at_the_first_line_and_byte_of_each_record(write):
    path = write("t.log", ALL)
    items, _ = _read(path)
    data = path.read_bytes()
    for item in items:
        assert data[item.origin.offset:].startswith(b"TL_")
        assert data.count(b"\n", 0, item.origin.offset) + 1 == item.origin.line


def test_lf_and_crlf_give_the_same_messages(write):
    crlf, _ = _read(write("crlf.log", ALL))
    lf, _ = _read(write("lf.log", ALL.replace("\r\n", "\n")))
    assert [i.start_line for i in crlf if isinstance(i, SipMessage)] == \
           [i.start_line for i in lf if isinstance(i, SipMessage)]
    assert crlf[0].headers.fields == lf[0].headers.fields


def test_truncated_last_record_is_skipped_with_its_line(write):
    text = ALL + PROTOCOL_INVITE[: len(PROTOCOL_INVITE) // 2]
    items, s = _read(write("cut.log", text))
    assert s.skipped == 1 and s.sip == 1
    last = items[-1]
    assert isinstance(last, Skipped) and "no $$end_record before the end of the input" in last.reason
    assert last.origin.line == ALL.count("\n") + 1


def test_record_cut_by_the_next_record_is_skipped_and_the_next_one_read(write):
    text = PROTOCOL_INVITE[:300] + "\r\n" + CONNECTION
    items, s = _read(write("cut2.log", text))
    assert s.skipped == 1 and s.other == 1
    assert "before the next record" in items[0].reason


def test_junk_between_records_is_reported_not_dropped(write):
    text = PROTOCOL_INVITE + "some console noise\r\nmore noise\r\n\r\n" + CONNECTION
    items, s = _read(write("junk.log", text))
    assert s.skipped == 1 and s.sip == 1 and s.other == 1
    assert items[1].reason == "text outside any record" and items[1].context == "2 line(s)"


def test_non_utf8_bytes_are_replaced_and_counted(write):
    data = ALL.encode("utf-8").replace(b"Alice Example", b"Al\xe9\xff Example")
    items, s = _read(write("latin.log", data))
    assert s.decode_replaced == 1 and s.sip == 1
    assert "\ufffd" in items[0].from_.display


def test_bom_and_nul_bytes_do_not_break_reading(write):
    data = b"\xef\xbb\xbf" + ALL.encode().replace(b"Max-Forwards: 69", b"Max-Forwards: 69\x00")
    items, s = _read(write("bom.log", data))
    assert s.sip == 1 and s.diagnostic == 2 and s.other == 1


def test_utf16_file_from_powershell_is_read(write):
    items, s = _read(write("u16.log", ALL.encode("utf-16")))
    assert (s.sip, s.diagnostic, s.other) == (1, 2, 1)


def test_gzip_and_zip_inputs_are_read_directly(tmp_path):
    gz = tmp_path / "t.log.gz"
    gz.write_bytes(gzip.compress(ALL.encode()))
    _, s = _read(gz)
    assert s.sip == 1
    zpath = tmp_path / "cls.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("fe01.log", ALL)
        z.writestr("edge01.log", CONNECTION)
    reader = Reader([str(zpath)])
    items = list(reader)
    assert [st.path.split("!")[-1] for st in reader.stats] == ["fe01.log", "edge01.log"]
    assert len(items) == 5


def test_etl_file_is_refused_with_what_to_do(write):
    path = write("trace.etl", b"\x00" * 64)
    with pytest.raises(InputError) as err:
        list(Reader([str(path)]))
    assert "binary trace (.etl)" in str(err.value) and "Snooper" in str(err.value)


def test_binary_etw_content_under_another_name_is_refused(write):
    path = write("trace.log", bytes(range(256)) * 4 + b"\x00" * 2048)
    with pytest.raises(InputError):
        list(Reader([str(path)]))


def test_empty_and_missing_files_and_directories_are_input_errors(write, tmp_path):
    for path, words in ((write("empty.log", b""), "is empty"), (tmp_path / "nope.log", "no such file"),
                        (tmp_path, "is a directory")):
        with pytest.raises(InputError) as err:
            list(Reader([str(path)]))
        assert words in str(err.value)


def test_truncation_at_every_byte_never_raises_and_counts_add_up(tmp_path):
    from siptrace.read.inputs import Source
    from siptrace.read.reader import InputStats, read_any

    whole = (PROTOCOL_INVITE + DIAG_TAIL_SEQUENCE).encode()
    kinds = set()
    for cut in range(len(whole) + 1):
        data = whole[:cut]
        stats = InputStats("cut")
        source = Source("cut", io.BufferedReader(io.BytesIO(data)), len(data))
        try:
            items = list(read_any(source, stats))
        except InputError as err:
            assert not data.startswith(b"TL_") and "not a trace siptrace knows" in str(err)
            continue
        assert stats.balanced and len(items) == stats.records
        kinds.add((stats.sip, stats.diagnostic, stats.skipped))
    assert (1, 1, 0) in kinds and (1, 0, 1) in kinds and (0, 0, 1) in kinds


def test_random_damage_never_raises(tmp_path):
    import random

    rng = random.Random(7)
    base = bytearray((ALL * 3).encode())
    for n in range(150):
        data = bytearray(base)
        for _ in range(rng.randint(1, 12)):
            pos = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.4:
                data[pos] = rng.randrange(256)
            elif choice < 0.7:
                del data[pos: pos + rng.randint(1, 40)]
            else:
                data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 20)))
        path = tmp_path / f"d{n}.log"
        path.write_bytes(bytes(data) or b"x")
        try:
            _read(path)
        except InputError:
            pass  # a file damaged into something binary-looking is refused, not crashed on
