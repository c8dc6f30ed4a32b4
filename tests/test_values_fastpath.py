"""The URI / Via / name-addr fast path and the value grammar agree on every value, good or damaged."""

from __future__ import annotations

import random

import pytest

from siptrace import Reader, SipMessage
from siptrace import DiagRecord
from siptrace.model.values import _fast, lead_params_by_grammar, name_addrs_by_grammar, uri_by_grammar, vias_by_grammar

from conftest import SAMPLES, SHARED
from torture_cases import INVALID, VALID

ADDRESS_HEADERS = ("from", "to", "contact", "route", "record-route", "p-asserted-identity", "refer-to")


LEAD_HEADERS = ("ms-diagnostics", "ms-diagnostics-public", "ms-client-diagnostics", "reason", "content-type",
                "event", "subscription-state", "content-disposition", "session-expires")


def _values() -> tuple[list[str], list[str], list[str]]:
    vias, addrs, leads = [], [], []
    paths = [p for folder in (SAMPLES, SHARED) if folder.is_dir() for p in sorted(folder.iterdir())
             if p.is_file() and p.suffix in (".log", ".txt", ".UccApilog")]
    for path in paths:
        try:
            items = list(Reader([str(path)]))
        except Exception:
            continue
        for msg in items:
            if isinstance(msg, SipMessage):
                vias += msg.headers.lines("via")
                for name in ADDRESS_HEADERS:
                    addrs += msg.headers.lines(name)
                for name in LEAD_HEADERS:
                    leads += msg.headers.lines(name)
                leads += [";" + v for k, v in msg.record.fields if k.lower() == "data"] if msg.record else []
            elif isinstance(msg, DiagRecord):
                leads += [";" + v for k, v in msg.record.fields if k.lower() == "data"]
                leads += [v for k, v in msg.record.fields if k.lower() == "direction"]
    for data, *_ in list(VALID.values()) + list(INVALID.values()):
        for line in data.decode("utf-8", "replace").replace("\r\n ", " ").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() in ("via", "v"):
                vias.append(value)
            elif name.strip().lower() in ADDRESS_HEADERS + ("f", "t", "m"):
                addrs.append(value)
            elif name.strip().lower() in LEAD_HEADERS + ("c", "o"):
                leads.append(value)
    return vias, addrs, leads


def _agree(value: str, fast, slow) -> bool:
    got = fast(value)
    if got is None:
        return False
    assert got == slow(value), value
    return True


def test_fast_values_agree_with_the_grammar_on_every_sample_value():
    vias, addrs, leads = _values()
    assert len(vias) > 100 and len(addrs) > 200 and len(leads) > 50
    taken = sum(_agree(v, _fast().via, vias_by_grammar) for v in vias)
    taken += sum(_agree(a, _fast().name_addr, name_addrs_by_grammar) for a in addrs)
    taken += sum(_agree(x, _fast().lead_params, lead_params_by_grammar) for x in leads)
    assert taken > (len(vias) + len(addrs) + len(leads)) * 0.8, "the fast path should take most values"


def _damaged(value: str, rng: random.Random, pieces: list[str]) -> str:
    """``value`` with one to three characters deleted or pieces inserted."""
    chars = list(value)
    for _ in range(rng.randint(1, 3)):
        pos = rng.randrange(len(chars) + 1)
        if rng.random() < 0.5 and chars:
            del chars[min(pos, len(chars) - 1)]
        else:
            chars.insert(pos, rng.choice(pieces))
    return "".join(chars)


@pytest.mark.parametrize("seed", range(10))
def test_fast_values_agree_on_damaged_values(seed):
    rng = random.Random(seed)
    vias, addrs, leads = _values()
    pieces = [" ", "\t", ";", ",", "=", '"', "<", ">", ":", "@", "\\", "x", "\u201c", ";;", "= "]
    for values, fast, slow in ((vias, _fast().via, vias_by_grammar), (addrs, _fast().name_addr, name_addrs_by_grammar),
                               (leads, _fast().lead_params, lead_params_by_grammar)):
        for value in rng.sample(values, min(len(values), 150)):
            _agree(_damaged(value, rng, pieces), fast, slow)


def _uris() -> list[str]:
    _, addrs, _ = _values()
    uris = []
    for addr in addrs:
        for found in name_addrs_by_grammar(addr):
            uris.append(found.uri_text)
    for data, *_ in list(VALID.values()) + list(INVALID.values()):
        first = data.decode("utf-8", "replace").split("\r\n", 1)[0].split(" ")
        if len(first) == 3 and not first[0].startswith("SIP/"):
            uris.append(first[1])
    return uris


def test_fast_uris_agree_with_the_grammar_on_every_sample_uri():
    uris = _uris()
    assert len(uris) > 200
    taken = sum(_agree(u, _fast().uri, uri_by_grammar) for u in uris)
    assert taken > len(uris) * 0.9, "the fast path should take most URIs"


@pytest.mark.parametrize("seed", range(10))
def test_fast_uris_agree_on_damaged_uris(seed):
    rng = random.Random(seed)
    pieces = [" ", "\t", ";", ":", "=", "?", "@", "<", ">", "[", "]", "x", "5", ";;", "= ", "@@", "::"]
    for uri in rng.sample(_uris(), 150):
        _agree(_damaged(uri, rng, pieces), _fast().uri, uri_by_grammar)
