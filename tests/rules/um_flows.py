"""Small UM call flows for rule tests, in the server-trace layout.

``view="fe"`` is the front end's log (it sends the INVITE to the UM and gets the
UM's answers from it); ``view="edge"`` the same call as an Edge (or Director)
logs it: the INVITE still names the SIP domain, goes to the front end, and the
UM's answers come back from the front end with its Record-Route added.
"""

from __future__ import annotations

from flows import dialog_headers, record

UM = "RTCC/5.0.0.0 MSExchangeUM/15.01.2507.017"
POOL_RR = ("Record-Route", "<sip:pool01.contoso.com:5061;transport=tls;opaque=state:T;lr>")
EDGE_RR = ("Record-Route", "<sip:edge01.contoso.com:5061;transport=tls;lr>")
REASONS = {200: "OK", 408: "Request Timeout", 481: "Call Leg/Transaction Does Not Exist", 504: "Server time-out"}


def um_call(contact_host: str, *, ack_host: str | None = None, bye_at: float | None = 32.5,
            bye_by_um: bool = False, info_at: float | None = None, invite_host: str = "um01.contoso.com",
            call_id: str = "5d2c6f0e9b8a47c3a1e2f3b4c5d6e7f8", bye_answer: int | None = None,
            view: str = "fe", redirect_from: str | None = None, resent: int = 0,
            umport: int = 5061, ack: bool = True) -> str:
    """One call to the UM pilot; ``invite_host`` is the UM server that answers it.

    ``bye_answer``: the status the caller's BYE gets (none when None);
    ``redirect_from``: a UM Call Router that first answers 302 toward ``invite_host``
    (front-end view); ``resent``: how often the UM resends its 200 OK; ``ack=False``: no ACK logged.
    """
    ack_host = ack_host or contact_host
    h = lambda cseq, to=None, **kw: dialog_headers(call_id, cseq, "a1b2c3", to, caller="sip:alice@contoso.com",
                                                   callee="sip:+14255550150@contoso.com;user=phone", **kw)
    edge = view == "edge"
    machine = "edge01\\edge01" if edge else "fe01\\fe01"
    um_peer = "fe01.contoso.com:5061" if edge else f"{invite_host}:{umport}"
    caller_peer = "198.51.100.23:61533" if edge else "edge01.contoso.com:5061"
    routes = [POOL_RR, EDGE_RR] if edge else [POOL_RR]
    sent_routes = [EDGE_RR] if edge else [POOL_RR]
    rec = lambda *a, **kw: record(*a, machine=machine, **kw)
    out_uri = ("sip:+14255550150@contoso.com;user=phone" if edge else
               f"sip:+14255550150@{invite_host}" + (f":{umport};transport=Tls" if redirect_from else "") + ";user=phone")
    out = [rec(0.0, "INVITE sip:+14255550150@contoso.com;user=phone SIP/2.0", h("1 INVITE"), peer=caller_peer)]
    t = 0.02
    if redirect_from:
        router = f"{redirect_from}:5061"
        out.append(rec(t, f"INVITE sip:+14255550150@{redirect_from};user=phone SIP/2.0", h("1 INVITE") + sent_routes,
                       direction="outgoing", peer=router))
        out.append(rec(t + 0.03, "SIP/2.0 302 Moved Temporarily",
                       h("1 INVITE", "r7", contact=f"sip:+14255550150@{invite_host}:{umport};transport=Tls;user=phone",
                         server=UM), peer=router))
        out.append(rec(t + 0.031, f"ACK sip:+14255550150@{redirect_from};user=phone SIP/2.0",
                       h("1 ACK", "r7"), direction="outgoing", peer=router))
        t += 0.04
    out += [
        rec(t, f"INVITE {out_uri} SIP/2.0", h("1 INVITE") + sent_routes, direction="outgoing", peer=um_peer),
        rec(0.3, "SIP/2.0 180 Ringing", h("1 INVITE", "u9", server=UM) + routes, peer=um_peer),
        rec(1.1, "SIP/2.0 200 OK",
            h("1 INVITE", "u9", contact=f"sip:{contact_host}:5061;transport=Tls", server=UM) + routes, peer=um_peer),
    ]
    for n in range(resent):
        out.append(rec(1.6 + n, "SIP/2.0 200 OK",
                       h("1 INVITE", "u9", contact=f"sip:{contact_host}:5061;transport=Tls", server=UM) + routes,
                       peer=um_peer))
    next_hop = "fe01.contoso.com:5061" if edge else f"{ack_host}:5061"
    out += [] if not ack else [
        rec(1.4, f"ACK sip:{ack_host}:5061;transport=Tls SIP/2.0", h("1 ACK", "u9", branch="z9hG4bKack"),
            peer=caller_peer),
        rec(1.41, f"ACK sip:{ack_host}:5061;transport=Tls SIP/2.0", h("1 ACK", "u9", branch="z9hG4bKack"),
            direction="outgoing", peer=next_hop),
    ]
    if info_at is not None:
        out.append(rec(info_at, f"INFO sip:{ack_host}:5061;transport=Tls SIP/2.0",
                       h("2 INFO", "u9", branch="z9hG4bKinfo"), peer=caller_peer))
        out.append(rec(info_at + 0.1, "SIP/2.0 200 OK", h("2 INFO", "u9", branch="z9hG4bKinfo", server=UM),
                       peer=next_hop))
    if bye_at is not None:
        if bye_by_um:
            hb = dialog_headers(call_id, "1 BYE", "u9", "a1b2c3", branch="z9hG4bKbye",
                                caller="sip:alice@contoso.com", callee="sip:+14255550150@contoso.com;user=phone",
                                swap=True)
            out.append(rec(1.1 + bye_at, "BYE sip:alice@contoso.com;opaque=user:epid:x;gruu SIP/2.0", hb,
                           peer=um_peer))
        else:
            out.append(rec(1.1 + bye_at, f"BYE sip:{ack_host}:5061;transport=Tls SIP/2.0",
                           h("3 BYE", "u9", branch="z9hG4bKbye"), peer=caller_peer))
            if bye_answer is not None:
                out.append(rec(1.1 + bye_at + 0.002, f"BYE sip:{ack_host}:5061;transport=Tls SIP/2.0",
                               h("3 BYE", "u9", branch="z9hG4bKbye"), direction="outgoing", peer=next_hop))
                status = f"SIP/2.0 {bye_answer} {REASONS[bye_answer]}"
                out.append(rec(1.1 + bye_at + 0.02, status,
                               h("3 BYE", "u9", branch="z9hG4bKbye", server=UM if bye_answer < 300 else None),
                               peer=next_hop))
    return "".join(out)


def record_line(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the first line of the nth record holding ``needle``."""
    lines = text.splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith(needle)][nth - 1]
    while not lines[at].startswith("TL_"):
        at -= 1
    return at + 1
