"""The INVITE dialog state machine (RFC 3261 §12–§17), as a table.

Theory of operation:

* One machine per INVITE dialog (or dialog attempt).  It consumes the
  dialog's unique messages in time order and knows nothing of UM, Edge or
  front ends: it turns messages into inputs, looks the (state, input) pair up
  in TRANSITIONS and emits timed events.  Rules read the events.
* It never raises and never prints.  A pair missing from the table is not an
  error of ours but something odd in the trace: it becomes an UNEXPECTED
  event and the state stays as it was (h11 and h2 raise here; a diagnostic
  tool must keep reading).
* Retransmissions (found by correlation) never change the state; they are
  reported as RETRANSMISSION events ("UAS never got the ACK; it keeps resending
  200 OK").  In-dialog requests whose Request-URI host is not the INVITE's are
  reported as RETARGETED: normal by RFC 3261 §12.2.1.1 (the remote target is
  the Contact of the 2xx), and exactly what the UM certificate failure shows.

The picture (RFC 3261 §13, §15, §17 folded into one dialog's view):

                            INVITE
                              |
                              v
        +---------------- CALLING -----------------+
        | 100                 | 101-199            | 300-699
        v                     v                    v
    PROCEEDING --101-199--> EARLY --300-699-->  FAILED --ACK--> FAILED
        |                     |                    ^
        +-------- 2xx --------+---- 2xx ----+      | 487 (after CANCEL)
                                            v      |
    CANCEL (CALLING/PROCEEDING/EARLY) --> CANCELLING --487--> CANCELLED
                                            |
                                        CONFIRMED --ACK--> ACKED
                                            |                |
                                           BYE              BYE
                                            v                v
                                        TERMINATING --final to BYE--> TERMINATED

A new INVITE after FAILED or CANCELLED (a challenge answered with 401/407, a
call cancelled and placed again with the same tags) starts again at CALLING.

Deviation: a BYE straight after 2xx with no ACK (CONFIRMED --BYE-->) is
accepted, since that is how a UAS ends a call whose ACK never came
(§13.3.1.4: after 64*T1 without ACK "the UAS SHOULD ... send a BYE").

Partial traces: a capture or log excerpt often starts after the INVITE was
sent.  From IDLE, the answers that come before a dialog is confirmed (100,
1xx, a 3xx-6xx, a CANCEL) move the machine as if the INVITE had been seen;
`DialogRun.invite` stays None, so rules can say "INVITE not in the trace".
A 2xx is not taken that way: whether it answered the INVITE or a re-INVITE
cannot be told.  An INVITE that carries a To tag is a re-INVITE, never the
start of a call: it is an in-dialog input, and so are the answers to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from .calls import Dialog, Message
from ..model.quickinit import quick_init


class State(str, Enum):
    IDLE = "idle"
    CALLING = "calling"
    PROCEEDING = "proceeding"
    EARLY = "early"
    CONFIRMED = "confirmed"
    ACKED = "acked"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    FAILED = "failed"
    TERMINATING = "terminating"
    TERMINATED = "terminated"


class Input(str, Enum):
    INVITE = "INVITE"
    TRYING = "100"
    PROVISIONAL = "1xx"
    SUCCESS_2XX = "2xx"
    FAILURE = "3xx-6xx"
    ACK = "ACK"
    BYE = "BYE"
    BYE_FINAL = "final response to BYE"
    CANCEL = "CANCEL"
    CANCEL_FINAL = "final response to CANCEL"
    IN_DIALOG = "in-dialog request or response"


class EventKind(str, Enum):
    TRANSITION = "transition"
    RETRANSMISSION = "retransmission"
    RETARGETED = "retargeted request"
    UNEXPECTED = "unexpected input"


S, I = State, Input

# (state, input) → new state.  Anything not here is UNEXPECTED.
TRANSITIONS: dict[tuple[State, Input], State] = {
    (S.IDLE, I.INVITE): S.CALLING,
    (S.IDLE, I.TRYING): S.PROCEEDING,                # the INVITE is not in the trace
    (S.IDLE, I.PROVISIONAL): S.EARLY,
    (S.IDLE, I.FAILURE): S.FAILED,
    (S.IDLE, I.CANCEL): S.CANCELLING,
    (S.CALLING, I.TRYING): S.PROCEEDING,
    (S.CALLING, I.PROVISIONAL): S.EARLY,
    (S.CALLING, I.SUCCESS_2XX): S.CONFIRMED,
    (S.CALLING, I.FAILURE): S.FAILED,
    (S.CALLING, I.CANCEL): S.CANCELLING,
    (S.PROCEEDING, I.TRYING): S.PROCEEDING,          # another hop's 100
    (S.PROCEEDING, I.PROVISIONAL): S.EARLY,
    (S.PROCEEDING, I.SUCCESS_2XX): S.CONFIRMED,
    (S.PROCEEDING, I.FAILURE): S.FAILED,
    (S.PROCEEDING, I.CANCEL): S.CANCELLING,
    (S.EARLY, I.TRYING): S.EARLY,
    (S.EARLY, I.PROVISIONAL): S.EARLY,               # 180 after 183, or a new 180
    (S.EARLY, I.SUCCESS_2XX): S.CONFIRMED,
    (S.EARLY, I.FAILURE): S.FAILED,
    (S.EARLY, I.CANCEL): S.CANCELLING,
    (S.EARLY, I.IN_DIALOG): S.EARLY,                 # PRACK, UPDATE in an early dialog
    (S.CANCELLING, I.CANCEL_FINAL): S.CANCELLING,
    (S.CANCELLING, I.TRYING): S.CANCELLING,
    (S.CANCELLING, I.PROVISIONAL): S.CANCELLING,
    (S.CANCELLING, I.FAILURE): S.CANCELLED,          # 487 Request Terminated
    (S.CANCELLING, I.SUCCESS_2XX): S.CONFIRMED,      # the 200 crossed the CANCEL
    (S.CANCELLED, I.ACK): S.CANCELLED,
    (S.CANCELLED, I.INVITE): S.CALLING,              # a new attempt in the same dialog
    (S.FAILED, I.ACK): S.FAILED,                     # ACK for a non-2xx (§17.1.1.3)
    (S.FAILED, I.INVITE): S.CALLING,                 # a new attempt (after 401/407, say)
    (S.CONFIRMED, I.ACK): S.ACKED,
    (S.CONFIRMED, I.BYE): S.TERMINATING,             # UAS gave up waiting for the ACK
    (S.CONFIRMED, I.IN_DIALOG): S.CONFIRMED,
    (S.ACKED, I.ACK): S.ACKED,                       # ACK of a re-INVITE
    (S.ACKED, I.IN_DIALOG): S.ACKED,                 # INFO, re-INVITE, UPDATE, their answers
    (S.ACKED, I.BYE): S.TERMINATING,
    (S.TERMINATING, I.BYE): S.TERMINATING,           # both sides hung up at once
    (S.TERMINATING, I.BYE_FINAL): S.TERMINATED,
    (S.TERMINATING, I.ACK): S.TERMINATING,           # a late ACK
    (S.TERMINATING, I.IN_DIALOG): S.TERMINATING,
    (S.TERMINATED, I.BYE_FINAL): S.TERMINATED,       # the answer seen on another hop
}


@quick_init
@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    time: datetime | None
    message: Message
    before: State
    after: State
    input: Input | None = None
    note: str = ""


@dataclass
class DialogRun:
    """What the machine made of one dialog: final state, events, first time in each state."""

    dialog: Dialog
    state: State = State.IDLE
    events: list[Event] = field(default_factory=list)
    entered: dict[State, Event] = field(default_factory=dict)
    invite: Message | None = None

    def of_kind(self, kind: EventKind) -> list[Event]:
        return [e for e in self.events if e.kind is kind]


def classify(message: Message, opening: int | None) -> Input | None:
    """The machine's input for one message of an INVITE dialog.

    ``opening`` is the CSeq number of the INVITE that started the dialog (None
    when the dialog's start is not in the trace): answers to any other INVITE
    are answers to a re-INVITE.
    """
    sip = message.sip
    method = sip.cseq_method
    cseq = sip.cseq
    if sip.is_request:
        if sip.method == "INVITE":
            return Input.INVITE if sip.to_tag is None else Input.IN_DIALOG
        if sip.method == "ACK":
            return Input.ACK
        if sip.method == "BYE":
            return Input.BYE
        if sip.method == "CANCEL":
            return Input.CANCEL
        return Input.IN_DIALOG
    status = sip.status or 0
    if method == "INVITE" and opening is not None and cseq is not None and cseq.number == opening:
        if status == 100:
            return Input.TRYING
        if status < 200:
            return Input.PROVISIONAL
        return Input.SUCCESS_2XX if status < 300 else Input.FAILURE
    if method == "BYE":
        return Input.BYE_FINAL if status >= 200 else None
    if method == "CANCEL":
        return Input.CANCEL_FINAL if status >= 200 else None
    return Input.IN_DIALOG


def opening_cseq(dialog: Dialog) -> int | None:
    """The CSeq number of the INVITE transaction that started the dialog.

    Taken from the INVITE, or, when the trace starts after it, from the first
    answer to an INVITE if no in-dialog request (ACK, BYE, a re-INVITE...) came
    before it; otherwise the start is not in the trace (None).
    """
    for message in dialog.messages:
        sip = message.sip
        cseq = sip.cseq
        if sip.is_request:
            if sip.method == "INVITE" and sip.to_tag is None:
                return cseq.number if cseq else None
            if sip.method == "CANCEL":
                continue        # the INVITE it cancels may not be in the trace
            return None
        if sip.cseq_method == "INVITE":
            return cseq.number if cseq else None
    return None


def run(dialog: Dialog) -> DialogRun:
    """Feed one dialog's messages through the table; never raises."""
    result = DialogRun(dialog)
    opening = opening_cseq(dialog)
    for message in dialog.messages:
        state = result.state
        if message.is_retransmission:
            result.events.append(Event(EventKind.RETRANSMISSION, message.time, message, state, state,
                                       note=f"{message.sip.summary} sent again"))
            continue
        given = classify(message, opening)
        if given is None:
            continue
        if given is Input.INVITE:
            if result.invite is None:
                result.invite = message
            cseq = message.sip.cseq
            opening = cseq.number if cseq else opening     # a new attempt in the same dialog
        new = TRANSITIONS.get((state, given))
        if new is None:
            result.events.append(Event(EventKind.UNEXPECTED, message.time, message, state, state, given,
                                       note=f"{message.sip.summary} in state {state.value}"))
            continue
        event = Event(EventKind.TRANSITION, message.time, message, state, new, given)
        result.events.append(event)
        result.state = new
        if new not in result.entered and new is not state:
            result.entered[new] = event
        retarget = _retarget_note(message, result.invite)
        if retarget:
            result.events.append(Event(EventKind.RETARGETED, message.time, message, new, new, given, retarget))
    return result


def _retarget_note(message: Message, invite: Message | None) -> str:
    sip = message.sip
    if invite is None or message is invite or not sip.is_request or sip.to_tag is None:
        return ""
    target = sip.ruri
    first = invite.sip.ruri
    if target is None or first is None or not target.host or not first.host:
        return ""
    if target.host.lower() == first.host.lower():
        return ""
    return f"{sip.method} sent to {target.host}, the INVITE went to {first.host}"
