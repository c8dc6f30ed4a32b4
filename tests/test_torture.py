"""Torture messages: every valid one reads right; an invalid one is kept with its problem named
when it can be placed in a call (a start line, one Call-ID, one CSeq), and skipped with a reason
when it cannot."""

from __future__ import annotations

import pytest

from siptrace import Origin, SipMessage, Skipped, parse_message_text

from torture_cases import INVALID, VALID


def _parse(data: bytes):
    return parse_message_text(data.decode("utf-8", errors="replace"), Origin("torture", 1))


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_torture_message_reads_right(name):
    data, want = VALID[name]
    msg = _parse(data)
    assert isinstance(msg, SipMessage), getattr(msg, "reason", msg)
    if "method" in want:
        assert msg.method == want["method"]
    if "status" in want:
        assert msg.status == want["status"]
    if "reason" in want:
        assert msg.reason == want["reason"]
    if "ruri" in want:
        assert msg.request_uri == want["ruri"]
    if "ruri_user" in want:
        assert msg.ruri.user == want["ruri_user"]
    if "ruri_host" in want:
        assert msg.ruri.host == want["ruri_host"]
    if "call_id" in want:
        assert msg.call_id == want["call_id"]
    if "cseq" in want:
        assert (msg.cseq.number, msg.cseq.method) == want["cseq"]
    if "from_tag" in want:
        assert msg.from_tag == want["from_tag"]
    if "to_tag" in want:
        assert msg.to_tag == want["to_tag"]
    if "vias" in want:
        assert len(msg.vias) == want["vias"]
    if "top_branch" in want:
        assert msg.branch == want["top_branch"]
    if "max_forwards" in want:
        assert msg.headers.get("max-forwards") == want["max_forwards"]
    if "header" in want:
        assert msg.headers.get(want["header"][0]) == want["header"][1]
    if "contacts" in want:
        assert len(msg.contacts) == want["contacts"]
    if "list_header" in want:
        assert len(msg.headers.get_all(want["list_header"][0])) == want["list_header"][1]
    if "supported" in want:
        assert len(msg.headers.get_all("supported")) == want["supported"]
    if "body" in want:
        assert msg.body == want["body"]


# no start line the grammar accepts, or no single Call-ID and CSeq: nothing to place in a call
CANNOT_BE_PLACED = {"missing_mandatory_headers", "repeated_single_value_headers", "spaces_in_request_uri",
                    "two_spaces_in_start_line", "bad_start_line", "status_code_not_three_digits"}


@pytest.mark.parametrize("name", sorted(CANNOT_BE_PLACED))
def test_invalid_torture_message_that_cannot_be_placed_is_skipped_with_a_reason(name):
    data, words = INVALID[name]
    item = _parse(data)
    assert isinstance(item, Skipped), f"{name} was read as a message"
    assert not item.error
    text = (item.reason + " " + item.context).lower()
    assert words.lower() in text or (words == "start line" and "first line" in text), item.reason


@pytest.mark.parametrize("name", sorted(set(INVALID) - CANNOT_BE_PLACED))
def test_invalid_torture_message_with_call_id_and_cseq_is_kept_with_its_problem_named(name):
    data, words = INVALID[name]
    msg = _parse(data)
    assert isinstance(msg, SipMessage), getattr(msg, "reason", msg)
    assert msg.call_id and msg.cseq is not None
    assert any(words.lower() in p.lower() for p in msg.problems), msg.problems


def test_torture_messages_as_a_bare_text_file_are_all_accounted_for(write):
    from siptrace import Reader

    data = b"\r\n\r\n".join([v[0] for v in VALID.values()] + [v[0] for v in INVALID.values()])
    reader = Reader([str(write("torture.txt", data))], "sip")
    items = list(reader)
    s = reader.stats[0]
    assert s.balanced and len(items) == s.records and s.sip >= len(VALID) - 2
