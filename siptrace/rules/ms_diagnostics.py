from __future__ import annotations

from collections.abc import Iterator

from .. import diagcodes
from ..context import Context
from ..findings import Evidence, Finding, Severity
from ..model import Diagnostic
from ..timeline import Timeline
from ._doc import section


class MsDiagnostics:
    """Microsoft's own diagnostic headers, decoded next to the message that carried them.

    What it sees:
        Every ms-diagnostics, ms-diagnostics-public and ms-client-diagnostics
        header (any case, several per message, parameters in any order) on a
        unique message; the code is looked up in a table of known codes and
        component ranges, and its severity is what the code means (51007 is
        information, 1008 a DNS failure, 21–23 a media failure).
    Why it matters:
        The server or client that failed says why, in its own words: the
        reason, the source server and details such as the HRESULT or the ICE
        warnings.  It is the first thing Microsoft support asks for.
    Fix:
        Depends on the code; the finding gives the meaning of the code and the
        source server to look at.
    Not flagged:
        Retransmissions and other sightings of a message already reported;
        HTTP x-ms-diagnostics (a different header of web services).
    References:
        [MS-OCER] 2.2.1 (ms-diagnostics, ms-diagnostics-public), Lync UCMA
        "Diagnostics and error reporting", OCS 2007 "Ms-Diagnostics Header".
    """

    id = "ms-diagnostics"
    title = "Microsoft diagnostic header decoded"
    severity = Severity.ERROR

    def check(self, timeline: Timeline, ctx: Context) -> Iterator[Finding]:
        seen: dict[tuple, list] = {}
        for message in timeline.messages:
            if message.is_retransmission:
                continue
            for diag in message.sip.diagnostics:
                key = (message.sip.call_id, diag.header, diag.code, diag.sub_code, diag.reason)
                seen.setdefault(key, []).append((message, diag))
        for (call_id, header, code, sub, _), hits in seen.items():
            message, diag = hits[0]
            severity, meaning = _judge(diag)
            label = f"{code}" + (f".{sub}" if sub is not None else "") if code is not None else "?"
            src = f" from {diag.source}" if diag.source else ""
            reason = diag.reason or (diagcodes.lookup(code).reason if diagcodes.lookup(code) else "")
            on = message.sip.summary
            facts: list[tuple[str, object]] = [("header", header), ("code", code), ("sub_code", sub),
                                               ("reason", reason), ("source", diag.source), ("on", on)]
            hresult = diag.param("HRESULT")
            if hresult:
                facts.append(("hresult", hresult))
            yield Finding(
                rule=self.id, severity=severity,
                summary=f"{header} {label}{src} on {on}: {reason}".rstrip(": "),
                why=(meaning + " " if meaning else "") + section(MsDiagnostics, "Why it matters"),
                fix=_fix(diag, meaning),
                evidence=tuple(Evidence.of_message(m.sip, f"{d.header}: {d.text}") for m, d in hits),
                facts=tuple(facts), call_id=call_id, time=message.time)


def _judge(diag: Diagnostic) -> tuple[Severity, str]:
    known = diagcodes.lookup(diag.code)
    if known is not None:
        return known.severity, known.meaning or known.reason
    area = diagcodes.area(diag.code)
    if area is not None:
        name, severity = area
        return severity, f"An unlisted code of the {name} range."
    return Severity.WARNING, "An unlisted code."


def _fix(diag: Diagnostic, meaning: str) -> str:
    where = f" on {diag.source}" if diag.source else ""
    code = diag.code
    if code == 1008 or code == 1014:
        return f"Check DNS{where}: the SRV/A records of the destination domain and that the server can resolve them."
    if code == 1010 or diag.param("HRESULT"):
        return (f"Check the certificates{where} and of the next hop: the name the peer presents must be the "
                f"FQDN it is reached by (Subject Name or SAN), and its CA must be trusted.")
    if code in (21, 22, 23):
        return "Check media connectivity: the A/V Edge, its public IP/NAT and the UDP/TCP ports between the endpoints."
    return f"Look up code {code}{where}; the reason and parameters above say what failed."
