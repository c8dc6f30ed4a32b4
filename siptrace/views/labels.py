"""Readable names for the facts findings carry (the JSON keeps the keys as they are).

A report is read by an administrator, not a program: ``invite_host`` reads
"INVITE sent to", ``since_answer_s`` "time since the answer (s)".  Keys not
named here are spelled out from their parts, so a new fact still reads.
"""

from __future__ import annotations

LABELS: dict[str, str] = {
    "ack_host": "ACK sent to",
    "ack_seen": "ACK seen",
    "answer_seen": "answer in the trace",
    "bye_after_s": "BYE after (s)",
    "bye_delay_s": "BYE after the 200 OK (s)",
    "bye_from": "BYE from",
    "bye_reason": "BYE Reason",
    "call_id": "Call-ID",
    "call_worked": "the call worked",
    "contact_host": "200 OK Contact host",
    "delay_s": "BYE after the 200 OK (s)",
    "forks": "forks",
    "hresult": "HRESULT",
    "invite_host": "INVITE sent to",
    "invite_seen": "INVITE in the trace",
    "min_se_s": "Min-SE (s)",
    "on": "carried by",
    "request_uri": "Request-URI",
    "request_uri_host": "Request-URI host",
    "result_code": "result code",
    "sent_by": "sent by",
    "session_expires_s": "Session-Expires (s)",
    "severity_logged": "severity logged",
    "since_answer_s": "time since the answer (s)",
    "sip_start_line": "SIP start line",
    "sub_code": "sub-code",
    "um_fqdn": "UM FQDN",
    "um_fqdn_from": "UM FQDN found from",
}


def fact_label(key: str) -> str:
    """The label of a fact's key: named above, or its words (``data.srv-query`` → "srv-query (data)")."""
    known = LABELS.get(key)
    if known is not None:
        return known
    if key.startswith("data."):
        return f"{key[5:]} (data)"
    words = key.split("_")
    unit = " (s)" if len(words) > 1 and words[-1] == "s" else ""
    if unit:
        words = words[:-1]
    return " ".join(words) + unit


__all__ = ["LABELS", "fact_label"]
