"""Terminal text for ``siptrace diagnose``: the verdict, the patterns across calls, the findings
(each root cause with its symptoms under it, its call's headline above it), then what was read."""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

from ..run.diagnose import Diagnosis, rendered
from ..model.words import plural
from ..rules.findings import Finding, Severity
from ..run.spill import severities
from .patterns import CallNote, calls_json, decoded, notes_of, patterns

WIDTH = 100
_MARK = {Severity.ERROR: "ERROR", Severity.WARNING: "WARN ", Severity.INFO: "info "}


@functools.lru_cache(maxsize=4096)
def _wrap(text: str, indent: str) -> str:
    # the why and fix of one rule repeat in thousands of findings
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=indent)


def finding_text(f: Finding, verbose: bool = False) -> str:
    lines = [f"{'  ↳ ' if f.cause else ''}[{_MARK[f.severity]}] {f.rule}: {f.summary}"]
    if f.cause:
        lines.append("        a symptom of the root cause above")
    if f.call_id:
        lines.append(f"        call {f.call_id}")
    shown = f.evidence if verbose else f.evidence[:8]
    for e in shown:
        when = e.time.strftime("%H:%M:%S.%f")[:-3] if e.time else "--:--:--"
        lines.append(f"        {e.origin}  {when}  {e.text}")
    if len(f.evidence) > len(shown):
        lines.append(f"        … {len(f.evidence) - len(shown)} more (-v shows all)")
    facts = ", ".join(f"{k}={v}" for k, v in f.facts if v not in (None, ""))
    if facts:
        lines.append(_wrap(f"facts: {facts}", "        "))
    if f.inferred:
        lines.append(f"        inferred: {', '.join(f.inferred)}")
    lines.append(_wrap(f"why: {f.why}", "        "))
    lines.append(_wrap(f"fix: {f.fix}", "        "))
    if not f.cause:    # a symptom goes away with its root cause, whose commands are above
        lines.extend(command_lines(f, "          "))
    return "\n".join(lines)


def command_lines(f: Finding, indent: str) -> list[str]:
    """The finding's commands as blocks ready to paste: a heading per shell, the lines
    under it unwrapped (a wrapped command would not run)."""
    out: list[str] = []
    last = ""
    for step, shell, lines in f.blocks():
        out.append(f"{indent}{'then' if step == last else step}, in {shell}:")
        last = step
        out.extend(f"{indent}    {line}" for line in lines)
    return out


def finding_text_verbose(f: Finding) -> str:
    """`finding_text` with every piece of evidence (a function of its own, so runs can name it)."""
    return finding_text(f, verbose=True)


def diagnosis_text(d: Diagnosis, verbose: bool = False, min_severity: Severity = Severity.INFO) -> str:
    return "\n".join(diagnosis_lines(d, verbose, min_severity))


def diagnosis_lines(d: Diagnosis, verbose: bool = False, min_severity: Severity = Severity.INFO) -> Iterator[str]:
    """The text, a finding at a time (findings may be read from disk one by one)."""
    yield d.verdict()
    if d.nothing_read:
        yield ""
        yield from _read_lines(d)
        return
    notes = call_notes(d)
    yield from pattern_lines(d, notes)
    yield from _reading_notes(d)
    yield ""
    counts = severities(d.findings)
    if any(n for s, n in counts.items() if s.rank >= min_severity.rank):
        yield (f"{plural(len(d.findings), 'finding')}: {counts[Severity.ERROR]} error, "
               f"{counts[Severity.WARNING]} warning, {counts[Severity.INFO]} info\n")
        drawn: set[str] = set()
        headed: set[str] = set()
        for severity, call_id, text in rendered(d.findings, finding_text_verbose if verbose else finding_text):
            if severity.rank < min_severity.rank:
                continue
            note = notes.get(call_id or "")
            if note is not None and note.headline and call_id not in headed and not text.startswith("  ↳"):
                headed.add(note.call_id)       # above the call's first root cause
                yield f"Call {note.call_id}: {note.headline}"
            yield text + "\n"
            if verbose and note is not None and note.ladder and call_id not in drawn:
                drawn.add(note.call_id)
                yield note.ladder + "\n"
    else:
        yield ("No problems found." if not d.findings else
               f"No findings at {min_severity.value} or above ({len(d.findings)} below).")
        yield ""
    yield from _read_lines(d)


MAX_PATTERNS = 3


@dataclass
class NotedDiagnosis(Diagnosis):
    """A `Diagnosis` whose JSON adds ``patterns`` (root causes across calls) and ``calls`` (headlines)."""

    @classmethod
    def of(cls, d: Diagnosis) -> NotedDiagnosis:
        return cls(**{f.name: getattr(d, f.name) for f in fields(d)})

    def as_dict(self, findings: bool = True) -> dict[str, Any]:
        doc = super().as_dict(findings)
        notes = call_notes(self)
        doc["patterns"] = [p.as_dict() for p in patterns(self.findings, notes)]
        doc["calls_with_findings"] = calls_json(notes)
        return doc


def call_notes(d: Diagnosis) -> dict[str, CallNote]:
    """What is known of each call: the notes a streamed run kept, else made from the timeline."""
    if d.ladders:
        return decoded(d.ladders)
    if d.timeline is not None:
        return notes_of(d.timeline, list(d.findings), d.context)
    return {}


def pattern_lines(d: Diagnosis, notes: dict[str, CallNote]) -> Iterator[str]:
    """Right after the verdict: each root cause's reach among the calls of the same kind."""
    found = patterns(d.findings, notes) if notes else []
    for p in found[:MAX_PATTERNS]:
        yield f"Across calls: {p.text()}"
    if len(found) > MAX_PATTERNS:
        more = len(found) - MAX_PATTERNS
        yield f"Across calls: {plural(more, 'other root cause')} (--format json lists them under patterns)"


def _reading_notes(d: Diagnosis) -> Iterator[str]:
    """Inputs that could not be read, or only in part: said before any finding."""
    s = d.summary
    assert s is not None
    for i, why in s.unreadable():
        yield f"Not read: {i.path}: {why}; its calls are not judged."
    for i in s.partly_read():
        yield (f"Partly read: {i.path}: {i.skipped + i.errors} of {i.records} records skipped "
               f"('siptrace stats' lists them).")


def _read_lines(d: Diagnosis) -> Iterator[str]:
    out: list[str] = []
    t = d.summary
    assert t is not None
    out.append("Read:")
    for s in t.inputs:
        note = t.clock_note(s.path)
        skew = f", {note}" if note else ""
        out.append(f"  {s.path}: {plural(s.records, 'record')} = {s.sip} SIP + {s.diagnostic} diagnostic + "
                   f"{s.other} other + {s.skipped} skipped + {s.errors} errors{skew}")
        for reason, n in s.skip_reasons.most_common(3):
            out.append(f"    skipped {n}: {reason}")
    out.append(f"  {plural(t.messages, 'unique message')} ({plural(t.sightings, 'sighting')}), "
               f"{plural(t.dialogs, 'dialog')}, {plural(t.calls, 'call')}")
    ctx = d.context
    if ctx.um_fqdns:
        out.append(f"  UM FQDN: {', '.join(ctx.um_fqdns)}")
    return iter(out)
