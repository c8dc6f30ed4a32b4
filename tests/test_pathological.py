"""Pathological sizes stay bounded: huge lines, many headers, endless records, nesting.

Sizes here are kept small enough for CI; bench/pathological.py runs the same
shapes at full size with time limits.
"""

from __future__ import annotations

import time

from siptrace import Origin, Reader, SipMessage, parse_message_text
from siptrace.model.values import parse_diagnostic, parse_name_addrs, parse_uri, split_list

from records_text import CONNECTION, PROTOCOL_INVITE


def _timed(fn, limit=5.0):
    start = time.perf_counter()
    result = fn()
    assert time.perf_counter() - start < limit
    return result


def test_one_megabyte_header_line_is_read(write):
    big = "X-Big: " + "a" * (1 << 20)
    text = PROTOCOL_INVITE.replace("Max-Forwards: 69\r\n", big + "\r\nMax-Forwards: 69\r\n")
    items = _timed(lambda: list(Reader([str(write("big.log", text))])))
    assert isinstance(items[0], SipMessage) and len(items[0].headers.get("x-big")) == 1 << 20


def test_a_hundred_thousand_headers(write):
    many = "".join(f"X-H{i}: v{i}\r\n" for i in range(100_000))
    text = PROTOCOL_INVITE.replace("Max-Forwards: 69\r\n", many + "Max-Forwards: 69\r\n")
    items = _timed(lambda: list(Reader([str(write("many.log", text))])), 20)
    assert len(items[0].headers) > 100_000 and items[0].call_id


def test_content_length_far_larger_than_the_body_is_named_and_the_body_marked_cut():
    text = ("INVITE sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n"
            "From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
            "Content-Length: 4294967295\r\n\r\nv=0\r\n")
    msg = parse_message_text(text, Origin("t", 1))
    assert isinstance(msg, SipMessage) and msg.body_truncated and msg.body == "v=0\r\n"
    assert any("Content-Length 4294967295 is out of range" in p for p in msg.problems)


def test_record_that_never_ends_and_a_file_of_begin_markers(write):
    endless = PROTOCOL_INVITE.replace("$$end_record\r\n", "") + "more body line\r\n" * 200_000
    items = _timed(lambda: list(Reader([str(write("endless.log", endless))])))
    assert len(items) == 1 and "no $$end_record" in items[0].reason
    markers = "TL_INFO(TF_PROTOCOL) x $$begin_record\r\n" * 50_000
    reader = Reader([str(write("markers.log", markers))])
    count = _timed(lambda: sum(1 for _ in reader), 20)
    assert count == 50_000 and reader.stats[0].balanced and reader.stats[0].skipped == 50_000


def test_deeply_nested_quotes_and_angle_brackets_do_not_backtrack():
    nested = "<" * 50_000 + "sip:a@b" + ">" * 50_000
    quotes = '"' + '\\"' * 50_000 + " <sip:a@b>"
    blanks = "a" + " " * 100_000 + "x"
    for value in (nested, quotes, blanks, '"' * 100_001, ";" * 100_000, "a=" * 50_000):
        _timed(lambda: (parse_name_addrs(value), parse_uri(value), split_list(value),
                        parse_diagnostic("ms-diagnostics", value)), 5)


def test_junk_only_file_keeps_few_examples_in_memory(write):
    from siptrace.correlate.timeline import KEEP_SKIPPED, load_timeline

    junk = ("TL_INFO(TF_PROTOCOL) x $$begin_record\r\n" * (KEEP_SKIPPED + 500)) + CONNECTION
    timeline = load_timeline(str(write("j.log", junk)))
    assert len(timeline.skipped) == KEEP_SKIPPED and timeline.inputs[0].skipped == KEEP_SKIPPED + 500


def test_redaction_of_huge_values_stays_linear():
    from siptrace.read.redact import Redactor

    for value in ("a" + " " * 200_000 + "x", "ab " * 70_000, '"' + "x" * 200_000, "+1" + " 1" * 50_000):
        text = ("INVITE sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
                f"From: {value} <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: x\r\n"
                "CSeq: 1 INVITE\r\n\r\n")
        msg = parse_message_text(text, Origin("t", 1), strict=False)
        _timed(lambda: Redactor(redact_domains=True).redact_items([msg]), 10)
