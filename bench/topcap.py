"""Writes the SIP messages of a server trace as a pcap, so capture tools can read the same messages.

    python bench/topcap.py trace.log trace.pcap

Each logged sighting becomes one UDP datagram, as a capture taken on the front
end would show it: incoming ones from the peer to the front end, outgoing ones
from the front end to the peer.  Host names get stable made-up addresses from
10.64.0.0/10.  Messages larger than a datagram are sent anyway (IP
fragmentation is not needed by the readers measured).
"""

from __future__ import annotations

import hashlib
import socket
import sys
from pathlib import Path

import dpkt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from siptrace import Reader, SipMessage  # noqa: E402
from siptrace.model.sip import Direction  # noqa: E402

FRONT_END = ("10.0.1.11", 5061)


def address(host: str) -> str:
    try:
        socket.inet_aton(host)
        return host
    except OSError:
        digest = hashlib.sha1(host.lower().encode()).digest()
        return f"10.{64 + digest[0] % 64}.{digest[1]}.{digest[2] % 254 + 1}"


def wire(msg: SipMessage) -> bytes:
    head = msg.start_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in msg.headers.fields) + "\r\n"
    return (head + msg.body).encode("utf-8", errors="replace")


def packet(src: tuple[str, int], dst: tuple[str, int], payload: bytes) -> bytes:
    udp = dpkt.udp.UDP(sport=src[1], dport=dst[1], data=payload)
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=socket.inet_aton(src[0]), dst=socket.inet_aton(dst[0]), p=dpkt.ip.IP_PROTO_UDP, data=udp)
    ip.len = len(ip)
    eth = dpkt.ethernet.Ethernet(src=b"\x02\x00\x00\x00\x00\x01", dst=b"\x02\x00\x00\x00\x00\x02",
                                 type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
    return bytes(eth)


def convert(trace: str, out: str) -> int:
    n = 0
    with open(out, "wb") as f:
        writer = dpkt.pcap.Writer(f)
        for item in Reader([trace]):
            if not isinstance(item, SipMessage) or item.time is None:
                continue
            peer = (address(item.peer.host), item.peer.port or 5061) if item.peer else ("10.99.0.1", 5061)
            src, dst = (peer, FRONT_END) if (item.direction and item.direction.direction is Direction.INCOMING) \
                else (FRONT_END, peer)
            writer.writepkt(packet(src, dst, wire(item)), ts=item.time.timestamp())
            n += 1
    return n


if __name__ == "__main__":
    count = convert(sys.argv[1], sys.argv[2])
    print(f"{count} SIP messages written to {sys.argv[2]}", file=sys.stderr)
