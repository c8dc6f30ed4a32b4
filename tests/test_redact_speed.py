"""Redaction time is linear in the input, whatever its shape, and nothing recurses on it.

Each hostile shape is one header value and the body of one message; the shapes are those that
made a pattern re-scan a long run from every start (a run of "a;" before an "@", dashes before
"tag=", "sip:" repeated, digit groups after "+") or recurse (a host name of thousands of labels).
"""

from __future__ import annotations

import re
import time

import pytest

from siptrace import Origin, parse_message_text
from siptrace.read.redact import Redactor

SHAPES = {
    "user-parameters": lambda n: "x@y " + "a;" * n,
    "user-equals": lambda n: "u@h " + "k=a;" * (n // 2),
    "dashes-before-tag": lambda n: "tag=1 " + "a-" * n,
    "sip-schemes": lambda n: "sip:" * (n // 2),
    "digit-groups": lambda n: ("+" + "1" * 40 + " ") * (n // 20),
    "e164-groups": lambda n: "+1" + " 1" * n,
    "percent-escapes": lambda n: "%41" * n + "%40",
    "backslashes": lambda n: "a\\" * n,
    "display-words": lambda n: "=" + "Ab " * n + "<x",
    "capital-words": lambda n: "Ab " * n + "<sip:",
    "labels": lambda n: "a." * n + "com",
    "long-label": lambda n: ("a" * 70 + ".") * (n // 35),
    "colons": lambda n: "a:" * n,
    "key-values": lambda n: "UserName=" * (n // 4),
    "phones": lambda n: "(425) 555-0142 " * (n // 8),
}


def _message(value: str) -> object:
    text = ("INVITE sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"
            f"From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: x\r\nX-V: {value}\r\n"
            f"CSeq: 1 INVITE\r\nContent-Length: {len(value)}\r\n\r\n{value}")
    return parse_message_text(text, Origin("t", 1), strict=False)


def _seconds(value: str) -> float:
    msg = _message(value)
    start = time.perf_counter()
    Redactor(redact_domains=True).redact_items([msg])
    return time.perf_counter() - start


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_redaction_time_grows_linearly(shape: str) -> None:
    make = SHAPES[shape]
    small, large = _seconds(make(10_000)), _seconds(make(80_000))
    # eight times the input: a linear pass takes about eight times as long, a quadratic one 64
    assert large < 1.0 or large < 20 * max(small, 0.02), (small, large)
    assert large < 10


def test_a_host_of_thousands_of_labels_is_one_host_under_its_domain() -> None:
    r = Redactor(redact_domains=True)
    name = "a." * 100_000 + "contoso.com"
    (out,) = r.redact_items([_message(f"sip:jdoe@{name}")])
    domain = r.mapping()["domain"]["contoso.com"]
    assert re.fullmatch(rf"sip:user\d+@host\d+\.{domain}", out.headers.get("x-v"))
    assert [k for k, v in r.mapping()["host"].items() if v.endswith(domain)] == [name]
