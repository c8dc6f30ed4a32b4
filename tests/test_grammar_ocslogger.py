"""The server-trace record grammar, record by record."""

from __future__ import annotations

from datetime import datetime, timezone

from siptrace import DiagRecord, Direction, Kind, Origin, Record, SipMessage, Skipped, parse_record_text

from records_text import COMPONENT_FREE_TAIL, CONNECTION, DIAG_TAIL_SEQUENCE, PROTOCOL_INVITE

O = Origin("t.log", 1)


def test_protocol_record_with_glued_begin_marker_becomes_a_sip_message():
    msg = parse_record_text(PROTOCOL_INVITE, O)
    assert isinstance(msg, SipMessage)
    assert msg.method == "INVITE"
    assert msg.request_uri == "sip:+14255550150@um01.contoso.com;user=phone"
    assert msg.ruri.user == "+14255550150" and msg.ruri.host == "um01.contoso.com"
    assert msg.ruri.param("user") == "phone"
    assert msg.time == datetime(2026, 11, 3, 9, 14, 2, 117000, tzinfo=timezone.utc)
    assert msg.record.machine == "fe01\\fe01" and msg.record.pid == 0x0A1C and msg.record.tid == 0x0F2C
    assert msg.record.sequence == 0x0001A3F2
    assert msg.record.component == "SIPStack"
    assert msg.record.function == "SIPAdminLog::TraceProtocolRecord"
    assert msg.record.source_file == "SIPAdminLog.cpp" and msg.record.source_line == 125
    assert msg.direction.direction is Direction.INCOMING
    assert msg.direction.source == "external edge" and msg.direction.destination == "internal edge"
    assert str(msg.peer) == "edge01.contoso.com:5061"
    assert msg.record.field("trace-correlation-id") == "3418792210"


def test_message_body_starts_on_the_message_body_line_and_runs_to_end_record():
    msg = parse_record_text(PROTOCOL_INVITE, O)
    assert msg.body == "v=0\r\no=- 0 1 IN IP4 198.51.100.23\r\ns=session\r\n"
    assert msg.content_length == len(msg.body.encode())
    assert msg.has_sdp


def test_dash_body_means_no_body():
    text = PROTOCOL_INVITE.split("Message-Body:")[0] + "Message-Body: -\r\n$$end_record\r\n"
    msg = parse_record_text(text, O)
    assert isinstance(msg, SipMessage) and msg.body == ""


def test_body_on_following_lines_is_accepted_too():
    text = PROTOCOL_INVITE.split("Message-Body:")[0] + "Message-Body:\r\nv=0\r\ns=x\r\n$$end_record\r\n"
    msg = parse_record_text(text, O)
    assert msg.body.strip().splitlines() == ["v=0", "s=x"]


def test_response_record_gives_status_reason_and_cseq_method():
    text = (PROTOCOL_INVITE.replace("Message-Type: request", "Message-Type: response")
            .replace("Start-Line: INVITE sip:+14255550150@um01.contoso.com;user=phone SIP/2.0",
                     "Start-Line: SIP/2.0 180 Ringing"))
    msg = parse_record_text(text, O)
    assert msg.is_response and msg.status == 180 and msg.reason == "Ringing"
    assert msg.method is None and msg.cseq_method == "INVITE"


def test_diag_record_with_sequence_tail_and_result_code_on_the_text_line():
    diag = parse_record_text(DIAG_TAIL_SEQUENCE, O)
    assert isinstance(diag, DiagRecord)
    assert diag.record.sequence == 156659184
    assert diag.severity == "warning"
    assert diag.text == "Routing error for the ACK"
    assert diag.result_code.value == 0xC3E93C2F
    assert diag.result_code.symbol == "SIPPROXY_E_UNKNOWN_USER_OR_EPID"
    assert diag.result_code.hex == "0xC3E93C2F"
    assert diag.sip_start_line == "ACK sip:mail.contoso.com:5061;transport=Tls SIP/2.0"
    assert diag.call_id == "0c8a7f5e3d2b4a1980f6e5d4c3b2a190"
    assert (diag.cseq.number, diag.cseq.method) == (1, "ACK")
    assert str(diag.peer) == "mail.contoso.com:5061"
    assert dict(diag.data) == {"fqdn": "mail.contoso.com", "reason": "no route"}


def test_component_record_without_begin_marker_takes_result_from_first_line():
    diag = parse_record_text(COMPONENT_FREE_TAIL, O)
    assert isinstance(diag, DiagRecord)
    assert diag.record.tail.startswith("( 00000000028FDD70 ) Exit")
    assert diag.result_code.value == 0xC3E93C5E and diag.result_code.symbol == "SIPPROXY_E_ROUTING"
    assert diag.record.machine == "0"


def test_connection_record_is_kept_with_all_its_fields():
    rec = parse_record_text(CONNECTION, O)
    assert isinstance(rec, Record) and rec.kind is Kind.OTHER
    assert rec.flag == "TF_CONNECTION"
    assert rec.field("Local-IP") == "10.0.1.11:5061"
    assert rec.field("connection-id") == "0x2A03"
    assert len(rec.fields) == 6


def test_folded_header_is_joined_with_one_space():
    text = PROTOCOL_INVITE.replace("Max-Forwards: 69\r\n", "Subject: voice\r\n mail call\r\n\tfor alice\r\n")
    msg = parse_record_text(text, O)
    assert msg.headers.get("subject") == "voice mail call for alice"


def test_line_without_colon_among_sip_headers_costs_that_line_not_the_message():
    text = PROTOCOL_INVITE.replace("Max-Forwards: 69\r\n", "this is not a header\r\n")
    msg = parse_record_text(text, O)
    assert isinstance(msg, SipMessage) and msg.call_id and msg.cseq is not None
    line = 1 + text.splitlines().index("this is not a header")
    assert msg.problems == (f"line {line} is not a header field (Name: value): 'this is not a header'",)
    assert msg.record is not None and msg.direction is not None and "max-forwards" not in msg.headers


def test_line_without_colon_in_a_record_without_call_id_is_skipped_with_reason_and_context():
    text = PROTOCOL_INVITE.replace("Max-Forwards: 69\r\n", "this is not a header\r\n")
    text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith("Call-ID:"))
    item = parse_record_text(text, O)
    assert isinstance(item, Skipped) and not item.error
    assert "without 'Name: value'" in item.reason
    assert "this is not a header" in item.context and "expected" in item.context


def test_bad_first_line_is_skipped():
    item = parse_record_text("TL_INFO garbage $$begin_record\nA: b\n$$end_record\n", O)
    assert isinstance(item, Skipped)
    assert item.reason.startswith("first line is not a trace record header")


def test_impossible_date_is_an_error_not_a_crash():
    item = parse_record_text(CONNECTION.replace("11/03/2026", "13/45/2026"), O)
    assert isinstance(item, Skipped) and item.error and item.kind is Kind.ERROR


def test_dash_turned_into_an_en_dash_by_a_copy_is_still_no_body():
    text = PROTOCOL_INVITE.split("Message-Body:")[0] + "Message-Body: \u2013\r\n$$end_record\r\n"
    msg = parse_record_text(text, O)
    assert isinstance(msg, SipMessage) and msg.body == ""
