"""The same host named the same way whatever the input: what a capture proves about an address's name."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from siptrace.correlate.timeline import load_timeline
from siptrace.views.ladder import build_ladder, hosts_of

from conftest import sample
from pcapwriter import write_pcap

GATEWAY, UM, OTHER = "10.0.4.10", "10.0.3.31", "10.0.3.40"
CALL_ID = "3f9a51c2-7d4e-4b8a-9e61-0c2d5f7a8b90@10.0.4.10"
FROM = "<sip:+14255550177@10.0.4.10;user=phone>;tag=g1"
TO = "<sip:+14255550150@um01.contoso.com;user=phone>"
SDP = "v=0\r\no=- 1 1 IN IP4 10.0.4.10\r\ns=-\r\nc=IN IP4 10.0.4.10\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"


def _message(start: str, cseq: str, to_tag: str | None, extra: list[str], body: str = "") -> bytes:
    headers = [f"Via: SIP/2.0/UDP {GATEWAY}:5060;branch=z9hG4bK{cseq.split()[0]}{cseq.split()[1][:2]}",
               f"From: {FROM}", "To: " + TO + (f";tag={to_tag}" if to_tag else ""),
               f"Call-ID: {CALL_ID}", f"CSeq: {cseq}", "Max-Forwards: 70", *extra]
    if body:
        headers.append("Content-Type: application/sdp")
    headers.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join([start, *headers]) + "\r\n\r\n" + body).encode()


@dataclass
class Flow:
    """A gateway's call to the UM over UDP, with the parts the cases change."""

    answer_contact: str = "<sip:um01.contoso.com:5065;transport=Udp>"
    answer_status: str = "200 OK"
    answer_extra: list[str] = field(default_factory=list)
    ack_uri: str = "sip:um01.contoso.com:5065;transport=Udp"
    ack_to: str = UM
    ack_extra: list[str] = field(default_factory=list)
    invite_uri: str = "sip:+14255550150@um01.contoso.com;user=phone"

    def packets(self) -> list[tuple]:
        tag = "u7"
        invite = _message(f"INVITE {self.invite_uri} SIP/2.0", "1 INVITE", None,
                          [f"Contact: <sip:+14255550177@{GATEWAY}:5060>"], SDP)
        trying = _message("SIP/2.0 100 Trying", "1 INVITE", None, [])
        answer = _message(f"SIP/2.0 {self.answer_status}", "1 INVITE", tag,
                          [f"Contact: {self.answer_contact}", *self.answer_extra])
        out = [(0.000, GATEWAY, 5060, UM, 5060, "udp", invite),
               (0.010, UM, 5060, GATEWAY, 5060, "udp", trying),
               (0.400, UM, 5060, GATEWAY, 5060, "udp", answer)]
        if self.answer_status.startswith("2"):
            ack = _message(f"ACK {self.ack_uri} SIP/2.0", "1 ACK", tag, self.ack_extra)
            out.append((0.402, GATEWAY, 5060, self.ack_to, 5060, "udp", ack))
        return out


def _labels(tmp_path, flow: Flow) -> tuple[list[str], str]:
    path = write_pcap(tmp_path / "um.pcap", flow.packets())
    timeline = load_timeline(str(path))
    ladder = build_ladder(timeline, CALL_ID)
    um_hop = next(h for h in ladder.hops if h.sightings[0].is_response)
    return ladder.labels(), ladder.hosts.label(um_hop.src)


NAMED = [
    ("the 200 OK's Contact names the UAS's machine", Flow(ack_uri="sip:+14255550150@um01.contoso.com")),
    ("the ACK without Route goes to its Request-URI's host",
     Flow(answer_contact="<sip:+14255550150@um01.contoso.com:5065>")),
    ("both say the same name", Flow()),
    ("a 183 with a To tag is the UAS's answer too",
     Flow(answer_status="183 Session Progress")),
    ("a Contact name in capitals with a trailing dot", Flow(answer_contact="<sip:UM01.Contoso.COM.:5065>",
                                                            ack_uri="sip:+14255550150@um01.contoso.com")),
]

UNNAMED = [
    ("a Contact with a user part names a user, not a machine",
     Flow(answer_contact="<sip:+14255550150@um01.contoso.com:5065>", ack_uri="sip:+14255550150@um01.contoso.com")),
    ("a GRUU Contact names a user agent, not a machine",
     Flow(answer_contact="<sip:um01.contoso.com;gr=urn:uuid:1>", ack_uri="sip:+14255550150@um01.contoso.com")),
    ("a 200 OK with Record-Route may come from a proxy, not the UAS",
     Flow(answer_extra=["Record-Route: <sip:sbc01.contoso.com;lr>"], ack_uri="sip:+14255550150@um01.contoso.com")),
    ("an ACK with a Route goes to the Route, not the Request-URI",
     Flow(answer_contact="<sip:+14255550150@um01.contoso.com:5065>", ack_extra=["Route: <sip:10.0.3.31;lr>"])),
    ("an address two names claim is named by neither",
     Flow(answer_contact="<sip:um01.contoso.com:5065>", ack_uri="sip:mail.contoso.com:5065")),
    ("a request outside a dialog may go to an outbound proxy",
     Flow(answer_status="486 Busy Here", invite_uri="sip:um01.contoso.com")),
]


@pytest.mark.parametrize("flow", [f for _, f in NAMED], ids=[n for n, _ in NAMED])
def test_capture_names_the_um_address(tmp_path, flow):
    labels, um = _labels(tmp_path, flow)
    assert um == "um01.contoso.com"
    assert labels == [GATEWAY, "um01.contoso.com"]


@pytest.mark.parametrize("flow", [f for _, f in UNNAMED], ids=[n for n, _ in UNNAMED])
def test_capture_leaves_the_um_address_unnamed(tmp_path, flow):
    labels, um = _labels(tmp_path, flow)
    assert um == UM
    assert "um01.contoso.com" not in labels and "mail.contoso.com" not in labels


def test_ack_to_another_address_keeps_both_addresses_apart(tmp_path):
    # the UM failure on the wire: the 200 OK's Contact is mail.contoso.com, the ACK goes where that resolves
    flow = Flow(answer_contact="<sip:mail.contoso.com:5065>", ack_uri="sip:mail.contoso.com:5065", ack_to=OTHER)
    labels, um = _labels(tmp_path, flow)
    assert um == UM
    assert labels == [GATEWAY, UM, OTHER]


def test_bundled_gateway_capture_names_the_um_by_its_fqdn():
    timeline = load_timeline(str(sample("um-gateway-tcp.pcap")))
    ladder = build_ladder(timeline, timeline.calls[0].call_id)
    assert ladder.labels() == ["10.0.4.10", "um01.contoso.com"]
    um = next(h.src for h in ladder.hops if h.sightings[0].is_response)
    assert ladder.hosts.details(um) == ["10.0.3.31"]


@pytest.mark.parametrize("name, wrong", [("um-ack-retarget-bye.fe.log", "mail.contoso.com"),
                                         ("um-director.fe.log", "mail.contoso.com"),
                                         ("um-latent-cert-name.fe.log", "exchange.contoso.com")])
def test_um_failure_keeps_the_wrong_name_a_column_of_its_own(name, wrong):
    timeline = load_timeline(str(sample(name)))
    call = max(timeline.calls, key=lambda c: len(c.messages))
    labels = hosts_of(timeline, call)
    assert "um01.contoso.com" in labels and wrong in labels
