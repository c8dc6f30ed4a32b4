"""Bare SIP text: messages copied from Snooper, an RFC, a mail or a web page; syslog and Expressway forms.

Wrappers are undone before the SIP grammar sees a message:

* syslog: one message per syslog line, control characters written as
  rsyslog's ``#ooo`` octal escapes (a line end is ``#015#012``; relays that
  turned the CR into a blank give ``#015 `` or `` #012``), the start line on
  the same line after the syslog prefix (``Mon dd hh:mm:ss host prog[pid]:``,
  an ISO time, ``<PRI>``, a Kamailio ``INFO: <script>:``...) or after an
  AudioCodes ``---- Incoming SIP Message ... ----`` banner.  A syslog line
  ends the message before it, so a message cut at the syslog line limit (no
  empty line at its end) never takes the next line's prefix as a header;
* the Cisco Expressway log: `` SIPMSG:`` then the message, its first line
  behind `` |`` and every other line indented by one blank;
* indentation: a message whose lines are all indented alike (1 to 8 blanks
  or a tab, as documentation prints log excerpts) is read without it; it
  ends at the first line that lacks the indent.  More indent than that is
  folding (RFC 3261 §7.3.1), as everywhere;
* line breaks lost by a web page (header lines run together), restored
  before the names of common headers;
* nothing at all: messages separated by blank lines or marker lines.

A message starts at a line the SIP grammar accepts as a start line (any
SIP version: a SIP/7.0 request is read and its version named as a problem)
and runs to the next one, a marker line or the end of its syslog line; its
body is what follows the first blank line, cut to Content-Length when that
is shorter (a longer Content-Length marks the body as cut short).  A line
that is not a header among the headers costs that line, not the message
(see `salvage`).  Lines outside messages are skipped and counted.
"""

from __future__ import annotations

import functools
import os
import re
from datetime import datetime, timedelta, timezone
from collections.abc import Iterable, Iterator

from lark import Lark
from lark.exceptions import LarkError

from ..model.grammar import load_grammar
from .sipgrammar import message_parser
from . import framing
from .inputs import LongLine, counted_lines
from ..model.sip import Item, Origin, Skipped
from .recordparse import parse_message_text

WHAT = "SIP text"      # names this reader in skip reasons

_SYSLOG_ESCAPE = re.compile(r"#([0-3][0-7]{2})")


def unescape_syslog(line: str) -> str:
    """rsyslog ``#ooo`` escapes back to characters (``#015#012``, ``#015 ``, and `` #012`` where no ``#015`` is: CRLF)."""
    line = line.replace("#015#012", "\n").replace("#015 ", "\n")
    if "#015" not in line:
        line = line.replace(" #012", "\n")     # the CR turned into a blank (AudioCodes syslog)
    line = line.replace("#012", "\n")
    return _SYSLOG_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), line)


# The header of a syslog line (RFC 3164 "Mmm dd hh:mm:ss host tag[pid]:", an ISO
# time as rsyslog writes it, an optional "<PRI>" and RFC 5424 version): a syslog
# line always starts something new.
_SYSLOG_PREFIX = re.compile(
    r"(?:<\d{1,3}>\d?\s*)?"
    r"(?:[A-Z][a-z]{2}\s+\d{1,2}\s+\d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    r"\s+\S+\s+[^\s:\[]+(?:\[\d+\])?:\s")
# AudioCodes: "(N  6891753) ---- Incoming SIP Message from 1.2.3.4:5061 to SIPInterface #2 (Teams) TLS ... ----"
# before the message, and " [Time:19-12@12:44:56.587]" after it: the wrapper, not text of the message.
_BANNER = re.compile(r".*----.*\bSIP Message\b.*----\s*")
_TRAILER = re.compile(r"\s*\[Time:[^\]]*\]\s*")


@functools.lru_cache(maxsize=None)
def _start_at_end() -> re.Pattern[str]:
    """A start line at the end of a line, after whatever prefix, from sip.lark's own terminals."""
    pat = {t.name: t.pattern.to_regexp() for t in message_parser().terminals}
    sp = "[ ]"
    request = f"(?:{pat['METHOD']}){sp}(?:{pat['REQUEST_URI']}){sp}(?:{pat['SIP_VERSION']})[ \\t]*"
    status = f"(?:{pat['SIP_VERSION']}){sp}(?:{pat['STATUS_CODE']})(?:{pat['REASON']})?"
    return re.compile(f"(?:(?<=[\\s:>\\]])|^)((?:{request})|(?:{status}))$")


def start_line_after_prefix(line: str) -> str | None:
    """The start line that ends ``line`` after some prefix (syslog, program, log level), or None."""
    if "SIP/" not in line:
        return None
    for m in _start_at_end().finditer(line):
        if is_start_line(m.group(1)):
            return m.group(1)
    return None


@functools.lru_cache(maxsize=None)
def _start_parser() -> Lark:
    return load_grammar("sip.lark", "start_line")


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


_TITLED_MARKER = re.compile(r"\s*([-=*#_~])\1{2,}\s.*\s\1{3,}\s*")


def _is_marker(line: str) -> bool:
    """A separator line between pasted messages: ----, ====, ****, ####, or one with a title, "--- reply ---"."""
    stripped = line.strip()
    if len(stripped) >= 3 and len(set(stripped)) == 1 and stripped[0] in "-=*#_~":
        return True
    return stripped[:3] in ("---", "===", "***", "###", "___", "~~~") and _TITLED_MARKER.fullmatch(line) is not None


Line = tuple[int, int, "str | None"]     # (line, byte offset, text); None: a message ends here


def _syslog_parts(line: str) -> list[str]:
    """One escaped syslog line → its lines, the prefix before the start line and the wrappers left out."""
    parts = [part.rstrip("\r") for part in unescape_syslog(line).split("\n")]
    if parts and not is_start_line(parts[0]):
        found = start_line_after_prefix(parts[0])
        if found is not None:
            parts[0] = found
    return [part for part in parts if not (_BANNER.fullmatch(part) or _TRAILER.fullmatch(part))]


_MONTHS = {m: n for n, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                        "Nov", "Dec"), start=1)}
_ISO_TIME = re.compile(r"(?:<\d{1,3}>\d?\s*)?(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,6})\d*)?"
                       r"(Z|[+-]\d\d:?\d\d)?")
_BSD_TIME = re.compile(r"(?:<\d{1,3}>\d?\s*)?([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)")


def syslog_time(line: str, year: int | None = None) -> datetime | None:
    """The time of a syslog line's prefix, in UTC: RFC 3339 times with their offset; the classic
    ``Mmm dd hh:mm:ss`` (no year, no zone) taken as UTC in ``year`` (default: the latest year
    in which that date is not in the future)."""
    iso = _ISO_TIME.match(line)
    if iso is not None:
        y, mo, d, h, mi, sec, frac, zone = iso.groups()
        tz = timezone.utc
        if zone and zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            digits = zone[1:].replace(":", "")
            tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        try:
            when = datetime(int(y), int(mo), int(d), int(h), int(mi), int(sec),
                            int((frac or "0").ljust(6, "0")), tzinfo=tz)
        except ValueError:
            return None
        return when.astimezone(timezone.utc)
    bsd = _BSD_TIME.match(line)
    if bsd is None or bsd.group(1) not in _MONTHS:
        return None
    mon, day, h, mi, sec = _MONTHS[bsd.group(1)], int(bsd.group(2)), int(bsd.group(3)), int(bsd.group(4)), \
        int(bsd.group(5))
    now = datetime.now(timezone.utc)
    for y in ((year,) if year else (now.year, now.year - 1)):
        try:
            when = datetime(y, mon, day, h, mi, sec, tzinfo=timezone.utc)
        except ValueError:
            continue
        if year or when <= now + timedelta(days=1):
            return when
    return None


def _logical_lines(stream: Iterable[bytes], longs: list[tuple[int, int, int]] | None = None,
                   first_line: int = 1, first_offset: int = 0,
                   clock: list | None = None) -> Iterator[Line]:
    """(line, byte offset, text) with syslog escapes and Expressway indents undone; None ends a message.

    A line too long to hold (`LongLine`) ends a message and goes to ``longs``
    as (line, offset, length) before its None is yielded.  ``clock[0]`` is set
    to the time of each syslog line's prefix before its text is yielded (the
    time of the message that line starts).
    """
    offset = first_offset
    in_sipmsg = False
    for lineno, raw in enumerate(stream, start=first_line):
        here = offset
        if isinstance(raw, LongLine):
            offset += raw.size
            if longs is not None:
                longs.append((lineno, here, raw.size))
            in_sipmsg = False
            yield lineno, here, None
            continue
        offset += len(raw)
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        if clock is not None and line[:1] in "<0123456789ADFJMNOS" and _SYSLOG_PREFIX.match(line):
            clock[:] = [syslog_time(line), lineno]
        if "#015" in line or "#012" in line:
            yield lineno, here, None           # a syslog line holds one message at most
            for part in _syslog_parts(line):
                yield lineno, here, part
            yield lineno, here, None
            continue
        prefix = _SYSLOG_PREFIX.match(line)
        if prefix is not None:
            # rsyslog without escapes: the start line after the prefix, the rest on the lines below
            yield lineno, here, None
            rest = line[prefix.end():]
            yield lineno, here, rest if is_start_line(rest) else (start_line_after_prefix(rest) or line)
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


def _indent(line: str) -> tuple[str, str]:
    """(indent, rest): the indent is 1 to 8 blanks or one tab, as documents print log excerpts."""
    rest = line.lstrip(" \t")
    lead = line[: len(line) - len(rest)]
    if lead == "\t" or (0 < len(lead) <= 8 and lead.strip(" ") == ""):
        return lead, rest
    return "", line


def read_embedded(data: bytes, name: str, first_line: int, first_offset: int) -> list[Item]:
    """Bare SIP text found inside another format (pasted between a server trace's records):
    its messages and skips, placed at their own lines of the file; nothing is counted here."""
    lines = data.splitlines(keepends=True)
    return list(read_sip_text(lines, name, _Uncounted(), first_line=first_line, first_offset=first_offset))


class _Uncounted:
    """Stands in for `InputStats` where the caller counts the items itself."""

    bytes = 0
    lines = 0

    def count(self, item: Item) -> None:
        pass


def read_sip_text(stream: Iterable[bytes], name: str, stats, *,  # type: ignore[no-untyped-def]
                  first_line: int = 1, first_offset: int = 0) -> Iterator[Item]:
    """Items of a bare-SIP text: one `SipMessage` per message, `Skipped` for the rest."""
    current: list[str] = []
    numbers: list[int] = []
    started: tuple[int, int] | None = None
    indent = ""
    other: tuple[int, int] | None = None
    other_lines = 0
    clock: list = [None, 0]                    # the time of the last syslog prefix, and its line
    when: datetime | None = None               # the time of the message being gathered

    def emit() -> Iterator[Item]:
        nonlocal current, numbers, started
        if started is not None:
            text, left = _assemble(_dedent(current))
            item = parse_message_text(text, Origin(name, started[0], started[1]), when, what=WHAT,
                                      line_numbers=numbers)
            stats.count(item)
            yield item
            if left:
                extra = Skipped(origin=Origin(name, started[0], started[1]),
                                reason=f"{WHAT}: text after a SIP message's body (beyond its Content-Length)",
                                context=f"{left} line(s)")
                stats.count(extra)
                yield extra
        current, numbers, started = [], [], None

    def emit_other() -> Iterator[Item]:
        nonlocal other, other_lines
        if other is not None:
            item = Skipped(origin=Origin(name, other[0], other[1]), reason=f"{WHAT}: text outside any SIP message",
                           context=f"{other_lines} line(s)")
            stats.count(item)
            yield item
        other, other_lines = None, 0

    longs: list[tuple[int, int, int]] = []
    for lineno, offset, line in _logical_lines(counted_lines(stream, stats), longs, first_line, first_offset,
                                               clock):
        if line is None:
            yield from emit()
            if longs:
                yield from emit_other()
                for at, where, size in longs:
                    item = Skipped(origin=Origin(name, at, where), reason=f"{WHAT}: {framing.long_line_reason()}",
                                   context=f"{size:,} bytes")
                    stats.count(item)
                    yield item
                longs.clear()
            continue
        if started is not None and indent and line.strip() and not line.startswith(indent):
            yield from emit()                 # an indented message ends where its indent does
        lead, rest = _indent(line) if line[:1] in (" ", "\t") else ("", line)
        if is_start_line(rest):
            yield from emit()
            yield from emit_other()
            current, numbers, started, indent = [rest], [lineno], (lineno, offset), lead
            when = clock[0] if clock[1] == lineno else None
        elif _is_marker(line):
            yield from emit()
        elif started is not None:
            current.append(line[len(indent):] if indent and line.startswith(indent) else line)
            numbers.append(lineno)
        elif line.strip():
            if other is None:
                other = (lineno, offset)
            other_lines += 1
    yield from emit()
    yield from emit_other()


def _dedent(lines: list[str]) -> list[str]:
    """Headers indented alike under a start line that is not (a pasted excerpt): the indent removed."""
    head = []
    for line in lines[1:]:
        if not line.strip():
            break
        head.append(line)
    if not head or not all(line[:1] in (" ", "\t") for line in head):
        return lines
    lead = _indent(os.path.commonprefix(head))[0]
    if not lead:
        return lines
    return lines[:1] + [line[len(lead):] if line.startswith(lead) else line for line in lines[1:]]


def _assemble(lines: list[str]) -> tuple[str, int]:
    """The message text (headers, blank line, body cut to Content-Length when shorter) and the
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
