from __future__ import annotations

from collections.abc import Iterator

from ..context import Context, is_ip
from ..findings import Evidence, Finding, Severity
from ..timeline import Timeline
from ._doc import section
from ._um import um_answers, um_legs, why_for


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
        Record-Route entries unless the proxies are named (--pool-fqdn,
        --edge-fqdn), since only proxies record-route; entries already in the
        INVITE; requests to the FQDN itself.
    References:
        RFC 3261 §12.2.1.1 (in-dialog requests go to the remote target, the
        Contact); "Exchange UM Cert and Skype for Business" (uccramblings.com).
    """

    id = "ruri-host-mismatch"
    title = "Request-URI / Contact host toward the UM is not the UM FQDN"
    severity = Severity.WARNING

    def check(self, timeline: Timeline, ctx: Context) -> Iterator[Finding]:
        for leg in um_legs(timeline, ctx):
            expected = (leg.um_fqdn if not leg.inferred else leg.invite_host) or ""
            if not expected:
                continue  # nothing to compare with
            dialog = leg.run.dialog
            known = {expected.lower(), *ctx.pool_fqdns, *ctx.edge_fqdns}
            # Record-Route entries come from proxies (a UAS adds none), so one can be
            # blamed on the UM only when the proxies are known by name.
            check_routes = bool(ctx.pool_fqdns or ctx.edge_fqdns)
            proxied = {(r.host or "").lower() for s in leg.invite.sightings for r in s.record_routes}
            evidence: list[Evidence] = []
            bad: list[tuple[str, str]] = []
            for m in dialog.messages:
                sip = m.sip
                if m.is_retransmission:
                    continue
                if sip.is_request and m is not leg.invite and dialog.sent_by_caller(m):
                    host = (sip.ruri.host or "").lower() if sip.ruri else ""
                    if host and not is_ip(host) and host not in known:
                        bad.append((sip.method or "", host))
                        evidence.append(Evidence.of_message(sip, f"Request-URI host {host}"))
            for m in um_answers(leg):
                sip = m.sip
                if m.is_retransmission or sip.cseq_method != "INVITE":
                    continue
                for addr in sip.contacts:
                    host = (addr.host or "").lower()
                    if host and not is_ip(host) and host not in known:
                        bad.append(("Contact", host))
                        evidence.append(Evidence.of_message(sip, f"Contact host {host}"))
                for addr in (sip.record_routes if check_routes else ()):
                    host = (addr.host or "").lower()
                    if host and not is_ip(host) and host not in known and host not in proxied:
                        bad.append(("Record-Route", host))
                        evidence.append(Evidence.of_message(sip, f"Record-Route host {host}"))
            if not bad:
                continue
            hosts = sorted({h for _, h in bad})
            what = sorted({w for w, _ in bad})
            why = why_for(RuriHostMismatch, leg)
            yield Finding(
                rule=self.id, severity=self.severity,
                summary=(f"{', '.join(what)} toward the UM name {', '.join(hosts)}, "
                         f"not the UM FQDN {expected}"),
                why=why, fix=section(RuriHostMismatch, "Fix"),
                evidence=tuple(evidence),
                facts=(("method", bad[0][0]), ("request_uri_host", bad[0][1]), ("um_fqdn", expected),
                       ("hosts", ", ".join(hosts))),
                call_id=dialog.call_id, inferred=("um_fqdn",) if leg.inferred else (),
                time=dialog.first_time)
