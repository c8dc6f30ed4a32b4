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
from .timeline import Timeline, load_timeline

SCHEMA = 1


@dataclass
class Diagnosis:
    timeline: Timeline
    context: Context
    findings: list[Finding]

    def worst(self) -> Severity | None:
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def as_dict(self) -> dict[str, Any]:
        inputs = []
        for s in self.timeline.inputs:
            inputs.append({"path": s.path, "format": s.format, "records": s.records, "sip": s.sip, "diagnostic": s.diagnostic,
                           "other": s.other, "skipped": s.skipped, "errors": s.errors,
                           "clock_offset_s": round(self.timeline.offsets.get(s.path, 0.0), 3)})
        return {
            "schema": SCHEMA,
            "inputs": inputs,
            "context": {"um_fqdn": list(self.context.um_fqdns), "edge_fqdn": list(self.context.edge_fqdns),
                        "pool_fqdn": list(self.context.pool_fqdns)},
            "messages": len(self.timeline.messages),
            "sightings": self.timeline.sightings,
            "calls": len(self.timeline.calls),
            "dialogs": len(self.timeline.dialogs),
            "findings": [f.as_dict() for f in self.findings],
        }


def diagnose(paths: str | Sequence[str], ctx: Context | None = None,
             rules: Sequence[type[Rule]] = RULES, input_format: str | None = None,
             progress: bool = False) -> Diagnosis:
    ctx = ctx or Context()
    timeline = load_timeline(paths, input_format, progress=progress)
    return Diagnosis(timeline, ctx, run_rules(timeline, ctx, rules))
