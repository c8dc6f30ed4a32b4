"""Plain-dict views of model objects, for JSON and CSV output."""

from __future__ import annotations

from typing import Any

from ..model.sip import SipMessage

MESSAGE_FIELDS = (
    "file", "line", "time", "kind", "method", "status", "reason", "request_uri", "call_id",
    "cseq", "from_uri", "to_uri", "from_tag", "to_tag", "direction", "peer", "user_agent",
    "has_body", "body_truncated", "problems",
)


def message_dict(msg: SipMessage) -> dict[str, Any]:
    """The JSON shape of one message (`siptrace messages --format json`)."""
    from_ = msg.from_
    to = msg.to
    cseq = msg.cseq
    return {
        "file": msg.origin.file,
        "line": msg.origin.line,
        "time": msg.time.isoformat() if msg.time else None,
        "kind": "request" if msg.is_request else "response",
        "method": msg.cseq_method,
        "status": msg.status,
        "reason": msg.reason,
        "request_uri": msg.request_uri,
        "call_id": msg.call_id,
        "cseq": str(cseq) if cseq else msg.headers.get("cseq"),
        "from_uri": from_.uri_text if from_ else None,
        "to_uri": to.uri_text if to else None,
        "from_tag": from_.tag if from_ else None,
        "to_tag": to.tag if to else None,
        "direction": msg.direction.direction.value if msg.direction and msg.direction.direction else None,
        "peer": str(msg.peer) if msg.peer else None,
        "user_agent": msg.user_agent,
        "has_body": bool(msg.body),
        "body_truncated": msg.body_truncated,
        "problems": list(msg.problems),
    }


def message_row(msg: SipMessage) -> dict[str, Any]:
    """The CSV shape of one message: `message_dict` with the problems on one line."""
    row = message_dict(msg)
    row["problems"] = "; ".join(row["problems"])
    return row
