"""The ladder (sequence diagram) of one call: hosts as columns, one arrow per hop.

`ladder_figure` draws it with matplotlib (sngrep / Snooper style), `ladder_text`
as fixed-width text for a terminal; both read a `Timeline` and never change it.

Theory of operation:

* Hops.  Every sighting of a message names the two ends of one hop.  A server
  trace names the logging server (``[fe01\\fe01]``: the machine before the
  backslash; ``[0]`` names none) and the peer; ``incoming`` is peer → server,
  ``outgoing`` server → peer.  A capture or client log names ``src`` → ``dst``.
  A message relayed by a proxy has one hop per leg; sightings of the same leg
  from both ends (the Edge's outgoing = the front end's incoming) collapse
  into one arrow.
* Hosts.  The same machine is named several ways: ``fe01`` in its own
  records, ``fe01.contoso.com`` as the Edge's peer, ``10.0.1.11`` in its Via.
  `HostMap` joins names with a union-find over what the messages prove:

  - strong: a machine name and the one FQDN whose first label it is; two
    sightings of one leg (same message, same Via stack, sent on one side and
    received on the other, in two files): their senders are one host and so
    are their receivers;
  - weak (joins an address to a named host, never two named hosts): a
    request's sender and its top Via (sent-by and ``received``, RFC 3261
    §18.2.1), a response's receiver and its top Via, the sender of a request
    and its top Record-Route, a user agent (one Via) and its Contact when that
    names a machine (no user part: a GRUU names the domain);
  - named by a capture (an address and one name, only when every such
    evidence gives that address the same name): the sender of a UAS's answer
    (a 101-299 to INVITE with a To tag, no Record-Route, the most Vias of
    its message's sightings) and its Contact when that names a machine; the
    receiver of a request in a dialog without Route and its Request-URI host when
    that names a machine (RFC 3261 §8.1.2: such a request goes to the
    Request-URI's host, as an ACK or BYE goes to the Contact it was given);
    a name two addresses claim, or an address two names claim, joins nothing.

  Two servers that wrote their own logs are never joined (fe01 and fe02 of
  one pool), and two FQDNs never by weak evidence: the classic UM
  failure is exactly an ACK sent to ``mail.contoso.com`` instead of
  ``um01.contoso.com``, and the ladder must show that as a column of its own.
* Order.  Hops are ordered by their clock-corrected time; the legs of one
  message are first put in causal order (a leg that starts where another ends
  comes after it), since clock offsets between files are only estimates.
"""

from __future__ import annotations

import difflib
import functools
import textwrap
import io
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, TYPE_CHECKING

from ..model.context import is_ip
from ..correlate.calls import Call, Message, corrected_time
from ..model.errors import SiptraceError
from ..rules.findings import Finding, Severity
from ..model.sip import DiagRecord, Direction, Origin, SipMessage
from ..model.words import plural

if TYPE_CHECKING:  # matplotlib is imported only when a figure is drawn
    from matplotlib.figure import Figure

    from ..correlate.timeline import Timeline


__all__ = ["HostMap", "Hop", "Row", "Ladder", "UnknownCall", "build_ladder", "call_or_error", "hosts_of",
           "ladder_figure", "ladder_text", "new_figure", "SEVERITY_COLOURS"]

SEVERITY_COLOURS: dict[Severity, str] = {
    Severity.ERROR: "#c62828", Severity.WARNING: "#e65100", Severity.INFO: "#1565c0",
}
PLAIN = "#263238"
RETRANSMISSION = "#78909c"
_UNKNOWN = "unknown"


class UnknownCall(SiptraceError, KeyError):
    """No call with this Call-ID in the trace (a `KeyError` too, for notebook code)."""


# ---------------------------------------------------------------------------
# Host names
# ---------------------------------------------------------------------------

def _norm(host: str | None) -> str | None:
    if not host:
        return None
    host = host.strip().strip("[]").rstrip(".").lower()
    return host or None


def _is_fqdn(name: str) -> bool:
    return "." in name and not is_ip(name) and not name.startswith("\x00")


def _is_named(name: str) -> bool:
    """A machine name or FQDN (not an address, not a placeholder)."""
    return not is_ip(name) and not name.startswith("\x00")


def _server(sip: SipMessage | DiagRecord) -> str:
    """The logging server's node: its machine name, or a per-file placeholder when unknown."""
    record = sip.record
    machine = (record.machine or "").strip() if record is not None else ""
    name = _norm(machine.split("\\", 1)[0]) if machine else None
    if name and not name.isdigit():   # "[0]": a processor number (OCS 2007 R2), not a machine
        return name
    return f"\x00server:{sip.origin.file}"


def _sender_receiver(sip: SipMessage) -> tuple[str, str]:
    """The two ends of the hop this sighting saw, as raw node names."""
    if sip.src is not None and sip.dst is not None:
        return _norm(sip.src.host) or _UNKNOWN, _norm(sip.dst.host) or _UNKNOWN
    direction = sip.direction.direction if sip.direction else None
    if sip.record is not None and direction is not None:
        server = _server(sip)
        peer = _norm(sip.peer.host) if sip.peer else None
        if peer is None:
            peer = _guess_peer(sip, direction) or _UNKNOWN
        return (peer, server) if direction is Direction.INCOMING else (server, peer)
    # bare SIP text: only the message itself says where it went
    via = sip.top_via
    via_host = _norm(via.received or via.host) if via else None
    if sip.is_request:
        ruri = sip.ruri
        return via_host or _UNKNOWN, _norm(ruri.host if ruri else None) or _UNKNOWN
    return _UNKNOWN, via_host or _UNKNOWN


def _guess_peer(sip: SipMessage, direction: Direction) -> str | None:
    via = sip.top_via
    if sip.is_request and direction is Direction.INCOMING and via is not None:
        return _norm(via.received or via.host)
    if sip.is_request and direction is Direction.OUTGOING:
        routes = sip.routes
        uri = routes[0].uri if routes else sip.ruri
        return _norm(uri.host) if uri else None
    if sip.is_response and direction is Direction.OUTGOING and via is not None:
        return _norm(via.received or via.host)
    return None


def _side(sip: SipMessage) -> str:
    """"sent", "received" or "wire" (a capture sees the hop itself)."""
    if sip.record is None and sip.direction is None:
        return "wire"
    direction = sip.direction.direction if sip.direction else None
    if direction is Direction.OUTGOING:
        return "sent"
    if direction is Direction.INCOMING:
        return "received"
    return "wire"


def _leg_key(sip: SipMessage) -> tuple:
    vias = sip.vias
    return (len(vias), vias[0].branch if vias else None, vias[0].host.lower() if vias else None)


@dataclass
class HostMap:
    """Names of hosts joined into one host each (union-find), with a label per host."""

    parent: dict[str, str] = field(default_factory=dict)
    groups: dict[str, set[str]] = field(default_factory=dict)   # root → every name of the host
    apart: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # two ends of a hop
    seen_as_end: Counter[str] = field(default_factory=Counter)   # named as a hop's end
    machines: set[str] = field(default_factory=set)             # logging servers' own names
    files: dict[str, str] = field(default_factory=dict)         # placeholder → file

    # -- union-find ------------------------------------------------------------
    def add(self, name: str) -> str:
        if name not in self.parent:
            self.parent[name] = name
            self.groups[name] = {name}
        return name

    def find(self, name: str) -> str:
        self.add(name)
        root = name
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[name] != root:
            self.parent[name], name = root, self.parent[name]
        return root

    def members(self, name: str) -> set[str]:
        return self.groups[self.find(name)]

    def join(self, a: str | None, b: str | None, strong: bool = False) -> bool:
        if not a or not b or _UNKNOWN in (a, b):
            return False
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        left, right = self.groups[ra], self.groups[rb]
        if not strong and any(map(_is_named, left)) and any(map(_is_named, right)):
            return False   # weak evidence never joins two named hosts
        if any(n in self.machines for n in left) and any(n in self.machines for n in right):
            return False   # two servers that wrote their own logs are two hosts (fe01, fe02 of one pool)
        if any(not right.isdisjoint(self.apart[n]) for n in left if n in self.apart):
            return False   # a message went from one to the other: two hosts
        self.parent[rb] = ra
        self.groups[ra] = left | right
        del self.groups[rb]
        return True

    # -- evidence --------------------------------------------------------------
    def learn(self, messages: Iterable[Message], diagnostics: Iterable[DiagRecord] = ()) -> HostMap:
        """Join the names these messages prove to be one host (see the module docstring)."""
        messages = list(messages)
        diagnostics = list(diagnostics)
        self.machines.update(_server(s) for m in messages for s in m.sightings
                             if s.record is not None and s.direction is not None)
        self.machines.update(_server(d) for d in diagnostics)
        ends = [[(sip, *_sender_receiver(sip)) for sip in m.sightings] for m in messages]
        for seen in ends:
            for _sip, src, dst in seen:
                self.seen_as_end.update((self.add(src), self.add(dst)))
                if src != dst:
                    self.apart[src].add(dst)
                    self.apart[dst].add(src)
        weak: list[tuple[str, str]] = []
        for seen in ends:
            legs: dict[tuple, list[tuple[SipMessage, str, str]]] = defaultdict(list)
            for sip, src, dst in seen:
                legs[_leg_key(sip)].append((sip, src, dst))
                weak.extend(_weak_evidence(sip, src, dst))
            for leg in legs.values():
                self._same_leg(leg)
        for name in [*self.machines, *(n for pair in weak for n in pair)]:
            self.add(name)
            if name.startswith("\x00server:"):
                self.files[name] = name.split(":", 1)[1]
        self._machine_names()
        for a, b in weak:
            self.join(a, b)
        self._named_by_capture(messages)
        return self

    def _named_by_capture(self, messages: list[Message]) -> None:
        """Join an address to the one machine name a capture gives it, if it gives only one."""
        names: dict[str, set[str]] = defaultdict(set)
        addresses: dict[str, set[str]] = defaultdict(set)
        for m in messages:
            most_vias = max((len(s.vias) for s in m.sightings), default=0)
            for sip in m.sightings:
                for address, name in _capture_naming(sip, most_vias):
                    names[address].add(name)
                    addresses[name].add(address)
        for address, named in names.items():
            name = min(named)
            if len({self.find(n) for n in named}) != 1:
                continue   # two names for one address: which one is it?
            if len({self.find(a) for a in addresses[name]}) != 1:
                continue   # one name for two addresses: the ACK of the UM failure went elsewhere
            self.join(address, name)

    def _same_leg(self, seen: list[tuple[SipMessage, str, str]]) -> None:
        for i, (a, a_src, a_dst) in enumerate(seen):
            for b, b_src, b_dst in seen[i + 1:]:
                if a.origin.file == b.origin.file:
                    continue   # in and out on one server are two legs, whatever the Via says
                sides = {_side(a), _side(b)}
                if sides == {"sent", "received"} or "wire" in sides:
                    self.join(a_src, b_src, strong=True)
                    self.join(a_dst, b_dst, strong=True)

    def _machine_names(self) -> None:
        fqdns = [n for n in self.parent if _is_fqdn(n)]
        for machine in list(self.machines):
            if machine.startswith("\x00") or "." in machine:
                continue
            matches = {f for f in fqdns if f.split(".", 1)[0] == machine}
            if len(matches) == 1:
                self.join(machine, matches.pop(), strong=True)

    # -- labels ----------------------------------------------------------------
    def label(self, name: str) -> str:
        """The column label: an FQDN if the host has one, else a machine name, else an address."""
        names = self.members(name)
        machines = {n for n in names if n in self.machines}
        fqdns = [n for n in names if _is_fqdn(n)]
        if fqdns:
            by_machine = [f for f in fqdns if f.split(".", 1)[0] in machines]
            pool = by_machine or fqdns
            return min(pool, key=lambda f: (-self.seen_as_end[f], f))
        named = [n for n in names if _is_named(n)]
        if named:
            return min(named, key=lambda n: (-self.seen_as_end[n], n))
        addresses = [n for n in names if is_ip(n)]
        if addresses:
            return min(addresses, key=lambda n: (-self.seen_as_end[n], n))
        if _UNKNOWN in names:
            return _UNKNOWN
        return "server"

    def details(self, name: str) -> list[str]:
        """The host's other names, addresses first (what goes under the label)."""
        label = self.label(name)
        short = label.split(".", 1)[0]
        out = [n for n in self.members(name) if n != label and not n.startswith("\x00") and n != _UNKNOWN
               and not (n in self.machines and n == short)]
        out.sort(key=lambda n: (not is_ip(n), -self.seen_as_end[n], n))
        if label == "server":
            out += [self.files[n].rsplit("/", 1)[-1] for n in self.members(name) if n in self.files]
        return out

    def is_logger(self, name: str) -> bool:
        return any(n in self.machines for n in self.members(name))


def _weak_evidence(sip: SipMessage, src: str, dst: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    via = sip.top_via
    vias = sip.vias
    if via is not None:
        # RFC 3261 §18.2.1: the top Via is the sender's; "received" its address as seen
        end = src if sip.is_request else dst
        out.append((end, _norm(via.host) or ""))
        if via.received:
            out.append((end, _norm(via.received) or ""))
    if sip.is_request:
        routes = sip.record_routes
        if routes and routes[0].host:
            out.append((src, _norm(routes[0].host) or ""))
        if len(vias) == 1:
            for contact in sip.contacts:
                uri = contact.uri
                if uri is not None and uri.host and (uri.user is None or is_ip(uri.host)):
                    out.append((src, _norm(uri.host) or ""))
    return [(a, b) for a, b in out if a and b and a != b]


def _machine_host(uri) -> str | None:  # type: ignore[no-untyped-def]
    """The host a URI names when it names a machine: no user part, not a GRUU, not an address."""
    if uri is None or uri.user is not None or not uri.host:
        return None
    if uri.param("gr") is not None or uri.param("maddr") is not None:
        return None
    host = _norm(uri.host)
    return host if host and not is_ip(host) else None


def _capture_naming(sip: SipMessage, most_vias: int) -> list[tuple[str, str]]:
    """(address, name) pairs a capture's sighting proves: who answered, where a request went."""
    if sip.src is None or sip.dst is None or sip.record is not None:
        return []
    src, dst = _norm(sip.src.host), _norm(sip.dst.host)
    out: list[tuple[str | None, str | None]] = []
    if sip.is_request:
        # in a dialog (To tag) the Request-URI is the remote target, a Contact
        if not sip.routes and sip.to_tag and sip.method != "REGISTER":
            out.append((dst, _machine_host(sip.ruri)))
    elif (sip.cseq_method == "INVITE" and sip.status is not None and 100 < sip.status < 300
          and sip.to_tag and not sip.record_routes and len(sip.vias) == most_vias
          and len(sip.contacts) == 1):
        out.append((src, _machine_host(sip.contacts[0].uri)))
    return [(a, n) for a, n in out if a and n and is_ip(a)]


# ---------------------------------------------------------------------------
# The ladder's content
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Hop:
    """One arrow: one leg of one message, with every sighting of that leg."""

    message: Message
    src: str                       # host roots (HostMap.find)
    dst: str
    sightings: tuple[SipMessage, ...]
    time: datetime | None          # earliest sighting of the leg, clock offsets applied

    @property
    def origins(self) -> tuple[Origin, ...]:
        return tuple(s.origin for s in self.sightings)

    @property
    def has_sdp(self) -> bool:
        return any(s.has_sdp for s in self.sightings)


@dataclass(frozen=True)
class Row:
    """One line of the ladder: an arrow (a `Hop`) or a note (a diagnostic record)."""

    time: datetime | None
    label: str
    hop: Hop | None = None
    note: DiagRecord | None = None
    host: str | None = None                     # for a note: the host it happened on
    findings: tuple[Finding, ...] = ()

    @property
    def retransmission(self) -> bool:
        return self.hop is not None and self.hop.message.is_retransmission

    @property
    def severity(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    @property
    def rules(self) -> list[str]:
        ordered = sorted(self.findings, key=lambda f: -f.severity.rank)
        return list(dict.fromkeys(f.rule for f in ordered))

    @property
    def mark(self) -> str:
        return " ".join(f"*{r}" for r in self.rules)


@dataclass
class Ladder:
    """Everything both views draw: columns, rows, and the call's start time."""

    call: Call
    hosts: HostMap
    columns: list[str]            # host roots, left to right
    rows: list[Row]
    start: datetime | None

    @property
    def hops(self) -> list[Hop]:
        return [r.hop for r in self.rows if r.hop is not None]

    def column(self, host: str) -> int:
        return self.columns.index(self.hosts.find(host))

    def labels(self) -> list[str]:
        return [self.hosts.label(c) for c in self.columns]

    def relative(self, when: datetime | None) -> str:
        if when is None or self.start is None:
            return ""
        return f"+{(when - self.start).total_seconds():.3f} s"


def call_or_error(timeline: Timeline, call_id: str) -> Call:
    """The call with this Call-ID, or `UnknownCall` saying which Call-ID was meant."""
    call = timeline.call(call_id)
    if call is not None:
        return call
    ids = [c.call_id for c in timeline.calls]
    close = difflib.get_close_matches(call_id, ids, n=1, cutoff=0.5)
    if not close:
        close = [i for i in ids if i.startswith(call_id) or call_id in i][:1]
    hint = (f"Did you mean {close[0]}?" if close else
            f"The trace has {plural(len(ids), 'call')}; 'siptrace messages' lists their Call-IDs" if ids else
            "The trace has no SIP messages")
    raise UnknownCall(f"no call with Call-ID {call_id!r}", hint=hint)


def _hops_of(call: Call, hosts: HostMap, offsets: dict[str, float]) -> list[tuple[datetime | None, int, int, Hop]]:
    keyed: list[tuple[datetime | None, int, int, Hop]] = []
    for order, message in enumerate(call.messages):
        legs: dict[tuple[str, str], list[SipMessage]] = {}
        for sip in message.sightings:
            src, dst = _sender_receiver(sip)
            legs.setdefault((hosts.find(src), hosts.find(dst)), []).append(sip)
        hops = []
        for (src, dst), seen in legs.items():
            times = [t for t in (corrected_time(s, offsets) for s in seen) if t is not None]
            hops.append(Hop(message, src, dst, tuple(seen), min(times) if times else message.time))
        previous: datetime | None = None
        for position, hop in enumerate(_causal(hops)):
            when = hop.time
            if when is not None and previous is not None and when < previous:
                when = previous   # an estimated clock offset must not put a leg before its cause
            previous = when if when is not None else previous
            keyed.append((when, order, position, hop))
    keyed.sort(key=lambda k: (k[0] is None, k[0] or datetime.min, k[1], k[2]))
    return keyed


def _causal(hops: list[Hop]) -> list[Hop]:
    """The legs of one message in the order it travelled them."""
    left = sorted(hops, key=lambda h: (h.time is None, h.time or datetime.min))
    out: list[Hop] = []
    while left:
        ends = {h.dst for h in left}
        first = next((h for h in left if h.src not in ends or h.src == h.dst), left[0])
        out.append(first)
        left.remove(first)
    return out


def message_label(message: Message, hop: Hop | None = None, wrong: dict[str, str] | None = None) -> str:
    """``INVITE → um01.contoso.com · CSeq 1 · SDP`` / ``200 OK · Contact mail.contoso.com ≠ um01 · CSeq 1
    INVITE`` / ``… · (retransmission)``.

    The decisive values come right after the method or status: where a request
    is sent (its Request-URI host) and where the answer of an INVITE asks the
    next requests to go (its Contact host, RFC 3261 §12.1.2).  ``wrong`` maps a
    host the findings blame to the host it should have been (``≠ um01``).
    """
    sip = message.sip
    parts = [sip.summary]
    target = _target_of(hop.sightings[0] if hop is not None and hop.sightings else sip)
    if target:
        host, what = target
        blame = (wrong or {}).get(host)
        said = f"{what}{host}" + (f" ≠ {blame.split('.', 1)[0]}" if blame else "")
        if what.startswith("→"):
            parts[0] += " " + said
        else:
            parts.append(said)
    cseq = sip.cseq
    if cseq is not None:
        same = sip.is_request and cseq.method == sip.method
        parts.append(f"CSeq {cseq.number}" + ("" if same else f" {cseq.method}"))
    if hop.has_sdp if hop is not None else sip.has_sdp:
        parts.append("SDP")
    if message.is_retransmission:
        parts.append("(retransmission)")
    return " · ".join(parts)


def _target_of(sip: SipMessage) -> tuple[str, str] | None:
    """(host, how it is said) of the value that decides where the dialog goes next, if any."""
    if sip.is_request:
        uri = sip.ruri
        if uri is None or not uri.host or uri.user is not None and not _is_named_server(uri.host, sip):
            return None
        if uri.param("gruu") is not None or uri.param("opaque") is not None:
            return None         # a GRUU names a user's endpoint, not a server
        return _norm(uri.host) or "", "→ "
    status = sip.status or 0
    if sip.cseq_method == "INVITE" and 100 < status < 300 and sip.contacts:
        contact = sip.contacts[0].uri
        if contact is not None and contact.host and contact.param("gruu") is None and contact.param("opaque") is None:
            return _norm(contact.host) or "", "Contact "
    return None


def _is_named_server(host: str | None, sip: SipMessage) -> bool:
    """A Request-URI host that names a server, not the SIP domain of the call (user@contoso.com)."""
    if not host:
        return False
    domains = {(a.uri.host or "").lower() for a in (sip.from_, sip.to) if a is not None and a.uri is not None}
    return host.lower() not in domains


def _wrong_hosts(findings: Sequence[Finding]) -> dict[str, str]:
    """Host → the host it should have been, from findings that say so (the UM's Contact and ACK
    host against the UM server's FQDN)."""
    out: dict[str, str] = {}
    for f in findings:
        right = f.fact("um_fqdn")
        if not right:
            continue
        for name in ("contact_host", "ack_host", "request_uri_host"):
            host = f.fact(name)
            if host and host != right:
                out[str(host).lower()] = str(right)
    return out


def _note_label(diag: DiagRecord) -> str:
    record = diag.record
    head = f"{record.level}({record.flag})"
    code = f" {diag.result_code}" if diag.result_code else ""
    text = f": {diag.text}" if diag.text else ""
    return f"{head}{code}{text}"


def build_ladder(timeline: Timeline, call_id: str, findings: Sequence[Finding] = (),
                 hosts: HostMap | None = None) -> Ladder:
    """Columns and rows of one call's ladder (what `ladder_figure` and `ladder_text` draw).

    ``hosts`` is learnt from the call's own messages unless given (a map
    learnt from the whole timeline names hosts alike in every call).
    """
    call = call_or_error(timeline, call_id)
    if hosts is None:
        hosts = HostMap().learn(call.messages, call.diagnostics)
    wrong = _wrong_hosts(findings)
    cited: dict[Origin, list[Finding]] = defaultdict(list)
    for finding in findings:
        for evidence in finding.evidence:
            if not any(f is finding for f in cited[evidence.origin]):
                cited[evidence.origin].append(finding)
    rows: list[tuple[tuple, Row]] = []
    for when, order, position, hop in _hops_of(call, hosts, timeline.offsets):
        found = tuple({id(f): f for o in hop.origins for f in cited.get(o, ())}.values())   # facts may not hash
        row = Row(hop.time, message_label(hop.message, hop, wrong), hop=hop, findings=found)
        rows.append(((when is None, when or datetime.min, order, position), row))
    for diag in call.diagnostics:
        when = corrected_time(diag, timeline.offsets)  # type: ignore[arg-type]
        host = hosts.find(_server(diag))
        row = Row(when, _note_label(diag), note=diag, host=host, findings=tuple(cited.get(diag.origin, ())))
        rows.append(((when is None, when or datetime.min, len(call.messages), 0), row))
    rows.sort(key=lambda r: r[0])
    ordered = [r for _, r in rows]
    columns: list[str] = []
    for row in ordered:
        ends = (row.hop.src, row.hop.dst) if row.hop is not None else (row.host,)
        for end in ends:
            if end is not None and end not in columns:
                columns.append(end)
    starts = [m.time for m in call.messages if m.time is not None]
    return Ladder(call, hosts, columns, ordered, min(starts) if starts else None)


GAP_S = 5.0            # a quiet stretch this long between two rows is drawn as a break with its length
HEADER_EVERY = 40      # rows between two repetitions of the host names on a tall ladder
LEGEND = ("*rule: a finding cites this message ('siptrace rules RULE' explains it) · dashed: retransmission · "
          "!: the server's diagnostic record · ⋯ 30.1 s ⋯: time without messages · ≠ um01: not the host it should be")


def breaks(ladder: Ladder) -> dict[int, list[str]]:
    """What goes before row i: ``"gap:<text>"`` for a quiet stretch, ``"hosts"`` to repeat the host names."""
    out: dict[int, list[str]] = defaultdict(list)
    previous: datetime | None = None
    for i, row in enumerate(ladder.rows):
        if i and i % HEADER_EVERY == 0:
            out[i].append("hosts")
        if previous is not None and row.time is not None:
            quiet = (row.time - previous).total_seconds()
            if quiet >= GAP_S:
                out[i].append(f"gap:⋯ {_duration(quiet)} ⋯")
        previous = row.time if row.time is not None else previous
    return out


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def hosts_of(timeline: Timeline, call: Call) -> list[str]:
    """The ladder's column labels for this call, left to right (order of first appearance)."""
    return build_ladder(timeline, call.call_id).labels()


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------

def _clip(text: str, width: int) -> str:
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: width - 1] + "…"


def wrap_host(name: str, width: int) -> list[str]:
    """A host name in ``width`` characters, else its first label over the rest (two lines)."""
    if len(name) <= width:
        return [name]
    first, dot, rest = name.partition(".")
    if not rest:
        return [_clip(name, width)]
    return [_clip(first + dot, width), _clip(rest, width)]


class _Canvas:
    """Fixed-width lines with a lifeline ("|") at each column."""

    def __init__(self, width: int, columns: list[int]) -> None:
        self.width = width
        self.columns = columns

    def blank(self) -> list[str]:
        line = [" "] * self.width
        for x in self.columns:
            line[x] = "|"
        return line

    def put(self, line: list[str], at: int, text: str) -> None:
        text = text[: self.width]
        at = max(0, min(at, self.width - len(text)))
        line[at: at + len(text)] = list(text)

    def centred(self, line: list[str], middle: int, text: str) -> None:
        self.put(line, middle - len(text) // 2, text)


def ladder_text(timeline: Timeline, call_id: str, findings: Sequence[Finding] = (), width: int = 100) -> str:
    """The ladder of one call as fixed-width text, every line at most ``width`` characters.

    A message takes one line when its label fits inside its arrow
    (``|-- INVITE · CSeq 1 -->|``), else two: its label over the arrow
    (``-->`` / ``<--``, dashed for a retransmission).  The time relative to the
    call's first message is on the left, ``*rule-id`` of the findings that
    cite the message on the right.  Diagnostic records are ``!`` notes on the
    server that logged them; a quiet stretch of 5 s or more is a break with
    its length; the host names come again every 40 rows; a legend ends it.

    Raises:
        UnknownCall: no call with this Call-ID (with a "Did you mean" hint).
    """
    ladder = build_ladder(timeline, call_id, findings)
    width = max(width, 40)
    gutter = max([len(ladder.relative(r.time)) for r in ladder.rows] + [len("+0.000 s")]) + 1
    marks = [len(f"*{rule}") for r in ladder.rows for rule in r.rules]
    right = min(max(marks) + 1, width // 4) if marks else 0
    n = max(len(ladder.columns), 1)
    cell = max((width - gutter - right) // n, 3)
    pos = [k * cell + cell // 2 for k in range(len(ladder.columns))]
    canvas = _Canvas(max(width - gutter - right, n * cell), pos)   # wider only if the hosts cannot fit

    def emit(time: str, line: list[str], mark: str = "") -> str:
        text = f"{time:>{gutter - 1}} " + "".join(line)
        if mark:
            text += " " + _clip(mark, right - 1)
        return text.rstrip()

    first = ladder.start.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC" if ladder.start else "no times"
    out = _wrapped([f"Call-ID {ladder.call.call_id}", plural(len(ladder.hops), "arrow"), f"first message {first}"],
                   width)
    names = [wrap_host(ladder.hosts.label(c), cell - 1) for c in ladder.columns]
    details = [ladder.hosts.details(c) for c in ladder.columns]
    header = [canvas.blank() for _ in range(max([len(n) for n in names] + [1]) + (1 if any(details) else 0))]
    for x, lines, more in zip(pos, names, details):
        for i, line in enumerate(lines):
            canvas.centred(header[i], x, line)
        if more:
            canvas.centred(header[-1], x, _clip(more[0] + (" …" if len(more) > 1 else ""), cell - 1))
    out += [emit("", line) for line in header]
    out.append(emit("", canvas.blank()))
    before = breaks(ladder)
    for index, row in enumerate(ladder.rows):
        for what in before.get(index, ()):
            if what == "hosts":
                out += [emit("", line) for line in header[:len(header) - (1 if any(details) else 0)]]
            else:
                line = [":" if c == "|" else c for c in canvas.blank()]
                canvas.centred(line, canvas.width // 2, f" {what[4:]} ")
                out.append(emit("", line))
        rules = [f"*{rule}" for rule in row.rules]
        if row.hop is None:
            line = canvas.blank()
            x = pos[ladder.columns.index(row.host)] if row.host in ladder.columns else 0
            canvas.put(line, x, _clip("! " + row.label, canvas.width - x))
            lines = [(ladder.relative(row.time), line)]
        else:
            a, b = pos[ladder.columns.index(row.hop.src)], pos[ladder.columns.index(row.hop.dst)]
            label, arrow = canvas.blank(), canvas.blank()
            if a == b:   # a host sending to itself
                canvas.put(arrow, a, "|<-'")
                canvas.put(label, a + 1, _clip(row.label, canvas.width - a - 1))
                lines = [("", label), (ladder.relative(row.time), arrow)]
            else:
                lo, hi = min(a, b), max(a, b)
                shaft = list((("- " if row.retransmission else "-") * (hi - lo))[: hi - lo - 1])
                if a < b:
                    shaft[-1] = ">"
                else:
                    shaft[0] = "<"
                inside = f" {row.label} "
                if len(inside) <= len(shaft) - 4:      # the label fits in the arrow: one line
                    at = (len(shaft) - len(inside)) // 2
                    shaft[at: at + len(inside)] = list(inside)
                    canvas.put(arrow, lo + 1, "".join(shaft))
                    lines = [(ladder.relative(row.time), arrow)]
                else:
                    canvas.put(arrow, lo + 1, "".join(shaft))
                    canvas.centred(label, (lo + hi + 1) // 2, _clip(row.label, canvas.width))
                    lines = [("", label), (ladder.relative(row.time), arrow)]
        # the first rule beside the arrow, the others on the lines around it
        order = [len(lines) - 1] + list(range(len(lines) - 1))
        text = {i: "" for i in range(len(lines))}
        for i, rule in zip(order, rules):
            text[i] = rule
        rest = rules[len(lines):]
        out += [emit(time, line, text[i]) for i, (time, line) in enumerate(lines)]
        out += [emit("", canvas.blank(), rule) for rule in rest]
    if not ladder.rows:
        out.append("(no messages)")
    out += [""] + _wrapped(LEGEND.split(" · "), width)
    return "\n".join(out) + "\n"


def _wrapped(parts: list[str], width: int) -> list[str]:
    """Parts joined by " · " on lines of at most ``width``, never cut: a part longer than a line
    is wrapped onto lines of its own."""
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines += textwrap.wrap(part, width, break_on_hyphens=False) or [""]
    return lines


# ---------------------------------------------------------------------------
# Figure
# ---------------------------------------------------------------------------

PITCH = 0.30          # inches between rows
LABEL_SIZE = 8.0      # points
HOST_SIZE = 9.0
SMALL_SIZE = 7.0
GAP = 0.045           # inches between an arrow and its label
LOOP = 0.32           # inches from a column to the label of a message a host sent itself
MAX_PIXELS = 30000    # keep the image well inside Agg's 2**16 pixel limit


def new_figure(width: float, height: float, dpi: float = 100.0, **options: object) -> Figure:
    """A Figure on the Agg canvas that Jupyter shows as a PNG without pyplot (``_repr_png_``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _notebook_figure()(figsize=(width, height), dpi=dpi, **options)
    FigureCanvasAgg(fig)
    return fig


@functools.cache
def _notebook_figure() -> type[Figure]:
    from matplotlib.figure import Figure

    class NotebookFigure(Figure):
        """A matplotlib Figure that renders itself for Jupyter, with no pyplot state involved."""

        def _repr_png_(self) -> bytes:
            out = io.BytesIO()
            self.savefig(out, format="png")
            return out.getvalue()

    NotebookFigure.__module__, NotebookFigure.__qualname__ = __name__, "NotebookFigure"   # picklable
    return NotebookFigure


def __getattr__(name: str) -> object:
    # built on first use, so that reading this module (text ladders) needs no matplotlib
    if name == "NotebookFigure":
        return _notebook_figure()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Measure:
    """Text extents in inches, from an Agg renderer (what `savefig` will draw)."""

    def __init__(self, dpi: float = 100.0) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.dpi = dpi
        self.renderer = FigureCanvasAgg(Figure(figsize=(1, 1), dpi=dpi)).get_renderer()
        self.cache: dict[tuple[str, float, str], tuple[float, float]] = {}

    def __call__(self, text: str, size: float, weight: str = "normal") -> tuple[float, float]:
        from matplotlib.font_manager import FontProperties

        key = (text, size, weight)
        if key not in self.cache:
            lines = text.split("\n") or [""]
            prop = FontProperties(size=size, weight=weight)
            widths = []
            for line in lines:
                w, _h, _d = self.renderer.get_text_width_height_descent(line or " ", prop, ismath=False)
                widths.append(w)
            height = len(lines) * 1.2 * size / 72   # matplotlib's default line spacing
            self.cache[key] = (max(widths) / self.dpi, height)
        return self.cache[key]

    def fit(self, text: str, width: float, size: float, weight: str = "normal") -> str:
        """The text, cut with "…" until it is at most ``width`` inches wide."""
        if self(text, size, weight)[0] <= width:
            return text
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self(text[:mid] + "…", size, weight)[0] <= width:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo] + "…" if lo else ""

    def wrap_host(self, name: str, width: float, size: float, lines: int = 3) -> str:
        """A host name on at most ``lines`` lines of ``width`` inches, broken after dots."""
        if self(name, size, "bold")[0] <= width:
            return name
        parts = [p + "." for p in name.split(".")]
        parts[-1] = parts[-1][:-1]
        out: list[str] = []
        current = ""
        for part in parts:
            if current and self(current + part, size, "bold")[0] > width:
                out.append(current)
                current = part
            else:
                current += part
        out.append(current)
        if len(out) > lines:
            out = out[: lines - 1] + ["".join(out[lines - 1:])]
        return "\n".join(self.fit(line, width, size, "bold") for line in out)


def _fitted(parts: list[str], width: float, size_of: Callable[[str], float]) -> list[str]:
    """Parts joined by " · " on lines no wider than ``width`` inches; a part is never cut."""
    lines: list[str] = []
    for part in parts:
        if lines and size_of(lines[-1] + " · " + part) <= width:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    return lines


def save(fig: Figure, out: IO[bytes], fmt: str) -> None:
    """Write the figure as png / svg / pdf; an SVG keeps its text as text (searchable, selectable)."""
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, format=fmt)


def ladder_figure(timeline: Timeline, call_id: str, findings: Sequence[Finding] = ()) -> Figure:
    """The ladder of one call as a matplotlib `Figure` (Agg-safe; never shown).

    Hosts are columns, spread evenly; each leg of each message is an arrow
    with its label above it on a fixed row pitch, so the figure grows with the
    call and no label touches an arrow or another label.  Retransmissions are
    dashed, findings colour the arrows they cite (by severity) and put their
    rule ids beside them; diagnostic records of the call are notes on the
    server that logged them.  Artists carry ids: ``arrow-N``, ``label-N``,
    ``time-N``, ``mark-N``, ``note-N``, ``host-K``.  The PNG resolution drops
    for calls of more than ~1000 arrows (Agg's image size limit); SVG and
    PDF stay sharp at any length.

    Raises:
        UnknownCall: no call with this Call-ID (with a "Did you mean" hint).
    """
    from matplotlib.patches import FancyArrowPatch

    ladder = build_ladder(timeline, call_id, findings)
    measure = _Measure()
    n = max(len(ladder.columns), 1)

    # -- horizontal layout (inches) ----------------------------------------------
    times = [ladder.relative(r.time) for r in ladder.rows]
    gutter = max([measure(t, SMALL_SIZE)[0] for t in times] + [measure("+0.000 s", SMALL_SIZE)[0]]) + 0.25
    need = 1.5
    for row in ladder.rows:
        if row.hop is not None and row.hop.src != row.hop.dst:
            span = abs(ladder.columns.index(row.hop.src) - ladder.columns.index(row.hop.dst))
            need = max(need, (measure(row.label, LABEL_SIZE)[0] + 0.25) / span)
    spacing = min(need, 4.6)
    xs = [gutter + spacing * (k + 0.5) for k in range(n)]
    width = xs[-1] + spacing / 2 + 0.1
    marks: dict[int, str] = {}
    for i, row in enumerate(ladder.rows):
        if row.hop is None:
            continue
        end = max(xs[ladder.columns.index(row.hop.src)], xs[ladder.columns.index(row.hop.dst)])
        if row.hop.src == row.hop.dst:   # a loop: its label (then its mark) to the right
            end += LOOP + measure(row.label, LABEL_SIZE)[0]      # never cut: the figure widens
        if row.mark:
            marks[i] = row.mark.replace("*", "")
            end += 0.12 + measure(marks[i], SMALL_SIZE, "bold")[0]
        width = max(width, end + 0.15)
    marks.update({i: r.mark.replace("*", "") for i, r in enumerate(ladder.rows) if r.hop is None and r.mark})

    # -- vertical layout -----------------------------------------------------------
    host_texts = [measure.wrap_host(ladder.hosts.label(c), spacing - 0.15, HOST_SIZE) for c in ladder.columns]
    detail_texts = []
    for c in ladder.columns:
        details = ladder.hosts.details(c)
        shown = " · ".join(details[:2]) + (" …" if len(details) > 2 else "")
        detail_texts.append(measure.fit(shown, spacing - 0.15, SMALL_SIZE) if details else "")
    first = ladder.start.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC" if ladder.start else "no times"
    title_parts = [f"Call-ID {ladder.call.call_id}", f"{plural(len(ladder.hops), 'arrow')}, "
                   f"{plural(len(ladder.columns), 'host')}", f"first message {first}"]
    legend_parts = ["bold red / orange / blue: the worst finding citing the message is an error / warning / info",
                    *LEGEND.split(" · ")]
    # the title and legend are never cut: the figure is made wide enough for their longest part
    width = max([width] + [measure(t, HOST_SIZE)[0] + 0.3 for t in title_parts]
                + [measure(t, SMALL_SIZE)[0] + 0.3 for t in legend_parts])
    title = "\n".join(_fitted(title_parts, width - 0.3, lambda t: measure(t, HOST_SIZE)[0]))
    legend = "\n".join(_fitted(legend_parts, width - 0.3, lambda t: measure(t, SMALL_SIZE)[0]))
    title_h = measure(title, HOST_SIZE)[1] + 0.2
    legend_h = measure(legend, SMALL_SIZE)[1] + 0.15
    host_h = max([measure(t, HOST_SIZE, "bold")[1] for t in host_texts] + [0.15])
    detail_h = measure("Ag", SMALL_SIZE)[1] if any(detail_texts) else 0.0
    header = title_h + legend_h + host_h + detail_h + 0.35
    before = breaks(ladder)
    repeat_h = host_h + 0.3
    ys: list[float] = []
    extras: list[tuple[float, str]] = []          # (y, "hosts" | "gap:<text>") drawn between rows
    y = header + 0.6 * PITCH
    for i in range(len(ladder.rows)):
        for what in before.get(i, ()):
            if what == "hosts":
                extras.append((y - 0.1 + host_h, what))
                y += repeat_h
            else:
                extras.append((y, what))
                y += PITCH
        ys.append(y)
        y += PITCH
    height = y + 0.35
    dpi = min(100.0, MAX_PIXELS / max(height, width))

    fig = new_figure(width, height, dpi)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.set_axis_off()

    ax.text(0.15, 0.1, title, ha="left", va="top", fontsize=HOST_SIZE, color=PLAIN, parse_math=False,
            gid="title")
    ax.text(0.15, title_h, legend, ha="left", va="top", fontsize=SMALL_SIZE, color="#546e7a", parse_math=False,
            gid="legend")

    # -- columns -------------------------------------------------------------------
    host_bottom = title_h + legend_h + host_h + 0.08
    lifeline_top = header - 0.1
    for k, (x, column) in enumerate(zip(xs, ladder.columns)):
        logger = ladder.hosts.is_logger(column)
        ax.text(x, host_bottom, host_texts[k], ha="center", va="bottom", fontsize=HOST_SIZE, weight="bold",
                color=PLAIN, parse_math=False, gid=f"host-{k}", multialignment="center",
                bbox={"boxstyle": "round,pad=0.3", "facecolor": "#e3f2fd" if logger else "#fafafa",
                      "edgecolor": "#90a4ae", "linewidth": 0.8})
        if detail_texts[k]:
            ax.text(x, host_bottom + 0.12, detail_texts[k], ha="center", va="top", fontsize=SMALL_SIZE,
                    color="#546e7a", parse_math=False, gid=f"hostinfo-{k}")
        ax.plot([x, x], [lifeline_top, height - 0.2], color="#b0bec5", linewidth=0.9, zorder=0)
    for n_extra, (y_extra, what) in enumerate(extras):
        if what == "hosts":       # a tall ladder names its columns again
            for k, x in enumerate(xs):
                ax.text(x, y_extra, host_texts[k], ha="center", va="bottom", fontsize=HOST_SIZE, weight="bold",
                        color=PLAIN, parse_math=False, gid=f"host-again-{n_extra}-{k}", multialignment="center",
                        bbox={"boxstyle": "round,pad=0.3", "facecolor": "#fafafa", "edgecolor": "#90a4ae",
                              "linewidth": 0.8})
            continue
        for x in xs:              # the lifelines break where the call was quiet
            ax.plot([x - 0.06, x + 0.06], [y_extra - 0.05, y_extra - 0.02], color="#90a4ae", linewidth=0.9)
            ax.plot([x - 0.06, x + 0.06], [y_extra + 0.02, y_extra + 0.05], color="#90a4ae", linewidth=0.9)
            ax.plot([x, x], [y_extra - 0.02, y_extra + 0.02], color="white", linewidth=2.5, zorder=1)
        ax.text((xs[0] + xs[-1]) / 2, y_extra, what[4:], ha="center", va="center", fontsize=LABEL_SIZE,
                color="#455a64", style="italic", parse_math=False, gid=f"gap-{n_extra}",
                bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"}, zorder=4)

    # -- rows ----------------------------------------------------------------------
    for i, row in enumerate(ladder.rows):
        y = ys[i]
        colour = SEVERITY_COLOURS[row.severity] if row.severity else (RETRANSMISSION if row.retransmission
                                                                        else PLAIN)
        if times[i]:
            ax.text(gutter - 0.15, y, times[i], ha="right", va="center", fontsize=SMALL_SIZE, color="#455a64",
                    family="monospace", parse_math=False, gid=f"time-{i}")
        if row.hop is None:
            x = xs[ladder.columns.index(row.host)] if row.host in ladder.columns else xs[0]
            ax.plot([x], [y], marker="D", markersize=5, color=colour, zorder=3)
            mark = f"   {marks[i]}" if i in marks else ""
            text = measure.fit(row.label, max(width - x - 0.3 - measure(mark, SMALL_SIZE, "bold")[0], 1.0),
                               SMALL_SIZE)
            ax.text(x + 0.12, y, text, ha="left", va="center", fontsize=SMALL_SIZE, color=colour,
                    style="italic", parse_math=False, gid=f"note-{i}")
            if mark:
                end = x + 0.12 + measure(text, SMALL_SIZE)[0] + 0.12
                ax.text(end, y, marks[i], ha="left", va="center", fontsize=SMALL_SIZE, weight="bold",
                        color=colour, parse_math=False, gid=f"mark-{i}")
            continue
        a, b = xs[ladder.columns.index(row.hop.src)], xs[ladder.columns.index(row.hop.dst)]
        style = {"arrowstyle": "-|>", "mutation_scale": 10, "color": colour, "shrinkA": 0, "shrinkB": 0,
                 "linewidth": 2.0 if row.severity else 1.1, "linestyle": "--" if row.retransmission else "-",
                 "zorder": 2}
        if a == b:   # a host sending to itself: a loop, its label to the right
            arrow = FancyArrowPatch((a, y - 0.06), (a + 0.02, y + 0.06), connectionstyle="arc3,rad=-1.6", **style)
            label = row.label
            label_x, label_ha, right_end = a + LOOP, "left", a + LOOP + measure(label, LABEL_SIZE)[0]
        else:
            arrow = FancyArrowPatch((a, y), (b, y), **style)
            label = measure.fit(row.label, abs(b - a) - 0.2, LABEL_SIZE)
            label_x, label_ha, right_end = (a + b) / 2, "center", max(a, b)
        arrow.set_gid(f"arrow-{i}")
        ax.add_patch(arrow)
        ax.text(label_x, y - GAP, label, ha=label_ha, va="bottom", fontsize=LABEL_SIZE, color=colour,
                weight="bold" if row.severity else "normal", parse_math=False, gid=f"label-{i}")
        if i in marks:
            ax.text(right_end + 0.12, y - GAP, marks[i], ha="left", va="bottom", fontsize=SMALL_SIZE,
                    weight="bold", color=colour, parse_math=False, gid=f"mark-{i}")
    if not ladder.rows:
        ax.text(width / 2, header + PITCH, "no messages", ha="center", va="center", fontsize=LABEL_SIZE,
                gid="empty")
    fig.ladder = ladder  # type: ignore[attr-defined]   # what was drawn, for tests and notebooks
    return fig

