"""Small UM call flows for rule tests, in the server-trace layout."""

from __future__ import annotations

from flows import dialog_headers, record

UM = "RTCC/5.0.0.0 MSExchangeUM/15.01.2507.017"


def um_call(contact_host: str, *, ack_host: str | None = None, bye_at: float | None = 32.5,
            bye_by_um: bool = False, info_at: float | None = None, invite_host: str = "um01.contoso.com",
            call_id: str = "5d2c6f0e9b8a47c3a1e2f3b4c5d6e7f8") -> str:
    ack_host = ack_host or contact_host
    h = lambda cseq, to=None, **kw: dialog_headers(call_id, cseq, "a1b2c3", to, caller="sip:alice@contoso.com",
                                                   callee="sip:+14255550150@contoso.com;user=phone", **kw)
    um_peer = f"{invite_host}:5061"
    out = [
        record(0.0, "INVITE sip:+14255550150@contoso.com;user=phone SIP/2.0", h("1 INVITE")),
        record(0.02, f"INVITE sip:+14255550150@{invite_host};user=phone SIP/2.0", h("1 INVITE"),
               direction="outgoing", peer=um_peer),
        record(0.3, "SIP/2.0 180 Ringing", h("1 INVITE", "u9", server=UM), peer=um_peer),
        record(1.1, "SIP/2.0 200 OK",
               h("1 INVITE", "u9", contact=f"sip:{contact_host}:5061;transport=Tls", server=UM), peer=um_peer),
        record(1.4, f"ACK sip:{ack_host}:5061;transport=Tls SIP/2.0", h("1 ACK", "u9", branch="z9hG4bKack")),
        record(1.41, f"ACK sip:{ack_host}:5061;transport=Tls SIP/2.0", h("1 ACK", "u9", branch="z9hG4bKack"),
               direction="outgoing", peer=f"{ack_host}:5061"),
    ]
    if info_at is not None:
        out.append(record(info_at, f"INFO sip:{ack_host}:5061;transport=Tls SIP/2.0",
                          h("2 INFO", "u9", branch="z9hG4bKinfo")))
        out.append(record(info_at + 0.1, "SIP/2.0 200 OK", h("2 INFO", "u9", branch="z9hG4bKinfo", server=UM),
                          peer=um_peer))
    if bye_at is not None:
        if bye_by_um:
            hb = dialog_headers(call_id, "1 BYE", "u9", "a1b2c3", branch="z9hG4bKbye",
                                caller="sip:alice@contoso.com", callee="sip:+14255550150@contoso.com;user=phone",
                                swap=True)
            out.append(record(1.1 + bye_at, "BYE sip:alice@contoso.com;opaque=user:epid:x;gruu SIP/2.0", hb,
                              peer=um_peer))
        else:
            out.append(record(1.1 + bye_at, f"BYE sip:{ack_host}:5061;transport=Tls SIP/2.0",
                              h("3 BYE", "u9", branch="z9hG4bKbye")))
    return "".join(out)


def record_line(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the first line of the nth record holding ``needle``."""
    lines = text.splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith(needle)][nth - 1]
    while not lines[at].startswith("TL_"):
        at -= 1
    return at + 1
