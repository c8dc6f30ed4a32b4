"""The rules: small, independent checks that explain themselves.

The contract (a `Rule`): class attributes ``id`` (the module name with
dashes), ``title`` and ``severity`` (the worst it reports), a docstring with
the sections What it sees / Why it matters / Fix / Not flagged / References,
and ``check(timeline, ctx)`` yielding `Finding`s.  Rules read the `Timeline`, the
state-machine runs and the `Context`; they never change them and never import
each other.  `RULES` is the ordered registry; `run_rules` runs them, turns
a crash of one rule into an ``internal-error`` finding so the others still run,
and marks which findings are symptoms of another (`siptrace.causes`).
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable, Sequence
from typing import Protocol

from ._doc import SECTIONS, sections
from .causes import link_causes
from ..model.context import Context
from .findings import Finding, Severity, sort_findings
from ..correlate.timeline import Timeline
from .ack_missing import AckMissing
from .ack_retarget_bye import AckRetargetBye
from .error_records import ErrorRecords
from .failed_call import FailedCall
from .mid_call_failure import MidCallFailure
from .ms_diagnostics import MsDiagnostics
from .ruri_host_mismatch import RuriHostMismatch


class Rule(Protocol):
    # set in the class body of each rule (``id = "ack-missing"``): read from the class and its instances
    id: str
    title: str
    severity: Severity

    def check(self, timeline: Timeline, ctx: Context) -> Iterable[Finding]: ...


RULES: tuple[type[Rule], ...] = (
    AckRetargetBye, RuriHostMismatch, AckMissing, MsDiagnostics, ErrorRecords, FailedCall, MidCallFailure,
)



def by_id(rule_id: str) -> type[Rule] | None:
    return next((r for r in RULES if r.id == rule_id), None)


def run_rules(timeline: Timeline, ctx: Context, rules: Sequence[type[Rule]] = RULES) -> list[Finding]:
    """Every rule's findings, root causes first with their symptoms under them;
    a crashing rule becomes one finding."""
    findings: list[Finding] = []
    for rule in rules:
        try:
            findings.extend(rule().check(timeline, ctx))
        except Exception as err:  # a rule bug must not hide the other rules' findings
            where = traceback.extract_tb(err.__traceback__)[-1]
            findings.append(Finding(
                rule="internal-error", severity=Severity.WARNING,
                summary=f"rule {rule.id} failed: {type(err).__name__}: {err}",
                why="A bug in siptrace stopped this rule; its findings are missing from this report.",
                fix=f"Report it with the trace if you can (at {where.filename}:{where.lineno}).",
                facts=(("rule_id", rule.id),)))
    return sort_findings(link_causes(findings))


__all__ = ["RULES", "Rule", "SECTIONS", "by_id", "run_rules", "sections"]
