"""Which findings of a call are symptoms of another one: a small table, applied after the rules ran.

One fault shows in several places.  When Exchange UM's 200 OK Contact is its
certificate name, the ACK goes nowhere, the client reports media failure 21
on its BYE, the front end answers that BYE 504 with ms-diagnostics 1038 and
logs 0xC3E93C2F: four findings, one cause.  An administrator should read the
cause first and the rest as its symptoms.

Rules never know of each other; `LINKS` says, rule by rule and code by code,
which finding is a symptom of which root-cause finding *of the same call*.
The first row whose cause is present wins; a cause that is itself a symptom
hands its symptoms on to its own root, so every link points at a root.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .findings import Finding, Severity


@dataclass(frozen=True, slots=True)
class Link:
    """``symptom`` (a rule, optionally only some of its codes) is caused by ``cause`` in the same call.

    A code is the finding's ``code`` fact (ms-diagnostics: the diagnostic code,
    or ``Q.850/N`` / ``SIP/N`` for a Reason header), else its ``symbol``
    (error-records).  ``same`` names facts both findings must agree on
    (``status``: the response that carried the diagnostic is the call's final one).
    """

    symptom: str
    cause: str
    codes: frozenset[object] = frozenset()          # empty: any finding of the symptom rule
    cause_codes: frozenset[object] = frozenset()    # empty: any finding of the cause rule
    same: tuple[str, ...] = ()
    cause_at_least: Severity = Severity.INFO


_MEDIA = frozenset({21, 22, 23, 24, 25, 26, 27})           # ms-client-diagnostics: media never connected
_PEER = frozenset({1038, 1046, 1047})                      # could not connect / TLS to the next hop
_STALE = frozenset({"SIPPROXY_E_UNKNOWN_USER_OR_EPID"})
_ROUTING = frozenset({1005, 1008, 1009, 1010, 1014, 1017})  # DNS, certificate, domain routing

LINKS: tuple[Link, ...] = (
    # the UM answered with its certificate name as Contact: ACK and BYE go nowhere
    Link("ruri-host-mismatch", "ack-retarget-bye"),
    Link("ms-diagnostics", "ack-retarget-bye", codes=_MEDIA | _PEER),
    Link("error-records", "ack-retarget-bye", codes=_STALE),
    Link("failed-call", "ack-retarget-bye"),
    # the ACK never reached the answerer: no media, the answerer hangs up
    Link("ms-diagnostics", "ack-missing", codes=_MEDIA),
    Link("error-records", "ack-missing", codes=_STALE),
    # a session refresh failed mid-call: the BYE that ended the call carries the same cause in Reason
    Link("ms-diagnostics", "mid-call-failure"),
    # a server said why the call failed: the failed call is its outcome
    Link("failed-call", "ms-diagnostics", same=("status",), cause_at_least=Severity.WARNING),
    # a server logged why it refused the call (TF_DIAG routing, DNS or certificate error)
    Link("failed-call", "error-records", cause_at_least=Severity.WARNING),
    # the Edge / front end logged the same DNS or certificate failure the 504 carries
    Link("error-records", "ms-diagnostics", cause_codes=_ROUTING),
)


def code_of(f: Finding) -> object:
    code = f.fact("code")
    return code if code is not None else f.fact("symbol")


def _matches(link: Link, symptom: Finding, cause: Finding) -> bool:
    if cause is symptom or cause.rule != link.cause or symptom.rule != link.symptom:
        return False
    if link.codes and code_of(symptom) not in link.codes:
        return False
    if link.cause_codes and code_of(cause) not in link.cause_codes:
        return False
    if cause.severity.rank < link.cause_at_least.rank:
        return False
    return all(symptom.fact(name) is not None and symptom.fact(name) == cause.fact(name) for name in link.same)


def _direct_cause(f: Finding, call: Sequence[Finding], links: Sequence[Link]) -> Finding | None:
    for link in links:
        if link.symptom != f.rule:
            continue
        for other in call:
            if _matches(link, f, other):
                return other
    return None


def link_causes(findings: Sequence[Finding], links: Sequence[Link] = LINKS) -> list[Finding]:
    """``findings`` with each symptom's `Finding.cause` set to the id of its root cause."""
    by_call: dict[str, list[Finding]] = {}
    for f in findings:
        if f.call_id:
            by_call.setdefault(f.call_id, []).append(f)
    direct: dict[int, Finding] = {}
    for call in by_call.values():
        if len(call) < 2:
            continue
        for f in call:
            cause = _direct_cause(f, call, links)
            if cause is not None:
                direct[id(f)] = cause
    if not direct:
        return list(findings)
    out = []
    for f in findings:
        root = direct.get(id(f))
        seen = {id(f)}
        while root is not None and id(root) in direct and id(root) not in seen:
            seen.add(id(root))
            root = direct[id(root)]          # the cause's own cause: point at the root
        if root is not None and id(root) in seen:
            root = None                      # a loop in the table: leave both as roots
        out.append(f.caused_by(root) if root is not None else f)
    return out


__all__ = ["LINKS", "Link", "code_of", "link_causes"]
