"""What rules produce: findings with evidence, facts, why and fix."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from html import escape
from typing import Any

from ..model.sip import DiagRecord, Origin, SipMessage
from ..model.quickinit import quick_init


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


@dataclass(frozen=True, slots=True)
class Command:
    """One line to paste into a shell, with the trace's own names filled in.

    A ``check`` reads and changes nothing; a ``fix`` changes the deployment
    (or verifies the change).  ``shell`` says where to paste it, ``doc`` the
    public page that documents the command.
    """

    step: str       # "check" or "fix"
    line: str
    shell: str
    doc: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"command": self.line, "shell": self.shell, "doc": self.doc}


STEPS = ("check", "fix")


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
    cause: str | None = None     # `id` of the finding this one is a symptom of (see `siptrace.causes`)
    commands: tuple[Command, ...] = ()   # the fix as lines to paste: checks first, then fixes

    def __reduce__(self) -> tuple[Any, ...]:
        return (Finding, (self.rule, self.severity, self.summary, self.why, self.fix, self.evidence,
                          self.facts, self.call_id, self.inferred, self.time, self.cause,
                          self.commands))   # see Origin.__reduce__

    def steps(self) -> dict[str, list[Command]]:
        """The commands by step, checks first: each list in the order to run it."""
        return {step: [c for c in self.commands if c.step == step] for step in STEPS}

    def blocks(self) -> list[tuple[str, str, list[str]]]:
        """(step, shell, lines): the commands grouped as they are pasted, one block per shell in a row."""
        out: list[tuple[str, str, list[str]]] = []
        for step, cmds in self.steps().items():
            for c in cmds:
                if out and out[-1][0] == step and out[-1][1] == c.shell:
                    out[-1][2].append(c.line)
                else:
                    out.append((step, c.shell, [c.line]))
        return out

    def fact(self, name: str) -> Any:
        return dict(self.facts).get(name)

    @property
    def id(self) -> str:
        """A short name of this finding that every run over the same input gives it
        (one process or several): made of what it says and where its evidence is."""
        return finding_id(self)

    def caused_by(self, cause: Finding | None) -> Finding:
        """This finding marked as a symptom of ``cause`` (None: a root cause)."""
        return replace(self, cause=cause.id if cause is not None else None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "caused_by": self.cause,
            "rule": self.rule, "severity": self.severity.value, "summary": self.summary,
            "why": self.why, "fix": self.fix, "call_id": self.call_id,
            "facts": dict(self.facts), "evidence": [e.as_dict() for e in self.evidence],
            "inferred": list(self.inferred),
            "commands": {step: [c.as_dict() for c in cmds] for step, cmds in self.steps().items()},
        }

    def _repr_html_(self) -> str:
        rows = "".join(f"<li><code>{escape(str(e.origin))}</code> {escape(e.text)}</li>" for e in self.evidence)
        paste = "".join(f"<p><i>{escape(step.capitalize())}</i>, in {escape(shell)}:</p>"
                        f"<pre>{escape(chr(10).join(lines))}</pre>" for step, shell, lines in self.blocks())
        return (f"<div><b>[{escape(self.severity.value)}] {escape(self.rule)}</b>: {escape(self.summary)}"
                f"<p>{escape(self.why)}</p><p><i>Fix:</i> {escape(self.fix)}</p>{paste}<ul>{rows}</ul></div>")


def finding_order(f: Finding) -> tuple[Any, ...]:
    """Worst first, then in time order; ties by where the first evidence is, so any run gives one order.

    The severity comes first, as minus its rank, and the Call-ID last: `spill`
    reads both back from the key alone.
    """
    first = f.evidence[0].origin if f.evidence else None
    return (-f.severity.rank, f.time is None, f.time or datetime.min, f.rule,
            first.file if first else "", first.line if first else 0, f.call_id or "")


def finding_id(f: Finding) -> str:
    where = "|".join(f"{e.origin.file}:{e.origin.line}" for e in f.evidence)
    text = f"{f.rule}\0{f.call_id or ''}\0{f.summary}\0{where}".encode("utf-8", "replace")
    return hashlib.blake2s(text, digest_size=6).hexdigest()


def group_keys(findings: Iterable[Finding]) -> list[tuple[Any, ...]]:
    """The sort key of each finding, root cause first and its symptoms right under it.

    A group (a root cause and its symptoms) is placed by its worst severity,
    then by its root's `finding_order`; inside it the root comes first and the
    symptoms follow in their own order.  A symptom whose cause is not among
    ``findings`` is placed as a root.  The findings of one call are always
    given together (the rules run call by call), so a cause is always there.
    """
    findings = list(findings)
    by_id = {f.id: f for f in findings}
    roots = [by_id.get(f.cause, f) if f.cause else f for f in findings]
    worst: dict[int, int] = {}
    for f, root in zip(findings, roots):
        worst[id(root)] = max(worst.get(id(root), 0), f.severity.rank)
    keys = []
    for f, root in zip(findings, roots):
        own = finding_order(f)
        keys.append((-worst[id(root)], *finding_order(root)[1:], root is not f, *own))
    return keys


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Worst group first, each root cause before its symptoms (`group_keys`)."""
    keys = group_keys(findings)
    return [f for _, f in sorted(zip(keys, findings), key=lambda pair: pair[0])]
