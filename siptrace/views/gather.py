"""What a report keeps of each judged part of a trace: summary rows, not the timeline.

`ReportRows` is the report's watcher (`siptrace.run.job.Watcher`): the runner
calls it with every part of the trace it judges, in whichever process judges
it, and it keeps only what the report shows: per call its outcome, times,
final status and counts; per dialog its setup and answer-to-BYE times; the
final responses to INVITE; the messages each host sent and received; the time
span; and the calls whose ladders are drawn (the worst `max_ladders` calls
with findings, each as a timeline of that call alone).  Memory grows with the
number of calls only by a few numbers each, or, with ``all_rows``, by one row
per call and per dialog (the JSON report's tables).

Hosts are named once per part (`HostMap` over the messages of the part that
name a new pair of ends), and each message's legs are counted by their ends
before any host is labelled: linear in the messages.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..correlate.calls import Call, Message
from ..correlate.timeline import Timeline
from ..model.context import Context
from ..model.sip import DiagRecord
from ..rules.findings import Finding, Severity, group_keys
from .compare import Side, steps_of
from .headline import headline
from .ladder import HostMap, _sender_receiver, _server
from .patterns import CallNote, CallNotes, instant
from .tables import call_rows, dialog_rows

MAX_CALL_ROWS = 500


@dataclass
class ChartData:
    """What the charts draw, from a whole `Trace` or gathered call by call."""

    starts: list[tuple[datetime, str]] = field(default_factory=list)    # (first time, outcome) per call
    findings: list[tuple[str, str]] = field(default_factory=list)       # (rule, severity) per finding
    finals: Counter[tuple[int, str]] = field(default_factory=Counter)   # final responses to INVITE
    setup_s: list[float] = field(default_factory=list)                  # per answered dialog
    answer_to_bye_s: list[float] = field(default_factory=list)
    sent: Counter[str] = field(default_factory=Counter)                 # messages per host label
    received: Counter[str] = field(default_factory=Counter)

    def add_findings(self, findings: Iterable[Finding]) -> None:
        self.findings.extend((f.rule, f.severity.value) for f in findings)

    def add_part(self, timeline: Timeline, calls: list[dict[str, Any]], dialogs: Iterable[dict[str, Any]]) -> None:
        self.starts.extend((row["first_time"], row["outcome"] or "other") for row in calls
                           if row["first_time"] is not None)
        for row in dialogs:
            if row["setup_s"] is not None:
                self.setup_s.append(row["setup_s"])
            if row["answer_to_bye_s"] is not None:
                self.answer_to_bye_s.append(row["answer_to_bye_s"])
        self.finals.update(final_responses(timeline.messages))
        legs = HostLegs()
        legs.add(timeline.messages, timeline.diagnostics)
        sent, received = legs.counts()
        self.sent.update(sent)
        self.received.update(received)

    def merge(self, other: ChartData) -> None:
        self.starts.extend(other.starts)
        self.findings.extend(other.findings)
        self.finals.update(other.finals)
        self.setup_s.extend(other.setup_s)
        self.answer_to_bye_s.extend(other.answer_to_bye_s)
        self.sent.update(other.sent)
        self.received.update(other.received)


def final_responses(messages: Iterable[Message]) -> Counter[tuple[int, str]]:
    """(status, reason) of each final response to an INVITE, retransmissions not counted."""
    out: Counter[tuple[int, str]] = Counter()
    for m in messages:
        sip = m.sip
        status = sip.status
        if status is not None and status >= 200 and sip.cseq_method == "INVITE" and not m.is_retransmission:
            out[(status, sip.reason if isinstance(sip.reason, str) else "")] += 1
    return out


def host_counts(messages: list[Message], diagnostics: list[DiagRecord]) -> tuple[Counter[str], Counter[str]]:
    """Messages each host sent and received: one per leg of each message (the ladder's arrows),
    hosts joined as the ladder joins them over these messages; each host labelled once."""
    legs = HostLegs()
    legs.add(messages)
    return legs.counts(HostMap().learn(messages, diagnostics))


@dataclass
class HostLegs:
    """The legs of messages, counted by the raw names of their ends, and the first messages
    naming each pair of ends: the evidence that joins names into hosts.

    Counting is a dictionary update per message; names are joined (`HostMap`)
    and labelled once, at the end, over the evidence only (most messages of a
    call travel the legs its first ones did).  A pair of names keeps its first
    `EVIDENCE` messages, and a server its first record.  Used over one judged
    part at a time, so what it holds is freed with the part.
    """

    legs: Counter[frozenset[tuple[str, str]]] = field(default_factory=Counter)   # one message's legs → count
    evidence: list[Message] = field(default_factory=list)
    servers: dict[str, DiagRecord] = field(default_factory=dict)
    _pairs: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, messages: Iterable[Message], diagnostics: Iterable[DiagRecord] = ()) -> None:
        for message in messages:
            ends = frozenset(_sender_receiver(sip) for sip in message.sightings)
            self.legs[ends] += 1
            if any(self._pairs[pair] < EVIDENCE for pair in ends):
                self.evidence.append(message)
                self._pairs.update(ends)
        for diag in diagnostics:
            self.servers.setdefault(_server(diag), diag)

    def counts(self, hosts: HostMap | None = None) -> tuple[Counter[str], Counter[str]]:
        """(sent, received) per host label; ``hosts`` joined from the kept evidence unless given."""
        if hosts is None:
            hosts = HostMap().learn(self.evidence, list(self.servers.values()))
        sent: Counter[str] = Counter()
        received: Counter[str] = Counter()
        for ends, n in self.legs.items():
            for src, dst in {(hosts.find(src), hosts.find(dst)) for src, dst in ends}:
                sent[src] += n
                received[dst] += n
        labels = {root: hosts.label(root) for root in {*sent, *received}}
        return _relabel(sent, labels), _relabel(received, labels)


EVIDENCE = 2


def call_alone(timeline: Timeline, call: Call) -> Timeline:
    """A timeline of one call of ``timeline`` (what its ladder reads), sharing its objects."""
    runs = {id(d): timeline.runs[id(d)] for d in call.dialogs if id(d) in timeline.runs}
    return Timeline(messages=list(call.messages), calls=[call], runs=runs, diagnostics=list(call.diagnostics),
                    offsets=timeline.offsets, references=timeline.references, end=timeline.end)


@dataclass
class ReportRows:
    """The report's watcher: see the module docstring."""

    all_rows: bool = False
    max_ladders: int = 20
    calls: list[tuple[Any, ...]] = field(default_factory=list)     # (order, row): the first calls, or all
    dialogs: list[dict[str, Any]] = field(default_factory=list)    # with ``all_rows`` only
    call_count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    charts: ChartData = field(default_factory=ChartData)
    worst: list[tuple[Any, ...]] = field(default_factory=list)     # (key, n, Call-ID, its timeline, its findings, Side)
    calls_with_findings: int = 0
    ctx: Context = field(default_factory=Context)
    ladders: dict[str, str] = field(default_factory=dict)         # each call's note, by Call-ID (as diagnose keeps)
    healthy: dict[str, tuple[Any, ...]] = field(default_factory=dict)   # kind → (order, Side, its timeline)
    _notes: CallNotes | None = None
    _n: int = 0

    def __getstate__(self) -> dict[str, Any]:
        """To the parent: the calls kept for ladders without their state machine runs (the
        ladder does not read them, and they are keyed by object identity)."""
        state = dict(self.__dict__)
        state["worst"] = [(*w[:3], _without_runs(w[3]), *w[4:]) for w in self.worst]
        state["healthy"] = {k: (order, kept, _without_runs(t)) for k, (order, kept, t) in self.healthy.items()}
        state["_notes"] = None
        return state

    @property
    def notes(self) -> CallNotes:
        if self._notes is None:
            self._notes = CallNotes(self.ctx)
        return self._notes

    def judged(self, timeline: Timeline, findings: list[Finding]) -> None:
        calls = list(call_rows(timeline, findings))
        dialogs = list(dialog_rows(timeline))
        self.charts.add_part(timeline, calls, dialogs)
        self.call_count += len(calls)
        self.calls.extend((_order(row), row) for row in calls)
        if self.all_rows:
            self.dialogs.extend(dialogs)
        elif len(self.calls) > 2 * MAX_CALL_ROWS:
            self.calls = heapq.nsmallest(MAX_CALL_ROWS, self.calls, key=lambda c: c[0])
        times = [m.time for m in timeline.messages if m.time is not None]
        if times:
            self.first = min(times) if self.first is None else min(self.first, min(times))
            self.last = max(times) if self.last is None else max(self.last, max(times))
        self._keep_notes(timeline, findings)
        self._keep_worst(timeline, findings)

    def _keep_notes(self, timeline: Timeline, findings: list[Finding]) -> None:
        """Each call's note, and the first healthy answered call of each kind (a Side made only
        when a call takes the place of the one kept: calls come about in time order)."""
        by_call: dict[str, list[Finding]] = {}
        for f in findings:
            if f.call_id:
                by_call.setdefault(f.call_id, []).append(f)
        for call in timeline.calls:
            mine = by_call.get(call.call_id, [])
            note = self.notes.note_of(timeline, call.call_id, mine)
            if note is None:
                continue
            self.ladders[call.call_id] = note.dumps()
            if _healthy(note, mine):
                assert note.kind is not None
                order = (instant(note.start), call.call_id)
                kept = self.healthy.get(note.kind.key())
                if kept is None or order < kept[0]:
                    side = Side(call, steps_of(timeline, call), headline(timeline, call), note.kind, [])
                    self.healthy[note.kind.key()] = (order, side, call_alone(timeline, call))

    def _keep_worst(self, timeline: Timeline, findings: list[Finding]) -> None:
        """The calls with findings that come first in the findings' order (`group_keys`)."""
        best: dict[str, tuple[Any, ...]] = {}
        for key, f in zip(group_keys(findings), findings):
            if f.call_id and (f.call_id not in best or key < best[f.call_id]):
                best[f.call_id] = key
        for cid, key in best.items():
            call = timeline.call(cid)
            if call is not None:
                self.calls_with_findings += 1
                self._n += 1
                mine = [f for f in findings if f.call_id == cid]
                kind = self.notes.kinds_of(timeline).get(cid)
                side = Side(call, steps_of(timeline, call), headline(timeline, call, mine), kind, mine)
                self.worst.append((key, self._n, cid, call_alone(timeline, call), mine, side))
        if len(self.worst) > 2 * self.max_ladders:
            self.worst = heapq.nsmallest(self.max_ladders, self.worst, key=lambda w: w[:2])

    def merge(self, other: ReportRows) -> None:
        self.calls.extend(other.calls)
        self.dialogs.extend(other.dialogs)
        self.call_count += other.call_count
        self.charts.merge(other.charts)
        for when in (other.first, other.last):
            if when is not None:
                self.first = when if self.first is None else min(self.first, when)
                self.last = when if self.last is None else max(self.last, when)
        self.worst.extend(other.worst)
        self.calls_with_findings += other.calls_with_findings
        self.ladders.update(other.ladders)
        for key, kept in other.healthy.items():
            if key not in self.healthy or kept[0] < self.healthy[key][0]:
                self.healthy[key] = kept

    # -- what the report reads ---------------------------------------------------
    def call_table(self, limit: int | None = None) -> list[dict[str, Any]]:
        rows = sorted(self.calls, key=lambda c: c[0]) if limit is None else heapq.nsmallest(
            limit, self.calls, key=lambda c: c[0])
        return [row for _, row in rows]

    def dialog_table(self) -> list[dict[str, Any]]:
        return sorted(self.dialogs, key=_order)

    def worst_calls(self) -> list[tuple[str, Timeline, list[Finding]]]:
        """The calls whose ladders are drawn, worst first (at most ``max_ladders``)."""
        chosen = heapq.nsmallest(self.max_ladders, self.worst, key=lambda w: w[:2])
        seen: set[str] = set()
        out = []
        for _, _, cid, timeline, found, _side in chosen:
            if cid not in seen:
                seen.add(cid)
                out.append((cid, timeline, found))
        return out

    def comparison(self) -> tuple[Side | None, tuple[Side, Timeline] | None, str]:
        """The worst failing call, the healthy call to set beside it (same kind first, else the
        same place reached another way, the earliest) and the timeline of both; or why not."""
        failing = None
        for _, _, _, timeline, found, side in sorted(self.worst, key=lambda w: w[:2]):
            if side.kind is not None and any(not f.cause and f.severity.rank >= Severity.WARNING.rank
                                             for f in found):
                failing = (side, timeline)
                break
        if failing is None:
            return None, None, "No failing call of a known kind in this trace: nothing to compare."
        side, timeline = failing
        kind = side.kind
        assert kind is not None
        near = sorted((kept[1].kind != kind, kept[0], key) for key, kept in self.healthy.items()
                      if kept[1].kind.same_place(kind))
        if not near:
            return side, None, (f"No healthy call of the same kind ({kind.label(False)}, or to the same place "
                                f"another way) in this trace: add a trace of one to compare with.")
        other_way, _, key = near[0]
        _, good, good_timeline = self.healthy[key]
        note = (f"No healthy {kind.label(False)} in this trace; compared with {good.kind.label(False)}."
                if other_way else "")
        return side, (good, _both(good_timeline, timeline)), note


def _healthy(note: CallNote, findings: list[Finding]) -> bool:
    return (note.kind is not None and note.outcome == "answered"
            and not any(f.severity.rank >= Severity.WARNING.rank for f in findings))


def _both(a: Timeline, b: Timeline) -> Timeline:
    """One timeline of two calls' timelines (for their ladders side by side)."""
    messages = sorted([*a.messages, *b.messages], key=lambda m: instant(m.time))
    ends = [t for t in (a.end, b.end) if t is not None]
    return Timeline(messages=messages, calls=[*a.calls, *b.calls], runs={**a.runs, **b.runs},
                    diagnostics=[*a.diagnostics, *b.diagnostics], offsets={**a.offsets, **b.offsets},
                    references={**a.references, **b.references},
                    end=max(ends, key=instant) if ends else None)


def _without_runs(timeline: Timeline) -> Timeline:
    return Timeline(messages=timeline.messages, calls=timeline.calls, runs={}, diagnostics=timeline.diagnostics,
                    offsets=timeline.offsets, references=timeline.references, end=timeline.end)


def _order(row: dict[str, Any]) -> tuple[Any, ...]:
    when = row["first_time"]
    return (when is None, when.timestamp() if when is not None else 0.0, row["call_id"] or "", row["file"] or "",
            row["line"] or 0)




def _relabel(counts: Counter[str], labels: dict[str, str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for root, n in counts.items():
        out[labels[root]] += n
    return out


__all__ = ["ChartData", "ReportRows", "call_alone", "final_responses", "host_counts", "MAX_CALL_ROWS"]
