from __future__ import annotations

from collections.abc import Iterator

from ..model.context import Context, is_ip
from ..correlate.calls import Dialog, Message
from .findings import Evidence, Finding, Severity
from ..correlate.statemachine import State
from ..correlate.timeline import Timeline
from . import commands
from ._um import UNKNOWN, UmLeg, not_reached, pool_of, reached, um_legs, um_server, why_for

DELAY_RANGE = (20.0, 45.0)


class AckRetargetBye:
    """ACK sent to the UM certificate's name instead of the UM server, then a BYE.

    What it sees:
        An INVITE to Exchange UM is answered 180 and 200 OK, but the 200 OK's
        Contact is a host *name* that is not the UM server the INVITE reached
        (the host it was sent to on the hop the UM answered).  The ACK follows that
        Contact (RFC 3261 §12.1.2, §13.2.2.4), so it goes to a different host;
        no other in-dialog request reaches the UM, and 20–45 s after the 200 OK
        (typically ~30 s) a BYE from either side ends the call.
    Why it matters:
        Exchange UM puts its certificate's Subject Name in the Contact.  When
        that name is not the server's FQDN (the FQDN only in the SAN list),
        Edge (remote) users' ACKs go to a name the front end and Edge cannot
        route to the UM: the UM never gets the ACK, media never starts ("no
        bing bong"), and the call is torn down.  Side symptoms: event 32263 /
        0xC3E93C2F SIPPROXY_E_UNKNOWN_USER_OR_EPID on the front ends (not every
        time), and CDR diagnostic ID 21 (media connectivity failure where one
        endpoint is of unknown type).
    Fix:
        Re-issue the Exchange UM certificate with the Subject Name equal to the
        UM server's FQDN, assign it to the UM and UM Call Router services
        (Enable-ExchangeCertificate -Services UM,UMCallRouter), and restart
        both services (MSExchangeUM, MSExchangeUMCR).  The finding gives the
        commands with the trace's names: Get-ExchangeCertificate to check,
        Enable-ExchangeCertificate and Restart-Service to fix, then
        Test-CsExUMVoiceMail against the pool and a call to voicemail from an
        Edge user (an internal test may pass with the wrong name).
    Not flagged:
        A Contact that is an IP address (Exchange Online UM answers with one
        in healthy calls); a Contact that names the server the INVITE reached
        (its Request-URI host or Peer on the hop the UM answered), even when
        that is not the --um-fqdn given: a dial plan has several UM servers,
        and the Exchange 2013+ UM Call Router redirects (302) to the UM
        service, maybe on another server; a call whose Contact name leads back
        to the UM (the BYE sent there is answered 2xx, or other in-dialog
        requests are answered): that call worked, and ruri-host-mismatch
        reports the latent certificate name; a call that goes on (no BYE
        within 45 s).  When the trace does not show which server answered (an
        Edge, Director or client view), a BYE after 20-45 s is a user hanging
        up unless the trace also shows that the name did not reach the UM (a
        failed answer to the BYE, the UM's 200 OK resent, a BYE from the UM,
        the server's error record).
    References:
        RFC 3261 §12.1.2 and §13.2.2.4 (the remote target is the 2xx Contact);
        "Exchange UM Cert and Skype for Business" (uccramblings.com);
        Microsoft: event 32263 error 0xC3E93C2F on front-end servers;
        Microsoft Learn (the commands): Get-ExchangeCertificate and
        Enable-ExchangeCertificate (-Server, -Thumbprint, -Services UM,
        UMCallRouter; the UM values need UMStartupMode TLS or Dual),
        Test-CsExUMVoiceMail (-TargetFqdn), Restart-Service.
    """

    id = "ack-retarget-bye"
    title = "ACK retargeted to the UM certificate name, call torn down by BYE"
    severity = Severity.ERROR

    def check(self, timeline: Timeline, ctx: Context) -> Iterator[Finding]:
        for leg in um_legs(timeline, ctx):
            finding = self._judge(leg, timeline, ctx)
            if finding is not None:
                yield finding

    def _judge(self, leg: UmLeg, timeline: Timeline, ctx: Context) -> Finding | None:
        run, dialog = leg.run, leg.run.dialog
        confirmed = run.entered.get(State.CONFIRMED)
        if confirmed is None:
            return None  # never answered: failed-call's business
        ok = confirmed.message
        contacts = ok.sip.contacts
        contact_host = (contacts[0].host or "").lower() if contacts else ""
        if not contact_host or is_ip(contact_host):
            return None  # Exchange Online UM answers with an IP Contact in healthy calls
        if leg.is_server(contact_host):
            return None  # the Contact is the server itself: the ACK reaches it
        invite_cseq = leg.invite.sip.cseq
        acks = [m for m in dialog.requests("ACK")
                if m.sip.ruri and (m.sip.ruri.host or "").lower() == contact_host
                and (invite_cseq is None or (m.sip.cseq and m.sip.cseq.number == invite_cseq.number))]
        if not acks:
            return None  # the ACK did not follow the Contact
        ack = acks[0]
        byes = [m for m in dialog.requests("BYE") if m.time and ok.time and m.time >= ok.time]
        if not byes:
            return None  # the call goes on
        bye = byes[0]
        delay = (bye.time - ok.time).total_seconds() if bye.time and ok.time else None
        if delay is None or not DELAY_RANGE[0] <= delay <= DELAY_RANGE[1]:
            return None
        if _answered_in_dialog(dialog, ok, bye) or reached(leg, contact_host):
            return None  # the UM was reached: a working call (ruri-host-mismatch keeps the latent name)
        call = timeline.call(dialog.call_id)
        diagnostics = call.diagnostics if call else []
        signs = not_reached(leg, contact_host, ok, diagnostics)
        if not leg.seen and not signs:
            return None  # which server answered is unknown, and nothing says the name failed
        bye_from = "caller" if dialog.sent_by_caller(bye) else "UM"
        evidence = [
            Evidence.of_message(leg.invite_sip, "INVITE toward the UM"),
            Evidence.of_message(ok.sip, f"Contact host {contact_host}"),
            Evidence.of_message(ack.forwarded, f"ACK goes to {contact_host}, not {leg.um_fqdn or 'the UM server'}"),
            Evidence.of_message(bye.sip, f"{delay:.1f} s after the 200 OK"),
        ]
        evidence += [Evidence.of_message(s.message, s.text) for s in signs
                     if s.message is not None and s.message is not bye.sip]
        evidence += [Evidence.of_diag(diag) for diag in diagnostics]
        facts = (
            ("invite_host", leg.invite_host), ("contact_host", contact_host),
            ("ack_host", (ack.sip.ruri.host or "").lower() if ack.sip.ruri else None),
            ("um_fqdn", leg.um_fqdn), ("um_fqdn_from", leg.source),
            ("delay_s", round(delay, 3)), ("bye_from", bye_from),
        )
        if leg.um_fqdn is None:
            summary = (f"ACK for the call to Exchange UM went to {contact_host} (the UM's 200 OK Contact), "
                       f"a name that did not lead back to the UM ({UNKNOWN}); BYE from the {bye_from} "
                       f"{delay:.1f} s after the 200 OK")
            how = ("This trace does not show which UM server answered: add the front end's log, or run "
                   "again with --um-fqdn <the UM server's FQDN> to have it named.")
        else:
            summary = (f"ACK for the call to {leg.um_fqdn} went to {contact_host} (the UM's 200 OK Contact) "
                       f"instead of {leg.um_fqdn}; BYE from the {bye_from} {delay:.1f} s after the 200 OK")
            how = ""
        fix = (f"Re-issue the Exchange UM certificate with Subject Name = {leg.server_fqdn_text()}, not "
               f"{contact_host}; assign it to the UM and UM Call Router services and restart both. {how}")
        return Finding(
            rule=self.id, severity=self.severity, summary=summary, why=why_for(AckRetargetBye, leg),
            fix=fix.strip(), evidence=tuple(evidence), facts=facts, call_id=dialog.call_id,
            inferred=("um_fqdn",) if leg.inferred else (), time=ok.time,
            commands=commands.um_certificate(um_server(leg), contact_host, pool_of(leg, ctx)))


def _answered_in_dialog(dialog: Dialog, ok: Message, bye: Message) -> bool:
    """In-dialog requests between the answer and the BYE got a 2xx: the UM was reached."""
    for m in dialog.messages:
        sip = m.sip
        if (sip.is_request and sip.method not in ("ACK", "BYE", "CANCEL") and m.time and ok.time
                and bye.time and ok.time < m.time < bye.time and not m.is_retransmission):
            if any(r.sip.is_response and r.sip.cseq == sip.cseq and 200 <= (r.sip.status or 0) < 300
                   for r in dialog.messages):
                return True
    return False
