from __future__ import annotations

from collections.abc import Iterator

from . import commands, diagcodes
from .findings import Command
from ..model.context import Context
from ..correlate.calls import Message
from .findings import Evidence, Finding, Severity
from ..model.sip import Diagnostic
from ..correlate.timeline import Timeline
from ._doc import section

_PUBLIC = "ms-diagnostics-public"


class MsDiagnostics:
    """Microsoft's own diagnostic headers and the Reason header, decoded next to the message that carried them.

    What it sees:
        Every ms-diagnostics, ms-diagnostics-public and ms-client-diagnostics
        header (any case, several per message, parameters in any order) on a
        unique message; the code is looked up in a table of known codes and
        component ranges, and its severity is what the code means (51007 is
        information, 1008 a DNS failure, 21–23 a media failure).  Also every
        Reason header (RFC 3326) on a BYE, CANCEL or response: Q.850;cause=N
        (the ISDN cause a PSTN gateway passes on, e.g. 34 no circuit
        available) and SIP;cause=N (e.g. 481 after a failed session refresh).
    Why it matters:
        The server, client or gateway that failed says why, in its own words:
        the reason, the source server and details such as the HRESULT or the
        ICE warnings.  It is the first thing Microsoft support asks for.
    Fix:
        Depends on the code; the finding gives the meaning of the code and the
        source server to look at, and commands to check where they exist: for
        DNS codes (1008, 1014) Resolve-DnsName of the federation SRV record
        (_sipfederationtls._tcp.<domain>) or of the host; for a peer that could
        not be reached (1038, 1046) Resolve-DnsName and Test-NetConnection to
        its SIP port; for certificate codes (1010, 1047, an HRESULT)
        Get-CsCertificate on the source server and, when the Edge is named
        (--edge-fqdn), Test-CsFederatedPartner for the domain.
    Not flagged:
        Retransmissions and other sightings of a message already reported;
        the same code in ms-diagnostics and ms-diagnostics-public of one call
        (one finding, both headers as evidence); Reason SIP;cause=200 "Call
        completed elsewhere" on the CANCELs a forking proxy sends to the other
        branches once one answered, SIP;cause=487 on a CANCEL, and Q.850 causes
        16 and 31 (normal call clearing) on a BYE; a SIP cause that repeats
        the status of the response carrying it (failed-call reports that
        response); informational codes (51007, 2139, 13004 ...) never above
        info; a Reason cause no table defines (devices invent some, e.g.
        SIP;cause=142;text="SUCCESS") never above info, so it is never taken
        for the root cause of a call; HTTP x-ms-diagnostics (a different
        header of web services).
    References:
        [MS-OCER] 2.2.1 (ms-diagnostics, ms-diagnostics-public) and section 7
        (error IDs), Lync UCMA "Diagnostics and error reporting", OCS 2007
        "Ms-Diagnostics Header", RFC 3326 (Reason), ITU-T Q.850 (cause values);
        Microsoft Learn (the commands): Resolve-DnsName (DnsClient),
        Test-NetConnection (NetTCPIP), Get-CsCertificate,
        Test-CsFederatedPartner (-TargetFqdn: the internal Edge FQDN, -Domain).
    """

    id = "ms-diagnostics"
    title = "Microsoft diagnostic and Reason headers decoded"
    severity = Severity.ERROR

    def check(self, timeline: Timeline, ctx: Context) -> Iterator[Finding]:
        yield from self._diagnostics(timeline, ctx)
        yield from self._reasons(timeline)

    def _diagnostics(self, timeline: Timeline, ctx: Context) -> Iterator[Finding]:
        seen: dict[tuple, list[tuple[Message, Diagnostic]]] = {}
        for message in timeline.messages:
            if message.is_retransmission:
                continue
            for diag in message.sip.diagnostics:
                # ms-diagnostics and ms-diagnostics-public carry one code twice: one finding
                key = (message.sip.call_id, diag.header == "ms-client-diagnostics", diag.code, diag.sub_code,
                       None if diag.code is not None else diag.text)
                seen.setdefault(key, []).append((message, diag))
        for (call_id, _, code, sub, _), hits in seen.items():
            message, diag = min(hits, key=lambda hit: hit[1].header == _PUBLIC)   # the internal one says more
            headers = " / ".join(dict.fromkeys(d.header for _, d in hits))
            severity, meaning = _judge(diag)
            label = f"{code}" + (f".{sub}" if sub is not None else "") if code is not None else "?"
            source = next((d.source for _, d in hits if d.source), None)
            src = f" from {source}" if source else ""
            reason = next((d.reason for _, d in hits if d.reason), None)
            if not reason:
                known = diagcodes.lookup(code)
                reason = known.reason if known else ""
            on = message.sip.summary
            facts: list[tuple[str, object]] = [("header", headers), ("code", code), ("sub_code", sub),
                                               ("reason", reason), ("source", source), ("on", on),
                                               ("status", message.sip.status)]
            hresult = next((d.param("HRESULT") for _, d in hits if d.param("HRESULT")), None)
            if hresult:
                facts.append(("hresult", hresult))
            yield Finding(
                rule=self.id, severity=severity,
                summary=f"{headers} {label}{src} on {on}: {reason}".rstrip(": "),
                why=(meaning + " " if meaning else "") + section(MsDiagnostics, "Why it matters"),
                fix=_fix(diag, source),
                evidence=tuple(Evidence.of_message(m.sip, f"{d.header}: {d.text}") for m, d in hits),
                facts=tuple(facts), call_id=call_id, time=message.time,
                commands=_commands(diag, source, message, ctx))

    def _reasons(self, timeline: Timeline) -> Iterator[Finding]:
        seen: dict[tuple, list[tuple[Message, diagcodes.ReasonValue]]] = {}
        for message in timeline.messages:
            sip = message.sip
            if message.is_retransmission or "reason" not in sip.headers._lookup():
                continue
            for line in sip.headers.lines("reason"):
                for value in diagcodes.parse_reason(line):
                    if _normal(value, sip.status, sip.method):
                        continue
                    seen.setdefault((sip.call_id, value.protocol.upper(), value.cause), []).append((message, value))
        for (call_id, protocol, cause), hits in seen.items():
            message, value = hits[0]
            known = diagcodes.reason_meaning(protocol, cause)
            if known is not None:
                text, severity, advice = known
                meaning = f"{value.protocol} cause {cause}: {text}." + (f" {advice}" if advice else "")
            else:        # a cause nobody defined (devices invent some): shown, never escalated
                text, severity = value.text or "", Severity.INFO
                meaning = (f"{value.protocol} cause {cause} is not in siptrace's tables"
                           + (f"; the header says: {value.text}." if value.text else "."))
            on = message.sip.summary
            said = f' ("{value.text}")' if value.text and value.text.lower() != text.lower() else ""
            yield Finding(
                rule=self.id, severity=severity or Severity.INFO,
                summary=f"Reason {value.protocol};cause={cause} on {on}: {text}{said}".rstrip(": "),
                why=meaning + " " + _REASON_WHY,
                fix=_reason_fix(value.protocol, cause, advice if known else ""),
                evidence=tuple(Evidence.of_message(m.sip, f"Reason: {v.raw}") for m, v in hits),
                facts=(("header", "Reason"), ("code", value.code), ("protocol", value.protocol),
                       ("cause", cause), ("text", value.text), ("on", on), ("status", message.sip.status)),
                call_id=call_id, time=message.time)


_REASON_WHY = ("The Reason header (RFC 3326) says why the request or response was sent; a Q.850 cause "
               "comes from the PSTN side (a gateway, an SBC or the Mediation Server passes it on).")


def _normal(value: diagcodes.ReasonValue, status: int | None, method: str | None) -> bool:
    """A Reason that says the call ended as calls do, or that repeats the response it is on."""
    if value.cause is None:
        return True
    if value.protocol.upper() == "SIP" and status is not None and value.cause == status:
        return True          # the response itself is judged by failed-call
    known = diagcodes.reason_meaning(value.protocol, value.cause)
    return known is not None and known[1] is None


def _judge(diag: Diagnostic) -> tuple[Severity, str]:
    known = diagcodes.lookup(diag.code)
    if known is not None:
        return known.severity, known.meaning or known.reason
    said = f" The header's own reason: {diag.reason.rstrip('.')}." if diag.reason else ""
    area = diagcodes.area(diag.code)
    if area is not None:
        name, severity = area
        return severity, f"Code {diag.code} is not in siptrace's table; it is in the {name} range.{said}"
    return Severity.WARNING, f"Code {diag.code} is not in siptrace's table.{said}"


def _fix(diag: Diagnostic, source: str | None) -> str:
    where = f" on {source}" if source else ""
    code = diag.code
    if code == 1008 or code == 1014:
        return f"Check DNS{where}: the SRV/A records of the destination domain and that the server can resolve them."
    if code in (1038, 1046):
        peer = diag.param("Peer")
        return (f"Check that {peer or 'the peer'} is up, resolves to the right address and listens on its SIP port, "
                f"and that no firewall drops the connection{where}.")
    if code in (1010, 1047) or diag.param("HRESULT"):
        return (f"Check the certificates{where} and of the next hop: the name the peer presents must be the "
                f"FQDN it is reached by (Subject Name or SAN), and its CA must be trusted.")
    if code in (21, 22, 23):
        return "Check media connectivity: the A/V Edge, its public IP/NAT and the UDP/TCP ports between the endpoints."
    if code is not None and 12000 <= code <= 12999:
        return "Check the user's voice policy, PSTN usages, voice routes and the state of the gateways (trunks)."
    return f"Look up code {code}{where}; the reason and parameters above say what failed."


def _commands(diag: Diagnostic, source: str | None, message: Message, ctx: Context) -> tuple[Command, ...]:
    """What to paste to check the failure the code names, on the server that reported it."""
    code = diag.code
    peer = diag.param("Peer")
    sip = message.sip
    domain = (sip.to.uri.host or "").lower() if sip.to is not None and sip.to.uri is not None else None
    if code == 1008:
        return commands.dns_srv(domain, source)
    if code == 1014:
        return commands.dns_host(peer or (sip.ruri.host if sip.ruri else None), source)
    if code in (1038, 1046):
        return commands.connect(peer, diag.param("Port"), source)
    if code in (1010, 1047) or diag.param("HRESULT"):
        edge = ctx.edge_fqdns[0] if ctx.edge_fqdns else None
        return commands.certificates(source, domain, edge) + commands.dns_host(peer, source)
    return ()


def _reason_fix(protocol: str, cause: int | None, advice: str) -> str:
    if protocol.upper() == "Q.850":
        return ("Look at the PSTN gateway or SBC and the carrier for this call: " + (advice or "the cause above "
                "says what failed") + " Compare with the gateway's own log of the call.")
    if cause == 481:
        return ("Find the request the far side no longer knew (often a session refresh re-INVITE or UPDATE): "
                "check the Session-Expires / Min-SE handling of the gateway or SBC, and whether it restarted.")
    return advice or "The cause above says what the far side reported; look at the server that sent it."
