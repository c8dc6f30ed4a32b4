"""Tidy pandas DataFrames of a trace, built from declared column schemas.

One row per message, dialog, call or finding, with ``file`` and ``line`` so a
row leads back to the log.  Frames are always built from the schemas below,
so an empty trace still gives typed, empty frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..correlate.calls import Call, Dialog
from ..rules.findings import Finding
from ..correlate.statemachine import State
from ..correlate.timeline import Timeline
from .headline import final_status, headline, invite_runs, outcome_of

if TYPE_CHECKING:   # the row functions serve the streamed report too, which needs no pandas
    import pandas as pd

TIME = "datetime64[ns, UTC]"

MESSAGE_COLUMNS: dict[str, str] = {
    "index": "int64", "time": TIME, "file": "string", "line": "int64", "call_id": "string",
    "kind": "string", "method": "string", "status": "Int64", "reason": "string",
    "request_uri": "string", "ruri_host": "string", "cseq": "Int64", "cseq_method": "string",
    "from_uri": "string", "from_tag": "string", "to_uri": "string", "to_tag": "string",
    "contact_host": "string", "direction": "string", "peer": "string", "src": "string", "dst": "string",
    "sightings": "int64", "retransmission": "bool", "has_sdp": "bool", "user_agent": "string",
    "diagnostics": "string",
}

DIALOG_COLUMNS: dict[str, str] = {
    "call_id": "string", "caller_tag": "string", "callee_tag": "string", "method": "string",
    "state": "string", "first_time": TIME, "last_time": TIME, "duration_s": "float64",
    "messages": "int64", "request_uri": "string", "final_status": "Int64", "setup_s": "float64",
    "answer_to_bye_s": "float64", "file": "string", "line": "int64",
}

CALL_COLUMNS: dict[str, str] = {
    "call_id": "string", "first_time": TIME, "last_time": TIME, "duration_s": "float64",
    "dialogs": "int64", "messages": "int64", "outcome": "string", "final_status": "Int64",
    "from_uri": "string", "to_uri": "string", "findings": "int64", "worst_severity": "string",
    "file": "string", "line": "int64",
    "headline": "string",           # calls with a finding: who called whom, how it went, the root cause
}

# severity sorts and compares as it ranks: info < warning < error (df[df.severity >= "warning"]);
# the dtype is made in `frame`, so the row functions need no pandas
SEVERITY = "severity"
_SEVERITY_ORDER = ["info", "warning", "error"]

FINDING_COLUMNS: dict[str, Any] = {
    "rule": "string", "severity": SEVERITY, "summary": "string", "call_id": "string", "time": TIME,
    "file": "string", "line": "Int64", "evidence": "int64", "inferred": "bool",
    "facts": "object",                           # a dict of the finding's facts, as the JSON gives them
    "id": "string", "caused_by": "string",      # a symptom's caused_by is the id of its root cause
}


def frame(rows: Iterable[dict[str, Any]], columns: dict[str, Any]) -> pd.DataFrame:
    """A DataFrame with exactly these columns and dtypes, however many rows."""
    import pandas as pd

    df = pd.DataFrame(list(rows), columns=list(columns))
    for name, dtype in columns.items():
        if dtype == TIME:
            df[name] = pd.to_datetime(df[name], utc=True).astype(TIME)
        elif dtype == SEVERITY:
            df[name] = df[name].astype(pd.CategoricalDtype(_SEVERITY_ORDER, ordered=True))
        else:
            df[name] = df[name].astype(dtype)
    return df


def _seconds(a, b) -> float | None:  # type: ignore[no-untyped-def]
    return (b - a).total_seconds() if a is not None and b is not None else None


def message_rows(timeline: Timeline) -> Iterable[dict[str, Any]]:
    for m in timeline.messages:
        sip = m.sip
        from_, to, cseq, ruri = sip.from_, sip.to, sip.cseq, sip.ruri
        contacts = sip.contacts
        yield {
            "index": m.index, "time": m.time, "file": sip.origin.file, "line": sip.origin.line,
            "call_id": sip.call_id, "kind": "request" if sip.is_request else "response",
            "method": sip.method, "status": sip.status, "reason": sip.reason,
            "request_uri": sip.request_uri, "ruri_host": ruri.host if ruri else None,
            "cseq": cseq.number if cseq else None, "cseq_method": sip.cseq_method,
            "from_uri": from_.uri_text if from_ else None, "from_tag": from_.tag if from_ else None,
            "to_uri": to.uri_text if to else None, "to_tag": to.tag if to else None,
            "contact_host": contacts[0].host if contacts else None,
            "direction": sip.direction.direction.value if sip.direction and sip.direction.direction else None,
            "peer": str(sip.peer) if sip.peer else None, "src": str(sip.src) if sip.src else None,
            "dst": str(sip.dst) if sip.dst else None, "sightings": len(m.sightings),
            "retransmission": m.is_retransmission, "has_sdp": sip.has_sdp, "user_agent": sip.user_agent,
            "diagnostics": "; ".join(f"{d.code}" for d in sip.diagnostics) or None,
        }


def _dialog_row(timeline: Timeline, d: Dialog) -> dict[str, Any]:
    run = timeline.run_of(d)
    first = d.messages[0].sip if d.messages else None
    invite = run.invite if run else None
    finals = [m for m in d.responses(d.method or "") if (m.sip.status or 0) >= 200 and not m.is_retransmission]
    ok = run.entered.get(State.CONFIRMED) if run else None
    byes = d.requests("BYE")
    return {
        "call_id": d.call_id, "caller_tag": d.caller_tag, "callee_tag": d.callee_tag, "method": d.method,
        "state": run.state.value if run else None, "first_time": d.first_time, "last_time": d.last_time,
        "duration_s": _seconds(d.first_time, d.last_time), "messages": len(d.messages),
        "request_uri": (invite.sip.request_uri if invite else first.request_uri if first else None),
        "final_status": finals[0].sip.status if finals else None,
        "setup_s": _seconds(invite.time, ok.message.time) if invite and ok else None,
        "answer_to_bye_s": _seconds(ok.message.time, byes[0].time) if ok and byes else None,
        "file": first.origin.file if first else None, "line": first.origin.line if first else 0,
    }


def dialog_rows(timeline: Timeline) -> Iterable[dict[str, Any]]:
    for d in timeline.dialogs:
        yield _dialog_row(timeline, d)


def call_outcome(timeline: Timeline, call: Call, findings: Sequence[Finding] = ()) -> tuple[str, int | None]:
    """answered / dropped / failed / cancelled / no answer / other, and the INVITE's final status.

    The same words as the call's headline (`siptrace.views.headline`): an answered call that
    its root cause tore down is *dropped*.
    """
    runs = invite_runs(timeline, call)
    return outcome_of(runs, findings), final_status(runs)[0]


def call_rows(timeline: Timeline, findings: list[Finding]) -> Iterable[dict[str, Any]]:
    by_call: dict[str | None, list[Finding]] = {}
    for f in findings:
        by_call.setdefault(f.call_id, []).append(f)
    for call in timeline.calls:
        found = by_call.get(call.call_id, [])
        outcome, status = call_outcome(timeline, call, found)
        first = call.messages[0].sip if call.messages else None
        worst = max((f.severity for f in found), key=lambda s: s.rank, default=None)
        yield {
            "call_id": call.call_id, "first_time": call.first_time, "last_time": call.last_time,
            "duration_s": _seconds(call.first_time, call.last_time), "dialogs": len(call.dialogs),
            "messages": len(call.messages), "outcome": outcome, "final_status": status,
            "from_uri": first.from_.uri_text if first and first.from_ else None,
            "to_uri": first.to.uri_text if first and first.to else None,
            "findings": len(found), "worst_severity": worst.value if worst else None,
            "file": first.origin.file if first else None, "line": first.origin.line if first else 0,
            "headline": headline(timeline, call, found).text() if found else None,
        }


def finding_rows(findings: list[Finding]) -> Iterable[dict[str, Any]]:
    for f in findings:
        first = f.evidence[0] if f.evidence else None
        yield {
            "rule": f.rule, "severity": f.severity.value, "summary": f.summary, "call_id": f.call_id,
            "time": f.time, "file": first.origin.file if first else None,
            "line": first.origin.line if first else None, "evidence": len(f.evidence),
            "inferred": bool(f.inferred), "facts": dict(f.facts),
            "id": f.id, "caused_by": f.cause,
        }


def messages_frame(timeline: Timeline) -> pd.DataFrame:
    return frame(message_rows(timeline), MESSAGE_COLUMNS)


def dialogs_frame(timeline: Timeline) -> pd.DataFrame:
    return frame(dialog_rows(timeline), DIALOG_COLUMNS)


def calls_frame(timeline: Timeline, findings: list[Finding]) -> pd.DataFrame:
    return frame(call_rows(timeline, findings), CALL_COLUMNS)


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    return frame(finding_rows(findings), FINDING_COLUMNS)


__all__ = ["MESSAGE_COLUMNS", "DIALOG_COLUMNS", "CALL_COLUMNS", "FINDING_COLUMNS",
           "messages_frame", "dialogs_frame", "calls_frame", "findings_frame", "call_outcome"]
