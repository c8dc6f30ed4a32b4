"""Builds server-trace records for small call flows in tests (same layout as the samples)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

BASE = datetime(2026, 11, 3, 9, 0, 0, tzinfo=timezone.utc)
_counter = [0x1000]


def record(at: float, start_line: str, headers: list[tuple[str, str]], *, direction: str = "incoming",
           peer: str = "edge01.contoso.com:5061", body: str = "", machine: str = "fe01\\fe01") -> str:
    """One TF_PROTOCOL record, ``at`` seconds after BASE."""
    _counter[0] += 1
    when = BASE + timedelta(seconds=at)
    stamp = when.strftime("%m/%d/%Y-%H:%M:%S.") + f"{when.microsecond // 1000:03d}.{_counter[0]:08X}"
    kind = "response" if start_line.startswith("SIP/2.0") else "request"
    lines = [f"TL_INFO(TF_PROTOCOL) [{machine}]0A1C.0F2C::{stamp} "
             "(SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record",
             f"Trace-Correlation-Id: {_counter[0]}", "Instance-Id: 00004B1E",
             f"Direction: {direction}", f"Peer: {peer}", f"Message-Type: {kind}", f"Start-Line: {start_line}"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines.append(f"Content-Length: {len(body.encode())}")
    lines.append(f"Message-Body: {body}" if body else "Message-Body: -")
    lines.append("$$end_record")
    return "\r\n".join(lines) + "\r\n"


def dialog_headers(call_id: str, cseq: str, from_tag: str, to_tag: str | None = None,
                   branch: str = "z9hG4bK1", contact: str | None = None,
                   caller: str = "sip:bob@contoso.com", callee: str = "sip:carol@contoso.com",
                   server: str | None = None, swap: bool = False) -> list[tuple[str, str]]:
    """Headers of one message; ``swap`` for requests sent by the callee."""
    frm = f"<{caller}>;tag={from_tag}"
    to = f"<{callee}>" + (f";tag={to_tag}" if to_tag else "")
    if swap:
        frm, to = f"<{callee}>;tag={from_tag}", f"<{caller}>;tag={to_tag}"
    out = [("Via", f"SIP/2.0/TLS 10.0.10.54:51000;branch={branch}"), ("From", frm), ("To", to),
           ("Call-ID", call_id), ("CSeq", cseq)]
    if contact:
        out.append(("Contact", f"<{contact}>"))
    if server:
        out.append(("Server", server))
    return out
