"""The ``diagnose`` job as a library call, and its JSON document.

`diagnose` reads, correlates and runs the rules, holding the whole trace in
memory (for notebooks and tests); `siptrace.stream.diagnose_stream` does the
same call by call in bounded memory (the CLI).  Views only format the
`Diagnosis` either returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..model.context import Context
from ..model.resultcodes import symbol_for
from ..rules import diagcodes
from ..rules.findings import Finding, Severity
from .clock import steady_end
from .jsontext import indented
from ..read.reader import InputStats
from ..rules import RULES, Rule, run_rules
from .spill import SpilledFindings, kind_of, severities, tally
from ..correlate.timeline import Timeline, build_timeline
from ..model.sip import DiagRecord, Item, SipMessage
from ..read.reader import Reader
from .job import Job

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
    offsets: dict[str, float] = field(default_factory=dict)      # file → seconds ahead of its reference
    references: dict[str, str] = field(default_factory=dict)     # file → the file its offset is against
    messages: int = 0
    sightings: int = 0
    dialogs: int = 0
    calls: int = 0
    sessions: int = 0            # calls with an INVITE: what the verdict counts as calls

    @classmethod
    def of(cls, timeline: Timeline) -> Summary:
        return cls(inputs=timeline.inputs, offsets=timeline.offsets, references=timeline.references,
                   messages=len(timeline.messages), sightings=timeline.sightings,
                   dialogs=len(timeline.dialogs), calls=len(timeline.calls),
                   sessions=sum(1 for c in timeline.calls if any(d.method == "INVITE" for d in c.dialogs)))

    def clock(self, path: str) -> tuple[float | None, str | None]:
        """(offset in seconds, the file it is against) of one input; (None, None) when unknown."""
        reference = self.references.get(path)
        return (self.offsets.get(path), reference) if reference is not None else (None, None)

    def clock_note(self, path: str) -> str:
        """How one input's clock stands against the others, in words ("" for a single input)."""
        if len(self.inputs) < 2:
            return ""
        offset, reference = self.clock(path)
        if offset is None or reference is None:
            return "clock offset unknown (shares no message with another input)"
        several = len(set(self.references.values())) > 1
        if reference == path:
            return "clock reference" + (" of its group" if several else "")
        return f"clock offset {offset:+.3f} s" + (f" against {reference}" if several else "")

    @property
    def sip(self) -> int:
        return sum(i.sip for i in self.inputs)

    def unreadable(self) -> list[tuple[InputStats, str]]:
        """The inputs of which no SIP message could be read, each with why."""
        return [(i, _why_unread(i)) for i in self.inputs if i.sip == 0]

    def partly_read(self) -> list[InputStats]:
        return [i for i in self.inputs if i.sip and (i.skipped or i.errors)]


def _why_unread(i: InputStats) -> str:
    if i.records == 0:
        return "no record found in it"
    lost = i.skipped + i.errors
    top = i.skip_reasons.most_common(1)
    because = f": {top[0][0]}" if top else ""
    if lost == i.records:
        return f"all {i.records} record{'s' if i.records != 1 else ''} skipped{because}" + _named_codes(i)
    return (f"no SIP message among its {i.records} records ({i.diagnostic} diagnostic, {i.other} other, "
            f"{lost} skipped)") + _named_codes(i)


# A diagnostic header or result code in text that is no trace: a line pasted from a support
# article, a ticket or an event log ("ms-client-diagnostics: 23; reason=...", "0xC3E93C2F").
_DIAG_HEADER = re.compile(r"(?im)^[ \t>|]*(ms-client-diagnostics|ms-diagnostics-public|ms-diagnostics)[ \t]*:[ \t]*(\d+)")
_RESULT_CODE = re.compile(r"\b0x([0-9a-f]{8})\b", re.I)


def _named_codes(i: InputStats) -> str:
    """What the skipped text names that siptrace can still explain (no SIP message to judge)."""
    said: list[str] = []
    for skipped in i.examples:
        text = skipped.excerpt
        for header, code in _DIAG_HEADER.findall(text):
            known = diagcodes.lookup(int(code))
            said.append(f"{header.lower()} {code}" + (f" ({known.reason})" if known else ""))
        for value in _RESULT_CODE.findall(text):
            symbol = symbol_for(int(value, 16))
            said.append(f"0x{value.upper()}" + (f" ({symbol})" if symbol else ""))
    unique = list(dict.fromkeys(said))[:3]
    return f"; the text names {', '.join(unique)}, but no SIP message to judge" if unique else ""


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

    @property
    def nothing_read(self) -> bool:
        """No SIP message was read from any input: there is nothing to judge."""
        assert self.summary is not None
        return self.summary.sip == 0

    def verdict(self) -> str:
        """The one line an administrator reads first (see `verdict`)."""
        return verdict(self)

    def as_dict(self, findings: bool = True) -> dict[str, Any]:
        s = self.summary
        assert s is not None
        inputs = []
        unread = dict((i.path, why) for i, why in s.unreadable())
        for i in s.inputs:
            offset, reference = s.clock(i.path)
            inputs.append({"path": i.path, "format": i.format, "records": i.records, "sip": i.sip,
                           "diagnostic": i.diagnostic, "other": i.other, "skipped": i.skipped,
                           "errors": i.errors, "read": "none" if i.path in unread else
                           "partly" if i.skipped or i.errors else "fully",
                           "unread_reason": unread.get(i.path),
                           "clock_offset_s": round(offset, 3) if offset is not None else None,
                           "clock_reference": reference})
        return {
            "schema": SCHEMA,
            "verdict": self.verdict(),
            "nothing_read": self.nothing_read,
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


# The verdict sentence of a root cause, by rule: ``str.format`` over its facts
# plus ``summary``; a fact that is missing falls back to the summary.
# The first template whose facts are all there is used.
VERDICTS: dict[str, tuple[str, ...]] = {
    "ack-retarget-bye": ("Exchange UM certificate Subject Name is {contact_host}, not {um_fqdn}: calls to "
                         "voicemail drop ~{delay_s:.0f} s after answer ({calls})",
                         "Exchange UM certificate Subject Name is {contact_host}, not the UM server's FQDN "
                         "(unknown in this trace: pass --um-fqdn or add the front end's log): calls to "
                         "voicemail drop ~{delay_s:.0f} s after answer ({calls})"),
    "ack-missing": ("The ACK never reached the side that answered, which hung up ~{bye_delay_s:.0f} s later "
                    "({calls})",),
    "ms-diagnostics": ("{reason} ({header} {code} from {source}): {calls}", "{reason} ({header} {code}): {calls}"),
}
_DEFAULT_VERDICT = "{summary}: {calls}"


def verdict(d: Diagnosis) -> str:
    """The worst root cause in one sentence with the calls it hit, or what a healthy trace was."""
    s = d.summary
    assert s is not None
    if d.nothing_read:
        return "Nothing could be read: " + "; ".join(f"{i.path}: {why}" for i, why in s.unreadable())
    worst = d.worst()
    if worst is None or worst.rank < Severity.WARNING.rank:
        n = len(d.findings)
        notes = f" ({n} note{'s' if n != 1 else ''} at info level)" if n else ""
        return f"{s.sessions} call{'s' if s.sessions != 1 else ''}, 0 failed{notes}; {_inputs_read(s)}"
    root = next(iter(d.findings))          # the first finding is the worst group's root cause
    counts = tally(d.findings)
    kind = kind_of(root)
    hit = max(counts.calls.get(kind, 1), 1)
    total = max(s.sessions, hit)
    facts = {name: value for name, value in root.facts if value not in (None, "")}
    facts["summary"] = root.summary.rstrip(".")
    facts["calls"] = f"{hit} of {total} call{'s' if total != 1 else ''}"
    text = _DEFAULT_VERDICT.format(**facts)
    for template in VERDICTS.get(root.rule, ()):
        try:
            text = template.format(**facts)
        except (KeyError, ValueError, TypeError):
            continue
        break
    symptoms = counts.symptoms.get(kind, 0)
    if symptoms:
        text += f"; {symptoms} related symptom{'s' if symptoms != 1 else ''}"
    others = counts.failed_calls - hit
    if others > 0:
        text += f"; {others} other call{'s' if others != 1 else ''} with problems"
    return text


def _inputs_read(s: Summary) -> str:
    n = len(s.inputs)
    full = sum(1 for i in s.inputs if i.sip and not (i.skipped or i.errors))
    text = f"{n} input read fully" if n == 1 and full == 1 else f"{full} of {n} input{'s' if n != 1 else ''} read fully"
    unread = s.unreadable()
    if unread:
        text += "; not read: " + ", ".join(i.path for i, _ in unread)
    return text


def diagnose(paths: str | Sequence[str], ctx: Context | None = None,
             rules: Sequence[type[Rule]] = RULES, input_format: str | None = None,
             progress: bool = False) -> Diagnosis:
    """Read, correlate and diagnose with the whole trace in memory."""
    return run_in_memory(Job.of(paths, context=ctx or Context(), rules=rules, input_format=input_format,
                                progress=progress))


def run_in_memory(job: Job) -> Diagnosis:
    """The in-memory runner: the whole trace as one `Timeline` (notebooks, one call's ladder).

    Items of calls the job's selection cannot keep are dropped as they are read;
    a redactor sees every item before it rewrites the first.
    """
    reader = Reader(job.paths, job.input_format, progress=job.progress)
    keep = job.selection.keeps_call
    items: list[Item] = [i for i in reader if not isinstance(i, (SipMessage, DiagRecord)) or keep(i.call_id)]
    items = job.selection.select(items)
    ctx, stats = job.context, reader.stats
    if job.redactor is not None:
        job.redactor.learn_context(ctx)
        items = job.redactor.redact_items(items)
        stats = [job.redactor.redact_stats(s) for s in stats]
        ctx = job.redactor.redact_context(ctx)
    # the trace ends where the streamed runner's clock ends, not at a record stamped far ahead
    timeline = build_timeline(items, stats, end=steady_end(items, job.limits.idle))
    findings = run_rules(timeline, ctx, job.rules)
    if job.watcher is not None:
        job.watcher.judged(timeline, findings)
    return Diagnosis(timeline, ctx, findings)
