"""What the call-outcome rules share: a call's INVITE attempts, Reason and session-timer values."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..correlate.calls import Call, Dialog, Message
from ..model.sip import SipMessage
from ..correlate.statemachine import DialogRun, State, opening_cseq
from ..correlate.timeline import Timeline
from ..model.values import parse_lead_params

# Answers a UAC or proxy takes as a step, not as the call's end (RFC 3261 §16.7 step 6
# lets the proxy prefer others; 408 and 487 come from timers and CANCELs, not from a callee).
_WEAK = frozenset({408, 487, 503})


@dataclass(frozen=True, slots=True)
class Reason:
    """One value of a Reason header (RFC 3326): ``SIP;cause=200;text="Call completed elsewhere"``."""

    protocol: str
    cause: int | None
    text: str | None

    def __str__(self) -> str:
        text = f' "{self.text}"' if self.text else ""
        return f"{self.protocol};cause={self.cause}{text}" if self.cause is not None else f"{self.protocol}{text}"


def reasons(sip: SipMessage) -> list[Reason]:
    out = []
    for value in sip.headers.get_all("reason"):
        parsed = parse_lead_params(value)
        if parsed is None or not parsed[0]:
            continue
        params = {k.lower(): v for k, v in parsed[1]}
        cause = params.get("cause")
        out.append(Reason(parsed[0].upper(), int(cause) if cause and cause.isdigit() else None, params.get("text")))
    return out


def completed_elsewhere(sip: SipMessage) -> Reason | None:
    """The Reason of a CANCEL sent because another branch answered (RFC 3326 §2, RFC 3261 §16.7 step 10)."""
    for reason in reasons(sip):
        if reason.protocol == "SIP" and reason.cause == 200:
            return reason
        if reason.text and "completed elsewhere" in reason.text.lower():
            return reason
    return None


def seconds_of(value: str | None) -> int | None:
    """The delta-seconds that leads a header value (``1800;refresher=uac`` → 1800)."""
    if not value:
        return None
    lead = value.split(";", 1)[0].strip()
    return int(lead) if lead.isdigit() else None


@dataclass
class Attempt:
    """The INVITE dialogs (forks) that one caller's INVITE transaction made."""

    cseq: int | None
    runs: list[DialogRun] = field(default_factory=list)

    @property
    def invite(self) -> Message | None:
        return next((r.invite for r in self.runs if r.invite is not None), None)

    @property
    def answered(self) -> bool:
        return any(answered(r) for r in self.runs)


@dataclass
class CallerCalls:
    """The INVITE attempts of one caller (From tag) in a call, oldest first."""

    call: Call
    caller_tag: str | None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return any(a.answered for a in self.attempts)

    @property
    def latest(self) -> Attempt:
        return self.attempts[-1]

    def cancels(self) -> list[Message]:
        return [m for d in self.call.dialogs for m in d.requests("CANCEL") if m.sip.from_tag == self.caller_tag]


def answered(run: DialogRun) -> bool:
    """Did the dialog get a 2xx to an INVITE (its own, or a re-INVITE's when its start is not in the trace)?"""
    if State.CONFIRMED in run.entered:
        return True
    return any(200 <= (m.sip.status or 0) < 300 for m in run.dialog.responses("INVITE"))


def invite_runs(timeline: Timeline, call: Call) -> list[CallerCalls]:
    """A call's INVITE dialogs grouped by caller and INVITE transaction (forks together)."""
    by_caller: dict[str | None, CallerCalls] = {}
    for dialog in call.dialogs:
        run = timeline.run_of(dialog)
        if run is None or dialog.method != "INVITE":
            continue
        opening = opening_cseq(dialog)
        caller = _caller_tag(run)
        group = by_caller.get(caller)
        if group is None:
            group = by_caller[caller] = CallerCalls(call, caller)
        attempt = next((a for a in group.attempts if a.cseq == opening), None)
        if attempt is None:
            attempt = Attempt(opening)
            group.attempts.append(attempt)
        attempt.runs.append(run)
    for group in by_caller.values():
        group.attempts.sort(key=lambda a: -1 if a.cseq is None else a.cseq)
    return list(by_caller.values())


def _caller_tag(run: DialogRun) -> str | None:
    if run.invite is not None:
        return run.invite.sip.from_tag
    dialog: Dialog = run.dialog
    first = dialog.messages[0].sip if dialog.messages else None
    if first is not None and first.cseq_method == "INVITE":
        return first.from_tag        # a request's or its response's From is the caller
    return dialog.caller_tag


def finals(run: DialogRun, cseq: int | None) -> list[Message]:
    """Final failure responses (3xx-6xx) to the INVITE numbered ``cseq``, retransmissions aside."""
    return [m for m in run.dialog.responses("INVITE") if (m.sip.status or 0) >= 300 and not m.is_retransmission
            and (cseq is None or (m.sip.cseq is not None and m.sip.cseq.number == cseq))]


def best_final(responses: list[Message]) -> Message | None:
    """The failure a forking proxy sends back (RFC 3261 §16.7 step 6): a 6xx if any, else the
    lowest class, preferring a callee's answer to a timer's or a CANCEL's (408, 487, 503)."""
    if not responses:
        return None
    six = [m for m in responses if (m.sip.status or 0) >= 600]
    if six:
        return six[0]
    ordered = list(enumerate(responses))
    return min(ordered, key=lambda p: ((p[1].sip.status or 0) // 100, p[1].sip.status in _WEAK, -p[0]))[1]
