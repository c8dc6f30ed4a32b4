"""Small call flows seen at a front end: forks, redirects, session refreshes, excerpts."""

from __future__ import annotations

from flows import dialog_headers, record

CID = "7a1c3e5b9d0f42a6b8c4e2d0f6a8b1c3"
BOB = "10.0.10.54:53214"
ENDPOINTS = {"A": "10.0.10.77:49822", "B": "10.0.12.40:5061", "C": "edge01.contoso.com:5061"}


def h(cseq: str, to: str | None = None, *, extra: tuple = (), **kw) -> list[tuple[str, str]]:
    return dialog_headers(CID, cseq, "b0b", to, **kw) + list(extra)


def invite(at: float = 0.0, cseq: int = 1, extra: tuple = ()) -> str:
    return record(at, "INVITE sip:carol@contoso.com SIP/2.0", h(f"{cseq} INVITE", extra=extra), peer=BOB)


def answer(at: float, status: str, fork: str = "A", cseq: str = "1 INVITE", extra: tuple = ()) -> str:
    """A response from endpoint ``fork`` (its To tag is the fork's name)."""
    return record(at, f"SIP/2.0 {status}", h(cseq, f"tag{fork}", extra=extra, contact=f"sip:carol@{ENDPOINTS[fork]}"),
                  peer=ENDPOINTS[fork])


def cancel(at: float, fork: str | None = None, reason: str | None = None) -> str:
    """The caller's CANCEL (``fork`` None) or the front end's CANCEL of one fork."""
    extra = (("Reason", reason),) if reason else ()
    if fork is None:
        return record(at, "CANCEL sip:carol@contoso.com SIP/2.0", h("1 CANCEL", extra=extra), peer=BOB)
    return record(at, f"CANCEL sip:carol@{ENDPOINTS[fork]} SIP/2.0", h("1 CANCEL", extra=extra, branch=f"z9hG4bK{fork}"),
                  direction="outgoing", peer=ENDPOINTS[fork])


def in_dialog(at: float, method: str, cseq: int, fork: str = "A", extra: tuple = ()) -> str:
    """A request of the caller inside the dialog with endpoint ``fork``."""
    return record(at, f"{method} sip:carol@{ENDPOINTS[fork]} SIP/2.0",
                  h(f"{cseq} {method}", f"tag{fork}", extra=extra, branch=f"z9hG4bK{method}{cseq}"), peer=BOB)


def in_dialog_answer(at: float, status: str, method: str, cseq: int, fork: str = "A", extra: tuple = ()) -> str:
    return record(at, f"SIP/2.0 {status}", h(f"{cseq} {method}", f"tag{fork}", extra=extra,
                                             branch=f"z9hG4bK{method}{cseq}", server="Mediant 800/v.7.20A.258.459"),
                  peer=ENDPOINTS[fork])


def later(at: float) -> str:
    """Traffic of another call: the trace goes on."""
    return record(at, "OPTIONS sip:carol@contoso.com SIP/2.0", dialog_headers("other-call", "1 OPTIONS", "x1"))


TIMER = (("Session-Expires", "1800;refresher=uac"), ("Min-SE", "90"), ("Require", "timer"))


def connected(expires: bool = True) -> str:
    """INVITE, 180, 200 OK (with a session timer), ACK: a call answered at t = 2 s."""
    timer = TIMER if expires else ()
    return (invite(extra=(("Supported", "timer"),)) + answer(0.3, "180 Ringing") + answer(2.0, "200 OK", extra=timer)
            + in_dialog(2.1, "ACK", 1))


def refresh(at: float, cseq: int, status: str | None, method: str = "INVITE", fork: str = "A") -> str:
    """A session refresh (re-INVITE or UPDATE) and its final answer (none when ``status`` is None)."""
    out = in_dialog(at, method, cseq, fork, extra=TIMER[:2])
    if status is not None:
        out += in_dialog_answer(at + 0.05, status, method, cseq, fork)
        if method == "INVITE":
            out += in_dialog(at + 0.06, "ACK", cseq, fork)
    return out


def bye(at: float, cseq: int, reason: str | None = None, fork: str = "A") -> str:
    extra = (("Reason", reason),) if reason else ()
    return in_dialog(at, "BYE", cseq, fork, extra=extra) + in_dialog_answer(at + 0.03, "200 OK", "BYE", cseq, fork)
