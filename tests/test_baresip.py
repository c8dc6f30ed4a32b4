"""Bare SIP text: pasted messages, rsyslog escapes, the Expressway wrapper; format detection."""

from __future__ import annotations


from siptrace import Reader, SipMessage, Skipped
from siptrace.read.siptext import unescape_syslog
from siptrace.read.detect import detect

from conftest import shared_sample
from test_sip_values import BARE


def _read(path, fmt=None):
    reader = Reader([str(path)], fmt)
    items = list(reader)
    assert reader.stats[0].balanced
    return items, reader.stats[0]


def test_messages_separated_by_blank_lines_and_markers(write):
    text = BARE + "\r\n-----\r\n" + BARE.replace("3 INVITE", "4 INVITE") + "\n\nSIP/2.0 200 OK\nv: SIP/2.0/UDP h\nf: <sip:a@b>;tag=1\nt: <sip:c@d>;tag=2\ni: x\nCSeq: 4 INVITE\nl: 0\n"
    items, s = _read(write("flow.txt", text))
    assert s.sip == 3 and s.skipped == 0 and s.format == "sip"
    assert [str(i.cseq) for i in items] == ["3 INVITE", "4 INVITE", "4 INVITE"]
    assert items[0].body == "v=0\r\ns=call\r\n"
    assert items[1].origin.line == BARE.count("\n") + 3


def test_text_before_the_first_message_is_counted(write):
    items, s = _read(write("mail.txt", "Hi team, see the trace below:\n\n" + BARE))
    assert s.skipped == 1 and s.sip == 1 and items[0].reason == "SIP text: text outside any SIP message"


def test_syslog_escaped_messages_from_real_test_data():
    items, s = _read(shared_sample(
        "perl-test-strings_skype-consumer-to-lync-online-mediation_404-ms-diagnostics_syslog-escaped.txt"))
    assert (s.sip, s.skipped) == (3, 0)
    invite, trying, not_found = items
    assert invite.method == "INVITE" and invite.content_length == 540 and invite.body.startswith("v=0")
    assert trying.status == 100 and trying.reason == "Giving a try"
    assert not_found.status == 404 and [d.code for d in not_found.diagnostics] == [1034, 10003, 10003]
    assert not_found.headers.get("server") == "RTCC/5.0.0.0 MediationServer"


def test_expressway_wrapper_and_text_after_a_zero_length_body():
    items, s = _read(shared_sample("cisco-212383_sfb2015-edge-tfdiag_expressway_504-ms-diagnostics.log"), "sip")
    sip = [i for i in items if isinstance(i, SipMessage)]
    assert len(sip) == 3 and all(m.status == 504 for m in sip)
    assert [d.code for m in sip for d in m.diagnostics] == [1009, 1010]
    # the Expressway copy of the first 504 has `<sip:2000 @acano.steven.lab >` (blanks inside
    # <>, from the web page's rendering): invalid SIP, kept all the same with the problem named
    (odd,) = [m for m in sip if m.problems]
    assert odd.origin.line == 3 and "blanks inside the <> of the From header" in odd.problems
    assert s.with_problems == 1
    assert any(isinstance(i, Skipped) and "beyond its Content-Length" in i.reason for i in items)


def test_unescape_turns_octal_escapes_back():
    assert unescape_syslog("A#015#012B#011C#015 D") == "A\nB\tC\nD"


def test_detection_by_content():
    assert detect(b"TL_INFO(TF_PROTOCOL) [0]06E4.0EB4::") == "ocslogger"
    assert detect(b"x\nMessage-Body: -\n$$end_record\n") == "ocslogger"
    assert detect(b"01/15/2012|11:30:10.163 1F24:2A0C INFO  :: Sending Packet - 1.2.3.4:443") == "uccapi"
    assert detect(b"INVITE sip:a@b SIP/2.0\r\n") == "sip"
    assert detect(b"\xd4\xc3\xb2\xa1\x02\x00") == "pcap"
    assert detect(b"hello world") is None


def test_unknown_format_is_one_skipped_record_naming_the_option(write):
    items, s = _read(write("notes.txt", "nothing to see here\n"))
    (item,) = items
    assert "not a trace siptrace knows" in item.reason and "--input-format" in item.reason
    assert (s.records, s.skipped, s.format) == (1, 1, "unknown")
    assert item.excerpt.startswith("nothing to see here")


def test_an_input_that_is_no_trace_does_not_stop_the_others(write, tmp_path):
    import subprocess
    import sys

    from conftest import SAMPLES

    notes = write("notes.txt", "nothing to see here\n")
    out = subprocess.run([sys.executable, "-m", "siptrace", "diagnose", str(SAMPLES / "busy-486.fe.log"), str(notes)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.splitlines()[:2]
    assert "not read: " in first and "notes.txt" in first
    assert second.startswith("Not read: ") and "not a trace siptrace knows" in second
    alone = subprocess.run([sys.executable, "-m", "siptrace", "diagnose", str(notes)], capture_output=True, text=True)
    assert alone.returncode == 2 and alone.stdout.startswith("Nothing could be read: ")


def test_flattened_message_from_a_web_page_is_restored():
    items, s = _read(shared_sample("ms-openspecs-ms-pres_488-ms-diagnostics-2165_flattened.txt"))
    (msg,) = items
    assert msg.status == 488 and msg.reason == "Not acceptable here"
    assert msg.call_id == "112629f5c5f346b09e647523d70ea03b" and str(msg.cseq) == "1 SUBSCRIBE"
    assert msg.from_.display == "User 5" and msg.to_tag == "DD687A6743502E056B92FABCF6DC7140"
    assert msg.diagnostics[0].code == 2165 and msg.headers.get("server") == "RTC/5.0"
    assert 'targetname="SERVER.contoso.com"' in msg.headers.get("authentication-info")
