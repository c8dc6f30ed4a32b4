from __future__ import annotations

from collections.abc import Iterator

from ..model.context import Context, is_ip
from ..correlate.calls import Message
from .findings import Evidence, Finding, Severity
from ..correlate.timeline import Timeline
from ._doc import section
from . import commands
from ._um import UNKNOWN, UmLeg, not_reached, pool_of, reached, um_legs, um_server, why_for


class RuriHostMismatch:
    """Requests to the UM, or the UM's own Contact, name a host that is not the UM FQDN.

    What it sees:
        In a call to Exchange UM: any request sent toward the UM (ACK, BYE,
        INFO, re-INVITE...) whose Request-URI host is a name other than the
        expected UM FQDN, and UM responses whose Contact or Record-Route (the
        entries the UM added) is a host name other than that FQDN.
    Why it matters:
        It is the root cause of the UM certificate failure seen before it
        bites: the UM advertises its certificate's Subject Name instead of its
        FQDN, so in-dialog requests from remote (Edge) users go to a name that
        does not lead back to the UM.  Internal calls may still work, which
        hides the problem until an Edge user calls voicemail.
    Fix:
        Make the Exchange UM certificate's Subject Name the server FQDN (re-issue,
        assign to UM and UM Call Router, restart), or check the FQDN passed with
        --um-fqdn.
    Not flagged:
        IP addresses (Exchange Online UM uses an IP Contact in healthy calls);
        names of the server the INVITE reached on the hop the UM answered (its
        Request-URI host or Peer), even when it is not the --um-fqdn given: a
        dial plan has several UM servers, and the Exchange 2013+ UM Call
        Router's 302 sends the call to the UM service, maybe on another
        server; the Contact of a 3xx (a redirect target, not the remote
        target); CANCEL and the ACK of a non-2xx answer (they keep the
        INVITE's Request-URI); Record-Route entries unless the proxies are
        named (--pool-fqdn, --edge-fqdn), since only proxies record-route;
        entries already in the INVITE.  When the trace does not show which
        server answered (an Edge, Director or client view, pasted text), a
        Contact name is reported only when requests sent to it failed (a
        name that works from there may be another UM server's FQDN).
    References:
        RFC 3261 §12.2.1.1 (in-dialog requests go to the remote target, the
        Contact); "Exchange UM Cert and Skype for Business" (uccramblings.com);
        Microsoft Learn: Get-ExchangeCertificate, Enable-ExchangeCertificate,
        Test-CsExUMVoiceMail (the finding gives them with the trace's names,
        as ack-retarget-bye does).
    """

    id = "ruri-host-mismatch"
    title = "Request-URI / Contact host toward the UM is not the UM FQDN"
    severity = Severity.WARNING

    def check(self, timeline: Timeline, ctx: Context) -> Iterator[Finding]:
        for leg in um_legs(timeline, ctx):
            finding = self._judge(leg, timeline, ctx)
            if finding is not None:
                yield finding

    def _judge(self, leg: UmLeg, timeline: Timeline, ctx: Context) -> Finding | None:
        dialog = leg.run.dialog
        known = {*ctx.pool_fqdns, *ctx.edge_fqdns}
        # Record-Route entries come from proxies (a UAS adds none), so one can be
        # blamed on the UM only when the proxies are known by name.
        check_routes = bool(ctx.pool_fqdns or ctx.edge_fqdns)
        proxied = {(r.host or "").lower() for s in leg.invite.sightings for r in s.record_routes}

        def wrong(host: str) -> bool:
            return bool(host) and not is_ip(host) and not leg.is_server(host) and host not in known

        evidence: list[Evidence] = []
        bad: list[tuple[str, str]] = []
        for m in _caller_requests(leg):
            host = (m.sip.ruri.host or "").lower() if m.sip.ruri else ""
            if wrong(host):
                bad.append((m.sip.method or "", host))
                evidence.append(Evidence.of_message(m.sip, f"Request-URI host {host}"))
        for m in _um_answers(leg):
            sip = m.sip
            for addr in sip.contacts:
                host = (addr.host or "").lower()
                if wrong(host):
                    bad.append(("Contact", host))
                    evidence.append(Evidence.of_message(sip, f"Contact host {host}"))
            for addr in (sip.record_routes if check_routes else ()):
                host = (addr.host or "").lower()
                if wrong(host) and host not in proxied:
                    bad.append(("Record-Route", host))
                    evidence.append(Evidence.of_message(sip, f"Record-Route host {host}"))
        if not bad:
            return None
        hosts = sorted({h for _, h in bad})
        worked = [m for h in hosts for m in reached(leg, h)]
        call = timeline.call(dialog.call_id)
        signs = [s for h in hosts for s in not_reached(leg, h, None, call.diagnostics if call else [])]
        if not leg.seen and (worked or not signs):
            return None  # which server answered is unknown: the name may be another UM's FQDN
        evidence += [Evidence.of_message(m.sip, "answered: the name leads back to the UM") for m in worked]
        evidence += [Evidence.of_message(s.message, s.text) for s in signs if s.message is not None]
        what = sorted({w for w, _ in bad})
        summary = f"{', '.join(what)} toward the UM name {', '.join(hosts)}, not "
        summary += (f"the UM FQDN {leg.um_fqdn}" if leg.um_fqdn else
                    f"{leg.expected}" if leg.names else f"the UM server's FQDN ({UNKNOWN})")
        if worked:
            summary += ("; this call worked (the name leads back to the UM from here), but calls from "
                        "Edge (remote) users will fail")
        elif signs and not leg.seen:
            summary += "; requests sent to that name did not reach the UM"
        return Finding(
            rule=self.id, severity=self.severity, summary=summary,
            why=why_for(RuriHostMismatch, leg), fix=section(RuriHostMismatch, "Fix"),
            evidence=tuple(evidence),
            facts=(("method", bad[0][0]), ("request_uri_host", bad[0][1]), ("um_fqdn", leg.um_fqdn),
                   ("um_fqdn_from", leg.source), ("hosts", ", ".join(hosts)), ("call_worked", bool(worked))),
            call_id=dialog.call_id, inferred=("um_fqdn",) if leg.inferred else (),
            time=dialog.first_time, commands=commands.um_certificate(um_server(leg), hosts[0], pool_of(leg, ctx)))


def _caller_requests(leg: UmLeg) -> list[Message]:
    """The caller's requests to the UM's remote target: in-dialog, after a 1xx/2xx set it up.

    CANCEL and the ACK of a non-2xx answer keep the INVITE's Request-URI (RFC 3261
    §9.1, §17.1.1.3), so they say nothing about the Contact.
    """
    dialog = leg.run.dialog
    established = any(m.sip.is_response and m.sip.cseq_method == "INVITE" and 100 < (m.sip.status or 0) < 300
                      and m.sip.to_tag for m in dialog.messages)
    failed = any(m.sip.is_response and m.sip.cseq_method == "INVITE" and (m.sip.status or 0) >= 300
                 for m in dialog.messages)
    out = []
    for m in dialog.messages:
        sip = m.sip
        if (not sip.is_request or m is leg.invite or m.is_retransmission or not dialog.sent_by_caller(m)
                or sip.method in ("CANCEL", "INVITE") and not sip.to_tag or not sip.to_tag or not established):
            continue
        if sip.method == "ACK" and failed and not any(
                r.sip.is_response and r.sip.cseq_method == "INVITE" and 200 <= (r.sip.status or 0) < 300
                for r in dialog.messages):
            continue
        out.append(m)
    return out


def _um_answers(leg: UmLeg) -> list[Message]:
    """The UM's 1xx (with a tag) and 2xx answers to the INVITE: their Contact is the remote target."""
    dialog = leg.run.dialog
    return [m for m in dialog.messages
            if m.sip.is_response and not dialog.sent_by_caller(m) and not m.is_retransmission
            and m.sip.cseq_method == "INVITE" and 100 < (m.sip.status or 0) < 300]
