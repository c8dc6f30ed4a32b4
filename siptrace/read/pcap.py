"""SIP from packet captures (pcap and pcapng).

What is read
    pcap in both byte orders with micro- or nanosecond time stamps (read with
    dpkt), and pcapng (read here: each interface keeps its own link type,
    time resolution and offset; simple and obsolete packet blocks are frames
    too; several sections).  Link types Ethernet (802.1Q / QinQ VLAN tags),
    Linux cooked (SLL, SLL2), BSD loopback and raw IP.  IPv4 and IPv6,
    fragmented datagrams reassembled; IP-in-IP and GRE tunnels (IPv4, IPv6,
    PPP as PPTP carries it, Ethernet, ERSPAN) unwrapped to the innermost
    addresses.  SIP is recognised by its content, on any port: a payload
    whose first line is ``METHOD uri SIP/2.0`` or ``SIP/2.0 NNN``.

    * UDP: one message per datagram, or several when a datagram holds more
      (cut at Content-Length; without one the body runs to the datagram's
      end, RFC 3261 §18.3).
    * SCTP (RFC 4168): each user message of DATA chunks is read like a
      datagram; chunks bundled in a packet are each read, a message
      fragmented over chunks is put together by TSN, a retransmitted chunk
      is read once.
    * TCP: each direction of each connection is put back in sequence order
      (retransmitted and overlapping segments are used once, segments that
      come early wait for the ones before them), then cut into messages at
      the blank line ending the headers plus Content-Length (0 when absent).
      A message may span segments, and a segment may hold several messages.
    * WebSocket (RFC 6455 / RFC 7118): a TCP stream opening with an HTTP
      Upgrade handshake, or whose data are frames holding SIP, is read frame
      by frame (masked or not, messages in several frames, control frames
      between them, permessage-deflate inflated); each message is read like
      a datagram.

    Each message goes through `recordparse.parse_message_text` with the
    packet's time (UTC) and the sender and receiver as ``src`` / ``dst``.

What is counted but not read (`Skipped`, with the reason)
    * A TLS stream that carries SIP: on a SIP port (5060-5080), on 443 when
      the server's address speaks SIP in the capture, or on a port the user
      names (``SIPTRACE_SIP_PORTS``, ``siptrace --sip-port``).  One per
      connection, with its endpoints.
    * Payload on a SIP flow that does not parse as a message, or bytes that
      look like SIP (its version, a Call-ID / CSeq / Via header) on any
      flow, give the parser's reason; so does a message left incomplete
      when its TCP stream or the capture ends.
    * Bytes missing from a TCP stream (segments that are not in the capture)
      give a `Skipped` saying how many; reading goes on at the next message.
      Data before the first SIP start line of a stream whose start is not in
      the capture (the capture began mid-stream) is passed over.
    * A SIP datagram cut by the capture's snap length, or whose IP or SCTP
      fragments are not all in the capture.
    * A frame holding SIP-looking text whose layers below SIP cannot be
      decoded (damaged headers, an IP protocol, GRE payload or link type not
      read): the reason names the layer.
    * A pcapng packet on an interface its section does not describe.
    * A capture that is cut short or damaged never raises: what was read is
      given, then one `Skipped` whose reason starts with
      ``"capture cut short: "``.

Other traffic (a `Record` of kind other, named in ``stats.other_kinds``)
    TLS streams that are not SIP (443 to hosts that speak no SIP: HTTPS; any
    other port), WebSocket opening handshakes, one-word keep-alives such as
    ``hello`` on SIP flows.  Traffic with nothing SIP-like in it (ARP, DNS,
    RTP, other TCP streams, CRLF and STUN keep-alives) is passed over
    uncounted.

Origins
    ``Origin(file, line, offset)`` of every item: ``line`` is the 1-based
    frame number (numbered as Wireshark numbers them) and ``offset`` the byte
    offset in the file where that frame's record starts.  The frame is the
    one in which the item became complete: for a message spread over TCP
    segments, IP or SCTP fragments or WebSocket frames, the one bringing its
    last byte, which is the frame Wireshark shows it on.  A TLS stream is
    placed at its first encrypted frame, a gap at the first frame after it,
    a cut-short capture at the frame that could not be read.

dpkt decodes the link layers and IP; SCTP chunks, GRE headers and WebSocket
frames are read here, since dpkt gives neither DATA chunk fields nor GRE's
Ethernet and ERSPAN payloads nor WebSocket at all.
"""

from __future__ import annotations

import os
import re
import socket
import struct
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO, NamedTuple

import dpkt

from ..model.sip import Item, Origin, Peer, Record, SipMessage, Skipped
from .recordparse import parse_message_text

TLS_REASON = "TLS-encrypted SIP stream (cannot be read)"
CUT_SHORT = "capture cut short: "

_PCAP_MAGICS = frozenset({
    dpkt.pcap.TCPDUMP_MAGIC, dpkt.pcap.PMUDPCT_MAGIC,              # microseconds, both byte orders
    dpkt.pcap.TCPDUMP_MAGIC_NANO, dpkt.pcap.PMUDPCT_MAGIC_NANO,    # nanoseconds, both byte orders
})
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"

MAX_RECORD = 64 << 20       # a longer frame record can only be a damaged length field
MAX_MESSAGE = 16 << 20      # a TCP stream holding this much without a whole message is dropped
MAX_PENDING = 4 << 20       # bytes waiting behind a hole in a TCP stream before the hole is skipped
GAP_WAIT = 5.0              # seconds of capture time a hole may stay open before it is skipped
MAX_REASSEMBLIES = 4096     # IP datagrams being reassembled at once
JUNK_PARSE = 2048           # bytes of non-SIP payload handed to the parser for its reason

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# RFC 3261 §7.1 / §25.1: Request-Line and Status-Line; the version is
# case-insensitive, the method is a token.
_START_LINE = (rb"(?:[A-Za-z][A-Za-z0-9.!%*_+`'~-]* [^ \r\n]+ (?i:SIP)/2\.0"
               rb"|(?i:SIP)/2\.0 [1-6][0-9][0-9](?: [^\r\n]*)?)\r?\n")
_START = re.compile(_START_LINE)
_NEXT_START = re.compile(rb"\n(?=" + _START_LINE + rb")")
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_CONTENT_LENGTH = re.compile(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*([0-9]+)[ \t]*\r?$")
_SPACE = re.compile(rb"[ \t\r\n\x00]*")
_STUN_COOKIE = b"\x21\x12\xa4\x42"
_CARRIED = frozenset({4, 6, 17, 41, 47, 132})   # IPv4 in IP, TCP, UDP, IPv6 in IP, GRE, SCTP
_SIP_MARK = re.compile(rb"(?i)SIP/2\.0")
# bytes that look like SIP even when damaged: the version, or a header only SIP has
_SIP_LIKE = re.compile(rb"(?i)SIP/2\.0|\n(?:call-id|cseq|via)[ \t]*:")
_KEEPALIVE = re.compile(rb"[A-Za-z0-9._-]{1,32}[ \t\r\n\x00]*")
LOOK_AHEAD = 512            # bytes of a datagram searched for something that looks like SIP
_HTTP_START = re.compile(rb"(?:GET [^ \r\n]+ HTTP/1\.[01]|HTTP/1\.[01] [0-9]{3})")
_WS_UPGRADE = re.compile(rb"(?im)^upgrade[ \t]*:[ \t]*websocket[ \t]*\r?$")
_WS_PROTOCOL = re.compile(rb"(?im)^sec-websocket-protocol[ \t]*:([^\r\n]*)")
_WS_FIRST_BYTE = re.compile(rb"[\x01\x02\x81\x82]")   # a text or binary frame's first byte
_WS_SIP = re.compile(rb"(?i)(?:^|[ ,\t])sip(?:$|[ ,\t])")

MAX_TUNNELS = 6             # IP layers in one frame (tunnels in tunnels)
MAX_SCTP_PARTS = 4096       # SCTP fragments waiting for the rest of their message, per direction
MAX_HTTP_HEAD = 64 << 10    # an HTTP head longer than this is not a WebSocket handshake

# TLS on these ports is SIP: 5060/5061 (RFC 3261), and the ports of the Lync / Skype for
# Business server roles (Front End, Mediation, Exchange UM, conferencing services: 5062-5080).
# On 443, a TLS stream is SIP when the server's address speaks SIP elsewhere in the capture
# (an Edge's access side); other TLS streams are other traffic (HTTPS to web services).
SIP_TLS_PORTS = frozenset(range(5060, 5081))
SIP_PORTS_ENV = "SIPTRACE_SIP_PORTS"


def named_sip_ports() -> frozenset[int]:
    """Ports the user names as SIP (``SIPTRACE_SIP_PORTS=443,8443``, set by ``siptrace --sip-port``)."""
    ports = set()
    for word in os.environ.get(SIP_PORTS_ENV, "").replace(" ", ",").split(","):
        if word.isdigit() and 0 < int(word) < 65536:
            ports.add(int(word))
    return frozenset(ports)


def is_capture(head: bytes) -> bool:
    """Do these first bytes start a pcap (either byte order, micro or nano) or pcapng file?"""
    if head[:4] == _PCAPNG_MAGIC:
        return True
    return len(head) >= 4 and int.from_bytes(head[:4], "big") in _PCAP_MAGICS


# ---------------------------------------------------------------------------
# Reading frames
# ---------------------------------------------------------------------------


class _Damaged(Exception):
    """A record length that cannot be right."""


class _Counted:
    """The capture's byte stream as dpkt reads it: counts bytes, logs each read.

    Reads are made in chunks so that a damaged length field costs what the
    file holds, not what the field says.
    """

    CHUNK = 1 << 20

    def __init__(self, stream: BinaryIO, head: bytes) -> None:
        self._stream = stream
        self._head = head
        self.name = getattr(stream, "name", "<capture>")
        self.position = 0
        self.reads: list[tuple[int, int, int]] = []   # (position before, bytes asked, bytes got)

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            raise _Damaged("negative block length")
        if n > MAX_RECORD:
            raise _Damaged(f"record length {n} is not plausible")
        parts: list[bytes] = []
        want = n
        if self._head and want:
            take = self._head[:want]
            self._head = self._head[len(take):]
            parts.append(take)
            want -= len(take)
        while want > 0:
            chunk = self._stream.read(min(want, self.CHUNK))
            if not chunk:
                break
            parts.append(chunk)
            want -= len(chunk)
        data = b"".join(parts)
        self.reads.append((self.position, n, len(data)))
        self.position += len(data)
        return data


class _Frame(NamedTuple):
    number: int
    offset: int
    ts: float
    when: datetime | None


def _when(ts: float) -> datetime | None:
    """A capture time stamp (float, or Decimal for nanosecond files) as aware UTC."""
    try:
        secs = int(ts)
        return _when_parts(secs, int(round((ts - secs) * 1_000_000)))
    except (OverflowError, ValueError, ArithmeticError):
        return None


def _when_parts(secs: int, micros: int) -> datetime | None:
    try:
        return _EPOCH + timedelta(seconds=secs, microseconds=micros)
    except (OverflowError, ValueError, ArithmeticError):
        return None


def _error_text(err: Exception) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class _Undecodable(Exception):
    """A layer below SIP that is not read; its text says which."""


def _raw_ip(buf: bytes) -> dpkt.Packet | None:
    version = buf[0] >> 4 if buf else 0
    if version == 4:
        return dpkt.ip.IP(buf)
    if version == 6:
        return dpkt.ip6.IP6(buf)
    return None


def _unreadable_link(linktype: int) -> Decode:
    def decode(buf: bytes) -> object:
        raise _Undecodable(f"link type {linktype} is not read")
    return decode


Decode = Callable[[bytes], object]

_LINK_TYPES: dict[int, Decode] = {
    0: dpkt.loopback.Loopback,        # DLT_NULL
    1: dpkt.ethernet.Ethernet,        # DLT_EN10MB
    12: _raw_ip, 14: _raw_ip, 101: _raw_ip, 228: _raw_ip, 229: _raw_ip,   # raw IP, IPv4, IPv6
    108: dpkt.loopback.Loopback,      # DLT_LOOP
    113: dpkt.sll.SLL,                # Linux cooked
    276: dpkt.sll2.SLL2,              # Linux cooked v2
}
_READABLE_LINKS = "Ethernet, Linux cooked (SLL, SLL2), loopback, raw IP"


def _frame_problem(reads: list[tuple[int, int, int]]) -> bool:
    """Did a read of this step come back short (the file ends inside a record)?"""
    return any(got < asked for _, asked, got in reads)


def _end_problem(reads: list[tuple[int, int, int]]) -> bool:
    """At the end of the frames: is the end a record boundary, or inside a record?"""
    if not reads:
        return False
    *before, (_, asked, got) = reads
    return _frame_problem(before) or 0 < got < asked


def read_capture(stream: BinaryIO, name: str, stats) -> Iterator[Item]:  # type: ignore[no-untyped-def]
    """Items of a pcap or pcapng capture: `SipMessage` per message, `Skipped` for the rest.

    ``stats`` (a `reader.InputStats`) counts every item and the bytes read;
    the other traffic it names is counted by kind in ``stats.other_kinds``.
    """
    for item in _capture_items(stream, name, stats):
        stats.count(item)
        if isinstance(item, Record):
            stats.other_kinds[item.tail] += 1
        yield item


def _capture_items(stream: BinaryIO, name: str, stats) -> Iterator[Item]:  # type: ignore[no-untyped-def]
    head = stream.read(4)
    if head[:4] == _PCAPNG_MAGIC:
        frames: _Frames | _PcapngFrames = _PcapngFrames(stream, head, name)
    else:
        counted = _Counted(stream, head)
        opened = _open(counted, head, name)
        if isinstance(opened, Skipped):
            stats.bytes = counted.position
            yield opened
            return
        frames = _Frames(*opened, counted, name)
    capture = _Capture(name, stats)
    for frame, buf, decode in frames:
        stats.bytes = frames.position
        if isinstance(decode, Skipped):
            yield decode
        else:
            yield from capture.frame(frame, decode, buf)
    stats.bytes = frames.position
    yield from capture.finish()
    if frames.cut is not None:
        yield frames.cut


def _open(counted: _Counted, head: bytes, name: str) -> tuple[Any, Decode] | Skipped:
    """(dpkt reader, link-layer decoder) of a pcap file, or the `Skipped` saying why there is none."""
    if not is_capture(head):
        return Skipped(origin=Origin(name, 1, 0), reason="not a pcap or pcapng capture",
                       context=f"first bytes {head.hex(' ')}")
    try:
        reader = dpkt.pcap.Reader(counted)
    except Exception as err:  # whatever the damage, the header is unreadable
        return Skipped(origin=Origin(name, 1, 0),
                       reason=f"{CUT_SHORT}the file header cannot be read ({_error_text(err)})")
    linktype = reader.datalink() & 0xFFFF
    decode = _LINK_TYPES.get(linktype)
    if decode is None:
        return Skipped(origin=Origin(name, 1, 0), reason=f"capture link type {linktype} is not supported",
                       context=f"readable: {_READABLE_LINKS}")
    return reader, decode


class _Frames:
    """The frames of an opened pcap file, numbered and placed; ``cut`` tells if it ended early."""

    def __init__(self, reader: Any, decode: Decode, counted: _Counted, name: str) -> None:
        self._reader = reader
        self._decode = decode
        self._counted = counted
        self._name = name
        self.cut: Skipped | None = None

    @property
    def position(self) -> int:
        return self._counted.position

    def __iter__(self) -> Iterator[tuple[_Frame, bytes, Decode | Skipped]]:
        frames = iter(self._reader)
        reads = self._counted.reads
        number = 0
        while True:
            reads.clear()
            try:
                ts, buf = next(frames)
            except StopIteration:
                if _end_problem(reads):
                    self.cut = _cut(self._name, number + 1, reads[0][0], f"the file ends inside frame {number + 1}")
                return
            except Exception as err:  # damaged record: stop here, keep what was read
                where = reads[0][0] if reads else self._counted.position
                self.cut = _cut(self._name, number + 1, where,
                                f"frame {number + 1} cannot be read ({_error_text(err)})")
                return
            number += 1
            # a record is two reads: header, data
            offset = reads[-2][0] if len(reads) >= 2 else reads[0][0]
            if _frame_problem(reads):
                self.cut = _cut(self._name, number, offset, f"the file ends inside frame {number}")
                return
            yield _Frame(number, offset, float(ts), _when(ts)), buf, self._decode


def _cut(name: str, number: int, offset: int, what: str) -> Skipped:
    return Skipped(origin=Origin(name, number, offset), reason=CUT_SHORT + what,
                   context=f"{number - 1} whole frame(s) read before it")


class _Interface(NamedTuple):
    decode: Decode
    snaplen: int
    units: int              # time stamp units per second (if_tsresol)
    offset: int             # seconds added to every time stamp (if_tsoffset)


class _PcapngFrames:
    """The packets of a pcapng file, each decoded with its own interface's link type and clock.

    Every packet block is a frame (numbered as Wireshark numbers them):
    enhanced, simple and the obsolete packet block, across sections.  A
    packet naming an interface its section does not describe is a `Skipped`:
    its link type and clock would be a guess.
    """

    def __init__(self, stream: BinaryIO, head: bytes, name: str) -> None:
        self._stream = stream
        self._head = head
        self._name = name
        self.position = 0
        self.cut: Skipped | None = None

    def _read(self, n: int) -> bytes:
        data = self._head[:n]
        self._head = self._head[len(data):]
        if len(data) < n:
            data += self._stream.read(n - len(data))
        self.position += len(data)
        return data

    def __iter__(self) -> Iterator[tuple[_Frame, bytes, Decode | Skipped]]:
        number = 0
        order = "<"
        interfaces: list[_Interface] = []
        while True:
            start = self.position
            first = self._read(8)
            if not first:
                return
            problem: str | None = None
            if len(first) < 8:
                problem = f"the file ends inside the block at byte {start}"
            elif first[:4] == _PCAPNG_MAGIC:
                magic = self._read(4)
                order = {_PCAPNG_LE: "<", _PCAPNG_BE: ">"}.get(magic, "")
                if not order:
                    problem = f"section header at byte {start} has no byte-order magic"
                    order = "<"
                interfaces = []
                btype, length, rest = 0x0A0D0D0A, struct.unpack(order + "I", first[4:])[0], -4
            else:
                btype, length = struct.unpack(order + "II", first)
                rest = 0
            if problem is None and (length < 12 or length % 4 or length > MAX_RECORD):
                problem = f"the block at byte {start} has an impossible length {length}"
            if problem is None:
                body = self._read(length - 8 + rest)
                if len(body) < length - 8 + rest:
                    problem = f"the file ends inside frame {number + 1}" if btype in _PACKET_BLOCKS \
                        else f"the file ends inside the block at byte {start}"
            if problem is not None:
                self.cut = _cut(self._name, number + 1, start, problem)
                return
            try:
                if btype == 1:
                    interfaces.append(_interface(body[:-4], order))
                    continue
                if btype not in _PACKET_BLOCKS:
                    continue      # section header, statistics, name resolution, custom blocks
                number += 1
                index, units, buf = _packet_block(btype, body[:-4], order, interfaces)
            except (struct.error, IndexError, ValueError) as err:
                which = number if btype in _PACKET_BLOCKS else number + 1
                self.cut = _cut(self._name, which, start,
                                f"the block at byte {start} cannot be read ({_error_text(err)})")
                return
            if index >= len(interfaces):
                frame = _Frame(number, start, 0.0, None)
                yield frame, buf, Skipped(
                    origin=Origin(self._name, number, start),
                    reason="pcapng packet on an interface its section does not describe",
                    context=f"interface {index}; {len(interfaces)} described, so its link type is unknown "
                            "and the packet is not read")
                continue
            iface = interfaces[index]
            if units is None:
                frame = _Frame(number, start, 0.0, None)      # simple packet block: no time stamp
            else:
                secs, frac = divmod(units, iface.units)
                secs += iface.offset
                frame = _Frame(number, start, secs + frac / iface.units,
                               _when_parts(secs, frac * 1_000_000 // iface.units))
            yield frame, buf, iface.decode


_PCAPNG_LE = b"\x4d\x3c\x2b\x1a"
_PCAPNG_BE = b"\x1a\x2b\x3c\x4d"
_PACKET_BLOCKS = frozenset({2, 3, 6})   # obsolete packet, simple packet, enhanced packet


def _interface(body: bytes, order: str) -> _Interface:
    """An interface description block: link type, snap length, if_tsresol, if_tsoffset."""
    linktype, _, snaplen = struct.unpack(order + "HHI", body[:8])
    units, offset = 1_000_000, 0
    pos = 8
    while pos + 4 <= len(body):
        code, size = struct.unpack(order + "HH", body[pos:pos + 4])
        value = body[pos + 4:pos + 4 + size]
        if code == 0:
            break
        if code == 9 and size >= 1:       # if_tsresol: 10^-n, or 2^-n with the top bit set
            units = 2 ** (value[0] & 0x7F) if value[0] & 0x80 else 10 ** value[0]
        elif code == 14 and size >= 8:    # if_tsoffset: seconds
            offset = struct.unpack(order + "q", value[:8])[0]
        pos += 4 + (size + 3) // 4 * 4
    return _Interface(_LINK_TYPES.get(linktype) or _unreadable_link(linktype), snaplen, units, offset)


def _packet_block(btype: int, body: bytes, order: str,
                  interfaces: list[_Interface]) -> tuple[int, int | None, bytes]:
    """(interface, time stamp in the interface's units or None, packet bytes) of a packet block."""
    if btype == 6:
        index, high, low, caplen, _ = struct.unpack(order + "IIIII", body[:20])
        return index, high << 32 | low, body[20:20 + caplen]
    if btype == 2:
        index, _, high, low, caplen, _ = struct.unpack(order + "HHIIII", body[:20])
        return index, high << 32 | low, body[20:20 + caplen]
    (length,) = struct.unpack(order + "I", body[:4])       # simple packet: interface 0, no time
    snaplen = interfaces[0].snaplen if interfaces else 0
    return 0, None, body[4:4 + min(length, snaplen or length)]


# ---------------------------------------------------------------------------
# Frames to transport segments
# ---------------------------------------------------------------------------


class _Segment(NamedTuple):
    """A UDP datagram or TCP segment, after IP reassembly and tunnels."""

    frame: _Frame
    proto: int              # 6 TCP, 17 UDP
    src: Peer
    dst: Peer
    data: bytes             # the payload as captured
    wire_len: int           # the payload's length on the wire (UDP only; else len(data))
    seq: int = 0
    flags: int = 0


@dataclass
class _Fragments:
    first: _Frame
    parts: dict[int, bytes] = field(default_factory=dict)
    total: int | None = None

    def add(self, offset: int, more: bool, data: bytes) -> bytes | None:
        """Store one fragment; the whole payload once every byte is there."""
        if len(data) > len(self.parts.get(offset, b"")):
            self.parts[offset] = data
        if not more:
            self.total = offset + len(data)
        if self.total is None:
            return None
        have = 0
        for start in sorted(self.parts):
            if start > have:
                return None
            have = max(have, start + len(self.parts[start]))
        if have < self.total:
            return None
        whole = bytearray(self.total)
        for start in sorted(self.parts):
            piece = self.parts[start][: max(0, self.total - start)]
            whole[start:start + len(piece)] = piece
        return bytes(whole)


def _raw(obj: Any) -> bytes:
    """The bytes of a dpkt layer (a packet object, or its payload already as bytes)."""
    return obj if isinstance(obj, bytes) else bytes(obj)


def _network(link: object) -> dpkt.Packet | None:
    """The first IPv4/IPv6 layer inside a decoded link-layer frame."""
    obj = link
    for _ in range(6):
        if isinstance(obj, (dpkt.ip.IP, dpkt.ip6.IP6)):
            return obj
        obj = getattr(obj, "data", None)
        if obj is None or isinstance(obj, (bytes, bytearray)):
            return None
    return None


def _host(addr: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6 if len(addr) == 16 else socket.AF_INET, addr)


def _endpoint(peer: Peer) -> str:
    return f"[{peer.host}]:{peer.port}" if ":" in peer.host else f"{peer.host}:{peer.port}"


def _flow(a: Peer, b: Peer) -> tuple[Peer, Peer]:
    """The same key for both directions between two endpoints."""
    return (a, b) if (a.host, a.port or 0) <= (b.host, b.port or 0) else (b, a)


def _skip_space(buf: bytes | bytearray, pos: int = 0) -> int:
    match = _SPACE.match(buf, pos)
    return match.end() if match else pos


def _looks_like_tls(data: bytes | bytearray, pos: int) -> bool:
    # TLS record header: content type 20-24, version 3.x (SSL 3.0 to TLS 1.3)
    return len(data) >= pos + 3 and 20 <= data[pos] <= 24 and data[pos + 1] == 3 and data[pos + 2] <= 4


def _is_stun(data: bytes) -> bool:
    return len(data) >= 20 and data[0] < 0x40 and data[4:8] == _STUN_COOKIE


def _ip_cut(net: dpkt.Packet) -> bool:
    """Does the IP header announce more bytes than the frame holds (cut by the snap length)?"""
    try:
        if isinstance(net, dpkt.ip.IP):
            return net.len > len(net)
        return net.plen > len(net) - 40
    except Exception:  # a header dpkt cannot size: believe the length fields
        return True


def _text_start(buf: bytes, pos: int) -> int:
    """Where the run of text holding ``buf[pos]`` begins (at most 200 bytes back), for an excerpt."""
    start = pos
    while start > max(0, pos - 200) and (32 <= buf[start - 1] < 127 or buf[start - 1] in (9, 10, 13)):
        start -= 1
    return start


def _excerpt(data: bytes | bytearray, pos: int, size: int = 200) -> str:
    return bytes(data[pos:pos + size]).decode("utf-8", errors="replace")


def _is_keepalive(data: bytes, pos: int) -> bool:
    """One short word (``hello``, ``ping``, ``keepalive``...) on a SIP flow: a device's keep-alive."""
    return _KEEPALIVE.fullmatch(data, pos) is not None


# ---------------------------------------------------------------------------
# GRE, SCTP, WebSocket
# ---------------------------------------------------------------------------


def _gre_inner(data: bytes) -> dpkt.Packet:
    """The IP packet a GRE packet carries (RFC 2784 / 2890; RFC 2637 enhanced GRE for PPTP).

    Carried: IPv4, IPv6, PPP holding either, Ethernet (0x6558) and ERSPAN
    types I-III mirroring Ethernet frames.
    """
    if len(data) < 4:
        raise _Undecodable("GRE header cut short")
    flags, ptype = struct.unpack("!HH", data[:4])
    version = flags & 7
    if version == 0 and flags & 0x4000:
        raise _Undecodable("GRE with source routing (RFC 1701) is not read")
    pos = 4 + 4 * bool(flags & 0x8000) + 4 * bool(flags & 0x2000) + 4 * bool(flags & 0x1000)
    if version == 1 and flags & 0x0080:
        pos += 4            # acknowledgment number
    inner = data[pos:]
    if ptype == 0x0800:
        return dpkt.ip.IP(inner)
    if ptype == 0x86DD:
        return dpkt.ip6.IP6(inner)
    if ptype == 0x880B:
        return _ppp_inner(inner)
    if ptype in (0x6558, 0x88BE, 0x22EB):
        if ptype == 0x88BE and flags & 0x1000:
            inner = inner[8:]                       # ERSPAN type II header
        elif ptype == 0x22EB:
            inner = inner[20 if len(inner) > 11 and inner[11] & 1 else 12:]   # type III, optional subheader
        net = _network(dpkt.ethernet.Ethernet(inner))
        if net is None:
            raise _Undecodable("no IP in the Ethernet frame carried by GRE")
        return net
    raise _Undecodable(f"GRE payload type 0x{ptype:04x} is not read")


def _ppp_inner(data: bytes) -> dpkt.Packet:
    if data[:2] == b"\xff\x03":
        data = data[2:]                 # address and control fields
    if not data:
        raise _Undecodable("PPP frame without data")
    if data[0] & 1:                     # protocol field compressed to one byte
        proto, data = data[0], data[1:]
    else:
        proto, data = int.from_bytes(data[:2], "big"), data[2:]
    if proto == 0x21:
        return dpkt.ip.IP(data)
    if proto == 0x57:
        return dpkt.ip6.IP6(data)
    raise _Undecodable(f"PPP protocol 0x{proto:04x} is not read")


def _sctp_message(parts: dict[int, tuple[int, bytes, _Frame]], tsn: int) -> list[int] | None:
    """The TSNs of the whole user message the fragment ``tsn`` belongs to, or None if one is missing."""
    first = tsn
    while not parts[first][0] & 2:          # B: first fragment
        first = (first - 1) & 0xFFFFFFFF
        if first not in parts:
            return None
    last = tsn
    while not parts[last][0] & 1:           # E: last fragment
        last = (last + 1) & 0xFFFFFFFF
        if last not in parts:
            return None
    count = (last - first) & 0xFFFFFFFF
    return [(first + n) & 0xFFFFFFFF for n in range(count + 1)]


def _remember(done: dict[int, None], tsn: int) -> None:
    done[tsn] = None
    if len(done) > MAX_SCTP_PARTS:
        del done[next(iter(done))]


class _WsHeader(NamedTuple):
    fin: bool
    rsv1: bool
    opcode: int
    mask: bytes
    start: int              # payload start, from the frame's first byte
    end: int                # payload end


def _ws_frame(buf: bytes | bytearray, pos: int) -> _WsHeader | None:
    """The WebSocket frame header at ``buf[pos]`` (RFC 6455 §5.2), offsets relative to ``pos``.

    None when the header is not all there yet; ValueError when it cannot be one.
    """
    if len(buf) - pos < 2:
        return None
    b0, b1 = buf[pos], buf[pos + 1]
    opcode = b0 & 0x0F
    if opcode not in (0, 1, 2, 8, 9, 10) or b0 & 0x30:
        raise ValueError(f"first byte 0x{b0:02x} is not a frame header")
    size, start = b1 & 0x7F, 2
    if size == 126:
        if len(buf) - pos < 4:
            return None
        size, start = int.from_bytes(buf[pos + 2:pos + 4], "big"), 4
    elif size == 127:
        if len(buf) - pos < 10:
            return None
        size, start = int.from_bytes(buf[pos + 2:pos + 10], "big"), 10
    if size > MAX_MESSAGE or (opcode >= 8 and size > 125):
        raise ValueError(f"payload length {size} is not plausible")
    mask = b""
    if b1 & 0x80:
        if len(buf) - pos < start + 4:
            return None
        mask = bytes(buf[pos + start:pos + start + 4])
        start += 4
    return _WsHeader(bool(b0 & 0x80), bool(b0 & 0x40), opcode, mask, start, start + size)


def _unmask(payload: bytes, mask: bytes) -> bytes:
    if not mask or not payload:
        return payload
    n = len(payload)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def _ws_sip_frame(buf: bytes | bytearray, pos: int) -> bool:
    """Is there a WebSocket text or binary frame at ``buf[pos]`` whose payload starts a SIP message?"""
    if len(buf) - pos < 2 or buf[pos] & 0x0F not in (1, 2) or buf[pos] & 0x70:
        return False
    try:
        header = _ws_frame(buf, pos)
    except ValueError:
        return False
    if header is None:
        return False
    head = _unmask(bytes(buf[pos + header.start:min(pos + header.end, pos + header.start + 256)]), header.mask)
    return bool(_START.match(head))


def _ws_find(buf: bytes | bytearray) -> int | None:
    """Where the first WebSocket frame holding the start of a SIP message begins, after a loss."""
    for found in _WS_FIRST_BYTE.finditer(buf):
        if _ws_sip_frame(buf, found.start()):
            return found.start()
    return None



# ---------------------------------------------------------------------------
# Cutting SIP messages out of bytes
# ---------------------------------------------------------------------------


class _Piece(NamedTuple):
    kind: str   # "message" or "junk"
    start: int
    end: int


def _next_piece(buf: bytes | bytearray, pos: int, final: bool, stream: bool) -> _Piece | None:
    """The message or non-SIP run starting at ``buf[pos]`` (not blank), or None to wait for more.

    ``final``: nothing more will come (a datagram, or a stream's end), so an
    incomplete message is given as it is.  ``stream``: TCP, where a missing
    Content-Length means no body; on UDP the body runs to the datagram's end.
    """
    if _START.match(buf, pos):
        head_end = _HEADER_END.search(buf, pos)
        if head_end is None:
            return _Piece("message", pos, len(buf)) if final else None
        length = _CONTENT_LENGTH.search(buf, pos, head_end.start())
        if length is not None:
            end = head_end.end() + int(length.group(1))
        else:
            end = head_end.end() if stream else len(buf)
        if end > len(buf):
            return _Piece("message", pos, len(buf)) if final else None
        return _Piece("message", pos, end)
    following = _NEXT_START.search(buf, pos)
    if following is not None:
        return _Piece("junk", pos, following.start() + 1)
    return _Piece("junk", pos, len(buf)) if final else None


# ---------------------------------------------------------------------------
# TCP streams
# ---------------------------------------------------------------------------


def _signed32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


@dataclass
class _Stream:
    """One direction of a TCP connection: sequence order, then a byte buffer."""

    src: Peer
    dst: Peer
    state: str = "new"          # new | sip | http | ws | other
    base: int | None = None     # sequence number of the stream's first byte
    syn_seen: bool = False
    next: int = 0               # offset (from base) of the next byte expected
    pending: dict[int, tuple[bytes, _Frame]] = field(default_factory=dict)
    pending_bytes: int = 0
    pending_since: float | None = None
    buf: bytearray = field(default_factory=bytearray)
    buf_end: int = 0            # stream offset just past the buffer
    marks: deque[tuple[int, _Frame]] = field(default_factory=deque)   # (end offset, frame) per chunk
    resync: bool = False        # pass over bytes until the next SIP start line (or WebSocket frame holding one)
    ws_parts: list[bytes] | None = None           # the WebSocket message being put together
    ws_deflated: bool = False                     # that message is compressed (RSV1, RFC 7692)
    ws_inflate: zlib._Decompress | None = None    # the direction's permessage-deflate context

    # -- sequence order ------------------------------------------------------
    def take(self, seq: int, syn: bool, data: bytes, frame: _Frame) -> list[tuple[bytes, int, _Frame]]:
        """Chunks now in order, as (bytes, end offset, frame)."""
        start = (seq + 1 if syn else seq) & 0xFFFFFFFF
        if self.base is None:
            self.base = start
        if not data:
            return []
        rel = _signed32(start - self.base)
        if self.state == "other" and rel > self.next:
            self.next = rel   # nothing to read on it: no need to wait for holes
        return self._place(rel, data, frame)

    def _place(self, rel: int, data: bytes, frame: _Frame) -> list[tuple[bytes, int, _Frame]]:
        if rel + len(data) <= self.next:
            return []   # retransmission of bytes already had
        if rel > self.next:
            kept = self.pending.get(rel)
            if kept is None or len(kept[0]) < len(data):
                self.pending_bytes += len(data) - (len(kept[0]) if kept else 0)
                self.pending[rel] = (data, frame)
            if self.pending_since is None:
                self.pending_since = frame.ts
            return []
        data = data[self.next - rel:]
        self.next += len(data)
        return [(data, self.next, frame)] + self.drain()

    def drain(self) -> list[tuple[bytes, int, _Frame]]:
        out: list[tuple[bytes, int, _Frame]] = []
        while self.pending:
            rel = min(self.pending)
            if rel > self.next:
                break
            data, frame = self.pending.pop(rel)
            self.pending_bytes -= len(data)
            if rel + len(data) > self.next:
                data = data[self.next - rel:]
                self.next += len(data)
                out.append((data, self.next, frame))
        self.pending_since = min((f.ts for _, f in self.pending.values()), default=None)
        return out

    def hole_is_stale(self, now: float) -> bool:
        return bool(self.pending) and (self.pending_bytes > MAX_PENDING or
                                       (self.pending_since is not None and now - self.pending_since > GAP_WAIT))

    def skip_hole(self) -> tuple[int, _Frame]:
        """Jump to the first segment after the first hole: (bytes missing, that segment's frame)."""
        rel = min(self.pending)
        missing = rel - self.next
        self.next = rel
        return missing, self.pending[rel][1]

    # -- buffer --------------------------------------------------------------
    def append(self, data: bytes, end: int, frame: _Frame) -> None:
        if not self.buf:
            self.marks.clear()
        self.buf += data
        self.buf_end = end
        self.marks.append((end, frame))

    def frame_at(self, end: int) -> _Frame:
        """The frame that brought ``buf[end - 1]``."""
        target = self.buf_end - len(self.buf) + end
        for mark_end, frame in self.marks:
            if mark_end >= target:
                return frame
        return self.marks[-1][1]

    def consume(self, n: int) -> None:
        del self.buf[:n]
        done = self.buf_end - len(self.buf)
        while self.marks and self.marks[0][0] <= done:
            self.marks.popleft()

    def clear(self) -> None:
        self.buf.clear()
        self.marks.clear()


@dataclass
class _Connection:
    sides: dict[tuple[Peer, Peer], _Stream] = field(default_factory=dict)
    tls: bool = False

    def side(self, src: Peer, dst: Peer) -> _Stream:
        stream = self.sides.get((src, dst))
        if stream is None:
            stream = self.sides[(src, dst)] = _Stream(src, dst)
        return stream

    def other(self, stream: _Stream) -> _Stream | None:
        return self.sides.get((stream.dst, stream.src))


# ---------------------------------------------------------------------------
# The capture
# ---------------------------------------------------------------------------


class _Capture:
    """State across frames: IP reassembly, TCP connections, SCTP fragments, flows known to carry SIP."""

    def __init__(self, name: str, stats) -> None:  # type: ignore[no-untyped-def]
        self.name = name
        self.stats = stats
        self.fragments: dict[tuple, _Fragments] = {}
        self.connections: dict[tuple[Peer, Peer], _Connection] = {}
        self.sip_flows: set[tuple[Peer, Peer]] = set()
        self.sip_hosts: set[str] = set()          # addresses seen sending or receiving SIP
        self.tls_ports = SIP_TLS_PORTS | named_sip_ports()
        self.tls_443: list[tuple[_Frame, Peer, Peer]] = []   # decided at the end: is the server a SIP host?
        self.sctp_parts: dict[tuple[Peer, Peer], dict[int, tuple[int, bytes, _Frame]]] = {}
        self.sctp_done: dict[tuple[Peer, Peer], dict[int, None]] = {}

    # -- frames --------------------------------------------------------------
    def frame(self, frame: _Frame, decode: Decode, buf: bytes) -> Iterator[Item]:
        try:
            found = self._segment(decode(buf), frame)
        except _Undecodable as why:
            found = str(why)
        except Exception as err:  # dpkt raises many kinds (AttributeError on a broken IPv6 chain...)
            found = f"a damaged layer below SIP ({_error_text(err)})"
        if found is None:
            return
        if isinstance(found, str):
            like = _SIP_LIKE.search(buf)
            if like is not None:
                yield Skipped(origin=self._origin(frame), reason=f"SIP text in a frame that cannot be decoded: {found}",
                              excerpt=_excerpt(buf, _text_start(buf, like.start())))
            return
        try:
            if found.proto == 17:
                yield from self._udp(found)
            elif found.proto == 6:
                yield from self._tcp(found)
            else:
                yield from self._sctp(found)
        except Exception as err:  # a bug of ours must cost one frame, not the capture
            yield Skipped(origin=self._origin(frame), error=True,
                          reason=f"internal error while reading the frame: {_error_text(err)}")

    def _segment(self, link: object, frame: _Frame) -> _Segment | str | None:
        """The UDP, TCP or SCTP segment in a frame, after IP reassembly and tunnels.

        None when there is nothing to read yet (a fragment waiting for the
        others, a frame without IP such as ARP); a text saying which layer is
        not read otherwise.
        """
        net = _network(link)
        if net is None:
            return "no IPv4 or IPv6 layer found"
        for _ in range(MAX_TUNNELS):
            found = self._ip_payload(net, frame)
            if found is None or isinstance(found, str):
                return found
            proto, src, dst, payload = found
            if proto == 17:
                udp = payload if isinstance(payload, dpkt.udp.UDP) else dpkt.udp.UDP(payload)
                data = _raw(udp.data)
                wire = udp.ulen - 8 if udp.ulen >= 8 else len(data)
                if wire > len(data) and not (isinstance(payload, dpkt.udp.UDP) and _ip_cut(net)):
                    wire = len(data)    # a damaged UDP length: the IP header says all of it is here
                return _Segment(frame, 17, Peer(src, udp.sport), Peer(dst, udp.dport), data[:wire], wire)
            if proto == 6:
                tcp = payload if isinstance(payload, dpkt.tcp.TCP) else dpkt.tcp.TCP(payload)
                data = _raw(tcp.data)
                return _Segment(frame, 6, Peer(src, tcp.sport), Peer(dst, tcp.dport), data, len(data),
                                seq=tcp.seq, flags=tcp.flags)
            raw = _raw(payload)
            if proto == 132:
                if len(raw) < 12:
                    raise _Undecodable("SCTP common header cut short")
                sport, dport = struct.unpack("!HH", raw[:4])
                return _Segment(frame, 132, Peer(src, sport), Peer(dst, dport), raw, len(raw))
            if proto == 4:
                net = dpkt.ip.IP(raw)
            elif proto == 41:
                net = dpkt.ip6.IP6(raw)
            else:
                net = _gre_inner(raw)
        return f"more than {MAX_TUNNELS} IP layers"

    def _ip_payload(self, net: dpkt.Packet, frame: _Frame) -> tuple[int, str, str, object] | str | None:
        """(protocol, source, destination, payload) of an IP packet, fragments put together.

        None for a fragment whose datagram is not complete yet; a text for a
        protocol that is not read.
        """
        if isinstance(net, dpkt.ip.IP):
            proto = net.p
            fragmented = bool(net.mf or net.offset)
            key: tuple = (4, net.src, net.dst, net.id, proto)
            offset, more = net.offset * 8, bool(net.mf)
        else:
            fragment = net.extension_hdrs.get(dpkt.ip.IP_PROTO_FRAGMENT)
            proto = fragment.nxt if fragment is not None else getattr(net, "p", net.nxt)
            fragmented = fragment is not None
            if fragment is not None:
                key = (6, net.src, net.dst, fragment.id, proto)
                offset, more = fragment.frag_off * 8, bool(fragment.m_flag)
        if proto not in _CARRIED:
            return f"IP protocol {proto} is not read"
        payload = net.data
        if fragmented:
            whole = self._reassemble(key, frame, offset, more, _raw(payload))
            if whole is None:
                return None
            payload = whole
        return proto, _host(net.src), _host(net.dst), payload

    def _reassemble(self, key: tuple, frame: _Frame, offset: int, more: bool, data: bytes) -> bytes | None:
        entry = self.fragments.get(key)
        if entry is None:
            if len(self.fragments) >= MAX_REASSEMBLIES:
                self.fragments.pop(next(iter(self.fragments)))
            entry = self.fragments[key] = _Fragments(frame)
        whole = entry.add(offset, more, data)
        if whole is not None:
            del self.fragments[key]
        return whole

    # -- items ---------------------------------------------------------------
    def _origin(self, frame: _Frame) -> Origin:
        return Origin(self.name, frame.number, frame.offset)

    def _decode(self, data: bytes | bytearray) -> str:
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            self.stats.decode_replaced += 1
            return bytes(data).decode("utf-8", errors="replace")

    def _message(self, data: bytes | bytearray, frame: _Frame, src: Peer, dst: Peer) -> Item:
        item = parse_message_text(self._decode(data), self._origin(frame), frame.when, src=src, dst=dst,
                                  what="capture")
        if isinstance(item, SipMessage):
            self.sip_hosts.add(src.host)
            self.sip_hosts.add(dst.host)
        return item

    def _piece_item(self, piece: _Piece, buf: bytes | bytearray, frame: _Frame, src: Peer, dst: Peer) -> Item:
        if piece.kind == "message":
            return self._message(buf[piece.start:piece.end], frame, src, dst)
        return self._message(buf[piece.start:min(piece.end, piece.start + JUNK_PARSE)], frame, src, dst)

    def _other(self, frame: _Frame, what: str, context: str) -> Record:
        """Traffic that is not SIP but that a reader of the capture should know was there."""
        return Record(origin=self._origin(frame), time=frame.when, level="", flag="", machine=None, pid=None,
                      tid=None, sequence=None, component="capture", function="", source_file="",
                      source_line=None, tail=what, text_lines=(context,))

    # -- datagrams: UDP, SCTP user messages, WebSocket messages --------------
    def _udp(self, seg: _Segment) -> Iterator[Item]:
        if seg.wire_len > len(seg.data) and _START.match(seg.data, _skip_space(seg.data)):
            self.sip_flows.add(_flow(seg.src, seg.dst))
            yield Skipped(origin=self._origin(seg.frame),
                          reason="SIP datagram cut by the capture's snap length",
                          context=f"{len(seg.data)} of {seg.wire_len} bytes captured, "
                                  f"UDP {_endpoint(seg.src)} -> {_endpoint(seg.dst)}",
                          excerpt=_excerpt(seg.data, _skip_space(seg.data)))
            return
        yield from self._datagram(seg.frame, seg.src, seg.dst, seg.data, "UDP")

    def _datagram(self, frame: _Frame, src: Peer, dst: Peer, data: bytes, carrier: str) -> Iterator[Item]:
        """The messages of one datagram-like unit: cut at Content-Length, the last to the end."""
        pos = _skip_space(data)
        if pos == len(data):
            return   # empty, or a keep-alive
        flow = _flow(src, dst)
        if not _START.match(data, pos):
            if flow in self.sip_flows and not _is_stun(data):
                if _is_keepalive(data, pos):
                    yield self._other(frame, "keep-alive on a SIP flow (not SIP)",
                                      f"{carrier} {_endpoint(src)} -> {_endpoint(dst)}: {_excerpt(data, pos, 40)!r}")
                else:
                    yield self._message(data[pos:pos + JUNK_PARSE], frame, src, dst)
            elif _SIP_LIKE.search(data, pos, pos + LOOK_AHEAD):
                yield self._message(data[pos:pos + JUNK_PARSE], frame, src, dst)   # damaged SIP: its reason
            return
        self.sip_flows.add(flow)
        while pos < len(data):
            piece = _next_piece(data, pos, final=True, stream=False)
            assert piece is not None
            yield self._piece_item(piece, data, frame, src, dst)
            pos = _skip_space(data, piece.end)

    # -- SCTP ----------------------------------------------------------------
    def _sctp(self, seg: _Segment) -> Iterator[Item]:
        """DATA chunks (RFC 4960 §3.3.1): each user message is read like a datagram (RFC 4168).

        Several chunks may share a packet; a message fragmented over chunks
        (B and E flags) is put together by TSN.  Other chunk types are
        control.  SIP is recognised by content, whatever the PPID or port.
        """
        data = seg.data
        pos = 12
        while pos + 4 <= len(data):
            ctype, flags, length = data[pos], data[pos + 1], int.from_bytes(data[pos + 2:pos + 4], "big")
            if length < 4:
                break
            end = pos + length
            if ctype == 0 and length >= 16:
                tsn = int.from_bytes(data[pos + 4:pos + 8], "big")
                payload = data[pos + 16:end]
                if end > len(data):
                    if flags & 2 and _START.match(payload, _skip_space(payload)):
                        yield Skipped(origin=self._origin(seg.frame),
                                      reason="SIP in an SCTP DATA chunk cut by the capture's snap length",
                                      context=f"{len(payload)} of {length - 16} bytes captured, "
                                              f"SCTP {_endpoint(seg.src)} -> {_endpoint(seg.dst)}",
                                      excerpt=_excerpt(payload, 0))
                    break
                yield from self._sctp_data(seg, tsn, flags, payload)
            elif ctype == 64 and _SIP_MARK.search(data, pos, end):
                yield Skipped(origin=self._origin(seg.frame), reason="SIP in an SCTP I-DATA chunk (RFC 8260), not read",
                              context=f"SCTP {_endpoint(seg.src)} -> {_endpoint(seg.dst)}")
            pos += (length + 3) & ~3

    def _sctp_data(self, seg: _Segment, tsn: int, flags: int, payload: bytes) -> Iterator[Item]:
        key = (seg.src, seg.dst)
        done = self.sctp_done.setdefault(key, {})
        if tsn in done:
            return     # a chunk sent again (SCTP retransmission): read once
        if flags & 3 == 3:     # B and E: a whole user message
            _remember(done, tsn)
            yield from self._datagram(seg.frame, seg.src, seg.dst, payload, "SCTP")
            return
        parts = self.sctp_parts.setdefault(key, {})
        if len(parts) >= MAX_SCTP_PARTS:
            yield from self._lost_sctp(seg.src, seg.dst, [parts.pop(next(iter(parts)))])
        parts[tsn] = (flags, payload, seg.frame)
        tsns = _sctp_message(parts, tsn)
        if tsns is None:
            return
        whole = b"".join(parts.pop(t)[1] for t in tsns)
        for t in tsns:
            _remember(done, t)
        yield from self._datagram(seg.frame, seg.src, seg.dst, whole, "SCTP")

    def _lost_sctp(self, src: Peer, dst: Peer, parts: list[tuple[int, bytes, _Frame]]) -> Iterator[Item]:
        for flags, payload, frame in parts:
            if flags & 2 and _START.match(payload, _skip_space(payload)):
                yield Skipped(origin=self._origin(frame),
                              reason="SCTP fragments missing from the capture: SIP message not put together",
                              context=f"first fragment, {len(payload)} byte(s), SCTP {_endpoint(src)} -> {_endpoint(dst)}",
                              excerpt=_excerpt(payload, _skip_space(payload)))

    # -- TCP -----------------------------------------------------------------
    def _tcp(self, seg: _Segment) -> Iterator[Item]:
        key = _flow(seg.src, seg.dst)
        conn = self.connections.get(key)
        syn = bool(seg.flags & dpkt.tcp.TH_SYN)
        if conn is None or (syn and not seg.flags & dpkt.tcp.TH_ACK and self._is_new_connection(conn, seg)):
            if conn is not None:
                yield from self._close_connection(conn)
            conn = self.connections[key] = _Connection()
        if conn.tls:
            return
        stream = conn.side(seg.src, seg.dst)
        if syn:
            start = (seg.seq + 1) & 0xFFFFFFFF
            if stream.base is not None and stream.base != start:
                yield from self._close(stream, conn)
                stream = conn.sides[(seg.src, seg.dst)] = _Stream(seg.src, seg.dst)
            stream.syn_seen = True
        chunks = stream.take(seg.seq, syn, seg.data, seg.frame)
        yield from self._chunks(conn, stream, chunks)
        if stream.hole_is_stale(seg.frame.ts):
            yield from self._skip_holes(conn, stream, seg.frame.ts)
        if seg.flags & dpkt.tcp.TH_RST or (seg.flags & dpkt.tcp.TH_FIN and not stream.pending):
            yield from self._close(stream, conn)

    @staticmethod
    def _is_new_connection(conn: _Connection, seg: _Segment) -> bool:
        stream = conn.sides.get((seg.src, seg.dst))
        return stream is not None and stream.base is not None and stream.base != (seg.seq + 1) & 0xFFFFFFFF

    def _chunks(self, conn: _Connection, stream: _Stream, chunks: list[tuple[bytes, int, _Frame]]) -> Iterator[Item]:
        for data, end, frame in chunks:
            if conn.tls:
                return
            if stream.state in ("new", "other"):
                data = self._classify(conn, stream, data, frame)
                if conn.tls:
                    yield from self._encrypted(stream, frame)
                    self._forget(conn)
                    return
                if not data:
                    continue
            stream.append(data, end, frame)
        yield from self._cut(conn, stream, final=False)

    def _classify(self, conn: _Connection, stream: _Stream, data: bytes, frame: _Frame) -> bytes:
        """Decide what a stream carries from its data; the bytes to buffer if it is read."""
        pos = _skip_space(data)
        if pos == len(data):
            return b""
        if _START.match(data, pos):
            stream.state = "sip"
            return data[pos:]
        if _HTTP_START.match(data, pos):
            stream.state = "http"      # perhaps a WebSocket opening handshake (RFC 6455 §4)
            return data[pos:]
        other = conn.other(stream)
        if _ws_sip_frame(data, pos) or (other is not None and other.state == "ws" and _ws_frame(data, pos)):
            stream.state = "ws"        # the capture began after the handshake
            stream.resync = not stream.syn_seen
            return data[pos:]
        if _looks_like_tls(data, pos) or 5061 in (stream.src.port, stream.dst.port):
            conn.tls = True
            return b""
        if b"SIP/2.0" in data or b"sip/2.0" in data:
            following = _NEXT_START.search(data, pos)
            if following is not None:
                stream.state = "sip"
                if stream.syn_seen:     # non-SIP bytes first: the cutter reports them
                    return data[pos:]
                return data[following.start() + 1:]   # the capture began inside a message
        if stream.state == "new" and other is not None and other.state == "sip":
            stream.state = "sip"
            stream.resync = not stream.syn_seen   # the message's start is not in the capture
            return data[pos:]
        stream.state = "other"
        return b""

    def _encrypted(self, stream: _Stream, frame: _Frame) -> Iterator[Item]:
        """A TLS stream: SIP on a SIP port, perhaps SIP on 443, else other traffic (HTTPS...)."""
        ports = {stream.src.port, stream.dst.port}
        if ports & self.tls_ports:
            yield self._tls_sip(frame, stream.src, stream.dst)
        elif 443 in ports:
            self.tls_443.append((frame, stream.src, stream.dst))
        else:
            yield self._other(frame, "TLS stream on a port SIP does not use (not SIP)",
                              f"TCP {_endpoint(stream.src)} -> {_endpoint(stream.dst)}")

    def _tls_sip(self, frame: _Frame, src: Peer, dst: Peer) -> Skipped:
        return Skipped(origin=self._origin(frame), reason=TLS_REASON,
                       context=f"TCP {_endpoint(src)} -> {_endpoint(dst)}")

    def _cut(self, conn: _Connection, stream: _Stream, final: bool) -> Iterator[Item]:
        """Give every whole message in the stream's buffer (every message at all if ``final``)."""
        if stream.state == "http":
            yield from self._cut_http(stream, final)
        if stream.state == "ws":
            yield from self._cut_ws(stream, final)
            return
        if stream.state != "sip":
            return
        while stream.buf:
            pos = _skip_space(stream.buf)
            if pos == len(stream.buf):
                stream.consume(pos)
                break
            piece = _next_piece(stream.buf, pos, final, stream=True)
            if piece is None:
                if len(stream.buf) > MAX_MESSAGE:
                    yield Skipped(origin=self._origin(stream.frame_at(len(stream.buf))),
                                  reason=f"over {MAX_MESSAGE >> 20} MB on a SIP TCP stream without a whole message",
                                  context=f"TCP {_endpoint(stream.src)} -> {_endpoint(stream.dst)}",
                                  excerpt=_excerpt(stream.buf, pos))
                    stream.clear()
                    stream.resync = True
                break
            if piece.kind == "message" or not stream.resync:
                yield self._piece_item(piece, stream.buf, stream.frame_at(piece.end), stream.src, stream.dst)
            if piece.kind == "message":
                stream.resync = False
            stream.consume(piece.end)

    def _cut_http(self, stream: _Stream, final: bool) -> Iterator[Item]:
        """An HTTP message at a stream's start: a WebSocket handshake turns the stream to frames."""
        end = _HEADER_END.search(stream.buf)
        if end is None:
            if final or len(stream.buf) > MAX_HTTP_HEAD:
                stream.state = "other"
                stream.clear()
            return
        head = bytes(stream.buf[:end.end()])
        if not _WS_UPGRADE.search(head):
            stream.state = "other"      # plain HTTP: not SIP
            stream.clear()
            return
        first = head.split(b"\r\n", 1)[0].decode("latin-1")
        protocol = _WS_PROTOCOL.search(head)
        named = protocol.group(1).decode("latin-1").strip() if protocol else "none named"
        yield self._other(stream.frame_at(end.end()), "WebSocket opening handshake (HTTP, not SIP)",
                          f"TCP {_endpoint(stream.src)} -> {_endpoint(stream.dst)}: {first}; subprotocol {named}")
        if protocol and _WS_SIP.search(protocol.group(1)):
            self.sip_flows.add(_flow(stream.src, stream.dst))    # RFC 7118 §4: subprotocol "sip"
        stream.consume(end.end())
        stream.state = "ws"

    def _cut_ws(self, stream: _Stream, final: bool) -> Iterator[Item]:
        """WebSocket frames (RFC 6455 §5): each whole message is read like a datagram (RFC 7118)."""
        while stream.buf:
            if stream.resync:
                found = _ws_find(stream.buf)
                if found is None:
                    stream.consume(max(0, len(stream.buf) - 16))   # keep a possible header's start
                    return
                stream.consume(found)
                stream.resync = False
                stream.ws_parts = None
            try:
                header = _ws_frame(stream.buf, 0)
            except ValueError as err:
                yield Skipped(origin=self._origin(stream.frame_at(len(stream.buf))),
                              reason=f"WebSocket frame that cannot be read: {err}",
                              context=f"TCP {_endpoint(stream.src)} -> {_endpoint(stream.dst)}; "
                                      "reading goes on at the next SIP message")
                stream.resync = True
                continue
            if header is None or header.end > len(stream.buf):
                if final and _SIP_MARK.search(stream.buf):
                    yield Skipped(origin=self._origin(stream.frame_at(len(stream.buf))),
                                  reason="WebSocket frame cut short: its TCP stream ends",
                                  context=f"TCP {_endpoint(stream.src)} -> {_endpoint(stream.dst)}",
                                  excerpt=_excerpt(stream.buf, 0))
                return
            payload = _unmask(bytes(stream.buf[header.start:header.end]), header.mask)
            frame = stream.frame_at(header.end)
            stream.consume(header.end)
            if header.opcode >= 8:
                continue       # close, ping, pong
            if header.opcode in (1, 2):
                stream.ws_parts = [payload]
                stream.ws_deflated = header.rsv1
            elif stream.ws_parts is not None:
                stream.ws_parts.append(payload)
            if not header.fin or stream.ws_parts is None:
                continue
            message = b"".join(stream.ws_parts)
            stream.ws_parts = None
            if stream.ws_deflated:
                try:
                    if stream.ws_inflate is None:
                        stream.ws_inflate = zlib.decompressobj(-15)
                    message = stream.ws_inflate.decompress(message + b"\x00\x00\xff\xff")
                except zlib.error as err:
                    yield Skipped(origin=self._origin(frame),
                                  reason="compressed WebSocket message (permessage-deflate) cannot be inflated",
                                  context=f"{err}; TCP {_endpoint(stream.src)} -> {_endpoint(stream.dst)}")
                    continue
            yield from self._datagram(frame, stream.src, stream.dst, message, "WebSocket")

    def _skip_holes(self, conn: _Connection, stream: _Stream, now: float | None) -> Iterator[Item]:
        """Go on past segments the capture lacks: report the hole, read what follows.

        ``now`` None: the stream is ending, so every hole is skipped; else only
        holes that have stayed open too long at that capture time.
        """
        while stream.pending and (now is None or stream.hole_is_stale(now)):
            read = stream.state in ("sip", "ws")
            if read:
                yield from self._cut(conn, stream, final=True)
            stream.clear()
            missing, frame = stream.skip_hole()
            if read:
                yield Skipped(origin=self._origin(frame),
                              reason="TCP segments missing from the capture",
                              context=f"{missing} byte(s) of TCP {_endpoint(stream.src)} -> "
                                      f"{_endpoint(stream.dst)} not captured")
                stream.resync = True
            elif stream.state == "http":
                stream.state = "other"
            yield from self._chunks(conn, stream, stream.drain())
            if conn.tls:
                return

    def _close(self, stream: _Stream, conn: _Connection) -> Iterator[Item]:
        if stream.pending:
            yield from self._skip_holes(conn, stream, None)
        yield from self._cut(conn, stream, final=True)
        stream.clear()

    def _close_connection(self, conn: _Connection) -> Iterator[Item]:
        for stream in list(conn.sides.values()):
            if not conn.tls:
                yield from self._close(stream, conn)

    @staticmethod
    def _forget(conn: _Connection) -> None:
        for stream in conn.sides.values():
            stream.clear()
            stream.pending.clear()
            stream.pending_bytes = 0

    # -- end of capture ------------------------------------------------------
    def finish(self) -> Iterator[Item]:
        """What the capture's end completes: streams flushed, incomplete datagrams reported."""
        for conn in list(self.connections.values()):
            yield from self._close_connection(conn)
        self.connections.clear()
        for entry in self.fragments.values():
            like = next((_SIP_LIKE.search(part) for part in entry.parts.values() if _SIP_LIKE.search(part)), None)
            if like is not None:
                yield Skipped(origin=self._origin(entry.first),
                              reason="IP fragments missing from the capture: SIP datagram not reassembled",
                              context=f"{sum(len(p) for p in entry.parts.values())} byte(s) of it captured",
                              excerpt=_excerpt(like.string, _text_start(like.string, like.start())))
        self.fragments.clear()
        for (src, dst), parts in self.sctp_parts.items():
            yield from self._lost_sctp(src, dst, list(parts.values()))
        self.sctp_parts.clear()
        for frame, src, dst in self.tls_443:
            server = dst if dst.port == 443 else src
            if server.host in self.sip_hosts:
                yield self._tls_sip(frame, src, dst)
            else:
                yield self._other(frame, "TLS stream to port 443 of a host not seen speaking SIP (HTTPS, not SIP)",
                                  f"TCP {_endpoint(src)} -> {_endpoint(dst)}")
        self.tls_443.clear()
