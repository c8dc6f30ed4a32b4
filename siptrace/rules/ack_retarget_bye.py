from __future__ import annotations

from collections.abc import Iterator

from ..context import Context, is_ip
from ..findings import Evidence, Finding, Severity
from ..statemachine import State
from ..timeline import Timeline
from ._um import um_legs, why_for

DELAY_RANGE = (20.0, 45.0)


class AckRetargetBye:
    """ACK sent to the UM certificate's name instead of the UM server, then a BYE.

    What it sees:
        An INVITE to Exchange UM is answered 180 and 200 OK, but the 200 OK's
        Contact is a host *name* that is not the UM server's FQDN (with no
        --um-fqdn: not the host the INVITE was sent to).  The ACK follows that
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
        both services.
    Not flagged:
        A Contact that is an IP address (Exchange Online UM answers with one
        in healthy calls); a Contact equal to the UM FQDN; a call that goes on
        (other in-dialog requests reach the UM, or no BYE within 45 s).
    References:
        RFC 3261 §12.1.2 and §13.2.2.4 (the remote target is the 2xx Contact);
        "Exchange UM Cert and Skype for Business" (uccramblings.com);
        Microsoft: event 32263 error 0xC3E93C2F on front-end servers.
    """

    id = "ack-retarget-bye"
    title = "ACK retargeted to the UM certificate name, call torn down by BYE"
    severity = Severity.ERROR

    def check(self, timeline: Timeline, ctx: Context) -> Iterator[Finding]:
        for leg in um_legs(timeline, ctx):
            run, dialog = leg.run, leg.run.dialog
            confirmed = run.entered.get(State.CONFIRMED)
            if confirmed is None:
                continue  # never answered: failed-call's business
            ok = confirmed.message
            contacts = ok.sip.contacts
            contact_host = (contacts[0].host or "").lower() if contacts else ""
            if not contact_host or is_ip(contact_host):
                continue  # Exchange Online UM answers with an IP Contact in healthy calls
            expected = leg.um_fqdn if not leg.inferred else leg.invite_host
            if expected and contact_host == expected.lower():
                continue  # the Contact is the server itself: the ACK reaches it
            invite_cseq = leg.invite.sip.cseq
            acks = [m for m in dialog.requests("ACK")
                    if m.sip.ruri and (m.sip.ruri.host or "").lower() == contact_host
                    and (invite_cseq is None or (m.sip.cseq and m.sip.cseq.number == invite_cseq.number))]
            if not acks:
                continue  # the ACK did not follow the Contact
            ack = acks[0]
            byes = [m for m in dialog.requests("BYE") if m.time and ok.time and m.time >= ok.time]
            if not byes:
                continue  # the call goes on
            bye = byes[0]
            delay = (bye.time - ok.time).total_seconds() if bye.time and ok.time else None
            if delay is None or not DELAY_RANGE[0] <= delay <= DELAY_RANGE[1]:
                continue
            working = [m for m in dialog.messages
                       if m.sip.is_request and m.sip.method not in ("ACK", "BYE", "CANCEL")
                       and m.time and ok.time < m.time < bye.time and not m.is_retransmission
                       and any(r.sip.is_response and r.sip.cseq == m.sip.cseq and (r.sip.status or 0) < 300
                               and r.sip.status and r.sip.status >= 200 for r in dialog.messages)]
            if working:
                continue  # in-dialog requests got answers: the UM was reached
            bye_from = "caller" if dialog.sent_by_caller(bye) else "UM"
            call = timeline.call(dialog.call_id)
            evidence = [
                Evidence.of_message(leg.invite_sip, "INVITE toward the UM"),
                Evidence.of_message(ok.sip, f"Contact host {contact_host}"),
                Evidence.of_message(ack.forwarded, f"ACK goes to {contact_host}, not {expected or 'the UM'}"),
                Evidence.of_message(bye.sip, f"{delay:.1f} s after the 200 OK"),
            ]
            for diag in (call.diagnostics if call else []):
                evidence.append(Evidence.of_diag(diag))
            facts = (
                ("invite_host", leg.invite_host), ("contact_host", contact_host),
                ("ack_host", (ack.sip.ruri.host or "").lower() if ack.sip.ruri else None),
                ("um_fqdn", leg.um_fqdn), ("delay_s", round(delay, 3)), ("bye_from", bye_from),
            )
            why = why_for(AckRetargetBye, leg)
            yield Finding(
                rule=self.id, severity=self.severity,
                summary=(f"ACK for the call to {leg.invite_host} went to {contact_host} (the UM's 200 OK "
                         f"Contact) instead of {expected or 'the UM server'}; BYE from the {bye_from} "
                         f"{delay:.1f} s after the 200 OK"),
                why=why,
                fix=(f"Re-issue the Exchange UM certificate with Subject Name = the UM server FQDN "
                     f"({leg.um_fqdn or 'the server FQDN'}), not {contact_host}; assign it to the UM and UM "
                     f"Call Router services and restart both."),
                evidence=tuple(evidence), facts=facts, call_id=dialog.call_id,
                inferred=("um_fqdn",) if leg.inferred else (), time=ok.time)
