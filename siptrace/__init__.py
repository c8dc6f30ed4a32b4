"""siptrace: read Lync / Skype for Business SIP traces and say what went wrong.

Each stage of the pipeline is a public function, so a notebook can stop
anywhere: `read` (files → items), `parse_record_text` / `parse_message_text`
(text → model).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import InputError, SiptraceError
from .model import (
    CSeq, DiagRecord, Diagnostic, Direction, Headers, Kind, NameAddr, Origin, Peer, Record,
    ResultCode, SipMessage, Skipped, TraceDirection, Uri, Via,
)
from .reader import InputStats, Reader, messages, read
from .recordparse import parse_message_text, parse_record_text

__all__ = [
    "__version__", "InputError", "SiptraceError", "CSeq", "DiagRecord", "Diagnostic", "Direction",
    "Headers", "Kind", "NameAddr", "Origin", "Peer", "Record", "ResultCode", "SipMessage", "Skipped",
    "TraceDirection", "Uri", "Via", "InputStats", "Reader", "messages", "read",
    "parse_message_text", "parse_record_text",
]
