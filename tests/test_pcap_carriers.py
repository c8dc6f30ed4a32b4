"""SIP in the carriers a capture may hold: SCTP, WebSocket, GRE / IP-in-IP tunnels, Linux cooked and
raw-IP frames, pcapng with several interfaces; written here with tests/pcapwriter.py."""

from __future__ import annotations

import zlib
from datetime import timedelta

import pytest

from siptrace.model.sip import Peer, Skipped

from pcapwriter import (frames, ip_packets, link_frame, sctp_packet, transport, write_frames, write_pcap,
                        write_pcapng_interfaces, ws_frame)
from test_pcap import A, B, CALL, SDP, T0, at, kinds, label, read, request, response, sip

WS_KEY = b"\x37\xfa\x21\x3d"
CLIENT, SERVER = Peer(A, 50123), Peer(B, 8080)


def call_packets(proto: str, port: int = 5060) -> list[tuple]:
    return [(at(t), src, port, dst, port, proto, payload) for t, src, dst, payload in CALL]


# ---------------------------------------------------------------------------
# SCTP (RFC 4168)
# ---------------------------------------------------------------------------


def test_sip_over_sctp_data_chunks_is_read_with_its_peers(tmp_path):
    items, stats = read(write_pcap(tmp_path / "sctp.pcap", call_packets("sctp")))
    assert [label(m) for m in sip(items)] == ["INVITE", "100", "180", "200", "ACK", "BYE", "200"]
    assert sip(items)[0].src == Peer(A, 5060) and sip(items)[0].has_sdp
    assert stats.sip == 7 and stats.skipped == 0


def test_sctp_message_fragmented_over_data_chunks_is_put_together_at_its_last_fragment(tmp_path):
    invite = request("INVITE", body=SDP)
    items, _ = read(write_pcap(tmp_path / "frag.pcap", [(at(0), A, 5060, B, 5060, "sctp", invite)],
                               sctp_fragment=100))
    pieces = -(-len(invite) // 100)
    assert pieces > 3
    assert [(label(m), m.origin.line) for m in sip(items)] == [("INVITE", pieces)]
    assert sip(items)[0].body.startswith("v=0")


def test_sctp_chunks_bundled_in_one_packet_and_a_retransmitted_chunk(tmp_path):
    bundle = sctp_packet(5060, 5060, [(7, 3, request("OPTIONS")), (8, 3, request("INFO", cseq=2))])
    again = sctp_packet(5060, 5060, [(8, 3, request("INFO", cseq=2))])
    timed = [(at(i), link_frame(ip)) for i, packet in enumerate([bundle, again])
             for ip in ip_packets(A, B, "sctp", packet, ident=i + 1)]
    items, stats = read(write_frames(tmp_path / "bundle.pcap", timed))
    assert [(label(m), m.origin.line) for m in sip(items)] == [("OPTIONS", 1), ("INFO", 1)]
    assert stats.records == 2


def test_sctp_message_whose_fragments_are_not_all_captured_is_reported(tmp_path):
    invite = request("INVITE", body=SDP)
    timed = frames([(at(0), A, 5060, B, 5060, "sctp", invite)], sctp_fragment=120)
    items, stats = read(write_frames(tmp_path / "lost.pcap", timed[:-1]))
    assert kinds(items) == ["SCTP fragments missing from the capture: SIP message not put together"]
    assert items[0].origin.line == 1 and items[0].excerpt.startswith("INVITE sip:")


# ---------------------------------------------------------------------------
# WebSocket (RFC 6455, RFC 7118)
# ---------------------------------------------------------------------------

UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: proxy.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")
SWITCHING = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: sip\r\n\r\n")
HANDSHAKE = "WebSocket opening handshake (HTTP, not SIP)"


def ws_packets(client_frames: list[bytes], server_frames: list[bytes], handshake: bool = True) -> list[tuple]:
    packets = []
    if handshake:
        packets += [(at(0), A, CLIENT.port, B, SERVER.port, "tcp", UPGRADE),
                    (at(0.01), B, SERVER.port, A, CLIENT.port, "tcp", SWITCHING)]
    for n, (mine, theirs) in enumerate(zip(client_frames, server_frames), start=1):
        packets.append((at(n), A, CLIENT.port, B, SERVER.port, "tcp", mine))
        packets.append((at(n + 0.1), B, SERVER.port, A, CLIENT.port, "tcp", theirs))
    return packets


def test_sip_over_websocket_masked_client_frames_and_plain_server_frames_are_read(tmp_path):
    path = write_pcap(tmp_path / "ws.pcap", ws_packets(
        [ws_frame(request("REGISTER"), mask=WS_KEY), ws_frame(request("REGISTER", cseq=2), mask=b"\0\1\2\3")],
        [ws_frame(response(401, "Unauthorized", "REGISTER")), ws_frame(response(200, "OK", "REGISTER", cseq=2))]),
        handshake=True)
    items, stats = read(path)
    assert kinds(items) == [HANDSHAKE, HANDSHAKE, "REGISTER", "401", "REGISTER", "200"]
    assert (sip(items)[0].src, sip(items)[0].dst) == (CLIENT, SERVER)
    assert (stats.sip, stats.other, stats.skipped) == (4, 2, 0)
    assert stats.other_kinds == {HANDSHAKE: 2}
    assert "subprotocol sip" in items[0].text_lines[0]


def test_websocket_message_in_several_frames_and_segments_is_read_once_whole(tmp_path):
    invite = request("INVITE", body=SDP)
    framed = (ws_frame(invite[:100], mask=WS_KEY, fin=False) + ws_frame(b"", opcode=9, mask=WS_KEY)
              + ws_frame(invite[100:], opcode=0, mask=WS_KEY))
    packets = ws_packets([], [])
    packets += [(at(1), A, CLIENT.port, B, SERVER.port, "tcp", framed[:70]),
                (at(1.1), A, CLIENT.port, B, SERVER.port, "tcp", framed[70:])]
    items, _ = read(write_pcap(tmp_path / "wsfrag.pcap", packets, handshake=True))
    # frames: SYN, upgrade, SYN, 101, then the two segments of the message
    assert [(label(m), m.origin.line) for m in sip(items)] == [("INVITE", 6)]
    assert sip(items)[0].body == SDP


def test_websocket_joined_after_its_handshake_is_recognised_by_its_frames(tmp_path):
    path = write_pcap(tmp_path / "late.pcap", ws_packets(
        [ws_frame(request("OPTIONS"), mask=WS_KEY)], [ws_frame(response(200, "OK", "OPTIONS"))], handshake=False))
    items, stats = read(path)
    assert kinds(items) == ["OPTIONS", "200"]
    assert stats.other == 0


def test_compressed_websocket_messages_are_inflated(tmp_path):
    deflate = zlib.compressobj(wbits=-15)

    def packed(message: bytes) -> bytes:
        return (deflate.compress(message) + deflate.flush(zlib.Z_SYNC_FLUSH))[:-4]

    first, second = packed(request("MESSAGE")), packed(request("MESSAGE", cseq=2))
    path = write_pcap(tmp_path / "deflate.pcap", ws_packets(
        [ws_frame(first, mask=WS_KEY, rsv1=True), ws_frame(second, mask=WS_KEY, rsv1=True)],
        [ws_frame(b"\r\n\r\n"), ws_frame(b"\r\n\r\n")]), handshake=True)
    items, _ = read(path)
    assert [m.cseq.number for m in sip(items)] == [1, 2]


def test_non_sip_websocket_message_on_a_sip_websocket_is_skipped_with_the_parsers_reason(tmp_path):
    path = write_pcap(tmp_path / "wsjunk.pcap", ws_packets(
        [ws_frame(b'{"type": "presence", "status": "away"}', mask=WS_KEY)], [ws_frame(response(200, "OK"))]),
        handshake=True)
    items, stats = read(path)
    assert kinds(items)[:2] == [HANDSHAKE, HANDSHAKE]
    assert isinstance(items[2], Skipped) and items[2].excerpt.startswith('{"type"')
    assert stats.sip == 1


def test_websocket_frames_missing_from_the_capture_are_reported_and_reading_resumes(tmp_path):
    first = ws_frame(request("INVITE", body=SDP), mask=WS_KEY)
    later = ws_frame(request("BYE", cseq=2), mask=WS_KEY)
    packets = ws_packets([], [])
    packets += [(at(1), A, CLIENT.port, B, SERVER.port, "tcp", first[:60], len(UPGRADE)),
                (at(2), A, CLIENT.port, B, SERVER.port, "tcp", first[90:] + later, len(UPGRADE) + 90)]
    items, _ = read(write_pcap(tmp_path / "wsgap.pcap", packets, handshake=True))
    assert kinds(items)[2:] == ["TCP segments missing from the capture", "BYE"]


# ---------------------------------------------------------------------------
# Tunnels and link types
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("tunnel", ["ipip", "gre", "gre-ppp", "gre-ether"])
def test_sip_inside_a_tunnel_is_read_with_the_inner_addresses(tmp_path, tunnel):
    items, stats = read(write_pcap(tmp_path / "tunnel.pcap", call_packets("udp"), tunnel=tunnel))
    assert [label(m) for m in sip(items)] == ["INVITE", "100", "180", "200", "ACK", "BYE", "200"]
    assert {m.src.host for m in sip(items)} == {A, B}
    assert stats.skipped == 0


def test_ipv6_sip_over_tcp_inside_gre_is_read(tmp_path):
    packets = [(at(0), "2001:db8::1", 5060, "2001:db8::2", 5060, "tcp", request("OPTIONS")),
               (at(1), "2001:db8::2", 5060, "2001:db8::1", 5060, "tcp", response(200, "OK", "OPTIONS"))]
    items, _ = read(write_pcap(tmp_path / "gre6.pcap", packets, tunnel="gre"))
    assert kinds(items) == ["OPTIONS", "200"]
    assert sip(items)[0].src == Peer("2001:db8::1", 5060)


def test_sip_in_a_gre_payload_that_is_not_read_is_counted_with_the_payload_type(tmp_path):
    ip = ip_packets(A, B, "udp", transport(5060, 5060, "udp", request("OPTIONS")))[0]
    gre = b"\x00\x00\x88\x47" + b"\x00\x01\x41\x40" + ip          # MPLS inside GRE
    outer = ip_packets("192.0.2.1", "192.0.2.2", "udp", transport(1, 1, "udp", b""))[0]
    outer = outer[:9] + b"\x2f" + outer[10:20]                    # protocol 47, no payload yet
    frame = link_frame(outer[:2] + (20 + len(gre)).to_bytes(2, "big") + outer[4:20] + gre)
    items, stats = read(write_frames(tmp_path / "mpls.pcap", [(at(0), frame)]))
    assert kinds(items) == ["SIP text in a frame that cannot be decoded: GRE payload type 0x8847 is not read"]
    assert items[0].excerpt.index("OPTIONS sip:bob@example.com SIP/2.0\r\nVia:") <= 2   # the text, not the headers


@pytest.mark.parametrize("link", ["sll", "raw"])
def test_linux_cooked_and_raw_ip_captures_are_read(tmp_path, link):
    items, _ = read(write_pcap(tmp_path / f"{link}.pcap", call_packets("tcp"), link=link))
    assert [label(m) for m in sip(items)] == ["INVITE", "100", "180", "200", "ACK", "BYE", "200"]


def test_ipv6_datagram_in_fragments_is_reassembled(tmp_path):
    big = request("INVITE", body=SDP * 40)
    udp = bytes(transport(5060, 5060, "udp", big))
    src, dst = bytes.fromhex("20010db8" + "0" * 23 + "1"), bytes.fromhex("20010db8" + "0" * 23 + "2")
    timed = []
    step = 1232
    for n, start in enumerate(range(0, len(udp), step)):
        piece = udp[start:start + step]
        more = start + step < len(udp)
        fragment = bytes([17, 0]) + ((start // 8) << 3 | more).to_bytes(2, "big") + (99).to_bytes(4, "big")
        header = bytes([0x60, 0, 0, 0]) + (8 + len(piece)).to_bytes(2, "big") + bytes([44, 64]) + src + dst
        timed.append((at(n), link_frame(header + fragment + piece)))
    items, _ = read(write_frames(tmp_path / "frag6.pcap", timed))
    assert [(label(m), m.origin.line) for m in sip(items)] == [("INVITE", len(timed))]
    assert len(timed) > 1 and sip(items)[0].src == Peer("2001:db8::1", 5060)


# ---------------------------------------------------------------------------
# pcapng
# ---------------------------------------------------------------------------


def ether(packet: tuple) -> bytes:
    return frames([packet])[0][1]


def test_pcapng_packets_of_every_interface_are_read_with_their_own_link_type_and_clock(tmp_path):
    options = (at(1), A, 5060, B, 5060, "udp", request("OPTIONS"))
    reply = (at(2), B, 5060, A, 5060, "udp", response(200, "OK", "OPTIONS"))
    path = write_pcapng_interfaces(tmp_path / "two.pcapng", [("ether", None), ("sll", 9), ("raw", 0x80 | 20)], [
        (0, at(1), ether(options)),
        (1, at(2), frames([reply], link="sll")[0][1]),
        (2, at(3), frames([(at(3), A, 5060, B, 5060, "udp", request("BYE", cseq=2))], link="raw")[0][1]),
    ])
    items, stats = read(path)
    assert kinds(items) == ["OPTIONS", "200", "BYE"]
    assert [m.time for m in sip(items)] == [T0 + timedelta(seconds=n) for n in (1, 2, 3)]
    assert stats.skipped == 0


def test_pcapng_packet_naming_an_undescribed_interface_is_counted_not_guessed(tmp_path):
    options = (at(1), A, 5060, B, 5060, "udp", request("OPTIONS"))
    path = write_pcapng_interfaces(tmp_path / "undefined.pcapng", [("ether", None)], [
        (0, at(1), ether(options)), (3, at(2), ether(options))])
    items, stats = read(path)
    assert kinds(items) == ["OPTIONS", "pcapng packet on an interface its section does not describe"]
    assert items[1].origin.line == 2 and "interface 3" in items[1].context
    assert stats.skipped == 1


def test_pcapng_simple_packet_blocks_and_later_sections_are_numbered_like_wireshark(tmp_path):
    options = (at(1), A, 5060, B, 5060, "udp", request("OPTIONS"))
    path = write_pcapng_interfaces(tmp_path / "sections.pcapng", [("ether", None)], [
        (0, None, ether(options)), (0, at(2), ether(options))], sections=2)
    items, _ = read(path)
    assert [(label(m), m.origin.line, m.time is None) for m in sip(items)] == [
        ("OPTIONS", 1, True), ("OPTIONS", 2, False), ("OPTIONS", 3, True), ("OPTIONS", 4, False)]
