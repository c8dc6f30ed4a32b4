from __future__ import annotations

from collections.abc import Iterator

from ..model import resultcodes
from ..model.context import Context
from .findings import Evidence, Finding, Severity
from ..correlate.timeline import Timeline
from . import commands
from ._doc import section
from .findings import Command


class ErrorRecords:
    """The server's own error records (TF_DIAG / TF_COMPONENT), tied to their call.

    What it sees:
        Diagnostic records with a Result-Code (wherever it stands: its own
        line, the Text line, or the record's first line), grouped by code and
        Call-ID and tied to the dialog by SIP-Call-ID and SIP-CSeq.
    Why it matters:
        The front end or Edge writes why it could not route or deliver a
        message.  Certificate name problems (SEC_E_WRONG_PRINCIPAL,
        SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH) and DNS problems are direct
        causes.  0xC3E93C2F SIPPROXY_E_UNKNOWN_USER_OR_EPID is weak evidence:
        Microsoft documents it (event 32263) as often caused by stale
        subscriptions and safe to ignore on its own.
    Fix:
        Depends on the code: for certificate names, make the peer's
        certificate carry the FQDN it is reached by; for DNS, fix the records
        named in the record's Data.
    Not flagged:
        Records without a Result-Code and with a severity below warning;
        0xC3E93C2F on its own (a stale subscription, event 32263) is never
        above info, and next to a UM call's retargeted ACK it is marked a
        symptom of that finding; the same record logged again (one finding
        per code and call, each record as evidence).
    References:
        Microsoft: event 32263 error 0xC3E93C2F on front-end servers; Cisco
        document 212383 (SfB Edge TF_DIAG records); Microsoft Learn:
        Get-CsCertificate, Resolve-DnsName (the finding gives them to check a
        certificate code, with the FQDN the record expected, and the
        domain's federation SRV record for a DNS code).
    """

    id = "error-records"
    title = "Server diagnostic records with error result codes"
    severity = Severity.ERROR

    def check(self, timeline: Timeline, ctx: Context) -> Iterator[Finding]:
        groups: dict[tuple, list] = {}
        for diag in timeline.diagnostics:
            sev = (diag.severity or "").lower()
            if diag.result_code is None and sev not in ("error", "warning", "fatal"):
                continue
            key = (diag.call_id, diag.result_code.value if diag.result_code else None, diag.text)
            groups.setdefault(key, []).append(diag)
        for (call_id, value, _), diags in groups.items():
            diag = diags[0]
            known = resultcodes.lookup(value, diag.result_code.symbol if diag.result_code else None)
            severity = _severity(diag.severity, known)
            code = str(diag.result_code) if diag.result_code else f"{diag.record.flag} record"
            call = timeline.call(call_id) if call_id else None
            evidence = [Evidence.of_diag(d) for d in diags]
            tied = ""
            if call is not None and diag.cseq is not None:
                for message in call.messages:
                    if message.sip.cseq == diag.cseq and message.sip.is_request:
                        evidence.append(Evidence.of_message(message.sip, "the message the record is about"))
                        tied = f" about {message.sip.method} of call {call_id}"
                        break
            why = _why(known, diag.text)
            if known and known.weak:
                summary = f"{code}{tied} (weak evidence: often benign on its own)"
            elif known and known.certificate:
                summary = f"{code}{tied}: certificate name problem"
            else:
                summary = f"{code}{tied}: {diag.text or ''}".rstrip(": ")
            facts = [("result_code", diag.result_code.hex if diag.result_code else None),
                     ("symbol", diag.result_code.symbol if diag.result_code else None),
                     ("severity_logged", diag.severity), ("records", len(diags)),
                     ("sip_start_line", diag.sip_start_line)]
            facts += [(f"data.{k}", v) for k, v in diag.data if k]
            yield Finding(rule=self.id, severity=severity, summary=summary, why=why,
                          fix=_fix(known), evidence=tuple(evidence), facts=tuple(facts),
                          call_id=call_id, time=diag.time, commands=_commands(known, {k.lower(): v for k, v in diag.data if k}))


def _severity(logged: str | None, known: resultcodes.KnownCode | None) -> Severity:
    if known is not None:
        if known.weak:
            return Severity.INFO
        if known.certificate or known.dns:
            return Severity.ERROR
    logged = (logged or "").lower()
    if logged in ("error", "fatal"):
        return Severity.ERROR
    if logged == "warning":
        return Severity.WARNING
    return Severity.INFO


def _why(known: resultcodes.KnownCode | None, text: str | None) -> str:
    said = f"The server logged: {text.rstrip('.')}. " if text else ""
    if known is None:
        return said + "The front end or Edge writes such a record when it cannot route or deliver a message."
    note = ""
    if known.weak:
        note = " Alone it is weak evidence; it matters only next to other symptoms of the same call."
    elif known.certificate:
        note = " The next hop presented a certificate without the name it was reached by."
    return f"{said}{known.symbol}: {known.meaning}{note}"


def _commands(known: resultcodes.KnownCode | None, data: dict[str, str]) -> tuple[Command, ...]:
    """Checks for a certificate or DNS code, with the names the record's Data gives."""
    if known is None:
        return ()
    where = data.get("reported-by")
    if known.certificate:
        return commands.certificates(where) + commands.dns_host(data.get("expected-fqdn"), where)
    if known.dns:
        return commands.dns_srv(data.get("domain"), where)
    return ()


def _fix(known: resultcodes.KnownCode | None) -> str:
    if known is None:
        return section(ErrorRecords, "Fix")
    if known.certificate:
        return ("Make the peer's certificate carry the FQDN it is reached by (Subject Name or SAN) and check "
                "the trusted root and the next-hop FQDN configured in the topology.")
    if known.dns:
        return "Fix DNS for the destination domain: the SRV records must point to FQDNs of that domain."
    if known.weak:
        return ("Nothing on its own; look at it only with other symptoms of the same call (for Exchange UM: "
                "the ACK and Contact hosts).")
    return section(ErrorRecords, "Fix")
