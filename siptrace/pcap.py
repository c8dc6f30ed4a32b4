"""SIP from packet captures (pcap and pcapng), read with dpkt.

What is read
    Both pcap byte orders with micro- or nanosecond time stamps, and pcapng;
    link types Ethernet (with 802.1Q / QinQ VLAN tags), Linux cooked (SLL and
    SLL2), BSD loopback and raw IP.  IPv4 and IPv6, fragmented datagrams
    reassembled, IP-in-IP tunnels (IPv4 or IPv6 inside either) unwrapped to
    the innermost addresses.  SIP is recognised by its content, on any port:
    a payload whose first line is ``METHOD uri SIP/2.0`` or ``SIP/2.0 NNN``.

    * UDP: one message per datagram, or several when a datagram holds more
      (cut at Content-Length; without one the body runs to the datagram's
      end, RFC 3261 §18.3).
    * TCP: each direction of each connection is put back in sequence order
      (retransmitted and overlapping segments are used once, segments that
      come early wait for the ones before them), then cut into messages at
      the blank line ending the headers plus Content-Length (0 when absent).
      A message may span segments, and a segment may hold several messages.

    Each message goes through `recordparse.parse_message_text` with the
    packet's time (UTC) and the sender and receiver as ``src`` / ``dst``.

What is skipped, and why
    * Packets that are not SIP (ARP, DNS, RTP, other TCP streams...) are not
      records: they are passed over and not counted.  So are keep-alives on
      SIP flows (blank lines, RFC 5626 CRLF pings, STUN).
    * A TLS stream (TCP to or from port 5061 whose data is not SIP text, or
      any TCP stream whose data starts like a TLS record) cannot be read: it
      gives one `Skipped` per connection, with its endpoints, whatever the
      port, since SIP over TLS also runs on 443.
    * Payload on a SIP flow that does not parse as a message gives a
      `Skipped` with the parser's reason, as does a message left incomplete
      when its TCP stream or the capture ends.
    * Bytes missing from a TCP stream (segments that are not in the capture)
      give a `Skipped` saying how many; reading goes on at the next message.
      Data before the first SIP start line of a stream whose start is not in
      the capture (the capture began mid-stream) is passed over.
    * A SIP datagram cut by the capture's snap length, or whose IP fragments
      are not all in the capture, gives a `Skipped`.
    * A capture that is cut short or damaged never raises: what was read is
      given, then one `Skipped` whose reason starts with
      ``"capture cut short: "``.

Origins
    ``Origin(file, line, offset)`` of every item: ``line`` is the 1-based
    frame number (numbered as Wireshark numbers them) and ``offset`` the byte
    offset in the file where that frame's record starts.  The frame is the
    one in which the item became complete: for a message spread over TCP
    segments or IP fragments, the one bringing its last byte, which is the
    frame Wireshark shows it on.  A TLS stream is placed at its first
    encrypted frame, a gap at the first frame after it, a cut-short capture
    at the frame that could not be read.

dpkt's pcapng reader reads every packet with the first interface's link
type and time resolution, and skips simple packet blocks (which are then not
numbered).
"""

from __future__ import annotations

import re
import socket
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, NamedTuple

import dpkt

from .model import Item, Origin, Peer, Skipped
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
_CARRIED = frozenset({4, 6, 17, 41})    # IP protocols read: IPv4 in IP, TCP, UDP, IPv6 in IP


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
        micros = int(round((ts - secs) * 1_000_000))
        return _EPOCH + timedelta(seconds=secs, microseconds=micros)
    except (OverflowError, ValueError, ArithmeticError):
        return None


def _error_text(err: Exception) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _open_reader(counted: _Counted, head: bytes):  # type: ignore[no-untyped-def]
    if head[:4] == _PCAPNG_MAGIC:
        return dpkt.pcapng.Reader(counted)
    return dpkt.pcap.Reader(counted)


def _raw_ip(buf: bytes) -> dpkt.Packet | None:
    version = buf[0] >> 4 if buf else 0
    if version == 4:
        return dpkt.ip.IP(buf)
    if version == 6:
        return dpkt.ip6.IP6(buf)
    return None


_LINK_TYPES: dict[int, Callable[[bytes], object]] = {
    0: dpkt.loopback.Loopback,        # DLT_NULL
    1: dpkt.ethernet.Ethernet,        # DLT_EN10MB
    12: _raw_ip, 14: _raw_ip, 101: _raw_ip, 228: _raw_ip, 229: _raw_ip,   # raw IP, IPv4, IPv6
    108: dpkt.loopback.Loopback,      # DLT_LOOP
    113: dpkt.sll.SLL,                # Linux cooked
    276: dpkt.sll2.SLL2,              # Linux cooked v2
}


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

    ``stats`` (a `reader.InputStats`) counts every item and the bytes read.
    """
    for item in _capture_items(stream, name, stats):
        stats.count(item)
        yield item


def _capture_items(stream: BinaryIO, name: str, stats) -> Iterator[Item]:  # type: ignore[no-untyped-def]
    head = stream.read(4)
    counted = _Counted(stream, head)
    opened = _open(counted, head, name)
    if isinstance(opened, Skipped):
        stats.bytes = counted.position
        yield opened
        return
    reader, decode = opened
    capture = _Capture(name, stats)
    frames = _Frames(reader, counted, name)
    for frame, buf in frames:
        stats.bytes = counted.position
        yield from capture.frame(frame, decode, buf)
    stats.bytes = counted.position
    yield from capture.finish()
    if frames.cut is not None:
        yield frames.cut


def _open(counted: _Counted, head: bytes, name: str):  # type: ignore[no-untyped-def]
    """(dpkt reader, link-layer decoder), or the `Skipped` saying why there is none."""
    if not is_capture(head):
        return Skipped(origin=Origin(name, 1, 0), reason="not a pcap or pcapng capture",
                       context=f"first bytes {head.hex(' ')}")
    try:
        reader = _open_reader(counted, head)
    except Exception as err:  # whatever the damage, the header is unreadable
        return Skipped(origin=Origin(name, 1, 0),
                       reason=f"{CUT_SHORT}the file header cannot be read ({_error_text(err)})")
    linktype = reader.datalink() & 0xFFFF
    decode = _LINK_TYPES.get(linktype)
    if decode is None:
        return Skipped(origin=Origin(name, 1, 0), reason=f"capture link type {linktype} is not supported",
                       context="readable: Ethernet, Linux cooked (SLL, SLL2), loopback, raw IP")
    return reader, decode


class _Frames:
    """The frames of an opened capture, numbered and placed; ``cut`` tells if it ended early."""

    def __init__(self, reader, counted: _Counted, name: str) -> None:  # type: ignore[no-untyped-def]
        self._reader = reader
        self._counted = counted
        self._name = name
        self.cut: Skipped | None = None

    def __iter__(self) -> Iterator[tuple[_Frame, bytes]]:
        frames = iter(self._reader)
        reads = self._counted.reads
        number = 0
        while True:
            reads.clear()
            try:
                ts, buf = next(frames)
            except StopIteration:
                if _end_problem(reads):
                    self.cut = self._cut(number + 1, reads[0][0], f"the file ends inside frame {number + 1}")
                return
            except Exception as err:  # damaged record: stop here, keep what was read
                where = reads[0][0] if reads else self._counted.position
                self.cut = self._cut(number + 1, where, f"frame {number + 1} cannot be read ({_error_text(err)})")
                return
            number += 1
            # a record is two reads (pcap: header, data; pcapng: block type and length, the rest)
            offset = reads[-2][0] if len(reads) >= 2 else reads[0][0]
            if _frame_problem(reads):
                self.cut = self._cut(number, offset, f"the file ends inside frame {number}")
                return
            yield _Frame(number, offset, float(ts), _when(ts)), buf

    def _cut(self, number: int, offset: int, what: str) -> Skipped:
        return Skipped(origin=Origin(self._name, number, offset), reason=CUT_SHORT + what,
                       context=f"{number - 1} whole frame(s) read before it")


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


def _raw(obj: object) -> bytes:
    return obj if isinstance(obj, bytes) else bytes(obj)  # type: ignore[arg-type]


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
    state: str = "new"          # new | sip | other
    base: int | None = None     # sequence number of the stream's first byte
    syn_seen: bool = False
    next: int = 0               # offset (from base) of the next byte expected
    pending: dict[int, tuple[bytes, _Frame]] = field(default_factory=dict)
    pending_bytes: int = 0
    pending_since: float | None = None
    buf: bytearray = field(default_factory=bytearray)
    buf_end: int = 0            # stream offset just past the buffer
    marks: deque[tuple[int, _Frame]] = field(default_factory=deque)   # (end offset, frame) per chunk
    resync: bool = False        # pass over non-SIP bytes until the next start line

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
    """State across frames: IP reassembly, TCP connections, flows known to carry SIP."""

    def __init__(self, name: str, stats) -> None:  # type: ignore[no-untyped-def]
        self.name = name
        self.stats = stats
        self.fragments: dict[tuple, _Fragments] = {}
        self.connections: dict[tuple[Peer, Peer], _Connection] = {}
        self.sip_flows: set[tuple[Peer, Peer]] = set()

    # -- frames --------------------------------------------------------------
    def frame(self, frame: _Frame, decode: Callable[[bytes], object], buf: bytes) -> Iterator[Item]:
        try:
            segment = self._segment(decode(buf), frame)
        except Exception:  # dpkt raises many kinds (AttributeError on a broken IPv6 chain...)
            return  # a damaged frame below SIP: nothing readable in it, and no SIP record lost
        if segment is None:
            return
        try:
            if segment.proto == 17:
                yield from self._udp(segment)
            else:
                yield from self._tcp(segment)
        except Exception as err:  # a bug of ours must cost one frame, not the capture
            yield Skipped(origin=self._origin(frame), error=True,
                          reason=f"internal error while reading the frame: {_error_text(err)}")

    def _segment(self, link: object, frame: _Frame) -> _Segment | None:
        net = _network(link)
        for _ in range(4):   # tunnels: IP in IP
            if net is None:
                return None
            found = self._ip_payload(net, frame)
            if found is None:
                return None
            proto, src, dst, payload = found
            if proto == 4 or proto == 41:
                net = dpkt.ip.IP(payload) if proto == 4 else dpkt.ip6.IP6(payload)
                continue
            if proto == 17:
                udp = dpkt.udp.UDP(payload)
                data = _raw(udp.data)
                wire = udp.ulen - 8 if udp.ulen >= 8 else len(data)
                return _Segment(frame, 17, Peer(src, udp.sport), Peer(dst, udp.dport), data[:wire], wire)
            if proto == 6:
                tcp = dpkt.tcp.TCP(payload)
                data = _raw(tcp.data)
                return _Segment(frame, 6, Peer(src, tcp.sport), Peer(dst, tcp.dport), data, len(data),
                                seq=tcp.seq, flags=tcp.flags)
            return None
        return None

    def _ip_payload(self, net: dpkt.Packet, frame: _Frame) -> tuple[int, str, str, bytes] | None:
        """(protocol, source, destination, payload) of an IP packet, fragments put together.

        None for protocols other than UDP, TCP and IP-in-IP, and for a fragment
        whose datagram is not complete yet.
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
            return None
        payload = _raw(net.data)
        if fragmented:
            whole = self._reassemble(key, frame, offset, more, payload)
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
        return parse_message_text(self._decode(data), self._origin(frame), frame.when, src=src, dst=dst)

    def _piece_item(self, piece: _Piece, buf: bytes | bytearray, frame: _Frame, src: Peer, dst: Peer) -> Item:
        if piece.kind == "message":
            return self._message(buf[piece.start:piece.end], frame, src, dst)
        return self._message(buf[piece.start:min(piece.end, piece.start + JUNK_PARSE)], frame, src, dst)

    # -- UDP -----------------------------------------------------------------
    def _udp(self, seg: _Segment) -> Iterator[Item]:
        data = seg.data
        pos = _skip_space(data)
        if pos == len(data):
            return   # empty, or a keep-alive
        flow = _flow(seg.src, seg.dst)
        if not _START.match(data, pos):
            if flow in self.sip_flows and not _is_stun(data):
                yield self._message(data[pos:pos + JUNK_PARSE], seg.frame, seg.src, seg.dst)
            return
        self.sip_flows.add(flow)
        if seg.wire_len > len(data):
            yield Skipped(origin=self._origin(seg.frame),
                          reason="SIP datagram cut by the capture's snap length",
                          context=f"{len(data)} of {seg.wire_len} bytes captured, "
                                  f"{_endpoint(seg.src)} -> {_endpoint(seg.dst)}",
                          excerpt=data[pos:pos + 200].decode("utf-8", errors="replace"))
            return
        while pos < len(data):
            piece = _next_piece(data, pos, final=True, stream=False)
            assert piece is not None
            yield self._piece_item(piece, data, seg.frame, seg.src, seg.dst)
            pos = _skip_space(data, piece.end)

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
            if stream.state != "sip":
                data = self._classify(conn, stream, data, frame)
                if conn.tls:
                    yield Skipped(origin=self._origin(frame), reason=TLS_REASON,
                                  context=f"TCP {_endpoint(stream.src)} -> {_endpoint(stream.dst)}")
                    self._forget(conn)
                    return
                if not data:
                    continue
            stream.append(data, end, frame)
        yield from self._cut(stream, final=False)

    def _classify(self, conn: _Connection, stream: _Stream, data: bytes, frame: _Frame) -> bytes:
        """Decide what a stream carries from its data; the bytes to buffer if it is SIP."""
        pos = _skip_space(data)
        if pos == len(data):
            return b""
        if _START.match(data, pos):
            stream.state = "sip"
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
        other = conn.other(stream)
        if stream.state == "new" and other is not None and other.state == "sip":
            stream.state = "sip"
            stream.resync = not stream.syn_seen   # the message's start is not in the capture
            return data[pos:]
        stream.state = "other"
        return b""

    def _cut(self, stream: _Stream, final: bool) -> Iterator[Item]:
        """Give every whole message in the stream's buffer (every message at all if ``final``)."""
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
                                  excerpt=bytes(stream.buf[pos:pos + 200]).decode("utf-8", errors="replace"))
                    stream.clear()
                    stream.resync = True
                break
            if piece.kind == "message" or not stream.resync:
                yield self._piece_item(piece, stream.buf, stream.frame_at(piece.end), stream.src, stream.dst)
            if piece.kind == "message":
                stream.resync = False
            stream.consume(piece.end)

    def _skip_holes(self, conn: _Connection, stream: _Stream, now: float | None) -> Iterator[Item]:
        """Go on past segments the capture lacks: report the hole, read what follows.

        ``now`` None: the stream is ending, so every hole is skipped; else only
        holes that have stayed open too long at that capture time.
        """
        while stream.pending and (now is None or stream.hole_is_stale(now)):
            if stream.state == "sip":
                yield from self._cut(stream, final=True)
            stream.clear()
            missing, frame = stream.skip_hole()
            if stream.state == "sip":
                yield Skipped(origin=self._origin(frame),
                              reason="TCP segments missing from the capture",
                              context=f"{missing} byte(s) of TCP {_endpoint(stream.src)} -> "
                                      f"{_endpoint(stream.dst)} not captured")
                stream.resync = True
            yield from self._chunks(conn, stream, stream.drain())
            if conn.tls:
                return

    def _close(self, stream: _Stream, conn: _Connection) -> Iterator[Item]:
        if stream.pending:
            yield from self._skip_holes(conn, stream, None)
        if stream.state == "sip":
            yield from self._cut(stream, final=True)
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
        for key, entry in self.fragments.items():
            first = entry.parts.get(0, b"")
            if key[-1] == 17 and len(first) > 8 and _START.match(first, _skip_space(first, 8)):
                yield Skipped(origin=self._origin(entry.first),
                              reason="IP fragments missing from the capture: SIP datagram not reassembled",
                              context=f"{sum(len(p) for p in entry.parts.values())} byte(s) of it captured",
                              excerpt=first[8:208].decode("utf-8", errors="replace"))
        self.fragments.clear()

