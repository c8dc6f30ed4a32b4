"""Writes samples/um-gateway-tcp.pcap: a PSTN caller reaching Exchange UM through a gateway, SIP over TCP.

The gateway (an SBC at 10.0.4.10, listening on 5060) sends the INVITE for the
subscriber access number to the UM Call Router on um01.contoso.com:5060
(UMStartupMode Dual, so plain TCP is accepted from a UM IP gateway); the Call
Router answers 302 with the UM service on the same server (port 5065), the
gateway acknowledges the 302 on the same transaction (RFC 3261 §17.1.1.3),
sends a new INVITE (CSeq 2) over a new TCP connection, the UM answers 200 OK
with its FQDN in the Contact, and the caller hangs up 14 s later.  The INVITE
to the Call Router is split over two TCP segments, as SIP over TCP may be.

Run ``python tests/pcap_sample.py`` to write it again; a test checks that the
bundled file is what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from pcapwriter import write_pcap  # noqa: E402

GW, UM = "10.0.4.10", "10.0.3.31"
ROUTER, SERVICE = 5060, 5065
GW_PORT_1, GW_PORT_2 = 49301, 49302           # the gateway's side of its two TCP connections
CALL_ID = "8e41c07a-22d5-4b9f-9c1a-3d6e0f7b5a21@10.0.4.10"
T0 = 1_793_700_000.0                          # 2026-11-03 10:00:00 UTC
GW_AGENT = "Mediant 800/v.7.20A.258.459"
UM_AGENT = "MSExchangeUM/15.01.2507.006"
FROM = '"+14255550177" <sip:+14255550177@10.0.4.10;user=phone>;tag=1c1806157451'
TO = "<sip:+14255550150@um01.contoso.com;user=phone>"

SDP_GW = ("v=0\r\no=AudiocodesGW 1987162418 1987162300 IN IP4 10.0.4.10\r\ns=Phone-Call\r\n"
          "c=IN IP4 10.0.4.10\r\nt=0 0\r\nm=audio 6010 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
          "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n"
          "a=sendrecv\r\n")
SDP_UM = ("v=0\r\no=- 0 0 IN IP4 10.0.3.31\r\ns=session\r\nc=IN IP4 10.0.3.31\r\nt=0 0\r\n"
          "m=audio 20480 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
          "a=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n")


def _message(start: str, headers: list[str], body: str = "") -> bytes:
    content = ["Content-Type: application/sdp"] if body else []
    lines = [start, *headers, *content, f"Content-Length: {len(body.encode())}", "", ""]
    return ("\r\n".join(lines) + body).encode()


def _via(branch: str, received: bool = False) -> str:
    return f"Via: SIP/2.0/TCP 10.0.4.10:5060;branch={branch}" + (";received=10.0.4.10" if received else "")


def packets() -> list[tuple]:
    b1, b2, b3 = "z9hG4bKac1923311781", "z9hG4bKac1923312045", "z9hG4bKac1923326530"
    to_router = "sip:+14255550150@um01.contoso.com;user=phone"
    to_service = "sip:+14255550150@um01.contoso.com:5065;transport=Tcp;user=phone"
    contact_gw = "Contact: <sip:+14255550177@10.0.4.10:5060;transport=tcp>"
    um_tag = "e6b1a07c3f"
    invite1 = _message(f"INVITE {to_router} SIP/2.0", [
        _via(b1), "Max-Forwards: 70", f"From: {FROM}", f"To: {TO}", f"Call-ID: {CALL_ID}", "CSeq: 1 INVITE",
        contact_gw, "Supported: em,timer,replaces,path,resource-priority",
        "Allow: REGISTER,OPTIONS,INVITE,ACK,CANCEL,BYE,NOTIFY,PRACK,REFER,INFO,SUBSCRIBE,UPDATE",
        f"User-Agent: {GW_AGENT}"], SDP_GW)
    cut = invite1.index(b"\r\n\r\n") + 4          # headers in one segment, the SDP in the next
    trying1 = _message("SIP/2.0 100 Trying", [
        _via(b1, True), f"From: {FROM}", f"To: {TO}", f"Call-ID: {CALL_ID}", "CSeq: 1 INVITE",
        f"Server: {UM_AGENT}"])
    moved = _message("SIP/2.0 302 Moved Temporarily", [
        _via(b1, True), f"From: {FROM}", f"To: {TO};tag=5d0e8f71a2", f"Call-ID: {CALL_ID}", "CSeq: 1 INVITE",
        f"Contact: <{to_service}>", f"Server: {UM_AGENT}"])
    ack1 = _message(f"ACK {to_router} SIP/2.0", [
        _via(b1), "Max-Forwards: 70", f"From: {FROM}", f"To: {TO};tag=5d0e8f71a2", f"Call-ID: {CALL_ID}",
        "CSeq: 1 ACK", f"User-Agent: {GW_AGENT}"])
    invite2 = _message(f"INVITE {to_service} SIP/2.0", [
        _via(b2), "Max-Forwards: 70", f"From: {FROM}", f"To: {TO}", f"Call-ID: {CALL_ID}", "CSeq: 2 INVITE",
        contact_gw, "Supported: em,timer,replaces,path,resource-priority",
        "Allow: REGISTER,OPTIONS,INVITE,ACK,CANCEL,BYE,NOTIFY,PRACK,REFER,INFO,SUBSCRIBE,UPDATE",
        f"User-Agent: {GW_AGENT}"], SDP_GW)
    trying2 = _message("SIP/2.0 100 Trying", [
        _via(b2, True), f"From: {FROM}", f"To: {TO}", f"Call-ID: {CALL_ID}", "CSeq: 2 INVITE",
        f"Server: {UM_AGENT}"])
    ok = _message("SIP/2.0 200 OK", [
        _via(b2, True), f"From: {FROM}", f"To: {TO};tag={um_tag}", f"Call-ID: {CALL_ID}", "CSeq: 2 INVITE",
        "Contact: <sip:um01.contoso.com:5065;transport=Tcp>",
        "Allow: INVITE,ACK,CANCEL,BYE,OPTIONS,INFO,NOTIFY,REFER", f"Server: {UM_AGENT}"], SDP_UM)
    ack2 = _message("ACK sip:um01.contoso.com:5065;transport=Tcp SIP/2.0", [
        _via("z9hG4bKac1923312911"), "Max-Forwards: 70", f"From: {FROM}", f"To: {TO};tag={um_tag}",
        f"Call-ID: {CALL_ID}", "CSeq: 2 ACK", f"User-Agent: {GW_AGENT}"])
    bye = _message("BYE sip:um01.contoso.com:5065;transport=Tcp SIP/2.0", [
        _via(b3), "Max-Forwards: 70", f"From: {FROM}", f"To: {TO};tag={um_tag}", f"Call-ID: {CALL_ID}",
        "CSeq: 3 BYE", "Reason: Q.850 ;cause=16 ;text=\"local\"", f"User-Agent: {GW_AGENT}"])
    bye_ok = _message("SIP/2.0 200 OK", [
        _via(b3, True), f"From: {FROM}", f"To: {TO};tag={um_tag}", f"Call-ID: {CALL_ID}", "CSeq: 3 BYE",
        f"Server: {UM_AGENT}"])
    out = [GW, GW_PORT_1, UM, ROUTER], [UM, ROUTER, GW, GW_PORT_1]
    out2 = [GW, GW_PORT_2, UM, SERVICE], [UM, SERVICE, GW, GW_PORT_2]
    return [
        (T0 + 0.000, *out[0], "tcp", invite1[:cut]),
        (T0 + 0.001, *out[0], "tcp", invite1[cut:]),
        (T0 + 0.006, *out[1], "tcp", trying1),
        (T0 + 0.019, *out[1], "tcp", moved),
        (T0 + 0.021, *out[0], "tcp", ack1),
        (T0 + 0.024, *out2[0], "tcp", invite2),
        (T0 + 0.030, *out2[1], "tcp", trying2),
        (T0 + 0.412, *out2[1], "tcp", ok),
        (T0 + 0.415, *out2[0], "tcp", ack2),
        (T0 + 14.632, *out2[0], "tcp", bye),
        (T0 + 14.640, *out2[1], "tcp", bye_ok),
    ]


def write(path: str | Path) -> Path:
    return write_pcap(path, packets(), handshake=True)


if __name__ == "__main__":
    print(write(Path(__file__).resolve().parent.parent / "samples" / "um-gateway-tcp.pcap"))
