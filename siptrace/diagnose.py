"""The ``diagnose`` job as a library call, and its JSON document.

``diagnose(paths, ctx)`` reads, correlates and runs the rules; views (the
CLI's text, JSON, later the reports) only format the `Diagnosis` it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .context import Context
from .findings import Finding, Severity
from .rules import RULES, Rule, run_rules
from .trace import Trace, load_trace

SCHEMA = 1


@dataclass
class Diagnosis:
    trace: Trace
    context: Context
    findings: list[Finding]

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def as_dict(self) -> dict[str, Any]:
        inputs = []
        for s in self.trace.inputs:
            inputs.append({"path": s.path, "format": s.format, "records": s.records, "sip": s.sip, "diagnostic": s.diagnostic,
                           "other": s.other, "skipped": s.skipped, "errors": s.errors,
                           "clock_offset_s": round(self.trace.offsets.get(s.path, 0.0), 3)})
        return {
            "schema": SCHEMA,
            "inputs": inputs,
            "context": {"um_fqdn": list(self.context.um_fqdns), "edge_fqdn": list(self.context.edge_fqdns),
                        "pool_fqdn": list(self.context.pool_fqdns)},
            "messages": len(self.trace.messages),
            "sightings": self.trace.sightings,
            "calls": len(self.trace.calls),
            "dialogs": len(self.trace.dialogs),
            "findings": [f.as_dict() for f in self.findings],
        }


def diagnose(paths: str | Sequence[str], ctx: Context | None = None,
             rules: Sequence[type[Rule]] = RULES, input_format: str | None = None) -> Diagnosis:
    ctx = ctx or Context()
    trace = load_trace(paths, input_format)
    return Diagnosis(trace, ctx, run_rules(trace, ctx, rules))
