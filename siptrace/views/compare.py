"""A failing call beside a healthy one of the same kind, message by message.

Two calls to the same UM (or through the same gateway) should look alike:
INVITE, 180, 200 OK, ACK, and a BYE much later.  Each call is cut into
*steps*: the messages of the dialog that tells its story (hop-by-hop 100
Trying left out), each with who sent it (caller or callee) and the values
that decide where the next message goes or why the call ended: the
Request-URI host a request was sent to, the Contact of an answer to INVITE,
the SDP, ms-diagnostics and Reason.  The steps are aligned by what they are
(sender, method, status), and the first step where the two calls part is the
*first difference*: a value that is not the same ("200 OK Contact host:
um01.contoso.com vs mail.contoso.com") or a step only one call has.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from ..correlate.calls import Call, Dialog, Message
from ..correlate.timeline import Timeline
from ..model.context import Context
from ..model.errors import SiptraceError
from ..rules.findings import Finding, Severity
from .headline import Headline, headline, invite_runs, main_run, root_causes
from .patterns import CallKind, kinds

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class Step:
    """One message of the compared dialog, as the comparison sees it."""

    message: Message
    side: str                              # "caller" or "callee": who sent it
    what: str                              # "INVITE", "200 OK (INVITE)", "ACK (resent)" ...
    offset: float | None                   # seconds since the call's first INVITE
    values: tuple[tuple[str, str], ...]    # the decisive values, by name

    @property
    def key(self) -> str:
        return f"{self.side}:{self.what}"

    def value(self, name: str) -> str | None:
        return dict(self.values).get(name)

    def cell(self) -> str:
        arrow = "→" if self.side == "caller" else "←"
        when = f"{self.offset:+8.3f}" if self.offset is not None else "       ?"
        shown = " ".join(f"{_SHORT.get(k, k)} {v}" for k, v in self.values if k != "SDP")
        sdp = " +SDP" if self.value("SDP") == "yes" else ""
        return f"{when} {arrow} {self.what}{sdp}{' ' + shown if shown else ''}"


_SHORT = {"Request-URI host": "to", "Contact host": "Contact", "ms-diagnostics": "diag", "Reason": "Reason"}


@dataclass(frozen=True)
class Difference:
    """Where two calls first part: a value that differs, or a step only one of them has."""

    a: Step | None
    b: Step | None
    name: str | None = None            # the value that differs (None: a step only one call has)

    def text(self, names: tuple[str, str] = ("A", "B")) -> str:
        if self.a is not None and self.b is not None and self.name is not None:
            return (f"{self.a.what} {self.name}: {self.a.value(self.name) or '(none)'} ({names[0]}) vs "
                    f"{self.b.value(self.name) or '(none)'} ({names[1]})")
        if self.a is not None and self.b is not None:
            return f"{self.a.what} ({names[0]}) vs {self.b.what} ({names[1]}), from the {self.a.side}"
        only, who = (self.a, names[0]) if self.a is not None else (self.b, names[1])
        assert only is not None
        return f"only {who} has {only.what} from the {only.side}"


@dataclass
class Side:
    """One of the two calls: its steps, headline, kind and findings."""

    call: Call
    steps: list[Step]
    headline: Headline
    kind: CallKind | None
    findings: list[Finding]

    @property
    def failing(self) -> bool:
        return bool(root_causes(self.findings))

    @property
    def state(self) -> str:
        return "failing" if self.failing else "healthy"


@dataclass
class Comparison:
    a: Side
    b: Side
    rows: list[tuple[str, Step | None, Step | None]] = field(default_factory=list)   # (mark, a, b)
    first: Difference | None = None
    first_row: int | None = None

    @property
    def same_kind(self) -> bool:
        return self.a.kind is not None and self.b.kind is not None and self.a.kind.same_place(self.b.kind)

    def names(self) -> tuple[str, str]:
        return (f"A, {self.a.state}", f"B, {self.b.state}")

    def text(self, width: int = 120) -> str:
        return comparison_text(self, width)


# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------

def story_dialog(timeline: Timeline, call: Call) -> Dialog | None:
    run = main_run(invite_runs(timeline, call))
    if run is not None:
        return run.dialog
    return call.dialogs[0] if call.dialogs else None


def steps_of(timeline: Timeline, call: Call) -> list[Step]:
    """The steps of the dialog that tells the call's story, in time order."""
    dialog = story_dialog(timeline, call)
    if dialog is None:
        return []
    invite = next((m for m in dialog.messages if m.sip.method == "INVITE"), None)
    start: datetime | None = invite.time if invite else dialog.first_time
    out = []
    for m in dialog.messages:
        sip = m.sip
        if sip.status == 100:
            continue               # hop by hop: each proxy sends its own
        side = "caller" if dialog.sent_by_caller(m) else "callee"
        what = (sip.method or "?") if sip.is_request else f"{sip.status} {sip.reason or ''}".rstrip()
        if sip.is_response:
            what += f" ({sip.cseq_method})"
        elif sip.method == "INVITE" and sip.to_tag:
            what = "INVITE (re-INVITE)"
        if m.is_retransmission:
            what += " (resent)"
        out.append(Step(m, side, what, (m.time - start).total_seconds() if m.time and start else None,
                        _values(m)))
    return out


def _values(m: Message) -> tuple[tuple[str, str], ...]:
    sip = m.forwarded                         # the copy nearest its destination
    out: list[tuple[str, str]] = []
    if sip.is_request and sip.ruri is not None and sip.ruri.host:
        out.append(("Request-URI host", sip.ruri.host.lower()))
    if sip.is_response and sip.cseq_method == "INVITE" and 200 <= (sip.status or 0) < 300:
        # the 2xx's Contact is the remote target: where the ACK and every later request go
        contacts = sip.contacts
        if contacts and contacts[0].host:
            out.append(("Contact host", contacts[0].host.lower()))
    out.append(("SDP", "yes" if any(s.has_sdp for s in m.sightings) else "no"))
    codes = sorted({str(d.code) for s in m.sightings for d in s.diagnostics if d.code is not None})
    if codes:
        out.append(("ms-diagnostics", ",".join(codes)))
    reason = next((s.headers.get("reason") for s in m.sightings if s.headers.get("reason")), None)
    if reason:
        out.append(("Reason", reason.split(";text=", 1)[0]))
    return tuple(out)


# ---------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------

def side(timeline: Timeline, call_id: str, findings: Sequence[Finding], kind_of: dict[str, CallKind]) -> Side:
    call = timeline.call(call_id)
    if call is None:
        raise SiptraceError(f"no call with Call-ID {call_id!r} in this trace")
    mine = [f for f in findings if f.call_id == call_id]
    return Side(call, steps_of(timeline, call), headline(timeline, call, mine), kind_of.get(call_id), mine)


def compare(timeline: Timeline, a: str, b: str, findings: Sequence[Finding] = (),
            ctx: Context | None = None) -> Comparison:
    """Calls ``a`` and ``b`` side by side, aligned step by step, with their first difference."""
    kind_of = kinds(timeline, ctx)
    return align(side(timeline, a, findings, kind_of), side(timeline, b, findings, kind_of))


def align(a: Side, b: Side) -> Comparison:
    out = Comparison(a, b)
    matcher = difflib.SequenceMatcher(None, [s.key for s in a.steps], [s.key for s in b.steps], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for sa, sb in zip(a.steps[i1:i2], b.steps[j1:j2]):
                differs = _differs(sa, sb)
                _row(out, "≠" if differs else "=", sa, sb, Difference(sa, sb, differs) if differs else None)
            continue
        left, right = a.steps[i1:i2], b.steps[j1:j2]
        for n in range(max(len(left), len(right))):
            only_a = left[n] if n < len(left) else None
            only_b = right[n] if n < len(right) else None
            mark = "≠" if only_a and only_b else "<" if only_a else ">"
            _row(out, mark, only_a, only_b, Difference(only_a, only_b))
    return out


def _row(out: Comparison, mark: str, a: Step | None, b: Step | None, difference: Difference | None) -> None:
    if difference is not None and out.first is None:
        out.first, out.first_row = difference, len(out.rows)
    out.rows.append((mark, a, b))


_COMPARED = ("Request-URI host", "Contact host", "SDP", "ms-diagnostics", "Reason")


def _differs(a: Step, b: Step) -> str | None:
    """The first decisive value that is not the same in two steps of the same kind."""
    for name in _COMPARED:
        if a.value(name) != b.value(name):
            return name
    return None


# ---------------------------------------------------------------------------
# Choosing the calls
# ---------------------------------------------------------------------------

@dataclass
class Pick:
    """The calls chosen to compare, or why there is no healthy one."""

    failing: str | None
    healthy: str | None
    note: str = ""


def pick(timeline: Timeline, findings: Sequence[Finding], ctx: Context | None = None,
         failing: str | None = None) -> Pick:
    """The worst failing call (or ``failing``) and the best healthy call of the same kind.

    Best: the same kind exactly (same UM or gateway, same way in), else the
    same place reached another way; answered and ended by a BYE; nearest in time.
    """
    kind_of = kinds(timeline, ctx)
    worst = sorted((f for f in findings if f.call_id and not f.cause and f.severity.rank >= Severity.WARNING.rank
                    and f.call_id in kind_of), key=lambda f: -f.severity.rank)
    if failing is None:
        if not worst:
            return Pick(None, None, "No failing call in this trace: nothing to compare.")
        failing = worst[0].call_id
    kind = kind_of.get(failing or "")
    if kind is None:
        return Pick(failing, None, "The call has no INVITE dialog: nothing to compare it with.")
    bad = {f.call_id for f in findings if f.severity.rank >= Severity.WARNING.rank}
    target = timeline.call(failing or "")
    when = headline(timeline, target, []).start if target else None
    candidates = []
    for call_id, other in kind_of.items():
        if call_id == failing or call_id in bad or not other.same_place(kind):
            continue
        call = timeline.call(call_id)
        assert call is not None
        h = headline(timeline, call, [])
        if h.outcome != "answered":
            continue
        distance = abs((h.start - when).total_seconds()) if h.start and when else float("inf")
        candidates.append((other != kind, h.ended_how != "BYE", distance, call_id))
    if not candidates:
        return Pick(failing, None, f"No healthy call of the same kind ({kind.label(False)}, or to the same "
                                   f"place another way) in this trace: add a trace of one to compare with.")
    best = min(candidates)
    note = "" if not best[0] else (f"No healthy {kind.label(False)} in this trace; compared with "
                                   f"{kind_of[best[3]].label(False)}.")
    return Pick(failing, best[3], note)


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------

def comparison_text(c: Comparison, width: int = 120) -> str:
    names = c.names()
    lines = []
    where = c.a.kind.label(False) if c.a.kind else "call"
    lines.append(f"Comparing two calls{'' if not c.same_kind else ' of one kind'}:")
    for label, s in zip(names, (c.a, c.b)):
        kind = f" [{s.kind.label(False)}]" if s.kind else ""
        lines.append(f"  {label}: {s.call.call_id}{kind}")
        lines.append(f"      {s.headline.text()}")
    if not c.same_kind:
        lines.append(f"  note: B is not a call of the same kind as A ({where}); differences may be expected.")
    if c.first is not None:
        lines.append(f"First difference: {c.first.text(names)}")
    else:
        lines.append("No difference in the compared steps (sender, method, status, Request-URI and Contact hosts, "
                     "SDP, ms-diagnostics, Reason).")
    half = (width - 4) // 2
    lines.append("")
    lines.append(f"   {_fit('A: ' + c.a.call.call_id[:12] + ' (' + c.a.state + ')', half)} "
                 f"{_fit('B: ' + c.b.call.call_id[:12] + ' (' + c.b.state + ')', half)}")
    for n, (mark, a, b) in enumerate(c.rows):
        flag = "▶" if n == c.first_row else " "
        lines.append(f"{flag}{mark} {_fit(a.cell() if a else '', half)} {_fit(b.cell() if b else '', half)}".rstrip())
    lines.append("")
    lines.append("= same · ≠ differs · < only in A · > only in B · ▶ the first difference · "
                 "→ sent by the caller, ← by the callee · times from each call's INVITE")
    return "\n".join(lines)


def _fit(text: str, width: int) -> str:
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)


# ---------------------------------------------------------------------------
# Picture
# ---------------------------------------------------------------------------

HIGHLIGHT = "#fff176"


def comparison_figure(timeline: Timeline, c: Comparison, prepare: Callable[[Any], None] | None = None) -> Figure:
    """Both ladders side by side, the first difference's arrow highlighted in each, the difference above;
    ``prepare`` sees each ladder before it is drawn into the picture (a report's redaction sweep)."""
    import numpy as np

    from .ladder import ladder_figure, new_figure

    images = []
    differing = (c.first.a, c.first.b) if c.first is not None else (None, None)
    for s, step in zip((c.a, c.b), differing):
        fig = ladder_figure(timeline, s.call.call_id, s.findings)
        if step is not None:
            _highlight(fig, step.message)
        if prepare is not None:
            prepare(fig)
        fig.canvas.draw()
        images.append((np.asarray(fig.canvas.buffer_rgba()).copy(), fig.dpi))  # type: ignore[attr-defined]
    dpi = min(d for _, d in images)
    gap = int(0.3 * dpi)
    names = c.names()
    header = [f"{names[0]}: {c.a.headline.text()}", f"{names[1]}: {c.b.headline.text()}",
              "First difference: " + (c.first.text(names) if c.first else "none in the compared steps")]
    header_px = int((len(header) * 0.28 + 0.3) * dpi)
    width_px = sum(img.shape[1] for img, _ in images) + gap
    height_px = max(img.shape[0] for img, _ in images) + header_px
    out = new_figure(width_px / dpi, height_px / dpi, dpi)
    x = 0
    for img, _ in images:
        out.figimage(img, xo=x, yo=height_px - header_px - img.shape[0], origin="upper")
        x += img.shape[1] + gap
    for n, line in enumerate(header):
        out.text(0.15 * dpi / width_px, 1 - (0.15 + 0.28 * (n + 1)) * dpi / height_px, line, fontsize=10,
                 weight="bold" if n == 2 else "normal", color="#b71c1c" if n == 2 else "#263238",
                 parse_math=False, gid=f"compare-{n}")
    out.comparison = c  # type: ignore[attr-defined]
    return out


def _highlight(fig: Any, message: Message) -> None:
    """A band behind the rows that draw ``message`` (each of its legs)."""
    ladder = fig.ladder
    ax = fig.axes[0]
    labels = {t.get_gid(): t for t in ax.texts if t.get_gid()}
    for i, row in enumerate(ladder.rows):
        if row.hop is None or row.hop.message is not message:
            continue
        arrow = next((p for p in ax.patches if p.get_gid() == f"arrow-{i}"), None)
        label = labels.get(f"label-{i}")
        if label is None or arrow is None:
            continue
        y = label.get_position()[1]
        ax.axhspan(y - 0.2, y + 0.2, color=HIGHLIGHT, zorder=0.5, gid=f"difference-{i}")


def save_figure(fig: Figure, out: IO[bytes], fmt: str) -> None:
    from .ladder import save

    save(fig, out, fmt)


__all__ = ["Comparison", "Difference", "Pick", "Side", "Step", "align", "compare", "comparison_figure",
           "comparison_text", "pick", "steps_of"]
