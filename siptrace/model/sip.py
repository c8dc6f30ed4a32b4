"""The data model: plain frozen dataclasses, built from parse results.

Nothing here parses text or does I/O; `recordparse` and `values` build these
objects, and tests can build them directly.  The header value classes (`Uri`,
`NameAddr`, `Via`, `CSeq`, `Diagnostic`, `ResultCode`) live in `values`, beside
their parsers, and are named here too.  Every object that came from a
file carries an `Origin` so evidence can always point back at file:line.
Header values are kept as text and parsed on demand (cached), because most
values of most messages are never looked at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from . import values as _v
from .quickinit import quick_init
from .values import CSeq, Diagnostic, NameAddr, ResultCode, Uri, Via
from .values import Params as Params, param_of as param_of     # named here as before

T = TypeVar("T")


class Kind(str, Enum):
    """What a trace item is; the reader's counts are kept by these."""

    SIP = "sip"
    DIAGNOSTIC = "diagnostic"
    OTHER = "other"
    SKIPPED = "skipped"
    ERROR = "error"


class Direction(str, Enum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


@quick_init
@dataclass(frozen=True, slots=True)
class Origin:
    """Where an item starts in its input: file, 1-based line, byte offset."""

    file: str
    line: int
    offset: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"

    def __reduce__(self) -> tuple[Any, ...]:
        # findings cross processes and go to disk by the thousand: one call, not a loop per field
        return (Origin, (self.file, self.line, self.offset))


@quick_init
@dataclass(frozen=True, slots=True)
class Peer:
    """The other end of a logged message: host (FQDN or IP) and port."""

    host: str
    port: int | None = None

    def __str__(self) -> str:
        return f"{self.host}:{self.port}" if self.port is not None else self.host


@quick_init
@dataclass(frozen=True, slots=True)
class TraceDirection:
    """The server trace's ``Direction:`` field: in or out, and between which sides."""

    direction: Direction | None
    text: str
    source: str | None = None
    destination: str | None = None


# ---------------------------------------------------------------------------
# Headers
# ---------------------------------------------------------------------------

# Compact forms (RFC 3261 §7.3.3 and §20; "o", "u" from RFC 3265, "r" from
# RFC 3515, "b" from RFC 3892, "x" from RFC 4028, "d" RFC 3841, "y" RFC 3841).
COMPACT_FORMS: dict[str, str] = {
    "i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
    "c": "content-type", "f": "from", "s": "subject", "k": "supported", "t": "to",
    "v": "via", "o": "event", "u": "allow-events", "r": "refer-to",
    "b": "referred-by", "x": "session-expires", "a": "accept-contact",
    "d": "request-disposition", "j": "reject-contact", "y": "identity",
}

# Headers whose values may be comma-separated lists (RFC 3261 §7.3.1, §20).
# Others (From, To, Call-ID, CSeq, Date, the auth headers, User-Agent...)
# contain commas that do not separate values.
LIST_HEADERS = frozenset({
    "via", "contact", "route", "record-route", "allow", "supported", "require",
    "proxy-require", "unsupported", "accept", "accept-encoding", "accept-language",
    "allow-events", "content-encoding", "in-reply-to", "alert-info", "call-info",
    "error-info", "warning", "p-asserted-identity", "p-preferred-identity",
    "path", "service-route", "history-info", "reason",
})


_CANONICAL: dict[str, str] = {}
_CANONICAL_MAX = 4096     # a trace has a few dozen spellings; a damaged one is not let grow this


def canonical_name(name: str) -> str:
    """Lower-case long form of a header name (``"I"`` → ``"call-id"``)."""
    found = _CANONICAL.get(name)
    if found is None:
        low = name.strip().lower()
        found = COMPACT_FORMS.get(low, low)
        if len(_CANONICAL) < _CANONICAL_MAX:
            _CANONICAL[name] = found
    return found


@quick_init
@dataclass(frozen=True, slots=True)
class Headers:
    """Header fields in their original order and spelling.

    Look-ups ignore case and accept compact forms: ``h.get("i")`` is the
    Call-ID.  `get_all` returns every value of a name, repeated lines and
    comma lists split alike (commas inside quotes or <> never split).
    """

    fields: tuple[tuple[str, str], ...] = ()
    _index: dict[str, tuple[str, ...]] | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def _lookup(self) -> dict[str, tuple[str, ...]]:
        # built on first use: most messages of a big trace are never looked into
        index = self._index
        if index is None:
            index = {}
            repeated: dict[str, list[str]] = {}
            known = _CANONICAL.get
            for name, value in self.fields:
                key = known(name) or canonical_name(name)
                if key not in index:
                    index[key] = (value,)
                else:
                    repeated.setdefault(key, list(index[key])).append(value)
            for key, values in repeated.items():
                index[key] = tuple(values)
            object.__setattr__(self, "_index", index)
        return index

    def get(self, name: str, default: str | None = None) -> str | None:
        """First value of a header (the whole line's value), or ``default``."""
        found = self._lookup().get(canonical_name(name))
        return found[0] if found else default

    def lines(self, name: str) -> tuple[str, ...]:
        """Every line's value of a header, as written (lists not split)."""
        return self._lookup().get(canonical_name(name), ())

    def get_all(self, name: str) -> tuple[str, ...]:
        """Every value of a header: repeated lines and comma-lists split."""
        key = canonical_name(name)
        lines = self._lookup().get(key, ())
        if key not in LIST_HEADERS:
            return lines
        out: list[str] = []
        for line in lines:
            out.extend(_v.split_list(line))
        return tuple(out)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and canonical_name(name) in self._lookup()

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)


# ---------------------------------------------------------------------------
# Trace items
# ---------------------------------------------------------------------------


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """One server-trace record: the WPP first line and its key/value fields.

    TF_CONNECTION, TF_SECURITY and any record that is neither SIP nor
    diagnostic stays a `Record`, with every field kept.
    """

    origin: Origin
    time: datetime | None
    level: str
    flag: str
    machine: str | None
    pid: int | None
    tid: int | None
    sequence: int | None
    component: str
    function: str
    source_file: str
    source_line: int | None
    tail: str
    fields: tuple[tuple[str, str], ...] = ()
    text_lines: tuple[str, ...] = ()
    kind: Kind = Kind.OTHER

    def field(self, name: str) -> str | None:
        low = name.lower()
        for key, value in self.fields:
            if key.lower() == low:
                return value
        return None

    @property
    def severity(self) -> str | None:
        return self.field("Severity")

    @property
    def text(self) -> str | None:
        return self.field("Text")


def _remembered(compute: Callable[[Any], T]) -> property:
    """A property worked out once per message (in ``_memo``).

    Correlation asks every message for its Call-ID, tags and CSeq several times.
    """
    name = compute.__name__

    def get(self: Any) -> T:
        memo = self._memo
        if memo is None:
            memo = {}
            object.__setattr__(self, "_memo", memo)
        elif name in memo:
            return memo[name]  # type: ignore[no-any-return]
        value = memo[name] = compute(self)
        return value

    get.__doc__ = compute.__doc__
    return property(get)


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class SipMessage:
    """A SIP request or response, from a server record, a client log or bare text."""

    origin: Origin
    time: datetime | None
    start_line: str
    method: str | None = None           # requests only
    request_uri: str | None = None      # requests only
    status: int | None = None           # responses only
    reason: str | None = None
    version: str = "SIP/2.0"
    headers: Headers = field(default_factory=Headers)
    body: str = ""
    direction: TraceDirection | None = None
    peer: Peer | None = None
    record: Record | None = None
    src: Peer | None = None             # sender, when the input says (capture, client log)
    dst: Peer | None = None             # receiver, when the input says
    problems: tuple[str, ...] = ()      # what is wrong with the text as read; the message is kept all the same
    kind: Kind = Kind.SIP
    _memo: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    # -- start line -----------------------------------------------------
    @property
    def is_request(self) -> bool:
        return self.method is not None

    @property
    def is_response(self) -> bool:
        return self.status is not None

    @property
    def ruri(self) -> Uri | None:
        return _v.parse_uri(self.request_uri) if self.request_uri else None

    # -- identity -------------------------------------------------------
    @_remembered
    def call_id(self) -> str | None:
        value = self.headers.get("call-id")
        return value.strip() if value is not None else None

    @_remembered
    def cseq(self) -> CSeq | None:
        value = self.headers.get("cseq")
        return _v.parse_cseq(value) if value is not None else None

    @property
    def cseq_method(self) -> str | None:
        """The method this message belongs to: its own, or its CSeq's for a response."""
        if self.method is not None:
            return self.method
        cseq = self.cseq
        return cseq.method if cseq else None

    @_remembered
    def from_(self) -> NameAddr | None:
        return _v.first_name_addr(self.headers.get("from"))

    @_remembered
    def to(self) -> NameAddr | None:
        return _v.first_name_addr(self.headers.get("to"))

    @property
    def from_tag(self) -> str | None:
        addr = self.from_
        return addr.tag if addr else None

    @property
    def to_tag(self) -> str | None:
        addr = self.to
        return addr.tag if addr else None

    @property
    def contacts(self) -> tuple[NameAddr, ...]:
        return _v.name_addrs(self.headers.lines("contact"))

    @property
    def record_routes(self) -> tuple[NameAddr, ...]:
        return _v.name_addrs(self.headers.lines("record-route"))

    @property
    def routes(self) -> tuple[NameAddr, ...]:
        return _v.name_addrs(self.headers.lines("route"))

    @property
    def vias(self) -> tuple[Via, ...]:
        return _v.vias(self.headers.lines("via"))

    @property
    def top_via(self) -> Via | None:
        vias = self.vias
        return vias[0] if vias else None

    @property
    def branch(self) -> str | None:
        via = self.top_via
        return via.branch if via else None

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Every ms-diagnostics, ms-diagnostics-public and ms-client-diagnostics value."""
        index = self.headers._lookup()
        kinds = [name for name in _v.DIAGNOSTIC_HEADERS if name in index]
        if not kinds:
            return ()     # most messages: three look-ups instead of a walk over every header
        if len(kinds) == 1:
            return tuple(_v.parse_diagnostic(kinds[0], value) for value in index[kinds[0]])
        out: list[Diagnostic] = []
        for name, value in self.headers.fields:   # several kinds: in the order written
            low = name.strip().lower()
            if low in _v.DIAGNOSTIC_HEADERS:
                out.append(_v.parse_diagnostic(low, value))
        return tuple(out)

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        if value is None:
            return None
        value = value.strip()
        return int(value) if value.isdigit() else None

    @property
    def body_truncated(self) -> bool:
        """The body is shorter than Content-Length: cut when the message was copied or logged."""
        length = self.content_length
        if length is None:
            return False
        size = len(self.body.encode("utf-8", errors="surrogateescape"))
        if "\r" not in self.body:      # logged with bare LF line ends: each was CRLF on the wire
            size += self.body.count("\n")
        return size < length

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("content-type")
        return value.strip() if value else None

    @property
    def has_sdp(self) -> bool:
        ctype = (self.content_type or "").lower()
        return bool(self.body) and ("application/sdp" in ctype or "\nm=" in self.body or self.body.startswith("v=0"))

    @property
    def user_agent(self) -> str | None:
        return self.headers.get("user-agent") or self.headers.get("server")

    @property
    def summary(self) -> str:
        """Method or "status reason" as a ladder or table shows it."""
        if self.method is not None:
            return self.method
        return f"{self.status} {self.reason or ''}".strip()


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class DiagRecord:
    """A TF_DIAG / TF_COMPONENT record: the server saying what went wrong."""

    origin: Origin
    time: datetime | None
    record: Record
    severity: str | None
    text: str | None
    result_code: ResultCode | None
    sip_start_line: str | None
    call_id: str | None
    cseq: CSeq | None
    peer: Peer | None
    data: tuple[tuple[str, str], ...] = ()
    kind: Kind = Kind.DIAGNOSTIC


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """Input that is not a record we could read, with the reason.

    ``error`` marks a record that the grammar accepted but that could not be
    turned into the model (counted as an error, not a skip).
    """

    origin: Origin
    reason: str
    context: str = ""
    excerpt: str = ""
    error: bool = False

    @property
    def kind(self) -> Kind:
        return Kind.ERROR if self.error else Kind.SKIPPED


Item = SipMessage | DiagRecord | Record | Skipped
