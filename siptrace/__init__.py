"""siptrace: read Lync / Skype for Business SIP traces and say what went wrong.

`load` is the notebook entry point.  Each stage of the pipeline is also a
public function, so a notebook can stop anywhere: `read` (files → items),
`parse_record_text` / `parse_message_text` (text → model), `build_timeline`
(items → messages, dialogs, calls), `run_rules` (→ findings).
"""

from __future__ import annotations

__version__ = "0.1.0"

from .model.context import Context
from .run.diagnose import Diagnosis, diagnose
from .model.errors import InputError, SiptraceError
from .rules.findings import Evidence, Finding, Severity
from .rules import RULES, run_rules
from .correlate.timeline import Timeline, build_timeline, load_timeline
from .model.sip import (
    CSeq, DiagRecord, Diagnostic, Direction, Headers, Kind, NameAddr, Origin, Peer, Record,
    ResultCode, SipMessage, Skipped, TraceDirection, Uri, Via,
)
from .read.reader import InputStats, Reader, messages, read
from .read.recordparse import parse_message_text, parse_record_text

def __getattr__(name: str):  # type: ignore[no-untyped-def]
    # the notebook API pulls in pandas; the command line does not need it
    if name in ("Trace", "load"):
        from .views import notebook as api

        return getattr(api, name)
    raise AttributeError(f"module 'siptrace' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | {"Trace", "load"})


__all__ = [
    "__version__", "Trace", "load", "Context", "Diagnosis", "diagnose", "Evidence", "Finding", "Severity",
    "RULES", "run_rules", "Timeline", "build_timeline", "load_timeline", "InputError", "SiptraceError", "CSeq", "DiagRecord", "Diagnostic", "Direction",
    "Headers", "Kind", "NameAddr", "Origin", "Peer", "Record", "ResultCode", "SipMessage", "Skipped",
    "TraceDirection", "Uri", "Via", "InputStats", "Reader", "messages", "read",
    "parse_message_text", "parse_record_text",
]
