"""Microsoft diagnostic codes (ms-diagnostics, -public, ms-client-diagnostics).

Reason texts are Microsoft's where [MS-OCER] or a real message gives one;
``meaning`` says in plain words what an administrator should read into it,
and ``severity`` is what the code means for a call (51007 is information,
1010 a certificate failure).  Unknown codes fall back to their range
([OCS07] "Ms-Diagnostics Header": 1000–1999 SIP stack, 15000–15999 Exchange
UM, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from .findings import Severity

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True, slots=True)
class DiagCode:
    code: int
    reason: str
    severity: Severity
    meaning: str = ""


_TABLE: list[tuple[int, str, Severity, str]] = [
    (21, "Call failed to establish due to a media connectivity failure where one endpoint is of unknown type", E,
     "Media (ICE) never connected; with Exchange UM behind an Edge this is the CDR diagnostic ID 21 symptom."),
    (22, "Call failed to establish due to a media connectivity failure when both endpoints are internal", E,
     "Media (ICE) never connected between two internal endpoints: firewall, routing or media ports."),
    (23, "Call failed to establish due to a media connectivity failure when one endpoint is internal and the other is remote", E,
     "Media (ICE) never connected through the Edge: check the A/V Edge, its ports and the relay candidates."),
    (1000, "Final handshake failed.", E, "TLS/MTLS handshake with the next hop failed."),
    (1001, "From URI not authorized to communicate with public IM providers.", W, "Policy: public IM connectivity."),
    (1002, "From URI not authorized to communicate with federated partners.", W, "Policy: federation."),
    (1003, "User does not exist.", W, "The target user is not known to this deployment."),
    (1004, "Route set is no longer valid.", W, "The dialog's route set points to a hop that no longer accepts it."),
    (1005, "Cannot route to destination domain.", E, "No route (DNS, federation, static route) for the domain."),
    (1006, "Error routing on client connection.", E, "The server could not deliver over the client's connection."),
    (1007, "Temporarily cannot route.", W, "A transient routing failure."),
    (1008, "Unable to resolve DNS SRV record.", E, "DNS SRV lookup for the destination failed."),
    (1009, "Conflicting SRV and host domains in DNS.", E, "DNS SRV returned hosts outside the destination domain."),
    (1010, "Certificate trust with next-hop server could not be established.", E,
     "The next hop's certificate is not trusted or does not carry the expected FQDN."),
    (1011, "ms-diagnostics header not provided by previous hop.", I, "No detail from the previous hop."),
    (1012, "From URI is not authorized to communicate with users outside the enterprise.", W, "Policy: external access."),
    (1013, "Significant time skew detected during authentication.", E, "Clocks differ too much for Kerberos/NTLM."),
    (1014, "Unable to resolve DNS A record.", E, "DNS A lookup for the next hop failed."),
    (1017, "Cannot route From and To domains in this combination", W, "Split-domain (hybrid) routing mismatch."),
    (1027, "Cannot route this type of SIP request to or from federated partners", W, "Federation policy for this request type."),
    (1034, "Previous hop federated peer did not report diagnostic information", I, "The federated peer gave no detail."),
    (2139, "Terminating old subscription since new subscription dialog took over the previous one", I, "Normal subscription refresh."),
    (2165, "Contact subscription is not allowed as the user's contact list has migrated to Exchange.", I,
     "Expected once the contact list lives in Exchange (unified contact store)."),
    (3000, "Bad From in C3P request.", W, ""), (3004, "The requested C3P command is not implemented.", W, ""),
    (3012, "Invalid conference URI.", W, ""), (3014, "Failed authorization.", W, ""),
    (4000, "User services default.", W, ""), (4001, "XML parse failure.", W, ""),
    (4002, "Multiple users associated with the source phone number.", W, "Duplicate LineURI in the directory."),
    (4003, "From URI not enabled for remote access.", W, "Policy: remote user access."),
    (4004, "Credentials provided are not authorized to act as specified from URI.", W, ""),
    (4005, "Destination URI either not enabled for SIP or does not exist.", W, ""),
    (4006, "User not found in pool.", W, ""), (4007, "Resource is unknown in this deployment.", W, ""),
    (4008, "Input data too large.", W, ""),
    (4009, "Multiple users associated with the destination phone number.", W, "Duplicate LineURI in the directory."),
    (4010, "Missing endpoint identifier.", W, ""), (4011, "Epid not present.", W, ""),
    (4012, "Epid too long.", W, ""), (4013, "Content-type does not match the expected content.", W, ""),
    (4141, "User disabled", W, "The user account is disabled for SIP."),
    (5000, "One or more critical applications are not running.", E, ""),
    (5001, "Request timed out.", W, ""), (5002, "Request was cancelled.", I, ""),
    (5003, "Internal processing failure.", E, ""), (5004, "Failed parsing the incoming request.", W, ""),
    (5005, "The application specified an invalid request-URI.", W, ""),
    (5006, "Failed when constructing the outgoing request.", W, ""),
    (5007, "Failed processing a contact entry.", W, ""),
    (5008, "The application specified an invalid static forwarding URL.", W, ""),
    (10003, "Proxy returned a SIP failure code", W, "The Mediation Server passes on the gateway's or peer's failure."),
    (17000, "Server overloaded.", E, ""), (17001, "Invalid request.", W, ""),
    (17002, "Invalid protocol client version.", W, "Client version filter."),
    (17003, "Declined with URL.", W, "Client version filter."), (17004, "Allowed with URL.", I, "Client version filter."),
    (21002, "Attendees cannot share in this conference", I, "Meeting policy."),
    (24067, "Mcu is rolling over", I, ""), (24081, "Endpoint termination", I, "Normal end of an application call."),
    (24083, "Message was received out of dialog.", W, ""),
    (51007, "Callee media connectivity diagnosis info", I, "Information the callee's client attaches to its 200 OK."),
    (52017, "Encryption levels dont match", E, "One side requires SRTP encryption the other does not support."),
    (52035, "This client has an IM session with the same conversation ID", I, ""),
    (52063, "Unsupported session description", W, ""),
]

CODES: dict[int, DiagCode] = {c: DiagCode(c, r, s, m) for c, r, s, m in _TABLE}

RANGES: list[tuple[int, int, str, Severity]] = [
    (0, 999, "common", W), (1000, 1999, "SIP stack", W), (2000, 2999, "User Services (presence)", W),
    (3000, 3999, "Conferencing (Focus)", W), (4000, 4999, "User Services", W),
    (5000, 5999, "API applications", W), (6000, 6999, "IM Conferencing", W),
    (7000, 7999, "A/V Conferencing", W), (8000, 8999, "Telephony Conferencing", W), (9000, 9999, "MRAS", W),
    (10000, 10999, "Mediation Server", W), (11000, 11999, "Metrics", I),
    (12000, 12999, "VoIP outbound routing", W), (13000, 13999, "VoIP inbound routing", W),
    (14000, 14999, "VoIP translation (dial plans)", W), (15000, 15999, "Exchange Server UM", W),
    (16000, 16999, "IM Filter", W), (17000, 17999, "Client Version Filter", W),
    (60000, 60999, "application (success)", I), (61000, 61999, "application (expected failure)", W),
    (62000, 62999, "application (unexpected failure)", E), (90000, 90999, "PIC", W),
]


def lookup(code: int | None) -> DiagCode | None:
    return CODES.get(code) if code is not None else None


def area(code: int | None) -> tuple[str, Severity] | None:
    """The component range a code belongs to, and the severity assumed for it."""
    if code is None:
        return None
    for low, high, name, severity in RANGES:
        if low <= code <= high:
            return name, severity
    if 20000 <= code <= 59999:
        return "client / server component", W
    return None
