"""Messages → one timeline of unique messages, dialogs and calls.

Theory of operation:

* The same SIP message is logged several times: in and out on one server, and
  again on the Edge, the front end and the UM.  A *sighting* is one logged
  copy (a `SipMessage`); a `Message` is the message itself with all its
  sightings.  Two sightings are the same message when their identity matches
  (Call-ID, CSeq, method or status, From/To tags, and the *bottom* Via branch,
  which no proxy changes) and the new sighting comes from a place where the
  message was not yet seen (another file, direction or peer).  Seen again in
  the same place, it is a retransmission: a new `Message` that points at the
  first.  100 Trying is hop-by-hop (RFC 3261 §16.7: a proxy never forwards
  it), so its top Via branch is part of its identity.
* Clock offsets: every message seen in two files gives one difference of the
  files' clocks; the median per pair of files is the offset.  Files that
  share messages, directly or through another file, form a group (the front
  ends of a pool and their Edge); each group's offsets are propagated from its
  own reference (the file with most messages), and a file that shares no
  message with any other has an unknown offset, never a made-up zero.
  Transit time (a few ms) stays in the estimate.
* Dialogs (RFC 3261 §12): Call-ID plus both tags, whichever side sent the
  request.  Requests sent before a dialog exists (the INVITE, CANCEL) belong
  to the dialog their caller tag opens; forks (several To tags) are separate
  dialogs.  A call is every dialog of a Call-ID.  A dialog first seen through
  an ACK, BYE, UPDATE, PRACK, INFO, re-INVITE or CANCEL (the trace starts
  after its INVITE) is an INVITE dialog: those methods live only there.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..model.sip import DiagRecord, Direction, SipMessage
from ..model.values import parse_vias


@dataclass(eq=False)
class Message:
    """One SIP message with every sighting of it, in the order read."""

    index: int
    key: tuple
    sightings: list[SipMessage]
    retransmission_of: Message | None = None
    time: datetime | None = None          # earliest sighting, clock offsets applied

    @property
    def sip(self) -> SipMessage:
        """The representative copy: the first one read."""
        return self.sightings[0]

    @property
    def forwarded(self) -> SipMessage:
        """The copy nearest its destination: the one sent to the Request-URI's host,
        else the last one logged as sent, else the last one."""
        sent = [s for s in self.sightings if s.direction and s.direction.direction is Direction.OUTGOING]
        target = self.sip.ruri.host.lower() if self.sip.ruri and self.sip.ruri.host else None
        to_target = [s for s in sent if target and s.peer and s.peer.host.lower() == target]
        return (to_target or sent or self.sightings)[-1]

    @property
    def is_retransmission(self) -> bool:
        return self.retransmission_of is not None

    def __repr__(self) -> str:
        return f"<Message #{self.index} {self.sip.summary} {self.sip.origin}>"


class _Span:
    """First and last time of a time-ordered list of messages."""

    messages: list[Message]

    @property
    def first_time(self) -> datetime | None:
        return self.messages[0].time if self.messages else None

    @property
    def last_time(self) -> datetime | None:
        return self.messages[-1].time if self.messages else None


@dataclass(eq=False)
class Dialog(_Span):
    """The messages of one dialog (or dialog attempt), in time order."""

    call_id: str
    caller_tag: str | None
    callee_tag: str | None
    method: str | None                     # the method that created it: INVITE, SUBSCRIBE...
    messages: list[Message] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str | None, str | None]:
        return (self.call_id, self.caller_tag, self.callee_tag)

    def requests(self, method: str) -> list[Message]:
        return [m for m in self.messages if m.sip.method == method]

    def responses(self, method: str) -> list[Message]:
        return [m for m in self.messages if m.sip.is_response and m.sip.cseq_method == method]

    def sent_by_caller(self, msg: Message) -> bool:
        """Did the caller's side send this message?

        A request carries its sender's tag in From; a response carries the
        tag of the side that sent the request, so it was sent by the other.
        """
        mine = msg.sip.from_tag == self.caller_tag
        return mine if msg.sip.is_request else not mine


@dataclass(eq=False)
class Call(_Span):
    """All dialogs and messages of one Call-ID, with the diagnostic records tied to it."""

    call_id: str
    dialogs: list[Dialog] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    diagnostics: list[DiagRecord] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Identity and de-duplication
# ---------------------------------------------------------------------------


def identity(msg: SipMessage) -> tuple:
    """What stays the same for one message along its path through proxies."""
    cseq = msg.cseq
    lines = msg.headers.lines("via")
    bottom_vias = parse_vias(lines[-1]) if lines else ()       # only the bottom one is needed
    bottom = bottom_vias[-1].branch if bottom_vias else None
    what: object = msg.method if msg.is_request else msg.status
    hop_local = msg.branch if msg.status == 100 else None
    return (msg.call_id, cseq.number if cseq else None, cseq.method if cseq else None, what,
            msg.from_tag, msg.to_tag, bottom, hop_local)


def place(msg: SipMessage) -> tuple:
    """Where a sighting was logged: file, direction and peer; for a capture, the hop itself.

    A capture taken at a proxy holds each message twice, once per leg: two
    places (source → destination), so one message with two sightings, not a
    retransmission.
    """
    direction = msg.direction.direction if msg.direction else None
    peer = msg.peer.host.lower() if msg.peer else None
    hop = (str(msg.src), str(msg.dst)) if msg.src or msg.dst else None
    return (msg.origin.file, direction, peer, hop)


def deduplicate(sightings: Iterable[SipMessage]) -> list[Message]:
    """Group sightings into messages; repeated sightings in one place are retransmissions.

    A repeat in one place is a retransmission only when it belongs to the same
    transaction there (the same top Via branch): a proxy that sends the INVITE
    again after a 302 to another port of the same server (Exchange UM Call
    Router 5061 -> UM service 5065), or forks twice to one host, starts a new
    transaction with a new branch, and that is a new message.
    """
    out: list[Message] = []
    by_key: dict[tuple, list[tuple[Message, set[tuple]]]] = defaultdict(list)
    for sip in sightings:
        key = identity(sip)
        where = place(sip)
        candidates = by_key[key]
        target = None
        for message, places in candidates:
            if where not in places and _near(message, sip):
                target = (message, places)
                break
        if target is not None:
            target[0].sightings.append(sip)
            target[1].add(where)
            continue
        message = Message(index=len(out), key=key, sightings=[sip],
                          retransmission_of=_retransmitted(candidates, where, sip))
        out.append(message)
        candidates.append((message, {where}))
    return out


def _retransmitted(candidates: list[tuple[Message, set[tuple]]], where: tuple, sip: SipMessage) -> Message | None:
    """The first message this sighting repeats in its place, in the same transaction."""
    if not candidates:
        return None
    branch = sip.branch
    for message, places in candidates:
        if where not in places:
            continue
        seen = next((s for s in message.sightings if place(s) == where), None)
        if seen is None or branch is None or seen.branch is None or seen.branch == branch:
            return message.retransmission_of or message
    return None


_HOP_WINDOW = timedelta(minutes=10)  # wider than any clock skew worth correlating


def _near(message: Message, sip: SipMessage) -> bool:
    first = message.sightings[0].time
    return first is None or sip.time is None or abs(sip.time - first) <= _HOP_WINDOW


# ---------------------------------------------------------------------------
# Clock offsets between files
# ---------------------------------------------------------------------------


class OffsetEstimator:
    """Collects clock differences between files, message by message, and estimates offsets.

    Streaming runs feed it call by call; at most ``keep`` differences are kept
    per pair of files, so it stays small on a day of traces.
    """

    def __init__(self, keep: int = 4001) -> None:
        self.keep = keep
        self.counts: dict[str, int] = defaultdict(int)
        self.pairs: dict[tuple[str, str], list[float]] = defaultdict(list)

    def add(self, messages: Iterable[Message]) -> None:
        counts = self.counts
        for message in messages:
            sightings = message.sightings
            if len(sightings) == 1:        # seen in one place: a count, no clock difference
                counts[sightings[0].origin.file] += 1
                continue
            first_by_file: dict[str, datetime] = {}
            for sip in sightings:
                counts[sip.origin.file] += 1
                if sip.time is not None and sip.origin.file not in first_by_file:
                    first_by_file[sip.origin.file] = sip.time
            if len(first_by_file) < 2:
                continue
            files = sorted(first_by_file)
            for i, a in enumerate(files):
                for b in files[i + 1:]:
                    delta = (first_by_file[b] - first_by_file[a]).total_seconds()
                    if len(self.pairs[(a, b)]) < self.keep:
                        self.pairs[(a, b)].append(delta)
                        self.pairs[(b, a)].append(-delta)

    def groups(self, order: list[str] | None = None) -> list[ClockGroup]:
        """The files, in groups that share messages, each with its reference and offsets.

        Files are connected when at least one message was seen in both; each
        connected group has its own reference (the file with most sightings;
        on a tie, the one named first in ``order``), since files that share no
        message cannot be compared.  The group with most sightings comes first.
        """
        counts = self.counts
        rank = {name: i for i, name in enumerate(order or [])}

        def key(f: str) -> tuple:
            return (-counts[f], rank.get(f, len(rank)), f)

        links: dict[str, list[str]] = defaultdict(list)
        for a, b in sorted(self.pairs):
            links[a].append(b)
        out: list[ClockGroup] = []
        placed: set[str] = set()
        for start in sorted(counts, key=key):
            if start in placed:
                continue
            members = [start]
            placed.add(start)
            for name in members:                    # breadth first: every file linked to the group
                for other in links[name]:
                    if other not in placed:
                        placed.add(other)
                        members.append(other)
            reference = min(members, key=key)
            out.append(ClockGroup(reference, self._walk(reference, links), sum(counts[m] for m in members)))
        out.sort(key=lambda g: (-g.sightings, key(g.reference)))
        return out

    def _walk(self, reference: str, links: dict[str, list[str]]) -> dict[str, float]:
        """Offsets from ``reference`` along the shared messages, nearest files first."""
        offsets = {reference: 0.0}
        frontier = [reference]
        for a in frontier:
            for b in links[a]:
                if b not in offsets:
                    offsets[b] = offsets[a] + statistics.median(self.pairs[(a, b)])
                    frontier.append(b)
        return offsets

    def clocks(self, order: list[str] | None = None) -> Clocks:
        """Offsets and references of every file whose offset is known (see `Clocks`)."""
        groups = self.groups(order)
        clocks = Clocks(groups=len(groups))
        for group in groups:
            if len(group.offsets) < 2 and len(groups) > 1:
                continue       # shares no message with any other file: its offset is unknown
            for name, seconds in group.offsets.items():
                clocks.offsets[name] = seconds
                clocks.references[name] = group.reference
        return clocks

    def offsets(self, order: list[str] | None = None) -> dict[str, float]:
        """Offset in seconds of each file's clock from its group's reference (see `clocks`);
        a file that shares no message with another file is left out: its offset is unknown."""
        return self.clocks(order).offsets


@dataclass
class ClockGroup:
    """Files that share messages, directly or through each other: their clocks can be compared."""

    reference: str
    offsets: dict[str, float]        # file → seconds its clock runs ahead of the reference's
    sightings: int = 0


@dataclass
class Clocks:
    """The clock offsets that could be measured.

    ``offsets[f]`` is how far file f's clock runs ahead of ``references[f]``'s.
    A file in neither map shares no message with any other input: its offset
    is unknown, not zero.  With several groups (``groups`` > 1), offsets of one
    group cannot be compared with another's.
    """

    offsets: dict[str, float] = field(default_factory=dict)
    references: dict[str, str] = field(default_factory=dict)
    groups: int = 0


def apply_offsets(messages: list[Message], offsets: dict[str, float]) -> None:
    shift = {name: timedelta(seconds=seconds) for name, seconds in offsets.items() if seconds}
    for message in messages:
        best = None
        for sip in message.sightings:
            corrected = sip.time
            if corrected is None:
                continue
            if shift:
                delta = shift.get(sip.origin.file)
                if delta is not None:
                    corrected -= delta
            if best is None or corrected < best:
                best = corrected
        message.time = best


def corrected_time(sip: SipMessage, offsets: dict[str, float]) -> datetime | None:
    if sip.time is None:
        return None
    return sip.time - timedelta(seconds=offsets.get(sip.origin.file, 0.0))


# ---------------------------------------------------------------------------
# Dialogs and calls
# ---------------------------------------------------------------------------

def build_calls(messages: list[Message], diagnostics: Iterable[DiagRecord] = ()) -> list[Call]:
    """Group time-ordered messages into calls (Call-ID) and dialogs (tags)."""
    calls: dict[str, Call] = {}
    for message in messages:
        call_id = message.sip.call_id or "(no Call-ID)"
        call = calls.get(call_id)
        if call is None:
            call = calls[call_id] = Call(call_id)
        call.messages.append(message)
    for diag in diagnostics:
        if diag.call_id and diag.call_id in calls:
            calls[diag.call_id].diagnostics.append(diag)
    for call in calls.values():
        call.dialogs = _dialogs_of(call)
    return sorted(calls.values(), key=lambda c: (c.first_time is None, c.first_time or datetime.min, c.call_id))


def _dialogs_of(call: Call) -> list[Dialog]:
    dialogs: list[Dialog] = []
    by_tags: dict[frozenset, Dialog] = {}
    pending: dict[str | None, Dialog] = {}      # caller tag → attempt with no callee tag yet
    latest: dict[str | None, Dialog] = {}       # caller tag → its most recent dialog

    def new(caller: str | None, callee: str | None, method: str | None) -> Dialog:
        dialog = Dialog(call.call_id, caller, callee, method)
        dialogs.append(dialog)
        latest[caller] = dialog
        return dialog

    for message in call.messages:
        sip = message.sip
        ftag, ttag = sip.from_tag, sip.to_tag
        if ttag is None:
            if sip.is_response or sip.method in ("CANCEL", "ACK"):
                # 100 Trying, CANCEL: part of the attempt that this caller tag opened
                dialog = pending.get(ftag) or latest.get(ftag)
            else:
                dialog = pending.get(ftag)      # a retransmitted initial request
            if dialog is None:
                dialog = pending[ftag] = new(ftag, None, _created_by(sip.cseq_method))
        else:
            tags = frozenset((ftag, ttag))
            dialog = by_tags.get(tags)
            attempt = pending.get(ftag)
            if dialog is not None and attempt is not None and _answers(sip, attempt):
                dialog = None   # the same tags answered an earlier attempt (e.g. a 407 before the retry)
            if dialog is None:
                attempt = pending.pop(ftag, None) or pending.pop(ttag, None)
                if attempt is not None:
                    attempt.callee_tag = ttag if attempt.caller_tag == ftag else ftag
                    dialog = attempt
                else:
                    fork_of = latest.get(ftag)
                    dialog = new(ftag, ttag, fork_of.method if fork_of else _created_by(sip.cseq_method))
                    if fork_of is not None and fork_of.callee_tag not in (None, ttag):
                        # another branch answered: the requests sent before any answer
                        # belong to this dialog as well
                        dialog.messages.extend(m for m in fork_of.messages if m.sip.to_tag is None)
                by_tags[tags] = dialog
        dialog.messages.append(message)
    for dialog in dialogs:
        dialog.messages.sort(key=lambda m: (m.time is None, m.time or datetime.min, m.index))
    return dialogs


# Methods used only inside an INVITE dialog (RFC 3261, 3262, 3311, 6086), and CANCEL,
# which only an INVITE transaction takes: a dialog first seen through one of them
# was made by an INVITE before the trace began.
_INVITE_DIALOG_ONLY = frozenset({"INVITE", "ACK", "BYE", "UPDATE", "PRACK", "INFO", "CANCEL"})


def _created_by(method: str | None) -> str | None:
    return "INVITE" if method in _INVITE_DIALOG_ONLY else method


def _answers(sip: SipMessage, attempt: Dialog) -> bool:
    """Is this response to the request that opened the attempt (same CSeq)?"""
    if not sip.is_response or not attempt.messages:
        return False
    opening = attempt.messages[0].sip.cseq
    return opening is not None and sip.cseq == opening
