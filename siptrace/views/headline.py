"""A call as a person sees it, in one line: who called whom, how it was answered, how it ended, why.

``alice → +14255550150 · answered after 945 ms · dropped after 30.4 s, BYE from the caller ·
root cause: ack-retarget-bye: ACK … went to mail.contoso.com``

The outcome reflects the fault: an answered call that a root-cause finding
says was torn down (the ACK never reached the answerer, a session refresh
failed) is *dropped*, not answered.  The notebook's calls frame takes its
``outcome`` from here, so the frame, ``diagnose`` and the report agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..correlate.calls import Call, Message
from ..correlate.statemachine import DialogRun, State
from ..correlate.timeline import Timeline
from ..model.sip import NameAddr, SipMessage
from ..rules.findings import Finding, Severity

# Root causes whose finding means an answered call was torn down by the fault.
DROPPING = frozenset({"ack-retarget-bye", "ack-missing", "mid-call-failure"})
_ANSWERED = frozenset({State.CONFIRMED, State.ACKED, State.TERMINATING, State.TERMINATED})
OUTCOMES = ("answered", "dropped", "failed", "cancelled", "no answer", "other")


@dataclass(frozen=True)
class Headline:
    """What a person wants to know of one call first (all times from the trace's clocks)."""

    call_id: str
    caller: str | None
    callee: str | None
    outcome: str                     # one of OUTCOMES
    status: int | None               # the INVITE's final status (2xx when answered)
    reason: str | None               # its reason phrase
    start: datetime | None
    setup_ms: float | None           # INVITE → 2xx, or → the final failure
    talk_s: float | None             # 2xx → the BYE (or the end of the trace when none)
    ended_by: str | None             # "caller" or "callee"
    ended_how: str | None            # "BYE", "CANCEL", "timeout", "no BYE in the trace"
    cause: str | None                # the root cause in a few words
    cause_rule: str | None = None

    def text(self) -> str:
        parts = [f"{self.caller or '?'} → {self.callee or '?'}", *self._answer()]
        if self.cause:
            parts.append(f"root cause: {self.cause}")
        return " · ".join(parts)

    def _answer(self) -> list[str]:
        setup = f" after {_ms(self.setup_ms)}" if self.setup_ms is not None else ""
        if self.outcome in ("answered", "dropped"):
            out = [f"answered{setup}"]
            who = f"the {self.ended_by}" if self.ended_by else "a side not in the trace"
            if self.ended_how == "no BYE in the trace":
                talk = f" ({_s(self.talk_s)} so far)" if self.talk_s is not None else ""
                out.append(f"{'dropped' if self.outcome == 'dropped' else 'still connected'} at the end of the "
                           f"trace{talk}")
            elif self.outcome == "dropped":
                out.append(f"dropped after {_s(self.talk_s)}, {self.ended_how} from {who}")
            else:
                out.append(f"talk {_s(self.talk_s)}")
                out.append(f"{self.ended_by} hung up ({self.ended_how})" if self.ended_by
                           else f"ended by {self.ended_how}")
            return out
        final = f"{self.status} {self.reason or ''}".strip() if self.status else ""
        if self.outcome == "cancelled":
            return [f"cancelled by the {self.ended_by or 'caller'}{setup} (CANCEL"
                    f"{', ' + final if final else ''})"]
        if self.outcome == "failed":
            if self.ended_how == "timeout":
                return [f"timed out{setup} ({final})"]
            return [f"failed: {final}{setup}"]
        if self.outcome == "no answer":
            return ["no final answer in the trace"]
        return ["no INVITE dialog"]

    def as_dict(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "headline": self.text(), "caller": self.caller, "callee": self.callee,
                "outcome": self.outcome, "status": self.status,
                "start": self.start.isoformat() if self.start else None,
                "setup_ms": _round(self.setup_ms, 0), "talk_s": _round(self.talk_s, 1),
                "ended_by": self.ended_by, "ended_how": self.ended_how,
                "root_cause": self.cause_rule}


def _round(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def _ms(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def _s(value: float | None) -> str:
    if value is None:
        return "?"
    if value < 60:
        return f"{value:.1f} s"
    minutes, secs = divmod(int(round(value)), 60)
    return f"{minutes} min {secs} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def party(addr: NameAddr | None, redact: Callable[[str], str] | None = None) -> str | None:
    """How a person names one end: the display name, else the URI's user part, else its host."""
    if addr is None:
        return None
    uri = addr.uri
    name = (addr.display or "").strip().strip('"') or (uri.user if uri and uri.user else None) \
        or (uri.host if uri else None) or addr.uri_text
    return redact(name) if redact is not None and name else name


def root_causes(findings: Sequence[Finding]) -> list[Finding]:
    """The call's root-cause findings at warning or above, worst first."""
    roots = [f for f in findings if not f.cause and f.severity.rank >= Severity.WARNING.rank]
    return sorted(roots, key=lambda f: -f.severity.rank)


def cause_words(f: Finding) -> str:
    """A root cause in a few words: its rule and the first clause of its summary."""
    first = f.summary.split("; ", 1)[0].rstrip(".")
    return f"{f.rule}: {first}"


def invite_runs(timeline: Timeline, call: Call) -> list[DialogRun]:
    return [r for r in (timeline.run_of(d) for d in call.dialogs if d.method == "INVITE") if r is not None]


def main_run(runs: Sequence[DialogRun]) -> DialogRun | None:
    """The dialog that tells the call's story: the first answered one, else the last attempt."""
    answered = [r for r in runs if _ANSWERED & set(r.entered) or r.state in _ANSWERED]
    return answered[0] if answered else (runs[-1] if runs else None)


def outcome_of(runs: Sequence[DialogRun], findings: Sequence[Finding] = ()) -> str:
    """answered / dropped / cancelled / failed / no answer / other (see `OUTCOMES`).

    An answered call is dropped when an error root cause of it is a teardown
    (`DROPPING`) or cites the BYE that ended it (a Reason or diagnostic on it).
    """
    if not runs:
        return "other"
    states = {r.state for r in runs}
    if states & _ANSWERED:
        errors = [f for f in findings if not f.cause and f.severity is Severity.ERROR]
        if any(f.rule in DROPPING for f in errors):
            return "dropped"
        bye = ending_bye(main_run(runs))
        cited = {e.origin for f in errors for e in f.evidence}
        if bye is not None and any(s.origin in cited for s in bye.sightings):
            return "dropped"
        return "answered"
    if states & {State.CANCELLED, State.CANCELLING}:
        return "cancelled"
    if State.FAILED in states:
        return "failed"
    return "no answer"


def ending_bye(run: DialogRun | None) -> Message | None:
    """The BYE that ended an answered dialog (the first one after the 2xx)."""
    if run is None:
        return None
    confirmed = run.entered.get(State.CONFIRMED)
    ok_time = confirmed.message.time if confirmed else None
    return next((m for m in run.dialog.requests("BYE") if not m.is_retransmission
                 and (ok_time is None or m.time is None or m.time >= ok_time)), None)


def final_status(runs: Sequence[DialogRun]) -> tuple[int | None, str | None]:
    """The INVITE's final status and reason: the first 2xx when answered, else the last final."""
    finals = [m for r in runs for m in r.dialog.responses("INVITE")
              if (m.sip.status or 0) >= 200 and not m.is_retransmission]
    ok = [m for m in finals if 200 <= (m.sip.status or 0) < 300]
    chosen = ok[0] if ok else (finals[-1] if finals else None)
    return (chosen.sip.status, chosen.sip.reason) if chosen is not None else (None, None)


def _first_invite(call: Call, run: DialogRun | None) -> Message | None:
    if run is not None and run.invite is not None:
        return run.invite
    return next((m for m in call.messages if m.sip.method == "INVITE" and not m.sip.to_tag), None)


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a is not None and b is not None else None


def headline(timeline: Timeline, call: Call, findings: Sequence[Finding] = (),
             redact: Callable[[str], str] | None = None) -> Headline:
    """The `Headline` of one call, from its messages and its findings.

    ``redact`` (e.g. ``Redactor().text``) replaces the parties' names when the
    trace itself was not redacted.
    """
    runs = invite_runs(timeline, call)
    run = main_run(runs)
    outcome = outcome_of(runs, findings)
    status, reason = final_status(runs)
    invite = _first_invite(call, run)
    named: SipMessage | None = invite.sip if invite else (call.messages[0].sip if call.messages else None)
    start = invite.time if invite else call.first_time
    # the call's INVITE not in the trace: no setup time
    asked = start if run is None or run.invite is not None else None
    setup_ms = talk_s = None
    ended_by = ended_how = None
    if run is not None:
        dialog = run.dialog
        confirmed = run.entered.get(State.CONFIRMED)
        if outcome in ("answered", "dropped"):
            ok_time = confirmed.message.time if confirmed else None
            setup = _seconds(asked, ok_time)
            setup_ms = setup * 1000 if setup is not None else None
            bye = ending_bye(run)
            if bye is not None:
                ended_how = "BYE"
                ended_by = "caller" if dialog.sent_by_caller(bye) else "callee"
                talk_s = _seconds(ok_time, bye.time)
            else:
                ended_how = "no BYE in the trace"
                talk_s = _seconds(ok_time, timeline.end or call.last_time)
        else:
            finals = [m for r in runs for m in r.dialog.responses("INVITE")
                      if (m.sip.status or 0) >= 200 and not m.is_retransmission]
            setup = _seconds(asked, finals[-1].time) if finals else None
            setup_ms = setup * 1000 if setup is not None else None
            if outcome == "cancelled":
                ended_how, ended_by = "CANCEL", "caller"
            elif status == 408:
                ended_how = "timeout"
            elif outcome == "failed":
                ended_how = "final response"
    roots = root_causes(findings)
    return Headline(call.call_id, party(named.from_ if named else None, redact),
                    party(named.to if named else None, redact), outcome, status, reason, start,
                    setup_ms, talk_s, ended_by, ended_how,
                    cause_words(roots[0]) if roots else None, roots[0].rule if roots else None)


__all__ = ["DROPPING", "OUTCOMES", "Headline", "headline", "outcome_of", "party", "root_causes"]
