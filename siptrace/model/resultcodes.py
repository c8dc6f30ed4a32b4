"""Lync / Skype for Business HRESULT-style result codes seen in traces and events.

Only codes with a public source are listed (see the README's sources); an
unknown code is still reported, by its hex value.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KnownCode:
    value: int
    symbol: str
    meaning: str
    weak: bool = False          # often benign on its own
    certificate: bool = False   # a certificate name / trust problem
    dns: bool = False


KNOWN: dict[int, KnownCode] = {c.value: c for c in (
    KnownCode(0xC3E93C2F, "SIPPROXY_E_UNKNOWN_USER_OR_EPID",
              "The front end could not find the user or endpoint (EPID) the message was for. "
              "Microsoft documents it (event 32263) as usually caused by stale subscriptions of "
              "clients that did not disconnect cleanly, and often safe to ignore.", weak=True),
    KnownCode(0xC3E93C5E, "SIPPROXY_E_ROUTING",
              "Route headers came from a non-trusted source, or the first Route did not match "
              "the connection the request arrived on."),
    KnownCode(0xC3E93D6F, "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH",
              "The destination domain resolved by DNS SRV, but none of the FQDNs is in that domain.",
              dns=True),
    KnownCode(0xC3E93D67, "SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH",
              "The message cannot be routed because the peer's certificate does not contain a "
              "matching FQDN.", certificate=True),
    KnownCode(0xC3E8302D, "SIPPROXY_E_WORKER_PROCESS_SLOW_INITIALIZING",
              "The front-end worker process is slow to initialise (event 12330)."),
    KnownCode(0x80090322, "SEC_E_WRONG_PRINCIPAL",
              "Windows SSPI: the target principal name is incorrect: the certificate presented "
              "does not carry the name that was expected.", certificate=True),
)}

_BY_SYMBOL = {c.symbol: c for c in KNOWN.values()}


def symbol_for(value: int) -> str | None:
    known = KNOWN.get(value)
    return known.symbol if known else None


def lookup(value: int | None = None, symbol: str | None = None) -> KnownCode | None:
    if value is not None and value in KNOWN:
        return KNOWN[value]
    if symbol:
        return _BY_SYMBOL.get(symbol.upper())
    return None
