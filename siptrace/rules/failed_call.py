from __future__ import annotations

from collections.abc import Iterator

from ..context import Context
from ..findings import Evidence, Finding, Severity
from ..statemachine import State
from ..timeline import Timeline
from ._doc import section

# Outcomes that are a person's choice, not a fault.
USER_OUTCOMES = {486: "busy", 600: "busy everywhere", 603: "declined", 480: "not answered / unavailable",
                 487: "cancelled by the caller"}
AUTH_CHALLENGES = (401, 407)
TIMER_B = 32.0   # RFC 3261 §17.1.1.2: 64*T1, after which an unanswered INVITE has timed out


class FailedCall:
    """An INVITE that got a final failure, or never a final answer.

    What it sees:
        The INVITE dialog's state at the end of the trace: FAILED with the
        3xx–6xx that ended it, CANCELLED, or still CALLING / PROCEEDING /
        EARLY (no final answer at all).  An auth challenge (401/407) followed
        by a new INVITE from the same caller is the normal NTLM/Kerberos
        handshake, not a failure.
    Why it matters:
        It is the call-level outcome: what the user saw.  The status code and
        any ms-diagnostics on the failure say who refused the call and why.
    Fix:
        Follow the final response back to the server that sent it (its Server
        header, ms-diagnostics source) and see the other findings of the call.
    Not flagged:
        401/407 followed by a retry; calls that connected (even if they
        dropped later: other rules look at that).  Busy, declined, not
        answered and cancelled calls, and calls still being set up when the
        trace ends (within 64*T1 of it), are reported as information only.
    References:
        RFC 3261 §13.2.2.3, §21 (response codes), §22.2 (401/407 challenges).
    """

    id = "failed-call"
    title = "Call attempt failed or got no final answer"
    severity = Severity.ERROR

    def check(self, timeline: Timeline, ctx: Context) -> Iterator[Finding]:
        for run in timeline.runs.values():
            dialog = run.dialog
            if run.invite is None or run.state not in (State.FAILED, State.CANCELLED, State.CALLING,
                                                       State.PROCEEDING, State.EARLY, State.CANCELLING):
                continue
            finals = [m for m in dialog.responses("INVITE") if (m.sip.status or 0) >= 300
                      and not m.is_retransmission]
            final = finals[-1] if finals else None
            status = final.sip.status if final else None
            if status in AUTH_CHALLENGES and self._retried(timeline, run):
                continue  # the challenge was answered with a new INVITE
            evidence = [Evidence.of_message(run.invite.sip, "the INVITE")]
            if final is not None:
                evidence.append(Evidence.of_message(final.sip, "final response"))
                for d in final.sip.diagnostics:
                    evidence.append(Evidence.of_message(final.sip, f"{d.header}: {d.text}"))
            target = run.invite.sip.request_uri or ""
            if run.state is State.CANCELLED or status == 487:
                severity, outcome = Severity.INFO, "cancelled by the caller"
            elif status in USER_OUTCOMES:
                severity, outcome = Severity.INFO, USER_OUTCOMES[status]
            elif status is None and self._cut_by_trace_end(timeline, run):
                # the trace stops while the call is still being set up: nothing failed yet
                severity = Severity.INFO
                outcome = f"not answered before the trace ends (last state {run.state.value})"
            elif status is None:
                severity = Severity.WARNING
                outcome = ("no final answer after CANCEL" if run.state is State.CANCELLING
                           else f"no final answer (last state {run.state.value})")
            elif 300 <= status < 400:
                severity, outcome = Severity.INFO, f"redirected ({status} {final.sip.reason})"  # type: ignore[union-attr]
            elif status in AUTH_CHALLENGES or status < 500:
                severity, outcome = Severity.WARNING, f"{status} {final.sip.reason}"  # type: ignore[union-attr]
            else:
                severity, outcome = Severity.ERROR, f"{status} {final.sip.reason}"  # type: ignore[union-attr]
            diag = final.sip.diagnostics[0] if final is not None and final.sip.diagnostics else None
            detail = f" (ms-diagnostics {diag.code}: {diag.reason})" if diag and diag.reason else ""
            yield Finding(
                rule=self.id, severity=severity,
                summary=f"Call to {target} {outcome}{detail}",
                why=section(FailedCall, "Why it matters"), fix=section(FailedCall, "Fix"),
                evidence=tuple(evidence),
                facts=(("status", status), ("reason", final.sip.reason if final else None),
                       ("state", run.state.value), ("request_uri", target),
                       ("server", final.sip.user_agent if final else None)),
                call_id=dialog.call_id, time=run.invite.time)

    @staticmethod
    def _cut_by_trace_end(timeline: Timeline, run) -> bool:  # type: ignore[no-untyped-def]
        """Did the trace end within 64*T1 (32 s, Timer B) of the call's last message?"""
        last = run.dialog.last_time
        return bool(timeline.end and last and (timeline.end - last).total_seconds() < TIMER_B)

    @staticmethod
    def _retried(timeline: Timeline, run) -> bool:  # type: ignore[no-untyped-def]
        invite = run.invite
        call = timeline.call(run.dialog.call_id)
        number = invite.sip.cseq.number if invite.sip.cseq else -1
        return any(m.sip.method == "INVITE" and m.sip.from_tag == invite.sip.from_tag
                   and m.sip.cseq and m.sip.cseq.number > number for m in (call.messages if call else []))
