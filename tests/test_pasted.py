"""Pasted, excerpted and syslog SIP text: what a person copied is read, and what is wrong with it is named."""

from __future__ import annotations

import json

from click.testing import CliRunner

from siptrace import Origin, Reader, SipMessage, Skipped, parse_message_text, parse_record_text
from siptrace.cli.commands import main
from siptrace.read.detect import detect

from conftest import sample


def _read(path, fmt=None):
    reader = Reader([str(path)], fmt)
    items = list(reader)
    assert reader.stats[0].balanced
    return items, reader.stats[0]


def _sip(items):
    return [i for i in items if isinstance(i, SipMessage)]


def _lines(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


# -- indented messages -------------------------------------------------------------------------

def test_messages_indented_alike_are_read_and_end_where_the_indent_ends():
    path = sample("pasted-indented-500.txt")
    items, s = _read(path)
    invite, relayed, pasted = _sip(items)
    lines = _lines(path)
    assert (invite.method, relayed.status, pasted.status) == ("INVITE", 500, 500)
    assert lines[invite.origin.line - 1] == "    " + invite.start_line
    assert lines[pasted.origin.line - 1] == " " + pasted.start_line
    assert [d.code for d in relayed.diagnostics] == [10003, 10003]
    assert relayed.headers.get("server") == "RTC/6.0" and not relayed.problems
    assert pasted.headers.get("content-length") == "0" and not pasted.problems
    # the prose between and after the messages is text outside them, not a header or a body
    assert s.skipped == 3 and all(i.reason == "SIP text: text outside any SIP message"
                                  for i in items if isinstance(i, Skipped))


def test_diagnose_reports_the_code_of_a_pasted_500_indented_by_one_space(write):
    lines = _lines(sample("pasted-indented-500.txt"))
    at = lines.index(" SIP/2.0 500 Server Internal Error")
    text = "\n".join(lines[at:at + 10])
    assert text.startswith(" SIP/2.0 500") and "\n ms-diagnostics: 10003" in text
    result = CliRunner().invoke(main, ["diagnose", str(write("ticket.txt", text + "\n")), "--format", "json"])
    doc = json.loads(result.output)
    assert any(f["rule"] == "ms-diagnostics" and f["facts"].get("code") == 10003 for f in doc["findings"]), doc


def test_start_line_flush_left_and_headers_indented_by_one_space(write):
    text = ("SIP/2.0 503 Service Unavailable\n Via: SIP/2.0/TLS 10.0.1.11:5061;branch=z9hG4bK1\n"
            " From: <sip:bob@contoso.com>;tag=1\n To: <sip:carol@contoso.com>;tag=2\n Call-ID: c1\n"
            " CSeq: 4 INVITE\n ms-diagnostics: 1007;reason=\"Temporarily cannot route\";source=\"fe01.contoso.com\"\n"
            " Content-Length: 0\n")
    (msg,), _ = _read(write("m.txt", text))
    assert msg.call_id == "c1" and msg.diagnostics[0].code == 1007 and not msg.problems


def test_more_indent_than_the_message_has_is_folding(write):
    text = ("\tINVITE sip:carol@contoso.com SIP/2.0\n\tVia: SIP/2.0/TLS 10.0.10.54:53214\n"
            "\tFrom: <sip:bob@contoso.com>;tag=1\n\tTo: <sip:carol@contoso.com>\n\tCall-ID: c2\n\tCSeq: 1 INVITE\n"
            "\tSubject: voice\n\t  mail\n\tContent-Length: 0\n")
    (msg,), _ = _read(write("m.txt", text))
    assert msg.headers.get("subject") == "voice mail" and not msg.problems


# -- damaged messages --------------------------------------------------------------------------

def _damaged():
    items, s = _read(sample("pasted-damaged-messages.txt"))
    return _sip(items), s


def test_body_shorter_than_content_length_is_kept_and_marked_cut():
    cut = _damaged()[0][0]
    assert cut.method == "INVITE" and cut.content_length == 310 and cut.body.startswith("v=0\r\n")
    assert cut.body_truncated and cut.body.rstrip().endswith("m=audio 60142 RTP/AVP 0 8 101")
    assert cut.problems == (f"body is {len(cut.body)} bytes, shorter than Content-Length 310 (cut short; kept as it is)",)


def test_a_line_that_is_no_header_costs_that_line_and_is_named_with_its_file_line():
    msg = _damaged()[0][1]
    line = 1 + _lines(sample("pasted-damaged-messages.txt")).index("[...]")
    assert msg.status == 488 and msg.call_id == "6a4c2e1f-8b3d-4f70-9e21-5c7a0b9d3e18"
    assert msg.problems == (f"line {line} is not a header field (Name: value): '[...]'",)
    assert msg.diagnostics[0].code == 52017          # the header after the odd line is kept


def test_body_without_the_empty_line_before_it_is_read_as_the_body():
    msg = _damaged()[0][2]
    assert msg.status == 200 and msg.body.startswith("v=0\r\n") and len(msg.body) == msg.content_length
    assert not msg.body_truncated and "empty line" in msg.problems[0]
    assert msg.headers.names()[-1] == "Content-Length"


def test_start_line_with_another_sip_version_is_read_and_the_version_named():
    msg = _damaged()[0][3]
    assert (msg.method, msg.version, msg.call_id) == ("OPTIONS", "SIP/7.0", "badvers.31417@c.example.com")
    assert msg.problems == ("unsupported SIP version SIP/7.0",)
    assert detect(b"OPTIONS sip:t.watson@example.org SIP/7.0\r\nCall-ID: x\r\n") == "sip"


def test_bare_ipv6_hosts_are_read_with_the_last_digits_as_port_and_named():
    msg = _damaged()[0][4]
    assert (msg.ruri.host, msg.ruri.port) == ("[fec0:0:0:0:216:d3ff:fe0d:22c]", 5060)
    assert (msg.top_via.host, msg.top_via.port) == ("[fe80::216:d3ff:fe0d:22c]", 5060)
    assert msg.contacts[0].uri.host == "[fe80::216:d3ff:fe0d:22c]" and msg.to.uri.port == 5060
    assert msg.request_uri == "sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060"     # kept as written
    assert msg.problems[0] == ("IPv6 address without [brackets] in Request-URI: "
                               "read as host [fec0:0:0:0:216:d3ff:fe0d:22c], port 5060")
    assert any(p.startswith("IPv6 address without [brackets] in Via") for p in msg.problems)


def test_problems_show_in_stats_and_in_messages_json():
    path = str(sample("pasted-damaged-messages.txt"))
    text = CliRunner().invoke(main, ["stats", path]).output
    assert "read with problems 5 (kept as SIP messages)" in text and "'[...]'" in text
    doc = json.loads(CliRunner().invoke(main, ["stats", path, "--format", "json"]).output)
    assert doc["with_problems"] == 5 and doc["inputs"][0]["problems"][3]["problems"] == ["unsupported SIP version SIP/7.0"]
    output = CliRunner().invoke(main, ["messages", path, "--format", "json"]).output
    start = 0 if output.startswith("[") else output.index("\n[") + 1     # the skip note (stderr) may come first
    rows, _ = json.JSONDecoder().raw_decode(output[start:])
    assert [r["body_truncated"] for r in rows] == [True, False, False, False, False]
    assert rows[3]["problems"] == ["unsupported SIP version SIP/7.0"]


def test_message_without_call_id_because_of_a_bad_line_is_skipped_naming_the_line_and_what_was_expected(write):
    text = "BYE sip:carol@contoso.com SIP/2.0\nVia: SIP/2.0/TLS h\nCSeq: 2 BYE\nCall-ID c3 (colon lost)\n\n"
    items, s = _read(write("m.txt", text))
    (skip,) = items
    assert skip.reason == "SIP text: line 4 is not a header field (Name: value): 'Call-ID c3 (colon lost)'"
    assert "expected a header field (Name: value)" in skip.context and "missing mandatory header Call-ID" in skip.context


def test_message_from_the_wire_with_a_bad_line_names_the_message_line():
    text = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n???\r\nCall-ID: w1\r\nCSeq: 1 OPTIONS\r\n\r\n"
    msg = parse_message_text(text, Origin("capture.pcap", 7))
    assert msg.call_id == "w1" and msg.problems[0] == "line 3 of the message is not a header field (Name: value): '???'"


# -- server traces -----------------------------------------------------------------------------

def test_header_value_going_on_after_an_empty_line_in_a_record_keeps_the_record():
    path = sample("lync2010-header-value-after-empty-line.fe.log")
    items, s = _read(path)
    invite, trying = items
    assert (s.sip, s.skipped) == (2, 0) and invite.method == "INVITE" and trying.status == 100
    auth = invite.headers.get("proxy-authorization")
    assert auth.startswith("Kerberos qop=") and auth.endswith('2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c"')
    line = 1 + _lines(path).index('2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c"')
    assert invite.problems == (f"line {line}: the Proxy-Authorization value goes on after an empty line",)
    assert invite.record.field("Instance-Id") == "0002A1F3" and invite.headers.get("content-length") == "0"


def test_record_whose_sip_part_has_no_start_line_is_still_skipped_with_the_grammar_reason():
    text = sample("lync2010-header-value-after-empty-line.fe.log").read_text().split("$$end_record")[0]
    text = text.replace("Start-Line: INVITE sip:carol@contoso.com SIP/2.0", "Start-Line: INVITE carol") + "$$end_record\r\n"
    item = parse_record_text(text, Origin("t.log", 1))
    assert isinstance(item, Skipped) and item.reason == "Start-Line is not a SIP request or status line"


# -- syslog ------------------------------------------------------------------------------------

def _no_prefix_in_headers(msgs):
    for msg in msgs:
        for name, value in msg.headers:
            assert not name.startswith(("Nov", "2026-", "<133>")) and "sipproxy[" not in value, (name, value)


def test_rsyslog_one_message_per_line_with_the_start_line_after_the_prefix():
    items, s = _read(sample("syslog-rsyslog-sbc.txt"))
    msgs = _sip(items)
    assert [m.summary for m in msgs] == ["INVITE", "100 Trying", "503 Service Unavailable", "ACK", "INVITE"]
    assert [m.origin.line for m in msgs] == [2, 3, 5, 6, 7] and s.skipped == 3
    invite, _, busy, ack, retry = msgs
    assert invite.body.startswith("v=0\r\n") and len(invite.body) == invite.content_length
    assert busy.headers.get("reason").startswith("Q.850;cause=34")
    # the ACK has no empty line after its headers, and the retry is cut inside a header at the
    # relay's line limit: neither takes the next syslog line's prefix as a header
    assert ack.headers.names()[-1] == "Content-Length" and not ack.problems
    assert retry.call_id == "81d2c4e6-0a1b-4c3d-8e5f-6a7b8c9d0e1f"
    assert retry.headers.names()[-1] == "Contact" and retry.headers.get("contact").endswith(";isGat")
    _no_prefix_in_headers(msgs)


def test_kamailio_xlog_lines_in_rsyslog_file_format():
    items, s = _read(sample("syslog-kamailio.txt"))
    bye, answer = _sip(items)
    assert bye.start_line == "BYE sip:+14255550123@10.0.4.41:5068;transport=tcp SIP/2.0"
    assert answer.status == 500 and answer.diagnostics[0].code == 10003
    assert answer.diagnostics[0].param("SipResponseCode") == "481"
    assert s.skipped == 2
    _no_prefix_in_headers([bye, answer])


def test_audiocodes_syslog_banner_and_time_are_the_wrapper():
    items, s = _read(sample("syslog-audiocodes-sfb.txt"))
    bye, ok = _sip(items)
    assert bye.method == "BYE" and ok.status == 200 and bye.call_id == ok.call_id
    assert bye.headers.get("user-agent") == "Mediant SW/v.7.40A.250.004" and not bye.body and not ok.body
    assert str(bye.cseq) == "2 BYE" and not bye.problems and not ok.problems
    # the AudioCodes internal lines before the banner, and the last line, are text outside messages
    assert s.skipped == 2 and s.records == 4
    _no_prefix_in_headers([bye, ok])


def test_syslog_messages_carry_the_time_of_their_line():
    from datetime import datetime, timezone

    from siptrace.read.siptext import syslog_time

    utc = timezone.utc
    assert syslog_time("2026-11-04T10:20:15.118512+01:00 proxy01 kamailio[1]: x") == \
        datetime(2026, 11, 4, 9, 20, 15, 118512, tzinfo=utc)
    assert syslog_time("<134>2026-11-04T09:20:15Z sbc kamailio[1]: x") == datetime(2026, 11, 4, 9, 20, 15, tzinfo=utc)
    assert syslog_time("Nov  4 09:12:40 sbc01 kamailio[1]: x", year=2026) == datetime(2026, 11, 4, 9, 12, 40, tzinfo=utc)
    assert syslog_time("Feb 30 09:12:40 sbc01 x[1]: y", year=2026) is None
    items = [i for i in _read(sample("syslog-kamailio.txt"))[0] if isinstance(i, SipMessage)]
    assert items and all(i.time is not None and i.time.year == 2026 for i in items)
    assert [i.time for i in items] == sorted(i.time for i in items)
