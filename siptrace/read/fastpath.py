"""A fast path through ocslogger.lark for the records that follow it plainly.

Why: Lark's LALR parser costs a few microseconds per token, and a day of
traces has tens of millions of lines.  The record grammar is regular, so the
common record can be read by matching the grammar's *own* terminals (taken
from the built Lark parser, never written a second time) in the order the
grammar allows them.  Whatever this path is not sure of, it gives up on
(returns None), and the full Lark parser decides, with its error message.
A test parses every sample and damaged input both ways and compares.
"""

from __future__ import annotations

import re
from typing import Any

from lark import Lark

from .sipgrammar import NO_BODY, split_field




_NAMES = 4096   # field names remembered as valid: a trace has a few dozen


class FastRecordParser:
    """Same result as the Lark record parser with `RecordBuilder`, or None."""

    def __init__(self, lark: Lark) -> None:
        pat = {t.name: t.pattern.to_regexp() for t in lark.terminals}

        def term(name: str) -> str:
            return f"(?:{pat[name]})"

        self._first = re.compile(
            f"({term('LEVEL')})\\(({term('FLAG')})\\){term('_WS')}?\\[({term('MACHINE')})?\\]"
            f"({term('PID_TID')})::({term('TIMESTAMP')}){term('_WS')}({term('SOURCE')})")
        self._sequence = re.compile(term("SEQUENCE"))
        self._begin = re.compile(term("BEGIN_RECORD"))
        self._tail_text = re.compile(f"({term('TAIL_TEXT')}){term('_EOL')}")
        self._field = re.compile(term("HEADER_FIELD"))
        # A run of plain one-line fields is split at line ends and first
        # colons; each name (with the blanks before its colon) is checked
        # against HEADER_FIELD's own name pattern once, then remembered.
        head, colon, _ = pat["HEADER_FIELD"].partition(":")
        self._name = re.compile(head) if colon else None
        self._names: set[str] = set()
        self._text_line = re.compile(term("TEXT_LINE"))
        self._blank = re.compile(term("_BLANK_LINE"))
        self._start_key = re.compile(term("_START_LINE_KEY"))
        self._body_key = re.compile(term("_MESSAGE_BODY_KEY"))
        self._body = re.compile(term("BODY_TEXT"))
        self._end = re.compile(term("_END_RECORD"))
        sp, ws, eol = term("_sip__SP"), term("_sip__WS"), term("_EOL")
        self._request = re.compile(
            f"({term('sip__METHOD')}){sp}({term('sip__REQUEST_URI')}){sp}({term('sip__SIP_VERSION')}){ws}?{eol}")
        self._status = re.compile(
            f"({term('sip__SIP_VERSION')}){sp}({term('sip__STATUS_CODE')})({term('sip__REASON')})?{eol}")

    def parse(self, text: str) -> tuple[Any, ...] | None:
        m = self._first.match(text)
        if m is None:
            return None
        level, flag, machine, pid_tid, stamp, source = m.groups()
        pos = m.end()
        seq_m = self._sequence.match(text, pos)
        sequence = None
        if seq_m is not None:
            sequence = int(seq_m.group().strip().strip("[]"))
            pos = seq_m.end()
        tail = ""
        begin = self._begin.match(text, pos)
        if begin is not None:
            pos = begin.end()
        else:
            t = self._tail_text.match(text, pos)
            if t is None:
                return None
            tail = t.group(1).strip()
            pos = t.end()
        first = (level, flag, machine, pid_tid, stamp, source, (sequence, tail))
        if begin is None and pos == len(text):      # a record of one line (one_line)
            return (first, (), (), None)

        fields: list[tuple[str, str]] = []
        texts: list[str] = []
        end = self._end
        field = self._field
        n = len(text)
        # -- key/value fields, up to Start-Line or $$end_record --------------
        pos = self._plain_fields(text, pos, ("\nStart-Line:", "\n$$end_record"), fields)
        while True:
            if pos >= n:
                return None
            if text.startswith("Start-Line:", pos):
                break
            if text.startswith("$$end_record", pos):
                e = end.match(text, pos)
                if e is None or e.end() != n:
                    return None
                return (first, tuple(fields), tuple(texts), None)
            f = field.match(text, pos)
            if f is not None:
                fields.append(split_field(f.group()))
                pos = f.end()
                continue
            b = self._blank.match(text, pos)
            if b is not None:
                pos = b.end()
                continue
            t = self._text_line.match(text, pos)
            if t is None:
                return None
            texts.append(t.group().rstrip("\r\n"))
            pos = t.end()
        # -- the SIP message ---------------------------------------------------
        k = self._start_key.match(text, pos)
        if k is None:
            return None
        pos = k.end()
        r = self._request.match(text, pos)
        if r is not None:
            start: tuple[Any, ...] = ("request", r.group(1), r.group(2), r.group(3))
            pos = r.end()
        else:
            s = self._status.match(text, pos)
            if s is None:
                return None
            start = ("status", s.group(1), int(s.group(2)), (s.group(3) or "").strip())
            pos = s.end()
        headers: list[tuple[str, str]] = []
        body = None
        pos = self._plain_fields(text, pos, ("\nMessage-Body:", "\n$$end_record"), headers)
        while True:
            if pos >= n:
                return None
            if text.startswith("$$end_record", pos):
                break
            if text.startswith("Message-Body:", pos):
                k = self._body_key.match(text, pos)
                pos = k.end()  # type: ignore[union-attr]
                b = self._body.match(text, pos)
                body = ""
                if b is not None:
                    body = b.group()
                    pos = b.end()
                    if body.strip() in NO_BODY:
                        body = ""
                break
            f = field.match(text, pos)
            if f is None:
                return None
            headers.append(split_field(f.group()))
            pos = f.end()
        e = end.match(text, pos)
        if e is None or e.end() != n:
            return None
        return (first, tuple(fields), tuple(texts), ("sip", start, tuple(headers), body))

    def _plain_fields(self, text: str, pos: int, stops: tuple[str, str], out: list[tuple[str, str]]) -> int:
        """Add the fields from ``pos`` up to the first ``stops`` line to ``out``; the position after them.

        Only when every line there is a one-line field (no folding, no stray
        CR); otherwise nothing is added and the loops go field by field.
        """
        if self._name is None:
            return pos
        first, other = stops
        end = text.find(first, pos - 1)
        earlier = text.find(other, pos - 1, len(text) if end == -1 else end)   # only up to the first stop
        if earlier != -1:
            end = earlier
        if end == -1:
            return pos
        end += 1
        block = text[pos:end]
        if "\r" in block:
            block = block.replace("\r\n", "\n")
            if "\r" in block:
                return pos
        lines = block.split("\n")
        lines.pop()
        names = self._names
        found = []
        for line in lines:
            name, colon, value = line.partition(":")
            if not colon:
                return pos
            if name not in names:
                if self._name.fullmatch(name) is None:
                    return pos
                if len(names) < _NAMES:
                    names.add(name)
            found.append((name.rstrip(" \t"), value.strip()))
        out.extend(found)
        return end
