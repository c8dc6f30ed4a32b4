"""Writes pcap / pcapng captures from payloads with dpkt, so tests need no binary files.

A packet is ``(time, src_ip, src_port, dst_ip, dst_port, proto, payload)``
with proto ``"udp"`` or ``"tcp"``; an IP with a ``:`` is IPv6.  A TCP packet
may carry an eighth item, its sequence offset in its direction's stream
(to write retransmissions, overlaps and segments out of order); without it a
segment follows the bytes written before in that direction.  TCP segments
are written as PSH/ACK data without a handshake unless ``handshake=True``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from pathlib import Path

import dpkt

Packet = tuple  # (time, src_ip, src_port, dst_ip, dst_port, proto, payload[, seq offset])

ISN = 1_000_000          # first sequence number of every written TCP direction
MAC_A = b"\x02\x00\x00\x00\x00\x01"
MAC_B = b"\x02\x00\x00\x00\x00\x02"


def _addr(ip: str) -> bytes:
    return socket.inet_pton(socket.AF_INET6 if ":" in ip else socket.AF_INET, ip)


def transport(src_port: int, dst_port: int, proto: str, payload: bytes, seq: int = ISN,
              flags: int = dpkt.tcp.TH_PUSH | dpkt.tcp.TH_ACK) -> dpkt.Packet:
    """A UDP datagram or TCP segment around the payload."""
    if proto == "udp":
        return dpkt.udp.UDP(sport=src_port, dport=dst_port, ulen=8 + len(payload), data=payload)
    if proto == "tcp":
        return dpkt.tcp.TCP(sport=src_port, dport=dst_port, seq=seq & 0xFFFFFFFF, ack=1, flags=flags,
                            off=5, win=65535, data=payload)
    raise ValueError(f"proto must be 'udp' or 'tcp', not {proto!r}")


def ip_packets(src_ip: str, dst_ip: str, proto: str, segment: dpkt.Packet, ident: int = 1,
               mtu: int | None = None) -> list[bytes]:
    """The IP packet(s) carrying a transport segment: IPv4 fragments when ``mtu`` is smaller."""
    number = dpkt.ip.IP_PROTO_UDP if proto == "udp" else dpkt.ip.IP_PROTO_TCP
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


def link_frame(ip: bytes, link: str = "ether", vlan: int | None = None) -> bytes:
    """An IP packet inside an Ethernet (optionally VLAN-tagged) or Linux cooked header."""
    ethertype = dpkt.ethernet.ETH_TYPE_IP6 if ip[0] >> 4 == 6 else dpkt.ethernet.ETH_TYPE_IP
    if link == "sll":
        return bytes(dpkt.sll.SLL(type=0, hrd=1, hlen=6, hdr=MAC_A + b"\0\0", ethtype=ethertype)) + ip
    if link != "ether":
        raise ValueError(f"link must be 'ether' or 'sll', not {link!r}")
    if vlan is None:
        return MAC_B + MAC_A + ethertype.to_bytes(2, "big") + ip
    tag = ((vlan & 0x0FFF).to_bytes(2, "big") + ethertype.to_bytes(2, "big"))
    return MAC_B + MAC_A + dpkt.ethernet.ETH_TYPE_8021Q.to_bytes(2, "big") + tag + ip


def frames(packets: Iterable[Packet], link: str = "ether", vlan: int | None = None,
           mtu: int | None = None, handshake: bool = False) -> list[tuple[float, bytes]]:
    """(time, frame bytes) for each packet, IPv4 fragments as separate frames."""
    sent: dict[tuple, int] = {}
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
        else:
            segment = transport(src_port, dst_port, proto, payload)
        for ip in ip_packets(src_ip, dst_ip, proto, segment, ident=n, mtu=mtu):
            out.append((when, link_frame(ip, link, vlan)))
    return out


def write_frames(path: str | Path, timed: Sequence[tuple[float, bytes]], pcapng: bool = False,
                 link: str = "ether", nano: bool = False) -> Path:
    """Write (time, frame) pairs as pcap, or pcapng."""
    linktype = dpkt.pcap.DLT_LINUX_SLL if link == "sll" else dpkt.pcap.DLT_EN10MB
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
               nano: bool = False) -> Path:
    """Write the packets as a capture file and return its path."""
    return write_frames(path, frames(packets, link, vlan, mtu, handshake), pcapng=pcapng, link=link, nano=nano)
