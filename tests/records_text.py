"""Small server-trace records used by several tests (faithful to the real layout)."""

PROTOCOL_INVITE = (
    "TL_INFO(TF_PROTOCOL) [fe01\\fe01]0A1C.0F2C::11/03/2026-09:14:02.117.0001A3F2 "
    "(SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record\r\n"
    "Trace-Correlation-Id: 3418792210\r\n"
    "Instance-Id: 00004B1E\r\n"
    'Direction: incoming;source="external edge";destination="internal edge"\r\n'
    "Peer: edge01.contoso.com:5061\r\n"
    "Message-Type: request\r\n"
    "Start-Line: INVITE sip:+14255550150@um01.contoso.com;user=phone SIP/2.0\r\n"
    "Via: SIP/2.0/TLS 10.0.2.21:5061;branch=z9hG4bK7A1F2C3D.1;ms-received-port=5061;ms-received-cid=2A03\r\n"
    "Max-Forwards: 69\r\n"
    'From: "Alice Example"<sip:alice@contoso.com>;tag=5f1c2a9b0e;epid=7c1d2e3f4a\r\n'
    "To: <sip:+14255550150@contoso.com;user=phone>\r\n"
    "Call-ID: 0c8a7f5e3d2b4a1980f6e5d4c3b2a190\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:alice@contoso.com;opaque=user:epid:QmJvYm9ib2I;gruu>\r\n"
    "Supported: ms-dialog-route-set-update\r\n"
    "Supported: timer, 100rel\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 46\r\n"
    "Message-Body: v=0\r\n"
    "o=- 0 1 IN IP4 198.51.100.23\r\n"
    "s=session\r\n"
    "$$end_record\r\n"
)

DIAG_TAIL_SEQUENCE = (
    "TL_WARN(TF_DIAG) [fe01\\fe01]0584.0A44::11/03/2026-09:14:03.230.0000773E "
    "(SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) [156659184] $$begin_record\r\n"
    "Severity: warning\r\n"
    "Text: Routing error for the ACK Result-Code: 0xc3e93c2f SIPPROXY_E_UNKNOWN_USER_OR_EPID\r\n"
    "SIP-Start-Line: ACK sip:mail.contoso.com:5061;transport=Tls SIP/2.0\r\n"
    "SIP-Call-ID: 0c8a7f5e3d2b4a1980f6e5d4c3b2a190\r\n"
    "SIP-CSeq: 1 ACK\r\n"
    "Peer: mail.contoso.com:5061\r\n"
    'Data: fqdn =" mail.contoso.com "; reason="no route"\r\n'
    "$$end_record\r\n"
)

COMPONENT_FREE_TAIL = (
    "TL_ERROR(TF_COMPONENT) [0]0860.0CDC::11/03/2026-09:14:04.622.000d0b31 "
    "(SIPStack,CSIPRequest::GetNextHopByRouteHeader:SIPRequest.cpp(2440))( 00000000028FDD70 ) "
    "Exit - route headers from untrusted source. Result 0xC3E93C5E(SIPPROXY_E_ROUTING)\r\n"
    "LogType: diagnostic\r\n"
    "Severity: warning\r\n"
    "Text: Cannot process Route headers from a non-trusted source\r\n"
    "$$end_record\r\n"
)

CONNECTION = (
    "TL_INFO(TF_CONNECTION) [fe01\\fe01]0A1C.0F30::11/03/2026-09:14:01.998.0001A3E0 "
    "(SIPStack,SIPAdminLog::TraceConnectionRecord:SIPAdminLog.cpp(160))$$begin_record\r\n"
    "LogType: connection\r\n"
    "Severity: information\r\n"
    "Text: TLS negotiation succeeded\r\n"
    "Local-IP: 10.0.1.11:5061\r\n"
    "Peer-IP: 10.0.2.21:51234\r\n"
    "Connection-ID: 0x2A03\r\n"
    "$$end_record\r\n"
)

ALL = PROTOCOL_INVITE + DIAG_TAIL_SEQUENCE + COMPONENT_FREE_TAIL + CONNECTION

# Lync 2010 SIPStack: a whole record on one line, no $$begin_record / $$end_record
ONE_LINE = (
    "TL_INFO(TF_COMPONENT) [1]0A1C.0F2C::06/14/2011-14:07:21.630.00052A64 "
    "(SIPStack,CSIPMessage::TraceSource:SIPMessage.cpp(2188)) From client connection, CID [0x3E2C00]\r\n"
)
