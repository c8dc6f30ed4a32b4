"""Bare SIP text: messages copied from Snooper, an RFC or a mail; syslog and Expressway forms.

Four wrappers are undone before the SIP grammar sees a message:

* rsyslog's escapes: control characters written as ``#ooo`` (octal), so a
  line end is ``#015#012``; some relays turned the LF into a blank, giving
  ``#015 `` (seen in real test data);
* the Cisco Expressway log: `` SIPMSG:`` then the message, its first line
  behind `` |`` and every other line indented by one blank;
* line breaks lost by a web page (header lines run together), restored
  before the names of common headers;
* nothing at all: messages separated by blank lines or marker lines.

A message starts at a line the SIP grammar accepts as a start line and runs
to the next one (or a marker line); its body is what follows the first blank
line, cut to Content-Length when that is shorter.  Lines outside messages are
skipped and counted.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from lark import Lark
from lark.exceptions import LarkError

from .grammar import _open
from .inputs import counted_lines
from .model import Item, Origin, Skipped
from .recordparse import parse_message_text

_SYSLOG_ESCAPE = re.compile(r"#([0-3][0-7]{2})")


def unescape_syslog(line: str) -> str:
    """rsyslog ``#ooo`` escapes back to characters (``#015#012`` → CRLF, ``#015 `` → CRLF)."""
    line = line.replace("#015#012", "\n").replace("#015 ", "\n").replace("#012", "\n")
    return _SYSLOG_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), line)


@functools.lru_cache(maxsize=None)
def _start_parser() -> Lark:
    return _open("sip.lark", "start_line")


@functools.lru_cache(maxsize=65536)
def is_start_line(line: str) -> bool:
    """Does the SIP grammar accept this line as a request or status line?"""
    line = line.rstrip("\r\n")
    if "SIP/" not in line:
        return False
    try:
        _start_parser().parse(line)
    except LarkError:
        return False
    return True


# Header names that web pages run into the previous line ("CSeq: 1 INVITE Via: ...",
# "SIP/2.0 504 Server time-out Authentication-Info: ..."): a copy of a trace
# whose line breaks were lost.  Only these names split a line, and never
# inside quotes.
_FLATTENED = re.compile(
    r" (?=(?:Via|From|To|Call-ID|CSeq|Contact|Content-Length|Content-Type|Max-Forwards|Record-Route|Route|"
    r"Authentication-Info|WWW-Authenticate|Proxy-Authenticate|Server|User-Agent|Supported|Require|Allow|"
    r"Expires|Event|P-Asserted-Identity|ms-diagnostics|ms-diagnostics-public|ms-client-diagnostics|"
    r"Ms-Conversation-ID|ms-endpoint-location-data|ms-keep-alive)[ \t]?:[ \t])")


def unflatten(line: str) -> list[str]:
    """Split a line where a known header name was run into it, outside quotes."""
    if len(line) < 40 or ": " not in line:
        return [line]
    parts: list[str] = []
    start = 0
    for m in _FLATTENED.finditer(line):
        if line.count('"', start, m.start()) % 2 == 0 and line[start:m.start()].strip():
            parts.append(line[start:m.start()])
            start = m.end()
    parts.append(line[start:])
    return parts


def _is_marker(line: str) -> bool:
    """A separator line between pasted messages: ----, ====, ****, ####."""
    stripped = line.strip()
    return len(stripped) >= 3 and len(set(stripped)) == 1 and stripped[0] in "-=*#_~"


def _logical_lines(stream: Iterable[bytes]) -> Iterator[tuple[int, int, str]]:
    """(line, byte offset, text) with syslog escapes and Expressway indents undone."""
    offset = 0
    in_sipmsg = False
    for lineno, raw in enumerate(stream, start=1):
        here = offset
        offset += len(raw)
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if "#015" in line or "#012" in line:
            for part in unescape_syslog(line).split("\n"):
                yield lineno, here, part.rstrip("\r")
            continue
        if line.strip() == "SIPMSG:":
            in_sipmsg = True
            yield lineno, here, ""
            continue
        if in_sipmsg:
            if not line.strip():
                in_sipmsg = False
            elif line.startswith(" |"):
                line = line[2:]
            elif line.startswith(" "):
                line = line[1:]
        for part in unflatten(line):
            yield lineno, here, part


def read_sip_text(stream: BinaryIO, name: str, stats) -> Iterator[Item]:  # type: ignore[no-untyped-def]
    """Items of a bare-SIP text: one `SipMessage` per message, `Skipped` for the rest."""
    current: list[str] = []
    started: tuple[int, int] | None = None
    other: tuple[int, int] | None = None
    other_lines = 0

    def emit() -> Iterator[Item]:
        nonlocal current, started
        if started is not None:
            text, left = _assemble(current)
            item = parse_message_text(text, Origin(name, started[0], started[1]))
            stats.count(item)
            yield item
            if left:
                extra = Skipped(origin=Origin(name, started[0], started[1]),
                                reason="text after a SIP message's body (beyond its Content-Length)",
                                context=f"{left} line(s)")
                stats.count(extra)
                yield extra
        current, started = [], None

    def emit_other() -> Iterator[Item]:
        nonlocal other, other_lines
        if other is not None:
            item = Skipped(origin=Origin(name, other[0], other[1]), reason="text outside any SIP message",
                           context=f"{other_lines} line(s)")
            stats.count(item)
            yield item
        other, other_lines = None, 0

    for lineno, offset, line in _logical_lines(counted_lines(stream, stats)):
        if is_start_line(line):
            yield from emit()
            yield from emit_other()
            current, started = [line], (lineno, offset)
        elif _is_marker(line):
            yield from emit()
        elif started is not None:
            current.append(line)
        elif line.strip():
            if other is None:
                other = (lineno, offset)
            other_lines += 1
    yield from emit()
    yield from emit_other()


def _assemble(lines: list[str]) -> tuple[str, int]:
    """The message text (headers, blank line, body cut to Content-Length) and the
    number of non-blank lines left over beyond that length."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    try:
        blank = next(i for i, line in enumerate(lines) if not line.strip())
    except StopIteration:
        return "\r\n".join(lines) + "\r\n", 0
    head = lines[:blank]
    body = "\r\n".join(lines[blank + 1:]) + "\r\n" if lines[blank + 1:] else ""
    length = None
    for line in head:
        name, _, value = line.partition(":")
        if name.strip().lower() in ("content-length", "l") and value.strip().isdigit():
            length = int(value.strip())
    left = 0
    if length is not None:
        encoded = body.encode("utf-8")
        if length < len(encoded):
            rest = encoded[length:].decode("utf-8", errors="replace")
            body = encoded[:length].decode("utf-8", errors="replace")
            left = sum(1 for line in rest.splitlines() if line.strip())
    return "\r\n".join(head) + "\r\n\r\n" + body, left
