from __future__ import annotations

from collections.abc import Iterator

from ..model.context import Context
from ..correlate.calls import Dialog, Message
from .findings import Evidence, Finding, Severity
from ..correlate.statemachine import DialogRun, State
from ..correlate.timeline import Timeline
from ._calls import answered, reasons, seconds_of
from . import commands
from ._doc import section
from .findings import Command

# Answers that are a step of a negotiation, retried by the sender: glare (RFC 3261 §14.1),
# challenges (§22.2), a session interval below the other side's minimum (RFC 4028 §6).
NEGOTIATION = frozenset({491, 401, 407, 422})
TIMER_F = 32.0   # RFC 3261 §17.1.2.2: 64*T1, after which an unanswered request has timed out
DROP_WINDOW = 64.0   # a BYE this soon after the failure is the call ending because of it


def _fails(status: int | None) -> bool:
    """481 (the dialog is gone), 408 (timed out) and 5xx-6xx end a dialog (RFC 3261 §12.2.1.2)."""
    return status is not None and (status in (408, 481) or status >= 500)


class MidCallFailure:
    """A connected call whose re-INVITE or UPDATE failed, and the BYE that followed.

    What it sees:
        Inside an answered INVITE dialog, a re-INVITE or UPDATE (a session
        refresh, RFC 4028, or a media change) answered 481, 408 or 5xx-6xx,
        or never answered (64*T1 passed, or a BYE came first).  Facts: the
        time since the answer, the session interval (Session-Expires /
        Min-SE) when present, the failing response and who sent it, and the
        BYE that followed with its Reason.  A dialog whose answer is not in
        the trace (the trace starts mid-call) is judged the same way.
    Why it matters:
        It is the classic "calls drop after N minutes": the refresh reaches a
        peer that no longer knows the dialog (481), or no answer comes back
        (408, a firewall that closed the idle connection), and the refresher
        ends the call with a BYE, often `Reason: SIP;cause=481`.  In Skype
        for Business it shows between the Mediation Server and the PSTN
        gateway or SBC, at the session interval (for example 30 minutes).
    Fix:
        Look at the peer that sent the failure (its Server header) or that
        never answered: the gateway/SBC must keep the dialog for the whole
        call and answer refreshes in it (session timer support, same
        Record-Route path, TCP/TLS connection kept open or re-opened); align
        Session-Expires / Min-SE on the Mediation Server trunk and the
        gateway, or turn the session timer off on one side (on the Mediation
        Server: the trunk's EnableSessionTimer).
    Not flagged:
        491 Request Pending (glare: both sides sent a re-INVITE at once and
        retry), 401/407 challenges, 422 Session Interval Too Small (the
        sender retries with a longer interval), other 4xx refusals of a
        media change (the call goes on), refreshes answered 2xx, a request
        still unanswered when the trace ends (within 64*T1), and failures
        before the call was answered (failed-call looks at those).  Forks of
        a call that were never answered have no refresh to fail.
    References:
        RFC 4028 (session timers: Session-Expires, Min-SE, 422, refresh at
        half the interval, BYE when a refresh fails); RFC 3261 §12.2.1.2
        (481/408 to a mid-dialog request end the dialog), §14 (re-INVITE,
        491); RFC 3311 (UPDATE); RFC 3326 (Reason); Microsoft Learn:
        Get-CsTrunkConfiguration, Set-CsTrunkConfiguration (EnableSessionTimer,
        default False, the Mediation Server still answers the peer's
        refreshes; Identity PstnGateway:<FQDN> for one gateway).  The
        commands are given when the Mediation Server is in the call (its
        User-Agent or Server says MediationServer); the Set-CsTrunkConfiguration
        line only when it sent the refresh the gateway no longer knew.
    """

    id = "mid-call-failure"
    title = "Connected call failed mid-call (re-INVITE / UPDATE / session refresh)"
    severity = Severity.ERROR

    def check(self, timeline: Timeline, ctx: Context) -> Iterator[Finding]:
        for run in timeline.runs.values():
            if run.dialog.method != "INVITE":
                continue
            joined = run.invite is None and State.CONFIRMED not in run.entered
            if not answered(run) and not joined:
                continue
            finding = self._first_failure(timeline, run, joined)
            if finding is not None:
                yield finding

    def _first_failure(self, timeline: Timeline, run: DialogRun, joined: bool) -> Finding | None:
        dialog = run.dialog
        confirmed = run.entered.get(State.CONFIRMED)
        answer = confirmed.message if confirmed is not None else None
        for request in dialog.messages:
            sip = request.sip
            if (not sip.is_request or sip.method not in ("INVITE", "UPDATE") or sip.to_tag is None
                    or request.is_retransmission or request is run.invite):
                continue
            if answer is not None and answer.time and request.time and request.time < answer.time:
                continue      # an UPDATE of the early dialog
            final = _final_of(dialog, request)
            status = final.sip.status if final is not None else None
            bye = _bye_after(dialog, request)
            if final is None:
                ended = bye is not None or _waited(timeline, request)
                if not ended:
                    continue  # the trace stops before the request could time out
            elif not _fails(status):
                continue
            return self._finding(timeline, run, request, final, bye, answer)
        return None

    def _finding(self, timeline: Timeline, run: DialogRun, request: Message, final: Message | None,
                 bye: Message | None, answer: Message | None) -> Finding:
        dialog = run.dialog
        sip = request.sip
        failed_at = final.time if final is not None else request.time
        expires, min_se, refresher = _session_timer(dialog, request, answer)
        refresh = expires is not None
        what = f"{sip.method} ({'session refresh' if refresh else 'mid-call'}"
        what += f", Session-Expires {expires} s)" if refresh else ")"
        got = (f"answered {final.sip.status} {final.sip.reason or ''}".rstrip() if final is not None
               else "never answered")
        since = _seconds(answer.time if answer else None, request.time)
        bye_after = _seconds(failed_at, bye.time if bye else None)
        dropped = bye is not None and bye_after is not None and bye_after <= DROP_WINDOW
        later_ok = _later_success(dialog, request)
        severity = Severity.ERROR if dropped or not later_ok else Severity.WARNING
        when = f"{_clock(since)} after the answer" if since is not None else "(answer not in the trace)"
        bye_reason = ", ".join(str(r) for r in reasons(bye.sip)) if bye is not None else ""
        tail = ""
        if bye is not None and bye_after is not None:
            tail = f"; BYE {_clock(bye_after)} later" + (f" (Reason: {bye_reason})" if bye_reason else "")
        target = (run.invite.sip.request_uri if run.invite is not None else _callee(dialog, request)) or dialog.call_id
        evidence = []
        if answer is not None:
            evidence.append(Evidence.of_message(answer.sip, "the answer"))
        evidence.append(Evidence.of_message(sip, f"{sip.method} in the confirmed dialog"))
        if final is not None:
            evidence.append(Evidence.of_message(final.sip, "the failure"))
            for d in final.sip.diagnostics:
                evidence.append(Evidence.of_message(final.sip, f"{d.header}: {d.text}"))
        if bye is not None:
            evidence.append(Evidence.of_message(bye.sip, "the BYE that followed"))
        who = "caller" if dialog.sent_by_caller(request) else "callee"
        return Finding(
            rule=self.id, severity=severity,
            summary=f"Call to {target} {'dropped' if dropped else 'failed'} {when}: {what} {got}{tail}",
            why=section(MidCallFailure, "Why it matters"), fix=section(MidCallFailure, "Fix"),
            evidence=tuple(evidence),
            facts=(("method", sip.method), ("status", final.sip.status if final else None),
                   ("reason", final.sip.reason if final else None),
                   ("server", final.sip.user_agent if final else None), ("sent_by", who),
                   ("since_answer_s", round(since, 3) if since is not None else None),
                   ("session_expires_s", expires), ("min_se_s", min_se), ("refresher", refresher),
                   ("bye_after_s", round(bye_after, 3) if bye_after is not None else None),
                   ("bye_from", ("caller" if dialog.sent_by_caller(bye) else "callee") if bye else None),
                   ("bye_reason", bye_reason or None), ("answer_seen", answer is not None)),
            call_id=dialog.call_id, time=request.time, commands=_trunk_commands(run, request))


def _mediation(message: Message | None) -> bool:
    return message is not None and "mediationserver" in (message.sip.user_agent or "").lower().replace(" ", "")


def _trunk_commands(run: DialogRun, request: Message) -> tuple[Command, ...]:
    """The Mediation Server's trunk settings, when it is one end of the failed refresh."""
    dialog = run.dialog
    if not any(_mediation(m) for m in dialog.messages):
        return ()
    invite = run.invite
    gateway = None
    if invite is not None and _mediation(invite) and invite.sip.ruri is not None:
        gateway = (invite.sip.ruri.host or "").lower() or None   # the Mediation Server called the gateway
    refresher_is_gateway = not _mediation(request)
    return commands.trunk(gateway, refresher_is_gateway)


def _callee(dialog: Dialog, request: Message) -> str | None:
    """The callee's URI when the INVITE is not in the trace: the To of a request the caller sent."""
    sip = request.sip
    party = sip.to if dialog.sent_by_caller(request) else sip.from_
    return party.uri_text if party is not None else None


def _final_of(dialog: Dialog, request: Message) -> Message | None:
    cseq = request.sip.cseq
    for m in dialog.messages:
        if (m.sip.is_response and (m.sip.status or 0) >= 200 and not m.is_retransmission
                and m.sip.cseq == cseq and m.sip.cseq_method == request.sip.method):
            return m
    return None


def _bye_after(dialog: Dialog, request: Message) -> Message | None:
    return next((m for m in dialog.requests("BYE") if not m.is_retransmission and m.time and request.time
                 and m.time >= request.time), None)


def _later_success(dialog: Dialog, request: Message) -> bool:
    """Did a later re-INVITE or UPDATE of the dialog get a 2xx (the call went on)?"""
    number = request.sip.cseq.number if request.sip.cseq else None
    return any(m.sip.is_response and 200 <= (m.sip.status or 0) < 300 and m.sip.cseq_method in ("INVITE", "UPDATE")
               and m.sip.cseq is not None and number is not None and m.sip.cseq.number > number
               and m.time and request.time and m.time > request.time for m in dialog.messages)


def _waited(timeline: Timeline, request: Message) -> bool:
    return bool(timeline.end and request.time and (timeline.end - request.time).total_seconds() >= TIMER_F)


def _session_timer(dialog: Dialog, request: Message, answer: Message | None
                   ) -> tuple[int | None, int | None, str | None]:
    """Session-Expires, Min-SE and refresher of the refresh, else of the answer that set up the timer."""
    for message in (request, answer):
        if message is None:
            continue
        value = message.sip.headers.get("session-expires")
        expires = seconds_of(value)
        if expires is not None:
            refresher = value.split("refresher=", 1)[1].split(";")[0].strip() if value and "refresher=" in value else None
            return expires, seconds_of(message.sip.headers.get("min-se")), refresher
    return None, seconds_of(request.sip.headers.get("min-se")), None


def _seconds(start, end) -> float | None:  # type: ignore[no-untyped-def]
    return (end - start).total_seconds() if start is not None and end is not None else None


def _clock(seconds: float) -> str:
    """30 min 0 s, 2 h 5 min, 45.2 s, 0.016 s."""
    if seconds < 1:
        return f"{seconds:.3f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
