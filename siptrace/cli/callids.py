"""``--call-id`` takes a unique prefix of a Call-ID (``5a33``) in every command.

A prefix that names no call, or several, is an error (exit 2) that lists the
candidates, so no command silently prints nothing or "No problems found."
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from ..model.errors import SiptraceError
from ..model.sip import DiagRecord, SipMessage
from ..model.words import plural
from ..read.reader import Reader

SHOWN = 8     # candidates listed in an error


def call_ids_in(files: Sequence[str], input_format: str | None) -> list[str]:
    """Every Call-ID of the inputs, in the order first seen."""
    seen: dict[str, None] = {}
    for item in Reader(list(files), input_format):
        if isinstance(item, (SipMessage, DiagRecord)) and item.call_id:
            seen.setdefault(item.call_id, None)
    return list(seen)


def resolve(given: str, known: Iterable[str]) -> str:
    """The one Call-ID that is ``given`` or starts with it (case-insensitive)."""
    known = list(dict.fromkeys(known))
    if given in known:
        return given
    low = given.lower()
    matches = [c for c in known if c.lower().startswith(low)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = ", ".join(matches[:SHOWN]) + (", …" if len(matches) > SHOWN else "")
        raise SiptraceError(f"Call-ID {given!r} is the start of {plural(len(matches), 'call')}: {listed}",
                            hint="Give more of it")
    if not known:
        raise SiptraceError(f"no call with Call-ID {given!r}: the input has no SIP messages",
                            hint="'siptrace stats FILE' shows what was read")
    close = difflib.get_close_matches(given, known, n=3, cutoff=0.5)
    listed = ", ".join(close or known[:SHOWN]) + ("" if close or len(known) <= SHOWN else ", …")
    what = "Did you mean" if close else f"The input has {plural(len(known), 'call')}:"
    raise SiptraceError(f"no call with Call-ID {given!r} in the input",
                        hint=f"{what} {listed}{'?' if close else ''} ('siptrace messages FILE' lists them)")


def resolve_all(given: Sequence[str], files: Sequence[str], input_format: str | None) -> tuple[str, ...]:
    """Each given Call-ID or prefix as the full Call-ID (one reading of the inputs, only when asked)."""
    if not given:
        return ()
    known = call_ids_in(files, input_format)
    return tuple(dict.fromkeys(resolve(g, known) for g in given))
