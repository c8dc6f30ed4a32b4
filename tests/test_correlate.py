"""De-duplication across sightings and files, clock offsets, dialogs and forks."""

from __future__ import annotations

from siptrace.correlate.timeline import load_timeline

from flows import dialog_headers, record

CID = "9a8b7c6d5e4f30211203f4e5d6c7b8a9"


def h(cseq, to=None, **kw):
    return dialog_headers(CID, cseq, "f00", to, **kw)


def _call(shift: float, machine: str, first: str, second: str, peer_in: str, peer_out: str) -> str:
    """The same INVITE/180/200/ACK seen by one server: in from one side, out to the other."""
    out = []
    for at, start, headers in ((0.0, "INVITE sip:carol@contoso.com SIP/2.0", h("1 INVITE")),
                               (0.4, "SIP/2.0 180 Ringing", h("1 INVITE", "c01")),
                               (2.0, "SIP/2.0 200 OK", h("1 INVITE", "c01", contact="sip:carol@10.0.10.77")),
                               (2.2, "ACK sip:carol@10.0.10.77 SIP/2.0", h("1 ACK", "c01", branch="z9hG4bKack"))):
        request = not start.startswith("SIP/")
        a, b = (peer_in, peer_out) if request else (peer_out, peer_in)
        out.append(record(at + shift, start, headers, direction="incoming", peer=a, machine=machine))
        out.append(record(at + shift + 0.003, start, headers, direction="outgoing", peer=b, machine=machine))
    return "".join(out)


def test_in_and_out_copies_on_two_servers_are_one_message_each_with_four_sightings(write):
    edge = write("edge.log", _call(2.35, "edge01\\edge01", "", "", "198.51.100.23:50000", "fe01.contoso.com:5061"))
    fe = write("fe.log", _call(0.004, "fe01\\fe01", "", "", "edge01.contoso.com:5061", "10.0.10.77:5061"))
    trace = load_timeline([str(fe), str(edge)])
    assert len(trace.messages) == 4 and trace.sightings == 16
    assert all(len(m.sightings) == 4 for m in trace.messages)
    (dialog,) = trace.dialogs
    assert dialog.caller_tag == "f00" and dialog.callee_tag == "c01"


def test_clock_offset_of_the_second_file_is_estimated(write):
    edge = write("edge.log", _call(2.35, "edge01\\edge01", "", "", "198.51.100.23:50000", "fe01.contoso.com:5061"))
    fe = write("fe.log", _call(0.0, "fe01\\fe01", "", "", "edge01.contoso.com:5061", "10.0.10.77:5061"))
    trace = load_timeline([str(fe), str(edge)])
    offsets = trace.offsets
    assert offsets[str(fe)] == 0.0          # same number of sightings: the first input is the reference
    assert abs(offsets[str(edge)] - 2.35) < 0.01
    times = [m.time for m in trace.messages]
    assert times == sorted(times)


def test_forked_answers_make_two_dialogs_sharing_the_invite(write):
    text = (record(0.0, "INVITE sip:carol@contoso.com SIP/2.0", h("1 INVITE"))
            + record(0.3, "SIP/2.0 180 Ringing", h("1 INVITE", "d1"), peer="10.0.10.77:5061")
            + record(0.4, "SIP/2.0 180 Ringing", h("1 INVITE", "d2"), peer="10.0.10.78:5061"))
    trace = load_timeline(str(write("fork.log", text)))
    dialogs = trace.dialogs
    assert sorted(d.callee_tag for d in dialogs) == ["d1", "d2"]
    assert all(d.messages[0].sip.method == "INVITE" for d in dialogs)


def test_100_trying_from_two_hops_are_two_messages(write):
    t1 = h("1 INVITE")
    t2 = [("Via", "SIP/2.0/TLS 10.0.1.11:5061;branch=z9hG4bKfe")] + h("1 INVITE")
    text = (record(0.0, "INVITE sip:carol@contoso.com SIP/2.0", h("1 INVITE"))
            + record(0.01, "SIP/2.0 100 Trying", t1, direction="outgoing")
            + record(0.05, "SIP/2.0 100 Trying", t2, peer="10.0.10.77:5061"))
    trace = load_timeline(str(write("trying.log", text)))
    assert len(trace.messages) == 3


def test_redirect_to_another_port_of_the_same_server_is_a_new_invite_not_a_retransmission(write):
    """Exchange 2013+: the UM Call Router (5061) answers 302 to the UM service (5065) on the same
    server; the front end's new INVITE (new branch) to that host is a message of its own."""
    from conftest import SAMPLES

    text = (SAMPLES / "um-two-servers.fe.log").read_text(encoding="utf-8").replace("um02.contoso.com", "um01.contoso.com")
    timeline = load_timeline(str(write("um-same-server.fe.log", text)))
    sent = [m for m in timeline.messages if m.sip.method == "INVITE" and
            any(s.peer and s.peer.host == "um01.contoso.com" for s in m.sightings)]
    assert len(sent) == 4                                   # two calls, each: to 5061, then to 5065 after the 302
    assert not any(m.is_retransmission for m in sent)
    toward = [next(s for s in m.sightings if s.peer and s.peer.host == "um01.contoso.com") for m in sent]
    assert len({s.branch for s in toward}) == 4
