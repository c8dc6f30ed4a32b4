"""What rules produce: findings with evidence, facts, why and fix."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from html import escape
from typing import Any

from .model import DiagRecord, Origin, SipMessage
from .quickinit import quick_init


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@quick_init
@dataclass(frozen=True, slots=True)
class Evidence:
    """One line of proof: where it is in the log, when, and what it says."""

    origin: Origin
    time: datetime | None
    text: str

    @classmethod
    def of_message(cls, sip: SipMessage, note: str = "") -> Evidence:
        line = sip.start_line
        if sip.direction and sip.direction.direction:
            peer = f" {'to' if sip.direction.direction.value == 'outgoing' else 'from'} {sip.peer}" if sip.peer else ""
            line = f"{sip.direction.direction.value}{peer}: {line}"
        return cls(sip.origin, sip.time, f"{line}{' — ' + note if note else ''}")

    @classmethod
    def of_diag(cls, diag: DiagRecord, note: str = "") -> Evidence:
        code = f" {diag.result_code}" if diag.result_code else ""
        text = f"{diag.record.level}({diag.record.flag}){code}: {diag.text or ''}".rstrip()
        return cls(diag.origin, diag.time, f"{text}{' — ' + note if note else ''}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Evidence, (self.origin, self.time, self.text))   # see Origin.__reduce__

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.origin.file, "line": self.origin.line,
                "time": self.time.isoformat() if self.time else None, "text": self.text}


@quick_init
@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    summary: str
    why: str
    fix: str
    evidence: tuple[Evidence, ...] = ()
    facts: tuple[tuple[str, Any], ...] = ()
    call_id: str | None = None
    inferred: tuple[str, ...] = ()
    time: datetime | None = field(default=None, compare=False)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Finding, (self.rule, self.severity, self.summary, self.why, self.fix, self.evidence,
                          self.facts, self.call_id, self.inferred, self.time))   # see Origin.__reduce__

    def fact(self, name: str) -> Any:
        return dict(self.facts).get(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "severity": self.severity.value, "summary": self.summary,
            "why": self.why, "fix": self.fix, "call_id": self.call_id,
            "facts": dict(self.facts), "evidence": [e.as_dict() for e in self.evidence],
            "inferred": list(self.inferred),
        }

    def _repr_html_(self) -> str:
        rows = "".join(f"<li><code>{escape(str(e.origin))}</code> {escape(e.text)}</li>" for e in self.evidence)
        return (f"<div><b>[{escape(self.severity.value)}] {escape(self.rule)}</b>: {escape(self.summary)}"
                f"<p>{escape(self.why)}</p><p><i>Fix:</i> {escape(self.fix)}</p><ul>{rows}</ul></div>")


def finding_order(f: Finding) -> tuple[Any, ...]:
    """Worst first, then in time order; ties by where the first evidence is, so any run gives one order.

    The severity comes first, as minus its rank, and the Call-ID last: `spill`
    reads both back from the key alone.
    """
    first = f.evidence[0].origin if f.evidence else None
    return (-f.severity.rank, f.time is None, f.time or datetime.min, f.rule,
            first.file if first else "", first.line if first else 0, f.call_id or "")


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """In `finding_order`."""
    return sorted(findings, key=finding_order)
