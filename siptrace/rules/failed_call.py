from __future__ import annotations

from collections.abc import Iterator

from ..model.context import Context
from ..correlate.calls import Message
from .findings import Evidence, Finding, Severity
from ..correlate.statemachine import DialogRun, State
from ..correlate.timeline import Timeline
from ._calls import Attempt, CallerCalls, best_final, completed_elsewhere, finals, invite_runs
from ._doc import section

# Outcomes that are a person's choice, not a fault.
USER_OUTCOMES = {486: "busy", 600: "busy everywhere", 603: "declined", 480: "not answered / unavailable",
                 487: "cancelled by the caller"}
AUTH_CHALLENGES = (401, 407)
TIMER_B = 32.0   # RFC 3261 §17.1.1.2: 64*T1, after which an unanswered INVITE has timed out
_PENDING = (State.CALLING, State.PROCEEDING, State.EARLY, State.CANCELLING)


class FailedCall:
    """A call that got a final failure, or never a final answer.

    What it sees:
        A call's outcome is the best outcome of its INVITE dialogs: each
        caller's latest INVITE with every fork it made (one dialog per To
        tag).  If any fork was answered, the call was answered.  Otherwise
        the failure is the one a forking proxy passes back (RFC 3261 §16.7
        step 6: a 6xx, else the lowest class, a callee's answer before a
        408/487/503), or no final answer at all.  A final 3xx–6xx to an
        INVITE that is not in the trace (a capture or log excerpt that starts
        mid-call) is reported too, saying "INVITE not in the trace".
    Why it matters:
        It is the call-level outcome: what the user saw.  The status code and
        any ms-diagnostics on the failure say who refused the call and why.
    Fix:
        Follow the final response back to the server that sent it (its Server
        header, ms-diagnostics source) and see the other findings of the call.
    Not flagged:
        Forked calls where one endpoint answered: the forks left ringing
        (simultaneous ring, several endpoints of one user, team call,
        delegates, Response Group), the forks the proxy cancelled with 487
        once another answered (RFC 3261 §16.7 step 10), and a 3xx the proxy
        or caller followed to the answered call.  A CANCEL with
        `Reason: SIP;cause=200` ("Call completed elsewhere"): the call was
        answered on an endpoint outside the trace.  401/407 and any other
        failure followed by a new INVITE of the same caller (the retry
        decides).  Calls that connected, even if they dropped later
        (mid-call-failure looks at that).  Busy, declined, not answered and
        caller-cancelled calls, and calls still being set up when the trace
        ends (within 64*T1 of it), are information only.
    References:
        RFC 3261 §13.2.2.4 (a final failure ends every early dialog),
        §16.7 (forking, response choice, CANCEL of the other branches),
        §21 (response codes), §22.2 (401/407 challenges); RFC 3326 (Reason).
    """

    id = "failed-call"
    title = "Call attempt failed or got no final answer"
    severity = Severity.ERROR

    def check(self, timeline: Timeline, ctx: Context) -> Iterator[Finding]:
        for call in timeline.calls:
            for caller in invite_runs(timeline, call):
                if caller.answered:
                    continue          # a fork answered: the others' outcome is not the call's
                finding = self._judge(timeline, caller)
                if finding is not None:
                    yield finding

    def _judge(self, timeline: Timeline, caller: CallerCalls) -> Finding | None:
        started = [a for a in caller.attempts if a.cseq is not None]
        if not started:
            return None           # only in-dialog messages: the call's start is not in the trace
        attempt = started[-1]     # earlier ones were challenged or redirected, and retried
        failures = [m for run in attempt.runs for m in finals(run, attempt.cseq)]
        failures.sort(key=lambda m: (m.time is None, m.time, m.index))
        final = best_final(failures)
        pending = [r for r in attempt.runs if r.state in _PENDING]
        if final is None and not pending:
            return None
        elsewhere = next((r for m in caller.cancels() if (r := completed_elsewhere(m.sip))), None)
        if elsewhere is not None:
            return None           # the proxy cancelled the endpoints here because another answered
        status = final.sip.status if final is not None else None
        invite = attempt.invite
        severity, outcome = self._outcome(timeline, attempt, final, pending, bool(caller.cancels()))
        evidence = []
        if invite is not None:
            evidence.append(Evidence.of_message(invite.sip, "the INVITE"))
        if final is not None:
            evidence.append(Evidence.of_message(final.sip, "final response"))
            for d in final.sip.diagnostics:
                evidence.append(Evidence.of_message(final.sip, f"{d.header}: {d.text}"))
        target = (invite.sip.request_uri if invite is not None else self._target(final, pending)) or ""
        diag = final.sip.diagnostics[0] if final is not None and final.sip.diagnostics else None
        detail = f" (ms-diagnostics {diag.code}: {diag.reason})" if diag and diag.reason else ""
        unseen = "" if invite is not None else "; INVITE not in the trace"
        forks = sum(1 for r in attempt.runs if r.dialog.callee_tag is not None)
        state = (pending[-1].state if pending and final is None else
                 next(r.state for r in attempt.runs if final in r.dialog.messages))
        return Finding(
            rule=self.id, severity=severity,
            summary=f"Call to {target} {outcome}{detail}{unseen}",
            why=section(FailedCall, "Why it matters"), fix=section(FailedCall, "Fix"),
            evidence=tuple(evidence),
            facts=(("status", status), ("reason", final.sip.reason if final else None),
                   ("state", state.value), ("request_uri", target),
                   ("server", final.sip.user_agent if final else None),
                   ("invite_seen", invite is not None), ("forks", forks)),
            call_id=caller.call.call_id, time=invite.time if invite is not None else (final.time if final else None))

    def _outcome(self, timeline: Timeline, attempt: Attempt, final: Message | None, pending: list[DialogRun],
                 cancelled: bool) -> tuple[Severity, str]:
        status = final.sip.status if final is not None else None
        if final is None:
            if self._cut_by_trace_end(timeline, pending):
                # the trace stops while the call is still being set up: nothing failed yet
                return Severity.INFO, f"not answered before the trace ends (last state {pending[-1].state.value})"
            if any(r.state is State.CANCELLING for r in pending):
                return Severity.WARNING, "no final answer after CANCEL"
            return Severity.WARNING, f"no final answer (last state {pending[-1].state.value})"
        reason = f"{status} {final.sip.reason or ''}".strip()
        if status == 487:
            return Severity.INFO, ("cancelled by the caller" if cancelled
                                   else "request terminated (487; no CANCEL in the trace)")
        if status in USER_OUTCOMES:
            return Severity.INFO, USER_OUTCOMES[status]
        if status is not None and 300 <= status < 400:
            return Severity.INFO, f"redirected ({reason})"
        if status in AUTH_CHALLENGES or (status or 0) < 500:
            return Severity.WARNING, reason
        return Severity.ERROR, reason

    @staticmethod
    def _target(final: Message | None, pending: list[DialogRun]) -> str | None:
        """The callee when the INVITE is not in the trace: the To of the answer."""
        sip = final.sip if final is not None else pending[-1].dialog.messages[0].sip
        return sip.to.uri_text if sip.to is not None else None

    @staticmethod
    def _cut_by_trace_end(timeline: Timeline, pending: list[DialogRun]) -> bool:
        """Did the trace end within 64*T1 (32 s, Timer B) of the call's last message?"""
        last = max((r.dialog.last_time for r in pending if r.dialog.last_time), default=None)
        return bool(timeline.end and last and (timeline.end - last).total_seconds() < TIMER_B)
