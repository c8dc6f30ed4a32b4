"""Shared by the UM rules: which INVITE dialogs go to an Exchange UM, and which server answered.

Not a rule.  Exchange UM names itself ``MSExchangeUM/`` in ``Server:``, and
every proxy on the way back relays that response unchanged: an Edge, a
Director or a client sees the same words from a hop that is *not* the UM.
So the UM server of a dialog is the far end of the hop the UM answered on:
an INVITE sent to a peer and the UM's response received from that same peer,
where the peer added no Record-Route (a UAS adds none, a proxy that stays in
the path does: RFC 3261 §12.1.1, §16.6) and the Request-URI names that server
(its host is the Peer, or a server name rather than the SIP domain of the
From/To URIs).  Its name is the Request-URI host of that INVITE (or the
Peer).  Without that hop in the trace (an Edge, Director or client view, or
pasted text), the UM server's FQDN is unknown unless ``--um-fqdn`` gives it.

``--um-fqdn`` names *a* UM, not the only one: a dialog whose INVITE is sent
to a given FQDN is a UM dialog, but when another server answers as the UM (a
dial plan has several; the Exchange 2013+ UM Call Router redirects with a 302
to the UM service, on 5062/5063/5065/5067 and maybe on another server) that
server is the dialog's UM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.context import Context, is_ip, is_um_product
from ..model.words import plural
from ..correlate.calls import Dialog, Message
from ..model.sip import DiagRecord, Direction, SipMessage
from ..correlate.statemachine import DialogRun, EventKind
from ..correlate.timeline import Timeline

UNKNOWN = "UM FQDN unknown"


@dataclass
class UmLeg:
    """One INVITE dialog to Exchange UM and what the trace says about the server that answered."""

    run: DialogRun
    invite: Message
    invite_sip: SipMessage          # the INVITE as sent toward the UM (on the UM's own hop when seen)
    um_fqdn: str | None             # the UM server of this dialog; None when the trace does not say
    inferred: bool                  # um_fqdn comes from the trace, not from --um-fqdn
    seen: bool = False              # the trace shows which server the INVITE reached
    names: frozenset[str] = field(default_factory=frozenset)   # every name of that server (or the given ones)
    source: str | None = None       # "hop", "request-uri", "given" or None

    @property
    def invite_host(self) -> str | None:
        uri = self.invite_sip.ruri
        return uri.host.lower() if uri and uri.host else None

    def is_server(self, host: str | None) -> bool:
        """Is ``host`` a name of this dialog's UM server?"""
        return bool(host) and host.lower().rstrip(".") in self.names  # type: ignore[union-attr]

    @property
    def expected(self) -> str:
        """The UM server as findings name it."""
        if self.um_fqdn:
            return self.um_fqdn
        if self.names:
            return "one of the given UM FQDNs (" + ", ".join(sorted(self.names)) + ")"
        return f"the UM server ({UNKNOWN})"

    def server_fqdn_text(self) -> str:
        """How a fix names the FQDN that the certificate must carry."""
        if self.um_fqdn and not is_ip(self.um_fqdn):
            return f"the UM server's FQDN ({self.um_fqdn})"
        if self.um_fqdn:
            return f"the FQDN of the UM server at {self.um_fqdn}"
        return "the UM server's FQDN"


def um_server(leg: UmLeg) -> str | None:
    """The UM server's FQDN as the Exchange cmdlets take it (-Server): never an address."""
    return leg.um_fqdn if leg.um_fqdn and not is_ip(leg.um_fqdn) else None


def pool_of(leg: UmLeg, ctx: Context) -> str | None:
    """The front-end pool that sent the call to the UM: named by --pool-fqdn, else the last proxy
    that record-routed the INVITE (the pool stays in the path to the UM)."""
    if ctx.pool_fqdns:
        return ctx.pool_fqdns[0]
    routes = leg.invite_sip.record_routes
    host = (routes[0].host or "").lower() if routes else ""
    return host if host and not is_ip(host) else None


# ---------------------------------------------------------------------------
# Hops
# ---------------------------------------------------------------------------

def _sent_to(sip: SipMessage) -> str | None:
    """The host a logged request was sent to, when the log says."""
    if sip.direction is not None:
        out = sip.direction.direction is Direction.OUTGOING
        return sip.peer.host.lower() if out and sip.peer else None
    return sip.dst.host.lower() if sip.dst else None


def _received_from(sip: SipMessage) -> str | None:
    """The host a logged response came from, when the log says."""
    if sip.direction is not None:
        inc = sip.direction.direction is Direction.INCOMING
        return sip.peer.host.lower() if inc and sip.peer else None
    return sip.src.host.lower() if sip.src else None


def _domains(sip: SipMessage) -> set[str]:
    """The SIP domains of the call (From / To hosts): a Request-URI host among them names no server."""
    out = set()
    for addr in (sip.from_, sip.to):
        uri = addr.uri if addr is not None else None
        if uri is not None and uri.host:
            out.add(uri.host.lower())
    return out


def _routes(sip: SipMessage) -> set[str]:
    return {(r.host or "").lower() for r in sip.record_routes if r.host}


def _names_a_server(sip: SipMessage, proxies: set[str]) -> str | None:
    """The Request-URI's server name (maddr, else host) unless it is the SIP domain or a proxy."""
    uri = sip.ruri
    if uri is None:
        return None
    host = (uri.param("maddr") or uri.host or "").lower().rstrip(".")
    if not host or host in _domains(sip) or host in proxies:
        return None
    return host


def _uas_hop(invite: SipMessage, response: SipMessage, peer: str, proxies: set[str]) -> frozenset[str] | None:
    """The names of the peer when it answered this INVITE itself (not a proxy relaying), else None."""
    if invite.routes:
        return None                       # a request with a Route header goes to a proxy first
    if not _routes(response) <= _routes(invite):
        return None                       # the peer (or a hop behind it) record-routed: a proxy
    server = _names_a_server(invite, proxies)
    uri_host = (invite.ruri.host or "").lower() if invite.ruri else ""
    if uri_host == peer or (server and server == peer):
        return frozenset({peer})
    if server is not None:
        return frozenset({server} | ({peer} if not is_ip(peer) and peer not in proxies else set()))
    return None


def _proxies(dialog: Dialog, ctx: Context) -> set[str]:
    """Hosts known to be proxies in this call: Record-Route entries and the named pools and Edges."""
    out = set(ctx.pool_fqdns) | set(ctx.edge_fqdns)
    for m in dialog.messages:
        for s in m.sightings:
            out |= _routes(s)
    return out


Hop = tuple[SipMessage, frozenset[str], bool]   # INVITE as sent, names of the server, answered as MSExchangeUM


def _answered_hops(dialog: Dialog, invite: Message, ctx: Context) -> list[Hop]:
    """Each hop on which the server that answered the INVITE is seen answering it itself, 2xx first."""
    proxies = _proxies(dialog, ctx)
    out: list[tuple[SipMessage, frozenset[str], bool, int]] = []
    for m in dialog.messages:
        sip = m.sip
        if not sip.is_response or sip.cseq_method != "INVITE" or dialog.sent_by_caller(m) or sip.status == 100:
            continue
        as_um = any(is_um_product(s.user_agent) for s in m.sightings)
        for response in m.sightings:
            peer = _received_from(response)
            if peer is None:
                continue
            for request in invite.sightings:
                if request.origin.file != response.origin.file or _sent_to(request) != peer:
                    continue
                names = _uas_hop(request, response, peer, proxies)
                if names:
                    out.append((request, names, as_um, sip.status or 0))
    out.sort(key=lambda hop: not 200 <= hop[3] < 300)
    return [(request, names, as_um) for request, names, as_um, _ in out]


def _toward_given(sip: SipMessage, ctx: Context) -> str | None:
    uri = sip.ruri
    if uri and ctx.is_um(uri.host):
        return (uri.host or "").lower()
    peer = _sent_to(sip)
    return peer if peer and ctx.is_um(peer) else None


def um_legs(timeline: Timeline, ctx: Context) -> list[UmLeg]:
    legs = []
    for dialog in timeline.dialogs:
        run = timeline.run_of(dialog)
        if run is None or run.invite is None:
            continue
        leg = _leg(run, run.invite, ctx)
        if leg is not None:
            legs.append(leg)
    return legs


def _leg(run: DialogRun, invite: Message, ctx: Context) -> UmLeg | None:
    dialog = run.dialog
    answered_by_um = any(m.sip.is_response and not dialog.sent_by_caller(m)
                         and any(is_um_product(s.user_agent) for s in m.sightings) for m in dialog.messages)
    toward = [s for s in invite.sightings if _toward_given(s, ctx)]
    if not answered_by_um and not toward:
        return None   # most dialogs: nothing to do with a UM
    hops = _answered_hops(dialog, invite, ctx)
    for request, names, as_um in hops:
        given = sorted(n for n in names if ctx.is_um(n))
        if as_um or given:
            return _known(run, invite, request, names, given, "hop")
    if toward and hops:
        # sent to a given UM and redirected: the server seen answering is this dialog's UM
        request, names, _ = hops[0]
        return _known(run, invite, request, names, [], "hop")
    if toward:
        host = _toward_given(toward[-1], ctx)
        return UmLeg(run, invite, toward[-1], host, inferred=False, seen=True,
                     names=frozenset({host} if host else ()), source="given")
    sip = invite.forwarded
    server = _names_a_server(sip, _proxies(dialog, ctx))
    if server is not None:
        # the Request-URI sent toward the UM names its server (Exchange Online, a UM beyond an Edge)
        return _known(run, invite, sip, frozenset({server}), [server] if ctx.is_um(server) else [], "request-uri")
    # the UM answered on a hop that is not in the trace (an Edge, Director or client view)
    given = list(ctx.um_fqdns)
    return UmLeg(run, invite, sip, given[0] if len(given) == 1 else None, inferred=False, seen=False,
                 names=frozenset(given), source="given" if given else None)


def _known(run: DialogRun, invite: Message, sip: SipMessage, names: frozenset[str], given: list[str],
           source: str) -> UmLeg:
    uri_host = (sip.ruri.host or "").lower() if sip.ruri else ""
    named = sorted(n for n in names if not is_ip(n))
    fqdn = given[0] if given else (uri_host if uri_host in names else (named[0] if named else min(names)))
    return UmLeg(run, invite, sip, fqdn, inferred=not given, seen=True, names=names, source=source)


# ---------------------------------------------------------------------------
# Was the UM reached?
# ---------------------------------------------------------------------------

def final_to(dialog: Dialog, request: Message) -> Message | None:
    """The final response to an in-dialog request, when the trace holds it."""
    cseq = request.sip.cseq
    if cseq is None:
        return None
    for m in dialog.messages:
        sip = m.sip
        if sip.is_response and sip.cseq == cseq and (sip.status or 0) >= 200 and not m.is_retransmission:
            return m
    return None


def requests_to(leg: UmLeg, host: str) -> list[Message]:
    """The caller's in-dialog requests (ACK aside) whose Request-URI is ``host``."""
    dialog = leg.run.dialog
    return [m for m in dialog.messages
            if m.sip.is_request and m.sip.method not in ("ACK", "CANCEL") and m is not leg.invite
            and not m.is_retransmission and m.sip.to_tag and dialog.sent_by_caller(m)
            and m.sip.ruri and (m.sip.ruri.host or "").lower() == host]


def reached(leg: UmLeg, host: str) -> list[Message]:
    """2xx answers to the caller's requests sent to ``host``: the name leads back to the UM."""
    out = []
    for request in requests_to(leg, host):
        final = final_to(leg.run.dialog, request)
        if final is not None and 200 <= (final.sip.status or 0) < 300:
            out.append(final)
    return out


@dataclass(frozen=True)
class Sign:
    """One piece of evidence that requests to a name did not reach the UM."""

    message: SipMessage | None
    diag: DiagRecord | None
    text: str


def not_reached(leg: UmLeg, host: str, ok: Message | None, diagnostics: list[DiagRecord]) -> list[Sign]:
    """Signs that requests to ``host`` never reached the UM: failed answers, the UM's 2xx
    resent or its BYE (it never got the ACK), the server's own error records about them."""
    dialog = leg.run.dialog
    signs: list[Sign] = []
    for request in requests_to(leg, host):
        final = final_to(dialog, request)
        if final is not None and (final.sip.status or 0) >= 300 and final.sip.status not in (401, 407):
            signs.append(Sign(final.sip, None, f"{final.sip.summary} to the {request.sip.method} sent to {host}"))
    if ok is not None:
        resent = [e.message for e in leg.run.of_kind(EventKind.RETRANSMISSION) if e.message.retransmission_of is ok]
        if resent:
            signs.append(Sign(resent[0].sip, None, f"the UM resent its 200 OK {plural(len(resent), 'time')}: no ACK reached it"))
        for m in dialog.requests("BYE"):
            if not dialog.sent_by_caller(m) and m.time and ok.time and m.time > ok.time:
                signs.append(Sign(m.sip, None, "BYE from the UM side: it gave up waiting for the ACK"))
                break
    for diag in diagnostics:
        peer = diag.peer.host.lower() if diag.peer else None
        method = diag.cseq.method if diag.cseq else None
        if peer == host or (method in ("ACK", "BYE") and (diag.severity or "").lower() in ("warning", "error")):
            signs.append(Sign(None, diag, "the server's error record about it"))
    return signs


def why_for(rule: type, leg: UmLeg) -> str:
    """The rule's "Why it matters", with a word on where the UM FQDN came from."""
    from ._doc import section

    why = section(rule, "Why it matters")
    if leg.um_fqdn is None and not leg.names:
        return f"{why} {UNKNOWN_NOTE}"
    return f"{why} {INFERRED_NOTE}" if leg.inferred else why


INFERRED_NOTE = ("The UM FQDN was not given (--um-fqdn) or another UM server answered, so it was taken from "
                 "the trace: the host the INVITE was sent to on the hop the server that answered as "
                 "MSExchangeUM was reached by.")
UNKNOWN_NOTE = ("The trace does not show the hop to the UM (an Edge, Director or client view), so the UM "
                "server's FQDN is unknown: add the front end's log, or name it with --um-fqdn.")
