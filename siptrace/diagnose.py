"""The ``diagnose`` job as a library call, and its JSON document.

`diagnose` reads, correlates and runs the rules, holding the whole trace in
memory (for notebooks and tests); `siptrace.stream.diagnose_stream` does the
same call by call in bounded memory (the CLI).  Views only format the
`Diagnosis` either returns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from .context import Context
from .findings import Finding, Severity
from .jsontext import indented
from .reader import InputStats
from .rules import RULES, Rule, run_rules
from .spill import SpilledFindings, severities
from .timeline import Timeline, load_timeline

SCHEMA = 1


@dataclass
class Summary:
    """What was read and correlated, in numbers.

    One definition for every entry point: ``messages`` are unique messages,
    ``dialogs`` the dialogs (and dialog attempts) correlation makes per Call-ID
    (`siptrace.correlate`), ``calls`` the Call-IDs.  A call judged in parts
    by the streaming diagnosis counts each of its dialogs once.
    """

    inputs: list[InputStats] = field(default_factory=list)
    offsets: dict[str, float] = field(default_factory=dict)
    messages: int = 0
    sightings: int = 0
    dialogs: int = 0
    calls: int = 0

    @classmethod
    def of(cls, timeline: Timeline) -> Summary:
        return cls(inputs=timeline.inputs, offsets=timeline.offsets, messages=len(timeline.messages),
                   sightings=timeline.sightings, dialogs=len(timeline.dialogs), calls=len(timeline.calls))


@dataclass
class Diagnosis:
    timeline: Timeline | None
    context: Context
    findings: Sequence[Finding]     # a list, or `SpilledFindings` read from disk one by one
    summary: Summary | None = None
    ladders: dict[str, str] = field(default_factory=dict)   # call → text ladder (diagnose -v)

    def __post_init__(self) -> None:
        if self.summary is None:
            self.summary = Summary.of(self.timeline) if self.timeline is not None else Summary()

    def worst(self) -> Severity | None:
        return max(severities(self.findings), key=lambda s: s.rank, default=None)

    def as_dict(self, findings: bool = True) -> dict[str, Any]:
        s = self.summary
        assert s is not None
        inputs = [{"path": i.path, "format": i.format, "records": i.records, "sip": i.sip,
                   "diagnostic": i.diagnostic, "other": i.other, "skipped": i.skipped, "errors": i.errors,
                   "clock_offset_s": round(s.offsets.get(i.path, 0.0), 3)} for i in s.inputs]
        return {
            "schema": SCHEMA,
            "inputs": inputs,
            "context": {"um_fqdn": list(self.context.um_fqdns), "edge_fqdn": list(self.context.edge_fqdns),
                        "pool_fqdn": list(self.context.pool_fqdns)},
            "messages": s.messages,
            "sightings": s.sightings,
            "calls": s.calls,
            "dialogs": s.dialogs,
            "findings": [f.as_dict() for f in self.findings] if findings else [],
        }

    def write_json(self, out: TextIO) -> None:
        """``json.dumps(self.as_dict(), indent=2)``, written finding by finding (flat memory)."""
        marker = "\0findings\0"
        head = self.as_dict(findings=False)
        head["findings"] = marker
        before, _, after = json.dumps(head, indent=2, ensure_ascii=False).partition(json.dumps(marker))
        out.write(before)
        if not self.findings:
            out.write("[]")
        else:
            out.write("[")
            for n, (_, _, text) in enumerate(rendered(self.findings, finding_json)):
                out.write(("," if n else "") + "\n    " + text.replace("\n", "\n    "))   # one level deeper
            out.write("\n  ]")
        out.write(after + "\n")


def finding_json(finding: Finding) -> str:
    """A finding as the JSON document shows it (before its indent in the list)."""
    return indented(finding.as_dict())


def rendered(findings: Sequence[Finding], render: Callable[[Finding], str]
             ) -> Iterable[tuple[Severity, str | None, str]]:
    """(severity, Call-ID, ``render(finding)``) of each finding, in order; taken as
    kept on disk when the run that made the findings rendered them already."""
    kept = findings.texts(render) if isinstance(findings, SpilledFindings) else None
    if kept is not None:
        return kept
    return ((f.severity, f.call_id, render(f)) for f in findings)


def diagnose(paths: str | Sequence[str], ctx: Context | None = None,
             rules: Sequence[type[Rule]] = RULES, input_format: str | None = None,
             progress: bool = False) -> Diagnosis:
    """Read, correlate and diagnose with the whole trace in memory."""
    ctx = ctx or Context()
    timeline = load_timeline(paths, input_format, progress=progress)
    return Diagnosis(timeline, ctx, run_rules(timeline, ctx, rules))
