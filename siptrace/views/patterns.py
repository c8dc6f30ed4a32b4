"""Calls of the same kind, and how many of them each root cause hit.

One failed call to voicemail could be the network; three of three Edge users'
calls to one UM failing while internal users' calls to the same UM work is a
certificate.  A call's *kind* is made of what the trace shows of its route:

* where it went: an Exchange UM server (the server the rules see answering
  as MSExchangeUM, `siptrace.rules._um`), a gateway or Mediation Server (an
  INVITE to a phone number, ``user=phone`` or a ``+`` number, sent to a host
  that is not a UM), or another user;
* whether the caller came through an Edge: the Edge stamps what it relays
  inward with ``ms-edge-proxy-message-trust`` (``ms-source-type=InternetUser``
  for a remote user, ``AuthorizedServer`` / ``FederatedPartner`` otherwise),
  and a Via or Record-Route of the INVITE names an ``--edge-fqdn``.

`CallNote` is what is kept of each call while ``diagnose`` streams (its kind,
time, outcome and headline), so patterns need no call's messages at the end.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..correlate.calls import Call, Message
from ..correlate.timeline import Timeline
from ..model.context import Context
from ..model.sip import Direction, SipMessage
from ..rules._um import um_legs
from ..rules.findings import Finding, Severity
from .headline import _first_invite, headline, invite_runs, main_run, outcome_of, root_causes


@dataclass(frozen=True, order=True)
class CallKind:
    """Where a call went and how the caller came in."""

    target: str            # "um", "gateway", "user", "other"
    host: str | None       # the UM server or the gateway / Mediation Server; None for users
    entry: str             # "edge" (remote user), "federation", "internal"

    def label(self, plural_form: bool = True, same: bool = False) -> str:
        """``Edge-user calls to Exchange UM um01.contoso.com``; with ``same``, ``… to the same UM``."""
        who = {"edge": "Edge-user", "federation": "federated", "internal": "internal"}[self.entry]
        s = "s" if plural_form else ""
        if same and self.target in ("um", "gateway"):
            return f"{who} call{s} {'to the same UM' if self.target == 'um' else 'through the same gateway'}"
        if self.target == "um":
            return f"{who} call{s} to Exchange UM {self.host or '(server unknown)'}"
        if self.target == "gateway":
            return f"{who} call{s} through {self.host or 'a gateway'}"
        if self.target == "user":
            return f"{who} call{s} to users"
        return f"{who} call{s}"

    def same_place(self, other: CallKind) -> bool:
        """The same destination, whatever the way in: the calls to compare with."""
        return self.target == other.target and self.host == other.host

    def key(self) -> str:
        return f"{self.target}|{self.host or ''}|{self.entry}"

    @classmethod
    def of_key(cls, text: str) -> CallKind:
        target, host, entry = text.split("|")
        return cls(target, host or None, entry)


def _is_phone(sip: SipMessage) -> bool:
    uri = sip.ruri
    if uri is None:
        return False
    if uri.scheme == "tel" or (uri.param("user") or "").lower() == "phone":
        return True
    user = uri.user or ""
    return user.startswith("+") and user[1:].isdigit()


def _sent_to(message: Message) -> str | None:
    """The host the INVITE was last seen sent to (its forwarded copy's peer, else its Request-URI host)."""
    sip = message.forwarded
    if sip.direction is not None and sip.direction.direction is Direction.OUTGOING and sip.peer:
        return sip.peer.host.lower()
    if sip.dst is not None:
        return sip.dst.host.lower()
    return (sip.ruri.host or "").lower() if sip.ruri and sip.ruri.host else None


def entry_of(invite: Message, ctx: Context) -> str:
    """How the caller came in: through an Edge as a remote user, as a federated partner, or inside."""
    edges = set(ctx.edge_fqdns)
    for sip in invite.sightings:
        trust = sip.headers.get("ms-edge-proxy-message-trust")
        if trust is not None:
            source = trust.lower()
            return "federation" if "federat" in source or "authorizedserver" in source else "edge"
        if sip.direction is not None and (sip.direction.source or "").lower() == "external edge":
            return "edge"          # the Edge's own log: the INVITE came in on its external side
        if edges:
            vias = sip.vias[1:] if sip.direction and sip.direction.direction is Direction.OUTGOING else sip.vias
            hosts = {v.host.lower() for v in vias} | {(r.host or "").lower() for r in sip.record_routes}
            if hosts & edges:
                return "edge"
    return "internal"


def kinds(timeline: Timeline, ctx: Context | None = None) -> dict[str, CallKind]:
    """The `CallKind` of each call with an INVITE dialog, by Call-ID."""
    ctx = ctx or Context()
    um_of: dict[str, str | None] = {}
    for leg in um_legs(timeline, ctx):
        call_id = leg.run.dialog.call_id
        if um_of.get(call_id) is None:
            um_of[call_id] = leg.um_fqdn
    out: dict[str, CallKind] = {}
    for call in timeline.calls:
        runs = invite_runs(timeline, call)
        if not runs:
            continue
        run = main_run(runs)
        invite = (run.invite if run else None) or next((r.invite for r in runs if r.invite), None)
        entry = entry_of(invite, ctx) if invite else "internal"
        if call.call_id in um_of:
            out[call.call_id] = CallKind("um", um_of[call.call_id], entry)
        elif invite is not None and _is_phone(invite.forwarded):
            out[call.call_id] = CallKind("gateway", _sent_to(invite), entry)
        elif invite is not None:
            out[call.call_id] = CallKind("user", None, entry)
        else:
            out[call.call_id] = CallKind("other", None, entry)
    return out


# ---------------------------------------------------------------------------
# What is kept of each call
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CallNote:
    """What views keep of one judged call: enough for patterns and headlines."""

    call_id: str
    kind: CallKind | None
    start: datetime | None
    outcome: str
    failed: bool                   # a root cause at warning or above
    headline: str = ""
    ladder: str = ""

    def dumps(self) -> str:
        doc: dict[str, Any] = {"k": self.kind.key() if self.kind else None,
                               "t": self.start.isoformat() if self.start else None, "o": self.outcome,
                               "f": self.failed}
        if self.headline:
            doc["h"] = self.headline
        if self.ladder:
            doc["l"] = self.ladder
        return NOTE + json.dumps(doc, ensure_ascii=False)

    @classmethod
    def loads(cls, call_id: str, text: str) -> CallNote:
        if not text.startswith(NOTE):          # a plain text ladder
            return cls(call_id, None, None, "", False, ladder=text)
        doc = json.loads(text[len(NOTE):])
        return cls(call_id, CallKind.of_key(doc["k"]) if doc.get("k") else None,
                   datetime.fromisoformat(doc["t"]) if doc.get("t") else None, doc.get("o", ""),
                   bool(doc.get("f")), doc.get("h", ""), doc.get("l", ""))


NOTE = "\0note\0"     # marks a note among the per-call texts of a streamed diagnosis


def notes_of(timeline: Timeline, findings: Sequence[Finding], ctx: Context | None = None,
             ladder: bool = False) -> dict[str, CallNote]:
    """A `CallNote` for every call with an INVITE dialog (headlines for the calls with a finding)."""
    by_call: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        if f.call_id:
            by_call[f.call_id].append(f)
    out: dict[str, CallNote] = {}
    for call_id, kind in kinds(timeline, ctx).items():
        call = timeline.call(call_id)
        assert call is not None
        out[call_id] = note(timeline, call, kind, by_call.get(call_id, []), ladder)
    return out


def note(timeline: Timeline, call: Call, kind: CallKind | None, findings: Sequence[Finding],
         ladder: bool = False) -> CallNote:
    if not findings:        # a healthy call keeps its kind, start and outcome: no headline to write
        runs = invite_runs(timeline, call)
        invite = _first_invite(call, main_run(runs))
        return CallNote(call.call_id, kind, invite.time if invite else call.first_time, outcome_of(runs), False)
    h = headline(timeline, call, findings)
    failed = bool(root_causes(findings))
    drawn = ""
    if ladder and any(f.severity.rank >= Severity.WARNING.rank for f in findings):
        from .ladder import ladder_text

        drawn = ladder_text(timeline, call.call_id, list(findings))
    return CallNote(call.call_id, kind, h.start, h.outcome, failed,
                    h.text() if findings else "", drawn)


class CallNotes:
    """The per-call callback a streamed ``diagnose`` runs where each call is judged.

    It returns a note (`CallNote.dumps`) for every call with an INVITE dialog,
    kept in ``Diagnosis.ladders`` by Call-ID; `decoded` reads them back.
    Healthy calls are kept as their kind and time only (a few dozen bytes).
    """

    def __init__(self, ctx: Context | None = None, ladder: bool = False) -> None:
        self.ctx = ctx or Context()
        self.ladder = ladder
        self._last: tuple[Timeline, dict[str, CallKind]] | None = None

    def __getstate__(self) -> dict[str, object]:
        # a worker hands its watcher back to the parent: without the last batch it held
        return {**self.__dict__, "_last": None}

    def kinds_of(self, timeline: Timeline) -> dict[str, CallKind]:
        """The kind of each call of ``timeline``, found once per judged batch of calls (the batch
        is held with them, so a later timeline can never be taken for it)."""
        if self._last is None or self._last[0] is not timeline:
            self._last = (timeline, kinds(timeline, self.ctx))
        return self._last[1]

    def note_of(self, timeline: Timeline, call_id: str, findings: list[Finding]) -> CallNote | None:
        kind = self.kinds_of(timeline).get(call_id)
        call = timeline.call(call_id)
        if call is None or (kind is None and not findings):
            return None
        return note(timeline, call, kind, findings, self.ladder)

    def __call__(self, timeline: Timeline, call_id: str, findings: list[Finding]) -> str:
        found = self.note_of(timeline, call_id, findings)
        return found.dumps() if found is not None else ""

    def batch(self, timeline: Timeline, findings: list[Finding]) -> Iterator[tuple[str, str]]:
        """(Call-ID, note) of each call of a judged batch that has one: the kinds are found
        once for the whole batch, and the calls with neither an INVITE dialog nor a finding
        (most of a front end's: REGISTER, SUBSCRIBE, SERVICE) are passed over at once."""
        by_call: dict[str, list[Finding]] = {}
        for f in findings:
            if f.call_id:
                by_call.setdefault(f.call_id, []).append(f)
        of_call = self.kinds_of(timeline)
        for call in timeline.calls:
            call_id = call.call_id
            kind = of_call.get(call_id)
            found = by_call.get(call_id)
            if kind is None and not found:
                continue
            yield call_id, self.text(timeline, call, kind, found or [])

    def text(self, timeline: Timeline, call: Call, kind: CallKind | None, findings: list[Finding]) -> str:
        if kind is None and not findings:
            return ""
        return note(timeline, call, kind, findings, self.ladder).dumps()


@dataclass
class NotedCalls:
    """The runner's watcher that keeps `CallNotes`' note of every judged call, by Call-ID
    (made where the call is judged, in whichever process; merged in the parent)."""

    notes: CallNotes
    ladders: dict[str, str] = field(default_factory=dict)     # the runners' name for per-call texts

    def judged(self, timeline: Timeline, findings: list[Finding]) -> None:
        for call_id, text in self.notes.batch(timeline, findings):
            if text:
                self.ladders[call_id] = text

    def merge(self, other: NotedCalls) -> None:
        self.ladders.update(other.ladders)


def decoded(texts: Mapping[str, str]) -> dict[str, CallNote]:
    return {call_id: CallNote.loads(call_id, text) for call_id, text in texts.items()}


# ---------------------------------------------------------------------------
# Patterns
# ---------------------------------------------------------------------------

@dataclass
class Reach:
    """How many calls of one kind a root cause hit."""

    kind: CallKind
    hit: int = 0
    calls: int = 0


@dataclass
class Pattern:
    """One root cause (rule and what sets it apart) across the calls it hit."""

    rule: str
    key: str                                 # e.g. "contact_host=mail.contoso.com"
    summary: str
    calls: list[str] = field(default_factory=list)
    first: datetime | None = None
    last: datetime | None = None
    reach: list[Reach] = field(default_factory=list)

    def text(self) -> str:
        what = f"{self.rule}{' (' + self.key + ')' if self.key else ''}"
        parts = []
        for n, r in enumerate(self.reach):
            same = n > 0 and r.kind.same_place(self.reach[0].kind)
            parts.append(f"{r.hit} of {r.calls} {r.kind.label(r.calls != 1, same)}")
        if not parts:
            parts = [f"{len(self.calls)} call{'s' if len(self.calls) != 1 else ''}"]
        span = ""
        if self.first and self.last:
            span = (f", {_when(self.first)}" if self.first == self.last
                    else f", {_when(self.first)} – {_when(self.last)} ({_span(self.first, self.last)})")
        return f"{what} hit {', '.join(parts)}{span}"

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "key": self.key, "summary": self.summary, "calls": len(self.calls),
                "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None,
                "first_call_id": self.calls[0] if self.calls else None,
                "last_call_id": self.calls[-1] if self.calls else None,
                "by_kind": [{"kind": r.kind.label(), "target": r.kind.target, "host": r.kind.host,
                             "entry": r.kind.entry, "hit": r.hit, "calls": r.calls} for r in self.reach]}


def instant(t: datetime | None) -> float:
    """A time as a number to sort by: inputs may give times with and without a zone (taken as UTC)."""
    if t is None:
        return float("inf")
    return (t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)).timestamp()


def _when(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _span(a: datetime, b: datetime) -> str:
    seconds = (b - a).total_seconds()
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _distinct(f: Finding) -> str:
    for name in ("contact_host", "code", "symbol", "status"):
        value = f.fact(name)
        if value is not None:
            return f"{name}={value}"
    return ""


def patterns(findings: Iterable[Finding], notes: Mapping[str, CallNote]) -> list[Pattern]:
    """For each root cause (rule and what sets it apart), the calls it hit, by kind of call.

    Each kind a hit call belongs to is shown with its count, and beside it the
    calls to the same place that came in another way (internal users' calls
    to the UM that failed for Edge users): the contrast that points at a cause.
    """
    by_key: dict[tuple[str, str], Pattern] = {}
    for f in findings:
        if f.cause or f.severity.rank < Severity.WARNING.rank or not f.call_id:
            continue
        key = (f.rule, _distinct(f))
        p = by_key.get(key)
        if p is None:
            p = by_key[key] = Pattern(f.rule, key[1], f.summary)
        if f.call_id in p.calls:
            continue
        p.calls.append(f.call_id)
    counts: dict[CallKind, int] = defaultdict(int)
    for n in notes.values():
        if n.kind is not None:
            counts[n.kind] += 1
    for p in by_key.values():
        hit: dict[CallKind, int] = defaultdict(int)
        times = []
        for call_id in p.calls:
            seen = notes.get(call_id)
            if seen is None:
                continue
            if seen.kind is not None:
                hit[seen.kind] += 1
            if seen.start is not None:
                times.append((seen.start, call_id))
        times.sort(key=lambda pair: (instant(pair[0]), pair[1]))
        if times:
            p.first, p.last = times[0][0], times[-1][0]
            ordered = [c for _, c in times]
            p.calls = ordered + [c for c in p.calls if c not in ordered]
        shown = sorted(hit, key=lambda k: (-hit[k], k))
        near = sorted({k for k in counts for h in shown if k not in hit and k.same_place(h)})
        p.reach = [Reach(k, hit[k], max(counts.get(k, 0), hit[k])) for k in shown]
        p.reach += [Reach(k, 0, counts[k]) for k in near]
    return sorted(by_key.values(), key=lambda p: (-len(p.calls), instant(p.first), p.rule))


__all__ = ["CallKind", "CallNote", "CallNotes", "Pattern", "decoded", "kinds", "notes_of", "patterns"]


def calls_json(notes: Mapping[str, CallNote]) -> list[dict[str, Any]]:
    """The calls with a headline (a finding), for the JSON document."""
    return [{"call_id": n.call_id, "headline": n.headline, "outcome": n.outcome,
             "kind": n.kind.label(False) if n.kind else None, "start": n.start.isoformat() if n.start else None}
            for n in sorted(notes.values(), key=lambda n: (instant(n.start), n.call_id))
            if n.headline]
