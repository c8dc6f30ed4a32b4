"""The SIP and server-trace grammars (sip.lark, ocslogger.lark), loaded with the
transformer that reduces each rule straight to tuples.

`recordparse` turns the tuples into model objects, `salvage` reads again what
the grammar rejects, `fastpath` matches plain records with the grammar's own
terminals; all three share the field splitting and the "no body" marks here.
"""

from __future__ import annotations

import functools

from lark import Lark, Transformer

from ..model.grammar import load_grammar

# "Message-Body: -" means no body; copies of traces through web pages
# and word processors turn the hyphen into an en or em dash.
NO_BODY = frozenset({"-", "\u2013", "\u2014"})


def _tv(tok: object) -> str:
    value = getattr(tok, "value", None)     # a Token's text; a plain string is its own
    return value if isinstance(value, str) else str(tok)


def split_field(token_text: str) -> tuple[str, str]:
    """A HEADER_FIELD token → (name, value), folded lines joined by one space.

    The name ends at the first ":" (a token holds no ":", RFC 3261 §25.1);
    folding is equivalent to a single SP (§7.3.1).
    """
    name, _, value = token_text.partition(":")
    value = value.rstrip("\r\n")
    if "\n" in value:
        value = " ".join(part.strip() for part in value.splitlines())
    return name.strip(), value.strip()



def _sip(c, no_body):  # type: ignore[no-untyped-def]
    """("sip", start line, header fields, body) of a message's children; ``no_body`` when it has none."""
    headers = []
    body = no_body
    for item in c[1:]:
        if isinstance(item, tuple):
            headers.append(item)
        else:
            body = item
    return ("sip", c[0], tuple(headers), body)

class RecordBuilder(Transformer):
    """Reduces grammar rules to plain tuples (runs inside the LALR parser)."""

    def first_line(self, c):  # type: ignore[no-untyped-def]
        level, flag = _tv(c[0]), _tv(c[1])
        rest = c[2:]
        machine = _tv(rest[0]) if len(rest) == 5 else None
        pid_tid, stamp, source, tail = rest[-4:]
        return (level, flag, machine, _tv(pid_tid), _tv(stamp), _tv(source), tail)

    def tail(self, c):  # type: ignore[no-untyped-def]
        seq = None
        text = ""
        for tok in c:
            kind = tok.type
            if kind == "SEQUENCE":
                seq = int(tok.value.strip().strip("[]"))
            elif kind == "TAIL_TEXT":
                text = tok.value.strip()
        return (seq, text)

    def field(self, c):  # type: ignore[no-untyped-def]
        return ("field",) + split_field(_tv(c[0]))

    def blank_line(self, c):  # type: ignore[no-untyped-def]
        return None

    def text_line(self, c):  # type: ignore[no-untyped-def]
        return ("text", _tv(c[0]).rstrip("\r\n"))

    def header_field(self, c):  # type: ignore[no-untyped-def]
        return split_field(_tv(c[0]))

    def request_line(self, c):  # type: ignore[no-untyped-def]
        return ("request", _tv(c[0]), _tv(c[1]), _tv(c[2]))

    def status_line(self, c):  # type: ignore[no-untyped-def]
        reason = _tv(c[2]).strip() if len(c) > 2 else ""
        return ("status", _tv(c[0]), int(_tv(c[1])), reason)

    sip__request_line = request_line
    sip__status_line = status_line
    sip__header_field = header_field

    def message_body(self, c):  # type: ignore[no-untyped-def]
        if not c:
            return ""
        body = _tv(c[0])
        if body.strip() in NO_BODY:
            return ""
        return body

    def sip_part(self, c):  # type: ignore[no-untyped-def]
        return _sip(c, None)

    def body(self, c):  # type: ignore[no-untyped-def]
        return _tv(c[0])

    def message(self, c):  # type: ignore[no-untyped-def]
        return _sip(c, "")

    def record(self, c):  # type: ignore[no-untyped-def]
        first = c[0]
        fields = []
        texts = []
        sip = None
        for item in c[1:]:
            if item is None:
                continue
            tag = item[0]
            if tag == "field":
                fields.append((item[1], item[2]))
            elif tag == "text":
                texts.append(item[1])
            elif tag == "sip":
                sip = item
        return (first, tuple(fields), tuple(texts), sip)


@functools.lru_cache(maxsize=None)
def record_parser() -> Lark:
    """Parser of one server-trace record; builds the record without a tree."""
    return load_grammar("ocslogger.lark", "record", transformer=RecordBuilder())


@functools.lru_cache(maxsize=None)
def message_parser() -> Lark:
    """Parser of one bare SIP message (RFC 3261 text)."""
    return load_grammar("sip.lark", "message", transformer=RecordBuilder())
