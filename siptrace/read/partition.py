"""Splitting a server trace's records into parts by Call-ID, so that each part holds whole calls.

Each part's reader sees every record (framed by itself, or by another reader
when a plain file is framed in parts: `siptrace.read.ranges`) but parses only
the records of its part.  All records of one call must land in one part,
so the part is decided by the Call-ID, found with a byte search before any
grammar runs: the first line of the record that is a ``Call-ID:`` (or ``i:``)
header or a diagnostic record's ``SIP-Call-ID:`` field.  A record with no
Call-ID that is plainly neither SIP nor diagnostic (TF_CONNECTION, TF_SECURITY...,
every record of one line) is only counted, so those are spread by a hash of
their first line.  Whatever else has no Call-ID (text outside records, records cut short, SIP or diagnostic
records without one) belongs to part 0, which also keeps the "(no Call-ID)"
bucket whole.  Each piece is in exactly one part, so the counts of all
parts add up to the counts of one reader.  Which process reads which part
is the runner's business (`siptrace.run.parallel`).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from .framing import Piece, RawRecord

_CALL_ID = re.compile(rb"^(?:SIP-Call-ID|Call-ID|i)[ \t]*:[ \t]*([^\r\n]*)", re.M | re.I)
# What may make a record SIP or diagnostic (recordparse.build_record), in any case:
# such a record without a Call-ID goes to the "(no Call-ID)" bucket of part 0.
_JUDGED = re.compile(rb"start-line|tf_diag|tf_component|logtype\s*:\s*diagnostic", re.I)


def call_id_key(data: bytes, start: int = 0, end: int | None = None) -> bytes | None:
    """The Call-ID of a raw record (``data[start:end]``), as bytes, or None when it has none.

    The one the parser takes: the first ``Call-ID`` (or compact ``i``, in any
    case, or a diagnostic record's ``SIP-Call-ID``) line of the headers, folded
    lines joined; a line in the message body does not count.  The common
    spelling is found with a plain search, checked against a pattern over what
    comes before it.
    """
    end = len(data) if end is None else end
    end = _headers_end(data, start, end)
    at = data.find(b"\nCall-ID:", start, end)
    found = _CALL_ID.search(data, start, at + 1 if at != -1 else end)
    if found is not None:
        at, value_at = found.start(), found.start(1)
    elif at != -1:
        value_at = at + 9
    else:
        return None
    eol = data.find(b"\n", value_at, end)
    key = data[value_at:eol if eol != -1 else end].strip()
    while eol != -1 and eol + 1 < end and data[eol + 1] in b" \t":      # a folded value (RFC 3261 7.3.1)
        more = data.find(b"\n", eol + 1, end)
        key = (key + b" " + data[eol + 1:more if more != -1 else end].strip()).strip()
        eol = more
    return key or None


def _headers_end(data: bytes, start: int, end: int) -> int:
    """Where a record's header lines end: its message body (a server trace's ``Message-Body:``
    field, or the blank line of SIP text)."""
    for mark in (b"\nMessage-Body:", b"\n\r\n", b"\n\n"):
        at = data.find(mark, start, end)
        if at != -1:
            end = at + 1
    return end


@dataclass(frozen=True, slots=True)
class Share:
    """Part ``index`` of ``count``: the records whose Call-ID hashes to it (see the module docstring)."""

    index: int
    count: int

    def owns(self, piece: Piece) -> bool:
        if isinstance(piece, RawRecord):
            return self.owns_record(piece.data, 0, len(piece.data))
        return self.index == 0

    def owns_record(self, data: bytes, start: int, end: int) -> bool:
        """Whether the record ``data[start:end]`` is in this part (asked before it is copied)."""
        return self.owner(data, start, end) == self.index

    def owner(self, data: bytes, start: int = 0, end: int | None = None) -> int:
        """The part the record ``data[start:end]`` is in."""
        end = len(data) if end is None else end
        key = call_id_key(data, start, end)
        if key is not None:
            return zlib.crc32(key) % self.count
        eol = data.find(b"\n", start, end)
        # only counted (a record of one line is never SIP or diagnostic): any part may
        if eol in (-1, end - 1) or _JUDGED.search(data, start, end) is None:
            return zlib.crc32(data[start:eol if eol != -1 else end]) % self.count
        return 0

    def owns_call(self, call_id: str | None) -> bool:
        """Whether a message with this Call-ID, found outside any record, is in this part
        (the same hash as a record's, so a call is never split between parts)."""
        if call_id is None:
            return self.index == 0
        return zlib.crc32(call_id.encode("utf-8", "surrogateescape")) % self.count == self.index


__all__ = ["Share", "call_id_key"]
