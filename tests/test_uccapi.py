"""Client (UCCAPI) logs: packets between markers, everything else counted."""

from __future__ import annotations

from siptrace import Reader, SipMessage, Skipped
from siptrace.model import Direction

P = "11/03/2026|09:14:02.{ms:03d} 1F24:2A0C INFO  :: "


def _log(*blocks: str) -> str:
    return "".join(blocks)


def packet(ms: int, send: bool, sip: str, remote="10.0.2.30:443", local="192.168.1.20:51234", case=str) -> str:
    head = "Sending Packet" if send else "Data Received"
    addr = "From Local Address" if send else "To Local Address"
    n = len(sip.encode())
    lines = sip.split("\r\n")
    out = P.format(ms=ms) + case(f"{head} - {remote} ({addr}: {local}) {n} bytes:") + "\r\n"
    out += P.format(ms=ms) + lines[0] + "\r\n" + "\r\n".join(lines[1:])
    out += P.format(ms=ms) + case(f"End of {head} - {remote} ({addr}: {local}) {n} bytes") + "\r\n"
    return out


INVITE = ("INVITE sip:+14255550150@contoso.com;user=phone SIP/2.0\r\n"
          "Via: SIP/2.0/TLS 192.168.1.20:51234\r\nMax-Forwards: 70\r\nFrom: <sip:alice@contoso.com>;tag=a1;epid=e1\r\n"
          "To: <sip:+14255550150@contoso.com;user=phone>\r\nCall-ID: c0ffee\r\nCSeq: 1 INVITE\r\n"
          "Content-Length: 0\r\n\r\n")
RINGING = ("SIP/2.0 180 Ringing\r\nVia: SIP/2.0/TLS 192.168.1.20:51234\r\nFrom: <sip:alice@contoso.com>;tag=a1\r\n"
           "To: <sip:+14255550150@contoso.com;user=phone>;tag=u9\r\nCall-ID: c0ffee\r\nCSeq: 1 INVITE\r\n"
           "Content-Length: 0\r\n\r\n")


def test_sent_and_received_packets_become_messages_with_direction_and_addresses(write):
    text = _log(P.format(ms=1) + "CUccCall::Dial called\r\n", packet(5, True, INVITE),
                P.format(ms=9) + "<xml><x/></xml>\r\n", packet(40, False, RINGING))
    reader = Reader([str(write("Lync-UccApi-0.UccApilog", text))])
    items = list(reader)
    s = reader.stats[0]
    assert s.format == "uccapi" and s.balanced and (s.sip, s.skipped) == (2, 2)
    invite, ringing = [i for i in items if isinstance(i, SipMessage)]
    assert invite.method == "INVITE" and invite.direction.direction is Direction.OUTGOING
    assert str(invite.src) == "192.168.1.20:51234" and str(invite.dst) == "10.0.2.30:443"
    assert ringing.status == 180 and ringing.direction.direction is Direction.INCOMING
    assert str(ringing.src) == "10.0.2.30:443" and ringing.time.microsecond == 40000
    assert invite.origin.line == 2


def test_marker_variants_case_and_missing_byte_count(write):
    block = packet(5, False, INVITE, case=str.upper).replace(f" {len(INVITE.encode())} BYTES", "")
    block = block.replace("DATA RECEIVED", "Received  Packet", 1)
    reader = Reader([str(write("c.uccapilog", block))])
    items = list(reader)
    assert [type(i) for i in items] == [SipMessage]


def test_packet_without_end_marker_is_skipped_with_reason(write):
    text = packet(5, True, INVITE).rsplit(P.format(ms=5) + "End", 1)[0]
    items = list(Reader([str(write("cut.UccApilog", text))]))
    assert isinstance(items[-1], Skipped) and "without its End marker" in items[-1].reason
