"""Writes pcap / pcapng captures from payloads with dpkt, so tests need no binary files.

A packet is ``(time, src_ip, src_port, dst_ip, dst_port, proto, payload)``
with proto ``"udp"``, ``"tcp"`` or ``"sctp"`` (one DATA chunk per packet, or
fragments over several packets with ``sctp_fragment``); an IP with a ``:``
is IPv6.  A TCP packet
may carry an eighth item, its sequence offset in its direction's stream
(to write retransmissions, overlaps and segments out of order); without it a
segment follows the bytes written before in that direction.  TCP segments
are written as PSH/ACK data without a handshake unless ``handshake=True``.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

import dpkt

Packet = tuple  # (time, src_ip, src_port, dst_ip, dst_port, proto, payload[, seq offset])

ISN = 1_000_000          # first sequence number of every written TCP direction
MAC_A = b"\x02\x00\x00\x00\x00\x01"
MAC_B = b"\x02\x00\x00\x00\x00\x02"


def _addr(ip: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip)


LINKTYPES = {"ether": dpkt.pcap.DLT_EN10MB, "sll": dpkt.pcap.DLT_LINUX_SLL, "raw": 101}
PROTOCOLS = {"udp": dpkt.ip.IP_PROTO_UDP, "tcp": dpkt.ip.IP_PROTO_TCP, "sctp": 132}


def sctp_packet(src_port: int, dst_port: int, chunks: Sequence[tuple[int, int, bytes]], ppid: int = 0) -> bytes:
    """An SCTP packet of DATA chunks, each ``(tsn, flags, user data)``; flags 3 is a whole message."""
    out = struct.pack("!HHII", src_port, dst_port, 0x1234, 0)
    for tsn, flags, data in chunks:
        length = 16 + len(data)
        out += struct.pack("!BBHIHHI", 0, flags, length, tsn, 0, 0, ppid) + data + bytes(-length % 4)
    return out


def ws_frame(payload: bytes, opcode: int = 1, mask: bytes | None = None, fin: bool = True,
             rsv1: bool = False) -> bytes:
    """One WebSocket frame (RFC 6455 §5.2); a client's frames are masked with a 4-byte key."""
    head = bytes([(0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode])
    size = len(payload)
    flag = 0x80 if mask else 0
    if size < 126:
        head += bytes([flag | size])
    elif size < 1 << 16:
        head += bytes([flag | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([flag | 127]) + size.to_bytes(8, "big")
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        head += mask
    return head + payload


def transport(src_port: int, dst_port: int, proto: str, payload: bytes, seq: int = ISN,
              flags: int = dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK) -> dpkt.Packet | bytes:
    """A UDP datagram, TCP segment or SCTP packet (one whole DATA chunk, TSN ``seq``) around the payload."""
    if proto == "sctp":
        return sctp_packet(src_port, dst_port, [(seq, 3, payload)])
    if proto == "udp":
        return dpkt.udp.UDP(sport=src_port, dport=dst_port, ulen=8 + len(payload), data=payload)
    if proto == "tcp":
        return dpkt.tcp.TCP(sport=src_port, dport=dst_port, seq=seq & 0xFFFFFFFF, ack=1, flags=flags,
                            off=5, win=65535, data=payload)
    raise ValueError(f"proto must be 'udp', 'tcp' or 'sctp', not {proto!r}")


def ip_packets(src_ip: str, dst_ip: str, proto: str, segment: dpkt.Packet | bytes, ident: int = 1,
               mtu: int | None = None) -> list[bytes]:
    """The IP packet(s) carrying a transport segment: IPv4 fragments when ``mtu`` is smaller."""
    number = PROTOCOLS[proto]
    if ":" in src_ip:
        ip6 = dpkt.ip6.IP6(src=_addr(src_ip), dst=_addr(dst_ip), nxt=number, hlim=64, data=segment)
        ip6.plen = len(bytes(segment))
        return [bytes(ip6)]
    whole = dpkt.ip.IP(src=_addr(src_ip), dst=_addr(dst_ip), p=number, ttl=64, id=ident, data=segment)
    raw = bytes(whole)
    if mtu is None or len(raw) <= mtu:
        return [raw]
    payload = raw[20:]
    step = (mtu - 20) // 8 * 8
    out = []
    for start in range(0, len(payload), step):
        piece = payload[start:start + step]
        frag = dpkt.ip.IP(src=whole.src, dst=whole.dst, p=number, ttl=64, id=ident, data=piece)
        frag.offset = start // 8
        frag.mf = int(start + step < len(payload))
        frag.len = 20 + len(piece)
        out.append(bytes(frag))
    return out


TUNNEL_SRC, TUNNEL_DST = "192.0.2.1", "192.0.2.2"


def tunnelled(ip: bytes, tunnel: str | None, ident: int = 1) -> bytes:
    """An IP packet as a tunnel carries it: ``"ipip"`` (IP protocol 4 / 41), ``"gre"`` (RFC 2784,
    with a key and a sequence number), ``"gre-ppp"`` (PPTP's enhanced GRE carrying PPP) or
    ``"gre-ether"`` (GRE carrying an Ethernet frame)."""
    if tunnel is None:
        return ip
    inner6 = ip[0] >> 4 == 6
    ethertype = dpkt.ethernet.ETH_TYPE_IP6 if inner6 else dpkt.ethernet.ETH_TYPE_IP
    if tunnel == "ipip":
        proto, payload = (41 if inner6 else 4), ip
    elif tunnel == "gre":
        proto, payload = 47, struct.pack("!HHII", 0x3000, ethertype, 7, ident) + ip
    elif tunnel == "gre-ppp":
        ppp = b"\xff\x03" + (b"\x00\x57" if inner6 else b"\x00\x21") + ip
        proto, payload = 47, struct.pack("!HHHHI", 0x3001, 0x880B, len(ppp), 9, ident) + ppp
    elif tunnel == "gre-ether":
        proto, payload = 47, struct.pack("!HH", 0, 0x6558) + MAC_B + MAC_A + ethertype.to_bytes(2, "big") + ip
    else:
        raise ValueError(f"unknown tunnel {tunnel!r}")
    outer = dpkt.ip.IP(src=_addr(TUNNEL_SRC), dst=_addr(TUNNEL_DST), p=proto, ttl=64, id=ident, data=payload)
    outer.len = 20 + len(payload)
    return bytes(outer)


def link_frame(ip: bytes, link: str = "ether", vlan: int | None = None) -> bytes:
    """An IP packet inside an Ethernet (optionally VLAN-tagged) or Linux cooked header, or bare."""
    ethertype = dpkt.ethernet.ETH_TYPE_IP6 if ip[0] >> 4 == 6 else dpkt.ethernet.ETH_TYPE_IP
    if link == "raw":
        return ip
    if link == "sll":
        return bytes(dpkt.sll.SLL(type=0, hrd=1, hlen=6, hdr=MAC_A + b"\0\0", ethtype=ethertype)) + ip
    if link != "ether":
        raise ValueError(f"link must be 'ether' or 'sll', not {link!r}")
    if vlan is None:
        return MAC_B + MAC_A + ethertype.to_bytes(2, "big") + ip
    tag = ((vlan & 0x0FFF).to_bytes(2, "big") + ethertype.to_bytes(2, "big"))
    return MAC_B + MAC_A + dpkt.ethernet.ETH_TYPE_8021Q.to_bytes(2, "big") + tag + ip


def frames(packets: Iterable[Packet], link: str = "ether", vlan: int | None = None,
           mtu: int | None = None, handshake: bool = False, tunnel: str | None = None,
           sctp_fragment: int | None = None) -> list[tuple[float, bytes]]:
    """(time, frame bytes) for each packet, IPv4 fragments and SCTP fragments as separate frames."""
    sent: dict[tuple, int] = {}
    tsns: dict[tuple, int] = {}
    out: list[tuple[float, bytes]] = []
    for n, packet in enumerate(packets, start=1):
        when, src_ip, src_port, dst_ip, dst_port, proto, payload = packet[:7]
        key = (src_ip, src_port, dst_ip, dst_port)
        if proto == "tcp":
            if handshake and key not in sent:
                syn = transport(src_port, dst_port, proto, b"", ISN - 1, dpkt.tcp.TH_SYN)
                for ip in ip_packets(src_ip, dst_ip, proto, syn, ident=10_000 + n):
                    out.append((when, link_frame(ip, link, vlan)))
            offset = packet[7] if len(packet) > 7 else sent.get(key, 0)
            sent[key] = max(sent.get(key, 0), offset + len(payload))
            segment = transport(src_port, dst_port, proto, payload, ISN + offset)
        elif proto == "sctp":
            key = (src_ip, src_port, dst_ip, dst_port)
            size = sctp_fragment or len(payload) or 1
            pieces = [payload[i:i + size] for i in range(0, len(payload), size)] or [b""]
            for i, piece in enumerate(pieces):
                tsn = tsns.get(key, 100)
                tsns[key] = tsn + 1
                flags = (2 if i == 0 else 0) | (1 if i == len(pieces) - 1 else 0)
                sctp = sctp_packet(src_port, dst_port, [(tsn, flags, piece)])
                for ip in ip_packets(src_ip, dst_ip, proto, sctp, ident=n * 100 + i):
                    out.append((when, link_frame(tunnelled(ip, tunnel, n), link, vlan)))
            continue
        else:
            segment = transport(src_port, dst_port, proto, payload)
        for ip in ip_packets(src_ip, dst_ip, proto, segment, ident=n, mtu=mtu):
            out.append((when, link_frame(tunnelled(ip, tunnel, n), link, vlan)))
    return out


def write_frames(path: str | Path, timed: Sequence[tuple[float, bytes]], pcapng: bool = False,
                 link: str = "ether", nano: bool = False) -> Path:
    """Write (time, frame) pairs as pcap, or pcapng."""
    linktype = LINKTYPES[link]
    path = Path(path)
    with path.open("wb") as out:
        if pcapng:
            writer = dpkt.pcapng.Writer(out, snaplen=65535, linktype=linktype)
        else:
            writer = dpkt.pcap.Writer(out, snaplen=65535, linktype=linktype, nano=nano)
        for when, frame in timed:
            writer.writepkt(frame, ts=when)
    return path


def write_pcap(path: str | Path, packets: Iterable[Packet], *, pcapng: bool = False, link: str = "ether",
               vlan: int | None = None, mtu: int | None = None, handshake: bool = False,
               nano: bool = False, tunnel: str | None = None, sctp_fragment: int | None = None) -> Path:
    """Write the packets as a capture file and return its path."""
    return write_frames(path, frames(packets, link, vlan, mtu, handshake, tunnel, sctp_fragment),
                        pcapng=pcapng, link=link, nano=nano)


def _block(kind: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def write_pcapng_interfaces(path: str | Path, interfaces: Sequence[tuple[str, int | None]],
                            packets: Sequence[tuple[int, float | None, bytes]], sections: int = 1) -> Path:
    """A little-endian pcapng: ``interfaces`` as (link, if_tsresol or None), then each packet
    ``(interface, time, frame)`` as an enhanced packet block, or a simple packet block when its
    time is None.  An interface index may name one that is not described.  With ``sections``
    > 1 the same interfaces and packets are written again in further sections."""
    out = b""
    for _ in range(sections):
        out += _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
        for link, resolution in interfaces:
            options = b""
            if resolution is not None:
                options = struct.pack("<HHB3x", 9, 1, resolution) + struct.pack("<HH", 0, 0)
            out += _block(1, struct.pack("<HHI", LINKTYPES[link], 0, 65535) + options)
        for index, when, frame in packets:
            if when is None:
                out += _block(3, struct.pack("<I", len(frame)) + frame)
                continue
            resolution = interfaces[index][1] if index < len(interfaces) else None
            if resolution is None:
                units = round(when * 1_000_000)
            elif resolution & 0x80:
                units = round(when * 2 ** (resolution & 0x7F))
            else:
                units = round(when * 10 ** resolution)
            out += _block(6, struct.pack("<IIIII", index, units >> 32, units & 0xFFFFFFFF, len(frame), len(frame))
                          + frame)
    path = Path(path)
    path.write_bytes(out)
    return path
