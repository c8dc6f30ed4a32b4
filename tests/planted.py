"""A server trace with a personal value of every class the redaction promises, in every place.

Each value is planted in the headers, header parameters, TF_DIAG fields, SDP, record framing
(machine, Direction, Peer) and the folder and file name of an OCSLogger trace.  `PLANTED`
names each original by class; `write_planted` writes the trace and returns its path.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flows import BASE

CRLF = "\r\n"
CALL_ID = "9f1e2d3c4b5a69788796a5b4c3d2e1f0"
OTHER_CALL_ID = "c0ffee11d00d4a7e9b8c7d6e5f4a3b21"

# class → originals (searched case-insensitively as whole tokens in every output)
PLANTED: dict[str, list[str]] = {
    "user": ["jdoe", "kwilson", "pjones", "tbrown", "mgarcia", "lchen"],
    "display": ["John Doe", "Kim Wilson", "Pat Jones", "Tom Brown"],
    "phone": ["+14255550100", "4255550199", "(425) 555-0142", "425.555.0188", "425-555-0177", "4255550142",
              "4255550188", "4255550177", "14255550166", "4255550155"],
    "ipv4": ["10.20.30.40", "010.001.002.003", "10.1.2.3", "10-9-8-7", "10.9.8.7", "172.16.5.4", "192.168.77.8"],
    "ipv6": ["fd00:1234:5678::20", "fd00:1234:5678:0:0:0:0:21"],
    "epid": ["5f8c3a21b7", "7e2a91c0d3"],
    "tag": ["271ca2b75d", "5ec397bd2c"],
    "call_id": [CALL_ID, OTHER_CALL_ID],
    "gruu": ["pK0w3mS7XUW2eT1a4Jc9BgAA", "Xq9zR2mN7kLpWv", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"],
    "conf": ["7XK9P2QJ"],
    "auth": ["364feca906f2a015aa792e1d0243d827d64955d3", "3f33d7ea9", "ZmFrZWdzc2FwaWRhdGE0MjQy",
             "anax6ktxowHMtpqIAWlfbPXs", "P/jk9xXW+524ZxqH6V0Ru38hC8MQXgYZraTJK1E5"],
    "file": ["Northwind-Traders-SR884466", "SR884466", "jdoe_4255550111", "4255550111"],
    # with --redact-domains only
    "domain": ["contoso.com", "contoso", "fabrikam.xyz", "fabrikam", "fe01.contoso.com", "FE01",
               "jdoe-laptop.contoso.com", "sfb.Northwind.Lan", "northwind", "edge01.fabrikam.xyz", "CONTOSO"],
}
# found inside other words on purpose: the user inside a machine name, any case
INSIDE = ["jdoe-laptop", "JDOE-PC"]

SDP = CRLF.join([
    "v=0", "o=- 0 0 IN IP4 10.20.30.40", "s=session", "c=IN IP4 10.20.30.40", "t=0 0",
    "m=audio 21020 RTP/AVP 0 101",
    "a=ice-ufrag:gFJL", "a=ice-pwd:anax6ktxowHMtpqIAWlfbPXs",
    "a=candidate:1 1 UDP 2130706431 10.20.30.40 21020 typ host",
    "a=candidate:2 1 UDP 2130706430 fd00:1234:5678::20 21022 typ host",
    "a=candidate:3 1 UDP 16648703 172.16.5.4 52420 typ relay raddr 10.20.30.40 rport 20312",
    "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:P/jk9xXW+524ZxqH6V0Ru38hC8MQXgYZraTJK1E5|2^31|1:1",
    "",
])

AUTH = ('Kerberos qop="auth", realm="SIP Communications Service", opaque="0A1B2C3D", crand="3f33d7ea9", '
        'cnum="41", targetname="sip/fe01.contoso.com", username="CONTOSO\\\\jdoe", '
        'gssapi-data="ZmFrZWdzc2FwaWRhdGE0MjQy", response="364feca906f2a015aa792e1d0243d827d64955d3"')

_seq = [0x2000]


def _stamp(at: float) -> str:
    _seq[0] += 1
    when = BASE + timedelta(seconds=at)
    return when.strftime("%m/%d/%Y-%H:%M:%S.") + f"{when.microsecond // 1000:03d}.{_seq[0]:08X}"


def _protocol(at: float, start: str, headers: list[tuple[str, str]], direction: str, peer: str,
              body: str = "", machine: str = "FE01\\FE01") -> str:
    kind = "response" if start.startswith("SIP/2.0") else "request"
    lines = [f"TL_INFO(TF_PROTOCOL) [{machine}]0A1C.0F2C::{_stamp(at)} "
             "(SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record",
             f"Trace-Correlation-Id: {_seq[0]}", "Instance-Id: 00004B1E",
             f'Direction: {direction};source="jdoe-laptop.contoso.com";destination="fe01.contoso.com"',
             f"Peer: {peer}", f"Message-Type: {kind}", f"Start-Line: {start}"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines.append(f"Content-Length: {len(body.encode())}")
    lines.append(f"Message-Body: {body}" if body else "Message-Body: -")
    lines.append("$$end_record")
    return CRLF.join(lines) + CRLF


def _diag(at: float, text: str, start: str, call_id: str, peer: str, data: str) -> str:
    return CRLF.join([
        f"TL_ERROR(TF_DIAG) [FE01\\FE01]0A1C.0F2C::{_stamp(at)} "
        "(SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) [1902367441] $$begin_record",
        "LogType: diagnostic", "Severity: error", f"Text: {text}",
        "Result-Code: 0xc3e93c2f SIPPROXY_E_UNKNOWN_USER_OR_EPID", f"SIP-Start-Line: {start}",
        f"SIP-Call-ID: {call_id}", "SIP-CSeq: 1 INVITE", f"Peer: {peer}", f"Data: {data}", "$$end_record", ""])


def planted_trace() -> str:
    """jdoe calls kwilson through the conference focus; the callee's side answers 480 with diagnostics."""
    ruri = "sip:kwilson@contoso.com;gruu;opaque=app:conf:focus:id:7XK9P2QJ"
    frm = '"John Doe" <sip:jdoe@contoso.com>;tag=271ca2b75d;epid=5f8c3a21b7'
    to = "Kim Wilson <sip:kwilson@contoso.com>"
    common = [("Via", "SIP/2.0/TLS 10.20.30.40:53214;branch=z9hG4bK1;received=010.001.002.003;ms-received-port=53214"),
              ("Record-Route", "<sip:edge01.fabrikam.xyz:5061;transport=tls;lr>"),
              ("From", frm), ("Call-ID", CALL_ID), ("CSeq", "1 INVITE")]
    invite = [*common[:3], ("To", to), *common[3:],
              ("Contact", "<sip:jdoe@contoso.com;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>;+sip.instance="
                          '"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"'),
              ("P-Asserted-Identity", '"John Doe" <sip:jdoe@contoso.com>, <tel:+14255550100;ext=4711>'),
              ("Referred-By", "<sip:pjones@contoso.com;gr=Xq9zR2mN7kLpWv>"),
              ("History-Info", "<sip:sip%3Atbrown%40contoso.com@fabrikam.xyz>;index=1"),
              ("Proxy-Authorization", AUTH), ("ms-subnet", "10.9.8.0"),
              ("ms-endpoint-location-data", "NetworkScope;ms-media-location-type=Intranet"),
              ("User-Agent", "UCCAPI/16.0.4417.1000 OC/16.0.4417.1000 (Skype for Business) JDOE-PC"),
              ("X-Origin", "host ip-10-9-8-7.fabrikam.xyz, client sfb.Northwind.Lan, [fd00:1234:5678::21]:5061"),
              ("Content-Type", "application/sdp")]
    answer = [*common[:3], ("To", to + ";tag=5ec397bd2c;epid=7e2a91c0d3"), *common[3:],
              ("Contact", '"Kim Wilson" <sip:kwilson@contoso.com;opaque=user:epid:pK0w3mS7XUW2eT1a4Jc9BgAA;gruu>'),
              ("ms-client-diagnostics", '52001;reason="Client is not reachable";CalleeMediaDebug="audio:ICEWarn=0x0,'
                                        'LocalSite=192.168.77.8:50010,RemoteSite=10.20.30.40:21020"'),
              ("ms-diagnostics", '1046;reason="Failed to connect to 4255550199";PeerServer="edge01.fabrikam.xyz";'
                                 'Callee="(425) 555-0142";Caller="425.555.0188";UserName=mgarcia;'
                                 'source="fe01.contoso.com"')]
    out = [
        _protocol(200.0, f"INVITE {ruri} SIP/2.0", invite, "incoming", "10.20.30.40:53214", SDP),
        _protocol(200.01, f"INVITE {ruri} SIP/2.0", invite, "outgoing", "edge01.fabrikam.xyz:5061", SDP),
        _protocol(200.5, "SIP/2.0 100 Trying", [*answer[:3], ("To", to), *answer[4:6]], "incoming",
                  "edge01.fabrikam.xyz:5061"),
        _protocol(201.0, "SIP/2.0 480 Kim Wilson at 425-555-0177 is away", answer, "incoming",
                  "edge01.fabrikam.xyz:5061"),
        _diag(201.01, "Routing failed for Pat Jones <sip:pjones@contoso.com> (CONTOSO\\lchen) at 14255550166, "
                      "ms-diagnostics reason Failed to connect to 4255550155 on jdoe-laptop.contoso.com",
              f"INVITE {ruri} SIP/2.0", CALL_ID, "192.168.77.8:50010",
              'user="tbrown"; client-ip="172.16.5.4"; dialog-tag="5ec397bd2c"; caller=Tom Brown <sip:tbrown@contoso.com>;'
              " displayName=Pat Jones; uri=sip%3Apjones%40contoso.com"),
        _diag(202.0, f"Call {OTHER_CALL_ID} from JDOE-PC dropped", "BYE sip:jdoe@contoso.com SIP/2.0",
              OTHER_CALL_ID, "fe01.contoso.com:5061", 'reason="no answer from 425-555-0177"'),
    ]
    return "".join(out)


def write_planted(folder: Path) -> Path:
    """The trace, in a folder and file named after the customer, the user and a number."""
    where = folder / "Northwind-Traders-SR884466"
    where.mkdir(parents=True, exist_ok=True)
    path = where / "jdoe_4255550111.log"
    path.write_text(planted_trace(), encoding="utf-8")
    return path
