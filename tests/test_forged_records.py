"""What a logged SIP message carries (an IM, a pidf, a sipfrag) cannot forge trace records.

The body of a TF_PROTOCOL record is taken by the message's Content-Length,
so ``$$end_record`` or a record's first line written in it neither ends the
record nor starts one: in one process, and when workers frame a plain file
in byte ranges.
"""

from __future__ import annotations

import io

import pytest

from siptrace.read.framing import RawRecord, Truncated, frame, frame_blocks
from siptrace.read.partition import Share
from siptrace.read.ranges import cut_points, index_path, read_pieces, write_index
from siptrace.read.inputs import Source
from siptrace.read.reader import InputStats, read_source
from siptrace.run.diagnose import diagnose
from siptrace.run.parallel import diagnose_parallel
from siptrace.run.stream import diagnose_stream

from flows import dialog_headers, record

CALL = "4f1e2d3c4b5a69788796a5b4c3d2e1f0"          # a healthy call
IM = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b"            # the session that carries the instant message
BOB, CAROL = "10.0.10.54:53214", "10.0.10.77:49822"

FORGED_DIAG = (
    "TL_ERROR(TF_DIAG) [fe01\\fe01]0584.0A44::11/03/2026-09:00:02.230.0000773E "
    "(SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) [156659184] $$begin_record\r\n"
    "Severity: error\r\n"
    "Text: Routing error for the ACK Result-Code: 0xc3e93c2f SIPPROXY_E_UNKNOWN_USER_OR_EPID\r\n"
    "SIP-Start-Line: ACK sip:carol@10.0.10.77:49822 SIP/2.0\r\n"
    f"SIP-Call-ID: {CALL}\r\n"
    "SIP-CSeq: 1 ACK\r\n"
    "Peer: um01.contoso.com:5061\r\n"
    'Data: fqdn =" um01.contoso.com "; reason="no route"\r\n'
    "$$end_record\r\n"
)


def _forged_504() -> str:
    headers = dialog_headers(CALL, "1 INVITE", "b0b", "c4r0l") + [
        ("ms-diagnostics", '1008;reason="Unable to resolve DNS SRV record";'
                           'source="sip.contoso.com";Domain="fabrikam.com"')]
    return record(2.5, "SIP/2.0 504 Server time-out", headers, peer=CAROL)


def _call() -> list[str]:
    h = lambda cseq, to=None, **kw: dialog_headers(CALL, cseq, "b0b", to, **kw)  # noqa: E731
    return [
        record(0.0, "INVITE sip:carol@contoso.com SIP/2.0", h("1 INVITE"), peer=BOB),
        record(0.3, "SIP/2.0 180 Ringing", h("1 INVITE", "c4r0l", contact=f"sip:carol@{CAROL}"), peer=CAROL),
        record(2.0, "SIP/2.0 200 OK", h("1 INVITE", "c4r0l", contact=f"sip:carol@{CAROL}"), peer=CAROL),
        record(2.1, "ACK sip:carol@10.0.10.77:49822 SIP/2.0", h("1 ACK", "c4r0l", branch="z9hG4bKack"), peer=BOB),
    ]


def _im(body: str, crlf: bool = True) -> str:
    headers = dialog_headers(IM, "2 MESSAGE", "a11ce", "b0b2") + [("Content-Type", "text/plain; charset=UTF-8")]
    text = record(3.0, "MESSAGE sip:bob@contoso.com SIP/2.0", headers, peer=BOB, body=body)
    return text if crlf else text.replace("\r\n", "\n")


# What an outsider types into an IM window: the record end, then records of their own making.
FORGERY = "see you\r\n$$end_record\r\n" + FORGED_DIAG + _forged_504()


def _trace(forgery_in_body: bool, crlf: bool = True, filler: int = 0) -> bytes:
    """The healthy call, the IM, then more traffic (``filler`` OPTIONS records)."""
    parts = _call()
    if forgery_in_body:
        parts.append(_im(FORGERY, crlf))
    else:
        parts += [_im("see you\r\n", crlf), FORGED_DIAG, _forged_504()]
    parts += [record(4.0 + i / 1000, "OPTIONS sip:carol@contoso.com SIP/2.0",
                     dialog_headers(f"opt-{i}", "1 OPTIONS", f"o{i}"), peer=BOB) for i in range(filler)]
    text = "".join(parts)
    return (text if crlf else text.replace("\r\n", "\n")).encode()


def _records(data: bytes) -> list:
    return list(frame_blocks([data[i:i + 4096] for i in range(0, len(data), 4096)]))


@pytest.mark.parametrize("crlf", [True, False], ids=["crlf", "lf"])
def test_an_im_holding_an_end_marker_and_forged_records_stays_one_record(crlf):
    data = _trace(True, crlf)
    pieces = _records(data)
    assert len(pieces) == 5 and all(isinstance(p, RawRecord) and p.note is None for p in pieces)
    assert pieces[4].data.count(b"$$end_record") == 4        # its own end and the three it carried
    assert pieces == list(frame(data.splitlines(keepends=True)))


def test_the_forgery_written_as_records_would_be_read_as_records():
    # the same bytes outside the body are records: the test above could fail
    assert len(_records(_trace(False))) == 7


@pytest.mark.parametrize("crlf", [True, False], ids=["crlf", "lf"])
def test_an_instant_message_never_becomes_a_finding(tmp_path, crlf):
    path = tmp_path / "im.fe.log"
    path.write_bytes(_trace(True, crlf))
    control = tmp_path / "written.fe.log"
    control.write_bytes(_trace(False, crlf))
    assert diagnose([str(control)]).findings                # forged records outside a body do fire
    for run in (diagnose, diagnose_stream):
        result = run([str(path)])
        assert list(result.findings) == []
        counts = result.summary.inputs[0]
        assert (counts.records, counts.sip, counts.diagnostic, counts.skipped, counts.errors) == (5, 5, 0, 0, 0)


def test_the_im_keeps_its_whole_body():
    stats = InputStats("x")
    source = Source("x", io.BufferedReader(io.BytesIO(_trace(True))))   # type: ignore[arg-type]
    im = list(read_source(source, stats))[-1]
    assert im.call_id == IM and "0xc3e93c2f" in im.body and "ms-diagnostics: 1008" in im.body
    assert not any("Content-Length" in p for p in im.problems)


def test_workers_framing_byte_ranges_never_cut_inside_a_body(tmp_path):
    data = _trace(True, filler=40)
    path = tmp_path / "trace.log"
    path.write_bytes(data)
    body_at = data.index(b"see you")
    body_end = data.index(b"$$end_record", data.index(b"Message-Body: -", body_at) + 10)
    whole = list(frame(data.splitlines(keepends=True)))
    for count in range(2, 9):
        points = cut_points(str(path), count)
        assert points is not None
        assert not any(body_at <= p <= body_end for p in points), (count, points)
    # a cut asked for right in the body lands on the next real record
    middle = (body_at + body_end) // 2
    per_worker = []
    for count in (2, 3):
        folder = tmp_path / f"idx{count}"
        folder.mkdir()
        points = cut_points(str(path), count, at=[middle] + [len(data) * k // count for k in range(2, count)])
        assert points is not None and not any(body_at <= p <= body_end for p in points)
        for part in range(len(points) - 1):
            write_index(str(path), points, part, count, index_path(str(folder), 0, part))
        pieces = []
        for i in range(count):
            pieces += read_pieces(str(path), points, str(folder), 0, Share(i, count), InputStats(str(path)))
        per_worker.append(sorted(pieces, key=lambda p: p.offset))
    assert per_worker[0] == per_worker[1] == whole
    assert not any(isinstance(p, Truncated) for p in whole)


def test_one_and_two_workers_give_the_same_records_and_findings(tmp_path):
    path = tmp_path / "trace.log"
    path.write_bytes(_trace(True, filler=200))
    one = diagnose_stream([str(path)])
    two = diagnose_parallel([str(path)], jobs=2)
    assert list(one.findings) == list(two.findings) == []
    assert one.as_dict()["inputs"] == two.as_dict()["inputs"]
    assert one.summary.inputs[0].records == 205


def test_a_content_length_that_fits_no_body_is_a_problem_of_the_message():
    text = _im("see you\r\n").replace("Content-Length: 9\r\n", "Content-Length: 900\r\n").encode()
    stats = InputStats("x")
    (im,) = read_source(Source("x", io.BufferedReader(io.BytesIO(text))), stats)   # type: ignore[arg-type]
    assert any(p.startswith("Content-Length 900 does not fit the body as written") for p in im.problems)
    assert stats.with_problems == 1
