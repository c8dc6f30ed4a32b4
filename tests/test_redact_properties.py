"""Properties of the redactor on any text, in a short CI budget (tests/fuzz/fuzz_redact.py runs longer)."""

from __future__ import annotations

import importlib.util
import re

from hypothesis import HealthCheck, example, given, settings, strategies as st

from conftest import ROOT
from siptrace.read.redact import Redactor

# values of every class, joined by separators a trace uses, with noise between them
VALUES = st.sampled_from([
    "jdoe", "Kim Wilson", "sip:jdoe@contoso.com", "<sip:kw@fabrikam.xyz;gr=Xq9zR2mN>", "tel:+14255550100",
    "(425) 555-0142", "425.555.0188", "425-555-0177", "4255550199", "10.20.30.40", "010.001.002.003",
    "ip-10-9-8-7", "fd00:1234::20", "CONTOSO\\lchen", "UserName=mgarcia", "sip%3Apjones%40contoso.com",
    "tag=5ec397bd2c", "epid=7e2a91c0d3", "opaque=app:conf:focus:id:7XK9P2QJ", "JDOE-PC", "jdoe-laptop.contoso.com",
    '"Pat Jones" <sip:pjones@contoso.com>', "caller=Tom Brown <sip:tbrown@contoso.com>",
])
TEXT = st.lists(st.one_of(VALUES, st.text(max_size=12), st.sampled_from([";", ",", " ", "\r\n", "=", '"', "<", ">"])),
                max_size=30).map("".join)


def _whole(value: str, text: str) -> bool:
    return re.search(r"(?<![A-Za-z0-9])" + re.escape(value) + r"(?![A-Za-z0-9])", text, re.I) is not None


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])  # CI: same examples each run; tests/fuzz explores
@given(TEXT, st.booleans())
@example("fd00:1234::20(425) 555-0142", False)     # a pseudonym IPv6 ending in 1 once made "1(425)..." a phone
@example("UserName=mgarcia<sip:kw@fabrikam.xyz;gr=Xq9zR2mN>", False)   # "User 1" once read as UserName=User
def test_no_learned_value_survives_the_sweep_and_a_second_pass_changes_nothing(text: str, domains: bool) -> None:
    r = Redactor(redact_domains=domains)
    r._dry = True            # the learning pass of redact_items, on one text
    r.text(text)
    r._dry = False
    r._assign_pending()
    out = r.sweep(r.text(text))
    assert r.text(out) == out and r.sweep(out) == out
    for category, table in r.mapping().items():
        for original in table:
            if len(original) >= 4 and category != "file" and original[0].isalnum() and original[-1].isalnum() \
                    and original.lower() not in ("user", "redacted", "host", "domain", "example"):
                assert not _whole(original, out), (category, original, out)


def test_the_redactor_fuzz_harness_short_budget_finds_no_leak() -> None:
    spec = importlib.util.spec_from_file_location("fuzz_redact", ROOT / "tests" / "fuzz" / "fuzz_redact.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.run_plain(150, seed=5) == 150
