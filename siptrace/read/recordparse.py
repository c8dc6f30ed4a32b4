"""One record's text → a model object, through ocslogger.lark / sip.lark.

The Lark parsers run LALR with `sipgrammar.RecordBuilder` as an inline
transformer, so no parse tree is ever built: each rule reduces straight to
tuples, and `build_record` turns those into `SipMessage`, `DiagRecord` or
`Record`.  Grammar rejections are read again by `salvage` when they hold a SIP
message (one bad line costs that line, not the message); what still cannot
be read becomes a `Skipped` item that names the format being read and
carries a caret context saying what was expected.  Nothing here raises on
bad content.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from datetime import datetime, timezone

from lark.exceptions import LarkError, UnexpectedInput

from ..model import values
from .salvage import caret, line_namer, salvage
from .sipgrammar import message_parser, record_parser
from .validate import problems, unplaceable
from ..model.sip import (
    CSeq, DiagRecord, Direction, Headers, Kind, Origin, Peer, Record, SipMessage,
    Skipped, TraceDirection,
)

_DIAG_FLAGS = frozenset({"TF_DIAG", "TF_COMPONENT"})


@functools.lru_cache(maxsize=4096)
def _day(date: str) -> tuple[int, int, int]:
    month, day, year = date.split("/")
    return int(year), int(month), int(day)


def parse_timestamp(stamp: str) -> tuple[datetime, int | None]:
    """``MM/DD/YYYY-hh:mm:ss.mmm.counter`` (UTC) → (aware datetime, counter).

    The grammar's TIMESTAMP has fixed places, so the common stamp is turned
    into ISO 8601 for the C parser; an impossible date goes the long way, whose
    error says what is wrong.
    """
    frac, _, counter = stamp[20:].partition(".")
    try:
        when = datetime.fromisoformat(f"{stamp[6:10]}-{stamp[0:2]}-{stamp[3:5]}T{stamp[11:19]}.{frac}+00:00")
    except ValueError:
        return _parse_timestamp(stamp)
    return when, (int(counter, 16) if counter else None)


def _parse_timestamp(stamp: str) -> tuple[datetime, int | None]:
    date, _, clock = stamp.partition("-")
    year, month, day = _day(date)
    hms, _, frac = clock.partition(".")
    frac, _, counter = frac.partition(".")
    micro = int((frac + "000000")[:6])
    when = datetime(year, month, day, int(hms[0:2]), int(hms[3:5]), int(hms[6:8]), micro, tzinfo=timezone.utc)
    return when, (int(counter, 16) if counter else None)


@functools.lru_cache(maxsize=4096)
def _split_source(source: str) -> tuple[str, str, str, int | None]:
    """``(SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))``."""
    inner = source[1:-1]
    component, _, rest = inner.partition(",")
    line = None
    if rest.endswith(")") and "(" in rest:
        rest, _, num = rest[:-1].rpartition("(")
        line = int(num) if num.isdigit() else None
    function, _, src_file = rest.rpartition(":")
    if not function:
        function, src_file = src_file, ""
    return component.strip(), function.strip(), src_file.strip(), line


@functools.lru_cache(maxsize=4096)
def parse_direction(text: str | None) -> TraceDirection | None:
    """``incoming;source="internal edge";destination="external edge"``."""
    if not text:
        return None
    parsed = values.parse_lead_params(text)
    lead, params = parsed if parsed else (text.split(";", 1)[0], ())
    lead = (lead or "").strip().lower()
    direction = Direction(lead) if lead in ("incoming", "outgoing") else None
    from ..model.sip import param_of

    return TraceDirection(direction=direction, text=text, source=param_of(params, "source"),
                          destination=param_of(params, "destination"))


@functools.lru_cache(maxsize=4096)
def parse_peer(text: str | None) -> Peer | None:
    if not text:
        return None
    host, port = values.split_hostport(text.replace(" ", ""))
    return Peer(host=host, port=port) if host else None


def _data_pairs(text: str | None) -> tuple[tuple[str, str], ...]:
    if not text:
        return ()
    parsed = values.lead_params(";" + text)   # Data values rarely repeat: not cached
    if not parsed:
        return (("", text),)
    return tuple((k, (v or "").strip()) for k, v in parsed[1])


def _sip_message(origin: Origin, when: datetime | None, sip: tuple, record: Record | None,
                 direction: TraceDirection | None = None, peer: Peer | None = None,
                 src: Peer | None = None, dst: Peer | None = None,
                 problems: tuple[str, ...] = ()) -> SipMessage:
    _, start, headers, body = sip
    common = dict(origin=origin, time=when, headers=Headers(headers), body=body or "",
                  direction=direction, peer=peer, record=record, src=src, dst=dst, problems=problems)
    if start[0] == "request":
        _, method, uri, version = start
        line = f"{method} {uri} {version}"
        return SipMessage(start_line=line, method=method, request_uri=uri, version=version, **common)
    _, version, status, reason = start
    line = f"{version} {status} {reason}".rstrip()
    return SipMessage(start_line=line, status=status, reason=reason, version=version, **common)


def build_record(parsed: tuple, origin: Origin) -> SipMessage | DiagRecord | Record:
    """Tuples from `RecordBuilder.record` → the model object for this record."""
    first, fields, texts, sip = parsed
    level, flag, machine, pid_tid, stamp, source, (sequence, tail) = first
    when, counter = parse_timestamp(stamp)
    pid, _, tid = pid_tid.partition(".")
    component, function, src_file, src_line = _split_source(source)
    by_name = {k.lower(): v for k, v in fields}
    # a record of one line (Lync 2010's "... From client connection, CID [0x2F]") names no call
    is_diag = sip is None and bool(fields or texts) and (
        flag in _DIAG_FLAGS or by_name.get("logtype", "").lower() == "diagnostic")
    kind = Kind.SIP if sip is not None else Kind.DIAGNOSTIC if is_diag else Kind.OTHER
    record = Record(origin=origin, time=when, level=level, flag=flag, machine=machine,
                    pid=int(pid, 16), tid=int(tid, 16), sequence=counter if sequence is None else sequence,
                    component=component, function=function, source_file=src_file,
                    source_line=src_line, tail=tail, fields=fields, text_lines=texts, kind=kind)
    if sip is not None:
        return _sip_message(origin, when, sip, record,
                            direction=parse_direction(by_name.get("direction")),
                            peer=parse_peer(by_name.get("peer")))
    if is_diag:
        text = by_name.get("text")
        code_field = by_name.get("result-code")
        result = (values.find_result_code("Result-Code: " + code_field) if code_field else None) \
            or values.find_result_code(text) or values.find_result_code(tail)
        if text and "Result-Code:" in text:
            text = text[: text.find("Result-Code:")].rstrip()
        cseq_text = by_name.get("sip-cseq")
        cseq: CSeq | None = values.parse_cseq(cseq_text) if cseq_text else None
        call_id = by_name.get("sip-call-id")
        return DiagRecord(origin=origin, time=when, record=record, severity=by_name.get("severity"),
                          text=text, result_code=result, sip_start_line=by_name.get("sip-start-line"),
                          call_id=call_id.strip() if call_id else None, cseq=cseq,
                          peer=parse_peer(by_name.get("peer")), data=_data_pairs(by_name.get("data")))
    return record


# What the grammars' terminals are, in words, for "expected ..." in a caret context.
_EXPECTED = {
    "HEADER_FIELD": "a header field (Name: value)", "sip__HEADER_FIELD": "a header field (Name: value)",
    "_END_RECORD": "$$end_record", "_START_LINE_KEY": "Start-Line:", "_MESSAGE_BODY_KEY": "Message-Body:",
    "TEXT_LINE": "a line of text", "_BLANK_LINE": "an empty line", "_EOL": "the end of the line",
    "_sip__EOL": "the end of the line", "BODY": "the body", "LEVEL": "a level (TL_INFO, TL_ERROR ...)",
    "sip__METHOD": "a method", "METHOD": "a method", "sip__SIP_VERSION": "SIP/2.0", "SIP_VERSION": "SIP/2.0",
    "sip__STATUS_CODE": "a 3-digit status code", "STATUS_CODE": "a 3-digit status code",
    "sip__REQUEST_URI": "a Request-URI", "REQUEST_URI": "a Request-URI",
}


def _expected(err: UnexpectedInput) -> str:
    names = getattr(err, "expected", None) or getattr(err, "allowed", None) or ()
    words = sorted({_EXPECTED.get(name, name.strip("_").replace("sip__", "").lower().replace("_", " "))
                    for name in names})
    return f"expected {', '.join(words)}" if words else ""


def describe_error(err: LarkError, text: str, what: str = "server trace") -> tuple[str, str]:
    """A person's reason (naming ``what`` was being read) and the caret context of a grammar rejection."""
    if isinstance(err, UnexpectedInput):
        line = getattr(err, "line", None)
        try:
            context = err.get_context(text, span=60)
        except Exception:  # pragma: no cover - context is best effort
            context = ""
        expected = _expected(err)
        if expected:
            context = context.rstrip("\n") + "\n" + expected
        bad_line = ""
        if line and line > 0:
            lines = text.splitlines()
            if line <= len(lines):
                bad_line = lines[line - 1]
        record = what == "server trace"
        where = (f" at record line {line}" if record else f" at line {line}") if line and line > 0 else ""
        if line == 1:
            reason = ("first line is not a trace record header (LEVEL(FLAG) [..]PID.TID::timestamp (source))"
                      if record else "first line is not a SIP request or status line")
        elif bad_line.startswith("Start-Line:"):
            reason = "Start-Line is not a SIP request or status line"
        elif bad_line and ":" not in bad_line and not bad_line[:1].isspace():
            reason = f"line without 'Name: value' among the SIP headers{where}"
        else:
            reason = f"record does not follow the trace grammar{where}" if record else f"not SIP{where}"
        return reason, context
    return f"grammar error: {err}", ""


@functools.lru_cache(maxsize=None)
def _fast():  # type: ignore[no-untyped-def]
    from .fastpath import FastRecordParser

    return FastRecordParser(record_parser())


def warm_up() -> None:
    """Build the record parsers now (before worker processes fork and share them)."""
    record_parser()
    _fast()
    values.warm_up()


def parse_record_tuples(text: str, fast: bool = True) -> tuple:
    """The record's parse (tuples); the fast path first, Lark when it is unsure.

    Raises:
        LarkError: when the grammar rejects the record.
    """
    if fast:
        parsed = _fast().parse(text)
        if parsed is not None:
            return parsed
    return record_parser().parse(text)


def parse_record_text(text: str, origin: Origin, fast: bool = True) -> SipMessage | DiagRecord | Record | Skipped:
    """One complete record's text → a model object, or `Skipped` with the reason."""
    try:
        parsed = parse_record_tuples(text, fast)
    except LarkError as err:
        kept = _salvage_record(text, origin, fast)
        if kept is not None:
            return kept
        reason, context = describe_error(err, text)
        return Skipped(origin=origin, reason=reason, context=context, excerpt=text[:200])
    except Exception as err:  # a bug of ours must cost one record, not the run
        return Skipped(origin=origin, reason=f"internal error while parsing: {type(err).__name__}: {err}",
                       excerpt=text[:200], error=True)
    try:
        return build_record(parsed, origin)
    except (ValueError, IndexError, TypeError, OverflowError) as err:
        return Skipped(origin=origin, reason=f"record could not be built: {err}",
                       excerpt=text[:200], error=True)


_START_KEY = "\nStart-Line:"
_END_KEY = "\n$$end_record"


def _salvage_record(text: str, origin: Origin, fast: bool) -> SipMessage | None:
    """A TF_PROTOCOL record the grammar refuses for a line among its SIP headers, read by `salvage`.

    The record's own fields (up to Start-Line) must still follow the grammar,
    and the message must have a Call-ID and a CSeq; otherwise None, and the
    record is skipped with the grammar's reason.
    """
    at = text.find(_START_KEY)
    end = text.rfind(_END_KEY)
    if at == -1 or end < at:
        return None
    try:
        first, fields, texts, _ = parse_record_tuples(text[: at + 1] + "$$end_record\n", fast)
        sip_text = text[at + len(_START_KEY): end + 1].lstrip(" \t")
        where = line_namer(origin.line + text.count("\n", 0, at + 1) if origin.line > 0 else None)
        found = salvage(sip_text, where, record=True)
        if found is None:
            return None
        item = build_record((first, fields, texts, ("sip", found.start, found.headers, found.body)), origin)
    except (LarkError, ValueError, IndexError, TypeError, OverflowError):
        return None
    if not isinstance(item, SipMessage) or unplaceable(item) is not None:
        return None
    return dataclasses.replace(item, problems=found.problems)


def parse_message_text(text: str, origin: Origin, when: datetime | None = None,
                       direction: TraceDirection | None = None, peer: Peer | None = None,
                       src: Peer | None = None, dst: Peer | None = None,
                       strict: bool = True, what: str | None = None,
                       line_numbers: Sequence[int] | None = None) -> SipMessage | Skipped:
    """One SIP message as sent (RFC 3261 text) → `SipMessage`, or `Skipped`.

    A line the grammar refuses costs that line, not the message (`salvage`);
    ``strict`` also holds it to the RFC 3261 rules a grammar cannot check
    (mandatory headers, CSeq, Content-Length...; see `validate`).  What is
    wrong goes to `SipMessage.problems`; only a message that cannot be placed
    in a call (no start line, no single Call-ID and CSeq) is skipped.
    ``what`` names the format being read in skip reasons ("SIP text: ...");
    ``line_numbers`` are the file lines of the message's lines, for problems.
    """
    label = f"{what}: " if what else ""
    where = line_namer(None, line_numbers)
    found = None
    try:
        parsed = message_parser().parse(text)
    except LarkError as err:
        try:
            found = salvage(text, where)
        except Exception as bug:  # a bug of ours must cost one message, not the run
            return Skipped(origin=origin, reason=f"internal error while parsing: {type(bug).__name__}: {bug}",
                           excerpt=text[:200], error=True)
        if found is None:
            reason, context = describe_error(err, text, what or "SIP message")
            return Skipped(origin=origin, reason=label + reason, context=context, excerpt=text[:200])
        parsed = ("sip", found.start, found.headers, found.body)
    read_problems = found.problems if found is not None else ()
    try:
        msg = _sip_message(origin, when, parsed, None, direction=direction, peer=peer, src=src, dst=dst,
                           problems=read_problems)
        why = unplaceable(msg) if strict else None
        wrong = problems(msg) if strict and why is None else []
    except Exception as err:  # a bug of ours must cost one message, not the run
        return Skipped(origin=origin, reason=f"internal error while parsing: {type(err).__name__}: {err}",
                       excerpt=text[:200], error=True)
    if why is not None:
        if found is not None and found.first_bad is not None:
            # the line that could not be read is the likely cause: name it first
            return Skipped(origin=origin, reason=label + found.problems[0],
                           context=caret(text, found.first_bad, where) + f"\n(and so: {why})",
                           excerpt=text[:200])
        return Skipped(origin=origin, reason=f"{label}invalid SIP message: {why}",
                       context="; ".join(read_problems), excerpt=text[:200])
    if wrong:
        msg = dataclasses.replace(msg, problems=read_problems + tuple(wrong))
    return msg
