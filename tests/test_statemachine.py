"""The INVITE dialog state machine: the table, odd input, retransmissions."""

from __future__ import annotations

from hypothesis import given, strategies as st

from siptrace.correlate.calls import Dialog, Message
from siptrace.model.sip import Headers, Origin, SipMessage
from siptrace.correlate.statemachine import TRANSITIONS, EventKind, Input, State, run
from siptrace.correlate.timeline import build_timeline
from siptrace import Reader

from flows import dialog_headers, record

CID = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"


def _msg(start: str, cseq: str, to_tag: str | None = None, i: int = 0) -> Message:
    headers = Headers(tuple(dialog_headers(CID, cseq, "f1", to_tag)))
    parts = start.split()
    if start.startswith("SIP/2.0"):
        sip = SipMessage(origin=Origin("x", i), time=None, start_line=start, status=int(parts[1]),
                         reason=" ".join(parts[2:]), headers=headers)
    else:
        sip = SipMessage(origin=Origin("x", i), time=None, start_line=start, method=parts[0],
                         request_uri=parts[1], headers=headers)
    return Message(index=i, key=(i,), sightings=[sip])


INPUT_MESSAGES = {
    Input.INVITE: ("INVITE sip:carol@contoso.com SIP/2.0", "1 INVITE", None),
    Input.TRYING: ("SIP/2.0 100 Trying", "1 INVITE", None),
    Input.PROVISIONAL: ("SIP/2.0 180 Ringing", "1 INVITE", "t1"),
    Input.SUCCESS_2XX: ("SIP/2.0 200 OK", "1 INVITE", "t1"),
    Input.FAILURE: ("SIP/2.0 486 Busy Here", "1 INVITE", "t1"),
    Input.ACK: ("ACK sip:carol@10.0.10.77 SIP/2.0", "1 ACK", "t1"),
    Input.BYE: ("BYE sip:carol@10.0.10.77 SIP/2.0", "2 BYE", "t1"),
    Input.BYE_FINAL: ("SIP/2.0 200 OK", "2 BYE", "t1"),
    Input.CANCEL: ("CANCEL sip:carol@contoso.com SIP/2.0", "1 CANCEL", None),
    Input.CANCEL_FINAL: ("SIP/2.0 200 OK", "1 CANCEL", None),
    Input.IN_DIALOG: ("INFO sip:carol@10.0.10.77 SIP/2.0", "3 INFO", "t1"),
}


@given(st.lists(st.sampled_from(list(INPUT_MESSAGES)), max_size=12))
def test_any_sequence_of_inputs_lands_in_a_known_state_without_raising(inputs):
    dialog = Dialog(CID, "f1", "t1", "INVITE")
    for n, given_input in enumerate([Input.INVITE, *inputs]):
        start, cseq, to_tag = INPUT_MESSAGES[given_input]
        dialog.messages.append(_msg(start, cseq, to_tag, n))
    result = run(dialog)
    assert isinstance(result.state, State)
    for event in result.events:
        if event.kind is EventKind.TRANSITION:
            assert TRANSITIONS.get((event.before, event.input)) == event.after
        elif event.kind is EventKind.UNEXPECTED:
            assert (event.before, event.input) not in TRANSITIONS and event.before is event.after


def test_classified_inputs_match_the_table_names():
    for given_input, (start, cseq, to_tag) in INPUT_MESSAGES.items():
        dialog = Dialog(CID, "f1", "t1", "INVITE")
        dialog.messages += [_msg(*INPUT_MESSAGES[Input.INVITE]), _msg(start, cseq, to_tag, 1)]
        result = run(dialog)
        assert result.events[-1].input is given_input or given_input is Input.INVITE


def test_unexpected_input_is_an_event_not_an_exception():
    dialog = Dialog(CID, "f1", "t1", "INVITE")
    dialog.messages += [_msg(*INPUT_MESSAGES[Input.INVITE]), _msg(*INPUT_MESSAGES[Input.BYE_FINAL], i=1)]
    result = run(dialog)
    assert result.state is State.CALLING
    assert result.events[-1].kind is EventKind.UNEXPECTED


def test_a_new_invite_after_a_challenge_or_a_cancel_is_a_new_attempt_from_the_table():
    for answer in (("SIP/2.0 407 Proxy Authentication Required", "1 INVITE", "t1"),
                   INPUT_MESSAGES[Input.CANCEL]):
        dialog = Dialog(CID, "f1", "t1", "INVITE")
        dialog.messages += [_msg(*INPUT_MESSAGES[Input.INVITE]), _msg(*answer, i=1)]
        if answer[1].endswith("CANCEL"):
            dialog.messages.append(_msg("SIP/2.0 487 Request Terminated", "1 INVITE", "t1", 2))
        dialog.messages.append(_msg("INVITE sip:carol@contoso.com SIP/2.0", "2 INVITE", None, 3))
        result = run(dialog)
        last = result.events[-1]
        assert (last.kind, last.before, last.after) == (EventKind.TRANSITION, result.events[-2].after, State.CALLING)
        assert TRANSITIONS[(last.before, Input.INVITE)] is State.CALLING
        assert last.before in (State.FAILED, State.CANCELLED)


def _flow(write, records: list[str]):
    path = write("flow.log", "".join(records))
    reader = Reader([str(path)])
    return build_timeline(reader)


def test_full_call_reaches_terminated_and_relayed_copies_are_one_message(write):
    h = lambda cseq, to=None, **kw: dialog_headers(CID, cseq, "f1", to, **kw)
    records = [
        record(0.0, "INVITE sip:carol@contoso.com SIP/2.0", h("1 INVITE")),
        record(0.01, "INVITE sip:carol@contoso.com SIP/2.0", h("1 INVITE"), direction="outgoing",
               peer="10.0.10.77:5061"),
        record(0.3, "SIP/2.0 180 Ringing", h("1 INVITE", "t1"), peer="10.0.10.77:5061"),
        record(2.0, "SIP/2.0 200 OK", h("1 INVITE", "t1", contact="sip:carol@10.0.10.77:5061"),
               peer="10.0.10.77:5061"),
        record(2.1, "ACK sip:carol@10.0.10.77:5061 SIP/2.0", h("1 ACK", "t1", branch="z9hG4bK2")),
        record(9.0, "BYE sip:carol@10.0.10.77:5061 SIP/2.0", h("2 BYE", "t1", branch="z9hG4bK3")),
        record(9.1, "SIP/2.0 200 OK", h("2 BYE", "t1", branch="z9hG4bK3"), peer="10.0.10.77:5061"),
    ]
    trace = _flow(write, records)
    assert len(trace.messages) == 6 and trace.sightings == 7
    (dialog,) = trace.dialogs
    result = trace.run_of(dialog)
    assert result.state is State.TERMINATED
    assert [e.after for e in result.events if e.kind is EventKind.TRANSITION] == [
        State.CALLING, State.EARLY, State.CONFIRMED, State.ACKED, State.TERMINATING, State.TERMINATED]
    retargeted = result.of_kind(EventKind.RETARGETED)
    assert retargeted and "sent to 10.0.10.77" in retargeted[0].note


def test_resent_200_ok_is_a_retransmission_event(write):
    h = lambda cseq, to=None, **kw: dialog_headers(CID, cseq, "f1", to, **kw)
    ok = h("1 INVITE", "t1", contact="sip:carol@10.0.10.77:5061")
    records = [record(0.0, "INVITE sip:carol@contoso.com SIP/2.0", h("1 INVITE")),
               record(1.0, "SIP/2.0 200 OK", ok, peer="10.0.10.77:5061"),
               record(1.5, "SIP/2.0 200 OK", ok, peer="10.0.10.77:5061"),
               record(2.5, "SIP/2.0 200 OK", ok, peer="10.0.10.77:5061")]
    trace = _flow(write, records)
    result = trace.run_of(trace.dialogs[0])
    assert result.state is State.CONFIRMED
    assert len(result.of_kind(EventKind.RETRANSMISSION)) == 2
