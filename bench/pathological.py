"""Worst-case inputs at full size, each with a time limit: no quadratic path, no blow-up.

    python bench/pathological.py            # prints one line per case, exit 1 if any is over its limit

Cases: a 1 MB header line, 100,000 headers in one message, Content-Length far
beyond the body, a record that never ends (64 MB), a file of only
$$begin_record lines (20 MB), deeply nested quotes and angle brackets and
long blank runs in header values (1 MB each).
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from siptrace import Origin, Reader, parse_message_text  # noqa: E402
from siptrace.model.values import parse_diagnostic, parse_name_addrs, parse_uri, split_list  # noqa: E402

HEAD = ("TL_INFO(TF_PROTOCOL) [fe01\\fe01]0A1C.0F2C::11/03/2026-09:14:02.117.0001A3F2 "
        "(SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record\r\n"
        "Direction: incoming\r\nPeer: 192.0.2.9:5061\r\nMessage-Type: request\r\n"
        "Start-Line: INVITE sip:a@example.com SIP/2.0\r\nCall-ID: patho\r\nCSeq: 1 INVITE\r\n")
TAIL = "Message-Body: -\r\n$$end_record\r\n"


def read_file(text: str | bytes) -> int:
    with tempfile.NamedTemporaryFile("wb", suffix=".log", delete=False) as f:
        f.write(text.encode() if isinstance(text, str) else text)
        name = f.name
    try:
        return sum(1 for _ in Reader([name]))
    finally:
        os.unlink(name)


def values(value: str) -> None:
    parse_name_addrs(value), parse_uri(value), split_list(value), parse_diagnostic("ms-diagnostics", value)


CASES = [
    ("1 MB header line", 5.0, lambda: read_file(HEAD + "X-Big: " + "a" * (1 << 20) + "\r\n" + TAIL)),
    ("100,000 headers", 10.0, lambda: read_file(HEAD + "".join(f"X-H{i}: v{i}\r\n" for i in range(100_000)) + TAIL)),
    ("Content-Length 4 GB, body 5 bytes", 1.0, lambda: parse_message_text(
        "INVITE sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n"
        "From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
        "Content-Length: 4294967295\r\n\r\nv=0\r\n", Origin("p", 1))),
    ("record that never ends (64 MB)", 30.0, lambda: read_file(HEAD + "body line without end\r\n" * 2_900_000)),
    ("only $$begin_record lines (20 MB)", 60.0, lambda: read_file(b"TL_INFO(TF_DIAG) x $$begin_record\r\n" * 580_000)),
    ("nested angle brackets (1 MB)", 5.0, lambda: values("<" * 500_000 + "sip:a@b" + ">" * 500_000)),
    ("escaped quotes (1 MB)", 5.0, lambda: values('"' + '\\"' * 500_000 + " <sip:a@b>")),
    ("unterminated quote (1 MB)", 5.0, lambda: values('"' + "x" * 1_000_000)),
    ("blank run in a display name (1 MB)", 5.0, lambda: values("a" + " " * 1_000_000 + "x")),
    ("semicolons (1 MB)", 5.0, lambda: values(";" * 1_000_000)),
]


def main() -> int:
    over = 0
    for name, limit, run in CASES:
        start = time.perf_counter()
        run()
        took = time.perf_counter() - start
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        flag = "ok" if took <= limit else "OVER"
        over += flag == "OVER"
        print(f"{flag:4} {name:<40} {took:7.2f} s (limit {limit:.0f} s), peak RSS so far {rss:.0f} MB")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
