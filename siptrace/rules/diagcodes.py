"""Microsoft diagnostic codes (ms-diagnostics, -public, ms-client-diagnostics) and Reason causes.

Reason texts are Microsoft's where [MS-OCER] section 7 ("Diagnostics Header
Error ID and Reason Values": SipStack 1000–1999, User Services 4000–4999,
VoIP outbound 12000–12999, inbound 13000–13999, client version filter
17000–17999) or a real message gives one; ``meaning`` says in plain words
what an administrator should read into it, and ``severity`` is what the code
means for a call (51007 is information, 1010 a certificate failure).  A code
not in the table falls back to its range ([OCS07] "Ms-Diagnostics Header":
1000–1999 SIP stack, 15000–15999 Exchange UM, ...) and to the reason the
header itself carries; it is called "not in siptrace's table", which says
nothing about whether Microsoft lists it.

The ``Reason`` header (RFC 3326) names why a BYE, CANCEL or response was
sent: ``Q.850;cause=N`` is the ISDN / ISUP cause a PSTN gateway or Mediation
Server passes on (ITU-T Q.850), ``SIP;cause=N`` a SIP status code.
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
    (1036, "Previous hop shared address space peer did not report diagnostic information", I,
     "The hybrid (shared SIP address space) peer gave no detail."),
    (1038, "Failed to connect to a peer server", W,
     "The server could not open a connection to the next hop; WinsockFailureCode and Peer say which and why."),
    (1046, "Failed to connect to a peer server", W,
     "The server could not open a TCP/TLS connection to the next hop: it is down, unreachable or not listening; "
     "WinsockFailureCode (10060 time-out, 10061 refused) and Peer say which."),
    (1047, "Failed to complete TLS negotiation with a federated peer server", E,
     "TLS with the federated or hybrid peer failed: its certificate, trust chain or TLS versions."),
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
    (12000, "Routes available for this request but no available gateway at this point.", E,
     "Every gateway or SIP trunk of the matching routes is down or marked unavailable."),
    (12001, "User Policy does not contain phone route usage.", W, "The user's voice policy has no PSTN usage."),
    (12002, "Phone number not valid or too large.", W, ""),
    (12003, "Inconsistent internal state.", E, ""),
    (12004, "No route found.", W, "No voice route matches the dialled number for the user's PSTN usages."),
    (12005, "Error parsing policy for this user.", E, ""),
    (12006, "Trying next hop.", I, "Outbound routing fails over to the next gateway."),
    (12007, "Could not parse flags in ms-application-via header for outbound call routing.", W, ""),
    (12008, "PSTN Toll Bypass disallowed.", W, "Location-based routing."),
    (12009, "PSTN Toll Bypass disallowed for Referrer.", W, "Location-based routing."),
    (12010, "From URI does not match caller URI.", W, ""),
    (12011, "Request body does not conform to schema.", W, ""),
    (12012, "Number of callee URIs exceeded max limit.", W, ""),
    (13000, "Call to self loop.", W, ""),
    (13001, "The routing rules did not result in a suitable final response.", W, ""),
    (13002, "The routing rules did not result in a final response.", W, ""),
    (13003, "The request contains a header that is not formatted as expected.", W, ""),
    (13004, "Request was proxied to one or more registered endpoints.", I, "Normal inbound routing."),
    (13005, "Request was proxied to one or more additional targets.", I, "Normal inbound routing (forking)."),
    (13006, "Request forwarded, any previous branches cancelled.", I, "Normal call forwarding."),
    (13007, "Request was proxied to an application.", I, ""),
    (13008, "Diagnostic headers removed for privacy.", I, ""),
    (13009, "No endpoints registered in Backup registrar.", W, "Resiliency: the backup pool has no registration."),
    (13010, "Target rejected call because of bandwidth congestion.", W, "Call admission control."),
    (13011, "Failed to dispatch request. This is an overload condition.", E, "The front end is overloaded."),
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


# ITU-T Q.850 cause values (the ISDN / ISUP causes a PSTN gateway reports):
# (cause, text, severity or None for a normal end, what to look at)
N = None
_Q850: list[tuple[int, str, Severity | None, str]] = [
    (1, "Unallocated (unassigned) number", W, "The number does not exist: check the dialled number and normalization."),
    (3, "No route to destination", W, "The carrier has no route to the number's network."),
    (16, "Normal call clearing", N, ""),
    (17, "User busy", I, ""),
    (18, "No user responding", I, "The called side did not answer the setup in time."),
    (19, "No answer from user (user alerted)", I, ""),
    (21, "Call rejected", I, "The called side or a carrier rejected the call (it may be barred or screened)."),
    (22, "Number changed", W, "The number has moved; update it."),
    (27, "Destination out of order", E, "The far end's interface is down."),
    (28, "Invalid number format (address incomplete)", W,
     "The number is incomplete or in the wrong format: check the normalization rules and the trunk's "
     "translation of the calling and called numbers."),
    (31, "Normal, unspecified", N, ""),
    (34, "No circuit/channel available", E, "The gateway or trunk has no free channel: capacity or a trunk is down."),
    (38, "Network out of order", E, "The PSTN side of the gateway is down."),
    (41, "Temporary failure", E, "A short-lived failure in the network or gateway; repeated, look at the gateway."),
    (42, "Switching equipment congestion", E, "The carrier's switch is congested."),
    (44, "Requested circuit/channel not available", E, "The channel the gateway asked for is in use or blocked."),
    (47, "Resource unavailable, unspecified", E, "The gateway or carrier ran out of a resource."),
    (50, "Requested facility not subscribed", W, "The line is not subscribed to what the call asks for."),
    (55, "Incoming calls barred within CUG", W, ""),
    (57, "Bearer capability not authorized", W, "The line may not carry this kind of call."),
    (58, "Bearer capability not presently available", W, ""),
    (63, "Service or option not available, unspecified", W, ""),
    (65, "Bearer capability not implemented", W, "Codec or bearer mismatch with the carrier."),
    (69, "Requested facility not implemented", W, ""),
    (79, "Service or option not implemented, unspecified", W, ""),
    (88, "Incompatible destination", W, ""),
    (95, "Invalid message, unspecified", E, "A signalling protocol error between the gateway and the carrier."),
    (96, "Mandatory information element is missing", E, "A signalling protocol error: a required field is missing."),
    (97, "Message type non-existent or not implemented", E, "A signalling protocol error."),
    (99, "Information element / parameter non-existent or not implemented", E, "A signalling protocol error."),
    (100, "Invalid information element contents", E,
     "A signalling protocol error, often a number in a format the carrier refuses."),
    (102, "Recovery on timer expiry", E, "A signalling timer ran out: the far side did not answer in time."),
    (111, "Protocol error, unspecified", E, "A signalling protocol error."),
    (127, "Interworking, unspecified", W, "A network on the way gave no cause of its own."),
]
Q850: dict[int, tuple[str, Severity | None, str]] = {c: (t, s, m) for c, t, s, m in _Q850}

# SIP status codes as a Reason cause (RFC 3261 §21 and later RFCs), with what they mean there.
_SIP: list[tuple[int, str, Severity | None, str]] = [
    (200, "OK (call completed elsewhere)", N, "Another endpoint or fork answered: the others are cancelled."),
    (408, "Request Timeout", W, "A request got no answer in time."),
    (480, "Temporarily Unavailable", I, "The callee did not answer or is not available."),
    (481, "Call/Transaction Does Not Exist", E,
     "The far side no longer knows this dialog (a failed session refresh, a restarted server or gateway): "
     "the call is torn down."),
    (486, "Busy Here", I, ""),
    (487, "Request Terminated", N, "A pending request was cancelled."),
    (488, "Not Acceptable Here", W, "The session description was refused (codec, encryption)."),
    (500, "Server Internal Error", E, ""),
    (502, "Bad Gateway", E, ""),
    (503, "Service Unavailable", E, ""),
    (504, "Server Time-out", E, "A server on the way could not reach the next hop in time."),
    (580, "Precondition Failure", W, "Media preconditions (e.g. bandwidth) were not met."),
    (600, "Busy Everywhere", I, ""),
    (603, "Decline", I, ""),
]
SIP_CAUSES: dict[int, tuple[str, Severity | None, str]] = {c: (t, s, m) for c, t, s, m in _SIP}


@dataclass(frozen=True, slots=True)
class ReasonValue:
    """One value of a Reason header (RFC 3326): ``protocol ;cause=N ;text="..."``."""

    protocol: str
    cause: int | None
    text: str | None
    raw: str

    @property
    def code(self) -> str:
        """How a finding names it: ``Q.850/34``, ``SIP/481``."""
        return f"{self.protocol}/{self.cause}"


def parse_reason(value: str) -> tuple[ReasonValue, ...]:
    """Every protocol of one Reason header value (several may be listed, comma-separated)."""
    from ..model.sip import param_of
    from ..model.values import parse_lead_params, split_list

    out = []
    for item in split_list(value):
        parsed = parse_lead_params(item)
        if parsed is None:
            continue
        lead, params = parsed
        cause = param_of(params, "cause")
        out.append(ReasonValue(protocol=(lead or "").strip(), cause=int(cause) if cause and cause.isdigit() else None,
                               text=param_of(params, "text") or None, raw=item.strip()))
    return tuple(out)


def reason_meaning(protocol: str, cause: int | None) -> tuple[str, Severity | None, str] | None:
    """(text, severity or None for a normal end, advice) of a Reason cause; None when not in the tables."""
    if cause is None:
        return None
    proto = protocol.strip().upper()
    if proto == "Q.850":
        return Q850.get(cause)
    if proto == "SIP":
        known = SIP_CAUSES.get(cause)
        if known is not None:
            return known
        if 200 <= cause < 300:
            return "success", None, ""
        if 300 <= cause < 700:
            return f"SIP {cause}", W if cause < 500 else E, ""
    return None


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
