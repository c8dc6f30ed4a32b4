"""Reading what the grammar refuses: a SIP message with one bad line is still a message.

sip.lark and ocslogger.lark say what a well-formed message is, and nearly
every message is read by them (or by the fast path built from them).  When
one refuses a message, it is read again here line by line with the same
grammar's pieces: the start line through the start-line rule, each header
through the HEADER_FIELD terminal.  Every header that can be read is kept,
and each line that cannot is named as a problem of the message, because the
line next to it may be the `ms-diagnostics` that explains the call:

* a line that is not ``Name: value`` among the headers: left out, named;
* a body with no empty line before it (SDP, XML or a multipart boundary
  right after the headers of a message that has a Content-Type or a
  Content-Length above 0): read as the body from there, named;
* in a server-trace record, where the body follows ``Message-Body:``, an
  empty line among the headers (pasted Lync 2010 traces break long
  ``Proxy-Authorization`` values this way): the line after it, when it is no
  header, goes on the value of the header before, named.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from lark.exceptions import LarkError

from .sipgrammar import NO_BODY, message_parser, split_field

_MESSAGE_BODY = "Message-Body:"
# what a body's first line looks like: SDP "v=0", XML, a multipart boundary, JSON
_BODY_START = re.compile(r"[a-z]=\S|<\?xml|<[A-Za-z]|--\S|\{")


@dataclass(frozen=True)
class Salvaged:
    """A message read past the lines the grammar refused."""

    start: tuple
    headers: tuple[tuple[str, str], ...]
    body: str
    problems: tuple[str, ...]
    first_bad: int | None = None     # index of the first line that could not be read (0 = start line)


@functools.lru_cache(maxsize=None)
def _header_field() -> re.Pattern[str]:
    for term in message_parser().terminals:
        if term.name == "HEADER_FIELD":
            return re.compile(term.pattern.to_regexp())
    raise KeyError("HEADER_FIELD")   # pragma: no cover - the grammar defines it


def read_start_line(line: str) -> tuple | None:
    """The start line as `RecordBuilder` shapes it, or None when sip.lark refuses it."""
    try:
        parsed = message_parser().parse(line.rstrip("\r\n") + "\r\n")
    except LarkError:
        return None
    return cast(tuple, parsed)[1]     # what `RecordBuilder` made of the tree


def line_namer(first_line: int | None = None, numbers: Sequence[int] | None = None) -> Callable[[int], str]:
    """How a problem names the message's line ``i`` (0 = start line): its line in the file when known."""
    if numbers is not None:
        return lambda i: f"line {numbers[min(i, len(numbers) - 1)]}" if numbers else f"line {i + 1} of the message"
    if first_line is not None and first_line > 0:
        return lambda i: f"line {first_line + i}"
    return lambda i: f"line {i + 1} of the message"


def _split(token: str) -> tuple[str, str]:
    return split_field(token)


def _wants_body(headers: list[tuple[str, str]]) -> bool:
    for name, value in headers:
        low = name.strip().lower()
        if low in ("content-type", "c"):
            return True
        if low in ("content-length", "l") and value.strip().isdigit() and int(value.strip()) > 0:
            return True
    return False


def salvage(text: str, where: Callable[[int], str], record: bool = False) -> Salvaged | None:
    """The message in ``text`` read line by line; None when its first line is no start line.

    ``record``: the text is a server-trace record's SIP part (from the start
    line to before ``$$end_record``), whose body follows ``Message-Body:``.
    """
    first_end = text.find("\n")
    start = read_start_line(text if first_end == -1 else text[:first_end])
    if start is None:
        return None
    field = _header_field()
    headers: list[tuple[str, str]] = []
    problems: list[str] = []
    first_bad: int | None = None
    body = ""
    n = len(text)
    pos = n if first_end == -1 else first_end + 1
    index = 1

    def line_at(at: int) -> tuple[str, int]:
        end = text.find("\n", at)
        stop = n if end == -1 else end + 1
        return text[at:stop].rstrip("\r\n"), stop

    while pos < n:
        line, stop = line_at(pos)
        if record and line.startswith(_MESSAGE_BODY):
            body = text[pos + len(_MESSAGE_BODY):]
            body = body[1:] if body[:1] in (" ", "\t") else body
            body = "" if body.strip() in NO_BODY else body
            break
        if not line.strip():
            if not record:                       # the empty line before the body (RFC 3261 §7)
                body = text[stop:]
                break
            pos, index = stop, index + 1
            if pos >= n:
                break
            following, after = line_at(pos)
            if headers and following.strip() and not field.match(text, pos) \
                    and not following.startswith(_MESSAGE_BODY):
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {following.strip()}".strip())
                problems.append(f"{where(index)}: the {name} value goes on after an empty line")
                first_bad = index if first_bad is None else first_bad
                pos, index = after, index + 1
            elif following.strip():
                problems.append(f"{where(index - 1)}: empty line among the SIP headers")
            continue
        m = field.match(text, pos)
        if m is not None:
            headers.append(_split(m.group()))
            index += m.group().count("\n")
            pos = m.end()
            continue
        first_bad = index if first_bad is None else first_bad
        if not record and _BODY_START.match(line) and _wants_body(headers):
            problems.append(f"{where(index)}: the body starts without the empty line before it")
            body = text[pos:]
            break
        problems.append(f"{where(index)} is not a header field (Name: value): {_clip(line)!r}")
        pos, index = stop, index + 1
    return Salvaged(start=start, headers=tuple(headers), body=body, problems=tuple(problems),
                    first_bad=first_bad)


def caret(text: str, index: int, where: Callable[[int], str]) -> str:
    """The line ``index`` of a message with a caret under its start, and what was expected there."""
    lines = text.split("\n")
    line = lines[index].rstrip("\r") if index < len(lines) else ""
    label = f"{where(index)}: "
    return (f"{label}{_clip(line, 70)}\n{' ' * len(label)}^\n"
            "expected a header field (Name: value), the empty line before the body, or the end of the message")


def _clip(text: str, width: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= width else text[: width - 1] + "…"
