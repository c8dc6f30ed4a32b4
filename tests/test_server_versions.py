"""Server traces of every Lync / SfB version read alike: one-line records, processor brackets,
Direction without sides; in one process and when workers frame the file in byte ranges."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from siptrace import Reader, SipMessage
from siptrace.model.sip import Direction, Kind, Record
from siptrace.run import parallel as _parallel
from siptrace.run.parallel import MIN_PARALLEL_BYTES, diagnose_parallel
from siptrace.run.stream import diagnose_stream

from conftest import sample
from records_text import ONE_LINE, PROTOCOL_INVITE

REPO = Path(__file__).resolve().parent.parent
LYNC2010 = "lync2010-oneline.fe.log"


def _read(path) -> tuple[list, object]:
    reader = Reader([str(path)])
    items = list(reader)
    return items, reader.stats[0]


def test_lync_2010_one_line_records_are_whole_other_records_not_records_cut_short():
    items, s = _read(sample(LYNC2010))
    assert (s.records, s.sip, s.diagnostic, s.other, s.skipped, s.errors) == (17, 10, 1, 6, 0, 0)
    ones = [i for i in items if isinstance(i, Record)]
    assert all(r.kind is Kind.OTHER and r.flag == "TF_COMPONENT" and not r.fields for r in ones)
    assert ones[0].tail == "From client connection, CID [0x3E5A00]" and ones[0].origin.line == 1
    assert ones[-1].tail.endswith("Exit - transaction terminated. Result 0x00000000")


def test_lync_2010_trace_gives_the_findings_of_the_same_call_in_a_later_version():
    later = diagnose_stream([str(sample("dns-failure-1008.fe.log"))])
    lync2010 = diagnose_stream([str(sample(LYNC2010))])
    def same_call(summary: str) -> str:
        return summary.replace("bfc5807bbe401f72aaa65beb6f3b4229", "4fe7ee86678cf4f87719d675bc92433e")

    assert [(f.rule, f.summary) for f in lync2010.findings] == [(f.rule, same_call(f.summary)) for f in later.findings]
    assert any(f.rule == "ms-diagnostics" and f.fact("code") == 1008 for f in lync2010.findings)


@pytest.mark.parametrize("bracket, machine", [("[0]", "0"), ("[1]", "1"), ("[3]", "3"), ("[12]", "12"),
                                              ("[fe01\\fe01]", "fe01\\fe01")])
def test_any_processor_number_or_machine_in_the_first_bracket(write, bracket, machine):
    text = PROTOCOL_INVITE.replace("[fe01\\fe01]", bracket, 1)
    items, s = _read(write("t.log", text + ONE_LINE.replace("[1]", bracket, 1)))
    assert (s.sip, s.other, s.skipped) == (1, 1, 0)
    assert items[0].record.machine == machine and items[1].machine == machine


@pytest.mark.parametrize("field, expected", [
    ("Direction: incoming", Direction.INCOMING),
    ("Direction: outgoing", Direction.OUTGOING),
    ("Direction: Outgoing ", Direction.OUTGOING),
    ('Direction: incoming;source="external edge";destination="internal edge"', Direction.INCOMING),
])
def test_direction_with_or_without_source_and_destination(write, field, expected):
    text = re.sub(r"Direction: [^\r]*", field, PROTOCOL_INVITE)
    items, s = _read(write("t.log", text))
    (msg,) = items
    assert isinstance(msg, SipMessage) and msg.direction.direction is expected
    sides = (msg.direction.source, msg.direction.destination)
    assert sides == (("external edge", "internal edge") if "source" in field else (None, None))
    assert str(msg.peer) == "edge01.contoso.com:5061"


def _lync2010_shape(data: bytes) -> tuple[bytes, int]:
    """A generated SfB trace turned into Lync 2010's shape: processor numbers in the first
    bracket, Direction without sides, a one-line record before every incoming message and
    after every connection record.  Returns the trace and its number of one-line records."""
    eol = b"\r\n" if b"\r\n" in data[:4096] else b"\n"
    data = data.replace(b"[fe01\\fe01]", b"[1]").replace(b"[edge01\\edge01]", b"[2]")
    data = re.sub(rb"(Direction: (?:incoming|outgoing));[^\r\n]*", rb"\1", data)
    ones = 0

    def before(m: re.Match) -> bytes:
        nonlocal ones
        ones += 1
        return (m.group(1) + b"TL_INFO(TF_COMPONENT) " + m.group(2)
                + b"(SIPStack,CSIPMessage::TraceSource:SIPMessage.cpp(2188)) From client connection, CID [0x2F]"
                + eol + m.group(0)[len(m.group(1)):])

    data = re.sub(rb"(^|\n)TL_INFO\(TF_PROTOCOL\) (\[\d\][^ ]+ )[^\n]*\n(?=Trace-Correlation-Id: [^\n]*\n"
                  rb"Instance-Id: [^\n]*\nDirection: incoming)", before, data)

    def after(m: re.Match) -> bytes:
        nonlocal ones
        ones += 1
        return (m.group(0) + b"TL_INFO(TF_COMPONENT) " + m.group(1)
                + b"(SIPStack,CSIPConnection::Close:SIPConnection.cpp(912)) Exit - connection closed" + eol)

    data = re.sub(rb"TL_\w+\(TF_CONNECTION\) (\[\d\][^ ]+ )[^\n]*\n(?:(?!\$\$end_record)[^\n]*\n)*"
                  rb"\$\$end_record\r?\n", after, data)
    return data, ones


@pytest.fixture(scope="module")
def lync2010_trace(tmp_path_factory) -> tuple[Path, int]:
    """A server trace over the worker threshold in Lync 2010's shape."""
    folder = tmp_path_factory.mktemp("l2010")
    raw = folder / "gen.log"
    subprocess.run([sys.executable, str(REPO / "bench" / "generate.py"), "--size", "9MB", "--seed", "11",
                    "-o", str(raw), "-q"], check=True)
    data, ones = _lync2010_shape(raw.read_bytes())
    assert len(data) > MIN_PARALLEL_BYTES
    path = folder / "lync2010.log"
    path.write_bytes(data)
    return path, ones


def test_one_process_reads_every_one_line_record_of_a_large_lync_2010_trace(lync2010_trace):
    path, ones = lync2010_trace
    _, s = _read(path)
    assert s.balanced and s.skipped == 0 and s.errors == 0
    connections = path.read_bytes().count(b"(TF_CONNECTION)")
    assert ones > 1000 and connections > 100
    assert s.other == ones + connections         # the TF_CONNECTION records are other records too


def test_two_workers_framing_byte_ranges_give_the_records_and_findings_of_one_process(lync2010_trace, monkeypatch,
                                                                                    tmp_path):
    path, _ = lync2010_trace
    framed = tmp_path / "framed"
    real = _parallel.write_index

    def noting(*args):          # runs in the workers: leaves a mark that ranges were framed
        framed.mkdir(exist_ok=True)
        (framed / str(args[2])).touch()
        return real(*args)

    monkeypatch.setattr(_parallel, "write_index", noting)
    monkeypatch.setattr(_parallel, "default_jobs", lambda: 2)
    one = diagnose_parallel([str(path)], jobs=1)
    two = diagnose_parallel([str(path)])            # over the threshold: workers by default
    assert sorted(p.name for p in framed.iterdir()) == ["0", "1"]
    da, db = one.as_dict(), two.as_dict()
    assert da["inputs"] == db["inputs"] and da["inputs"][0]["skipped"] == 0
    for key in ("findings", "messages", "sightings", "calls", "dialogs"):
        assert da[key] == db[key], key
    assert len(one.findings) > 20
