"""Client (UCCAPI) logs: a SIP message wherever a start line follows the line prefix (or the
prefixed line), up to the next prefixed line, whatever its marker says; everything else counted."""

from __future__ import annotations

import pytest

from siptrace import Reader, SipMessage, Skipped
from siptrace.read.detect import detect
from siptrace.model.sip import Direction
from siptrace.run.stream import diagnose_stream
from siptrace.read.uccapi import parse_marker

from conftest import sample

P = "11/03/2026|09:14:02.{ms:03d} 1F24:2A0C INFO  :: "


def packet(ms: int, send: bool, sip: str, remote="10.0.2.30:443", local="192.168.1.20:51234", case=str,
           start_prefixed: bool = True, end: bool = True) -> str:
    head = "Sending Packet" if send else "Data Received"
    addr = "From Local Address" if send else "To Local Address"
    n = len(sip.encode())
    lines = sip.split("\r\n")
    out = P.format(ms=ms) + case(f"{head} - {remote} ({addr}: {local}) {n} bytes:") + "\r\n"
    out += (P.format(ms=ms) if start_prefixed else "") + lines[0] + "\r\n" + "\r\n".join(lines[1:])
    if end:
        out += P.format(ms=ms) + case(f"End of {head} - {remote} ({addr}: {local}) {n} bytes") + "\r\n"
    return out


INVITE = ("INVITE sip:+14255550150@contoso.com;user=phone SIP/2.0\r\n"
          "Via: SIP/2.0/TLS 192.168.1.20:51234\r\nMax-Forwards: 70\r\nFrom: <sip:alice@contoso.com>;tag=a1;epid=e1\r\n"
          "To: <sip:+14255550150@contoso.com;user=phone>\r\nCall-ID: c0ffee\r\nCSeq: 1 INVITE\r\n"
          "Content-Length: 0\r\n\r\n")
RINGING = ("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/TLS 192.168.1.20:51234\r\nFrom: <sip:alice@contoso.com>;tag=a1\r\n"
           "To: <sip:+14255550150@contoso.com;user=phone>;tag=u9\r\nCall-ID: c0ffee\r\nCSeq: 1 INVITE\r\n"
           "Content-Length: 0\r\n\r\n")


def _read(write, text: str, name: str = "Lync-UccApi-0.UccApilog"):
    reader = Reader([str(write(name, text))])
    items = list(reader)
    s = reader.stats[0]
    assert s.format == "uccapi" and s.balanced
    return items, s


def _sip(items) -> list[SipMessage]:
    return [i for i in items if isinstance(i, SipMessage)]


def test_sent_and_received_packets_become_messages_with_direction_and_addresses(write):
    text = (P.format(ms=1) + "CUccCall::Dial called\r\n" + packet(5, True, INVITE)
            + P.format(ms=9) + "<xml><x/></xml>\r\n" + packet(40, False, RINGING))
    items, s = _read(write, text)
    assert (s.sip, s.skipped) == (2, 2)
    invite, ringing = _sip(items)
    assert invite.method == "INVITE" and invite.direction.direction is Direction.OUTGOING
    assert str(invite.src) == "192.168.1.20:51234" and str(invite.dst) == "10.0.2.30:443"
    assert str(invite.peer) == "10.0.2.30:443"
    assert ringing.status == 180 and ringing.direction.direction is Direction.INCOMING
    assert str(ringing.src) == "10.0.2.30:443" and ringing.time.microsecond == 40000
    assert invite.origin.line == 3          # the start line


def test_marker_variants_case_and_missing_byte_count(write):
    block = packet(5, False, INVITE, case=str.upper).replace(f" {len(INVITE.encode())} BYTES", "")
    block = block.replace("DATA RECEIVED", "Received  Packet", 1)
    items, _ = _read(write, block, "c.uccapilog")
    assert [type(i) for i in items] == [SipMessage]
    assert items[0].direction.direction is Direction.INCOMING and str(items[0].peer) == "10.0.2.30:443"


def test_start_line_on_the_line_after_the_marker_without_the_prefix(write):
    text = packet(5, True, INVITE, start_prefixed=False) + packet(40, False, RINGING, start_prefixed=False)
    items, s = _read(write, text)
    assert (s.sip, s.skipped) == (2, 0)
    invite, ringing = _sip(items)
    assert invite.direction.direction is Direction.OUTGOING and ringing.direction.direction is Direction.INCOMING
    assert ringing.time.microsecond == 40000      # the marker's time
    assert invite.call_id == "c0ffee" and invite.headers.get("CSeq") == "1 INVITE"


@pytest.mark.parametrize("opening, closing", [
    ("Outgoing SIP message to 10.0.2.30:443 ({n} bytes):", "End of outgoing SIP message"),
    ("SIP data transmitted, {n} bytes", None),
    ("Message sent:", "done"),
])
@pytest.mark.parametrize("start_prefixed", [True, False])
def test_other_marker_words_still_read_the_message_with_direction_and_peer_unknown(write, opening, closing,
                                                                                   start_prefixed):
    n = len(INVITE.encode())
    text = (P.format(ms=5) + opening.format(n=n) + "\r\n"
            + (P.format(ms=5) if start_prefixed else "") + INVITE
            + (P.format(ms=6) + closing + "\r\n" if closing else "")
            + P.format(ms=7) + "CUccSession::OnStateChanged - state=Connecting\r\n")
    items, s = _read(write, text)
    (msg,) = _sip(items)
    assert msg.method == "INVITE" and msg.call_id == "c0ffee" and msg.cseq.number == 1
    assert msg.direction is None and msg.peer is None and msg.src is None and msg.dst is None
    # lines that are not part of the message are counted, none lost
    other_lines = 1 + (closing is not None) + (1 if start_prefixed else 0)
    assert sum(int(i.context.split()[0]) for i in items if isinstance(i, Skipped)) == other_lines


def test_lines_without_the_prefix_outside_messages_are_counted(write):
    text = ("========================================\r\n"
            "  UCCAPI tracing started\r\n"
            "========================================\r\n"
            + P.format(ms=1) + "CUccPlatform::Initialize\r\n"
            + '<LocationProfileDescription xmlns="http://schemas.microsoft.com/2007/03/locationProfile">'
              "<Name>DefaultProfile</Name></LocationProfileDescription>\r\n"
            + packet(5, True, INVITE)
            + "trailing banner\r\n")
    items, s = _read(write, text)
    assert (s.sip, s.skipped) == (1, 2)
    first, msg, last = items
    assert isinstance(first, Skipped) and first.context == "5 line(s)" and first.origin.line == 1
    assert isinstance(msg, SipMessage) and isinstance(last, Skipped) and last.origin.line == 17


def test_a_message_ends_at_the_next_prefixed_line_with_or_without_end_marker(write):
    text = (packet(5, True, INVITE, end=False) + P.format(ms=20) + "CUccSession::OnSent\r\n"
            + packet(40, False, RINGING, end=False))
    items, s = _read(write, text)
    assert (s.sip, s.skipped) == (2, 1)
    assert [i.kind.value for i in items] == ["sip", "skipped", "sip"]
    assert _sip(items)[1].headers.get("Call-ID") == "c0ffee"


def test_a_prefixed_line_that_is_no_known_marker_before_a_message_is_counted_not_guessed_from(write):
    text = P.format(ms=1) + "CUccCall::Dial called to 10.0.2.30:443\r\n" + P.format(ms=2) + INVITE
    items, s = _read(write, text)
    assert [type(i) for i in items] == [Skipped, SipMessage]
    assert items[1].direction is None and items[1].peer is None


def test_empty_packet_is_a_keep_alive_and_an_end_marker_alone_is_counted(write):
    keep_alive = (P.format(ms=1) + "Sending Packet - 10.0.2.30:443 (From Local Address: 192.168.1.20:51234) 4 bytes:\r\n"
                  "\r\n\r\n"
                  + P.format(ms=1) + "End of Sending Packet - 10.0.2.30:443 (From Local Address: 192.168.1.20:51234) 4 bytes\r\n")
    lone_end = P.format(ms=2) + "End of Data Received - 10.0.2.30:443\r\n"
    items, s = _read(write, keep_alive + lone_end)
    assert [i.reason for i in items] == ["empty packet (a keep-alive, no SIP message)",
                                         "client log lines outside SIP messages"]


def test_a_message_cut_by_the_end_of_the_log_is_still_read(write):
    text = packet(5, True, INVITE, end=False)
    items, s = _read(write, text)
    assert [type(i) for i in items] == [SipMessage]


@pytest.mark.parametrize("rest, expected", [
    ("Sending Packet - 10.0.2.30:443 (From Local Address: 192.168.1.20:51234) 512 bytes:",
     (True, Direction.OUTGOING, "10.0.2.30:443", "192.168.1.20:51234")),
    ("Data Received - [2001:db8::5]:443 (To Local Address: [2001:db8::20]:51234) 9 bytes:",
     (True, Direction.INCOMING, "[2001:db8::5]:443", "[2001:db8::20]:51234")),
    ("Sending Packet :to dest=10.0.2.30:5061", (True, Direction.OUTGOING, "10.0.2.30:5061", None)),
    ("Data Received :from src=10.0.2.30:5061", (True, Direction.INCOMING, "10.0.2.30:5061", None)),
    ("Received Packet - sip.contoso.com:443", (True, Direction.INCOMING, "sip.contoso.com:443", None)),
    ("End of Data Received - 10.0.2.30:443", (False, Direction.INCOMING, "10.0.2.30:443", None)),
    ("end of sending packet", (False, Direction.OUTGOING, None, None)),
    ("Sending Packet - 10.0.2.30:443 1439 bytes:", (True, Direction.OUTGOING, "10.0.2.30:443", None)),
])
def test_known_marker_words_give_direction_and_addresses(rest, expected):
    m = parse_marker(rest)
    assert m is not None
    got = (m.begin, m.direction, str(m.remote) if m.remote else None, str(m.local) if m.local else None)
    assert got == expected


@pytest.mark.parametrize("rest", ["Outgoing SIP message to 10.0.2.30:443", "CUccCall::Dial", "Packet sent",
                                  "Sending Packet to the moon"])
def test_other_words_are_no_known_marker(rest):
    assert parse_marker(rest) is None


def test_client_log_is_recognised_by_its_line_prefix_whatever_its_markers():
    head = b"=====\r\nUCCAPI tracing\r\n06/14/2011|14:07:21.228 0F10:0B2C INFO  :: Outgoing SIP message to 10.0.1.11:5061:\r\nINVITE sip:a@b SIP/2.0\r\n"
    assert detect(head, "client.txt") == "uccapi"
    assert detect(b"INVITE sip:a@b SIP/2.0\r\n\r\n01/15/2012|11:30:10.163\r\n", "x.txt") == "sip"


def test_lync_2010_client_log_sample_with_other_markers_and_prefix_less_lines():
    reader = Reader([str(sample("lync2010-markers.client.uccapilog"))])
    items = list(reader)
    s = reader.stats[0]
    assert (s.records, s.sip, s.skipped, s.errors) == (9, 4, 5, 0) and s.balanced
    invite, trying, busy, ack = _sip(items)
    assert (invite.method, trying.status, busy.status, ack.method) == ("INVITE", 100, 504, "ACK")
    assert invite.direction is None and trying.direction is None           # words not known: not guessed
    assert busy.direction.direction is Direction.INCOMING and str(busy.src) == "10.0.1.11:5061"
    assert ack.direction.direction is Direction.OUTGOING and str(ack.src) == "10.0.10.54:53214"
    assert len(invite.body.encode()) == int(invite.headers.get("Content-Length"))


def test_lync_2010_client_log_and_front_end_trace_merge_into_one_call():
    result = diagnose_stream([str(sample("lync2010-markers.client.uccapilog")), str(sample("lync2010-oneline.fe.log"))])
    assert {f.rule for f in result.findings} >= {"failed-call", "ms-diagnostics"}
    offsets = {i.path.rsplit("/", 1)[-1]: i for i in result.summary.inputs}
    assert set(offsets) == {"lync2010-markers.client.uccapilog", "lync2010-oneline.fe.log"}
    assert result.summary.offsets[str(sample("lync2010-markers.client.uccapilog"))] == pytest.approx(-0.4, abs=0.01)
