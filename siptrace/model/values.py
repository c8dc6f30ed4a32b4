"""Header values → model objects, through sipvalues.lark, cached by text.

Values repeat a lot within a trace (the From of one dialog, the Via of one
proxy), so every parse is memoised.  A value the grammar rejects never
raises: the caller gets ``None`` (for a URI) or an object that keeps the raw
text, because a diagnostic tool must go on with what it has.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass

from lark import Lark, Transformer
from lark.exceptions import LarkError

from .grammar import load_grammar
from .quickinit import quick_init

DIAGNOSTIC_HEADERS = frozenset({"ms-diagnostics", "ms-diagnostics-public", "ms-client-diagnostics"})
_CACHE = 2048   # enough for the values one call window repeats; bounded for a day of traces


# ---------------------------------------------------------------------------
# The value dataclasses (re-exported by `siptrace.model.sip`)
# ---------------------------------------------------------------------------

Params = tuple[tuple[str, str | None], ...]


def param_of(params: Params, name: str) -> str | None:
    """Value of a parameter by case-insensitive name ("" for a flag, None if absent)."""
    low = name.lower()
    for key, value in params:
        if key.lower() == low:
            return "" if value is None else value
    return None


@quick_init
@dataclass(frozen=True, slots=True)
class Uri:
    """A SIP/SIPS/tel/other URI (RFC 3261 §19.1.1, RFC 3966)."""

    text: str
    scheme: str
    user: str | None = None
    password: str | None = None
    host: str | None = None
    port: int | None = None
    params: Params = ()
    headers: str | None = None

    def param(self, name: str) -> str | None:
        return param_of(self.params, name)

    @property
    def transport(self) -> str | None:
        value = self.param("transport")
        return value.lower() if value else None

    def __str__(self) -> str:
        return self.text


@quick_init
@dataclass(frozen=True, slots=True)
class NameAddr:
    """name-addr or addr-spec with its header parameters (From, To, Contact, Route...)."""

    text: str
    uri_text: str
    display: str | None = None
    params: Params = ()

    @property
    def uri(self) -> Uri | None:
        return parse_uri(self.uri_text)

    def param(self, name: str) -> str | None:
        return param_of(self.params, name)

    @property
    def tag(self) -> str | None:
        return self.param("tag")

    @property
    def epid(self) -> str | None:
        return self.param("epid")

    @property
    def host(self) -> str | None:
        uri = self.uri
        return uri.host if uri else None


@quick_init
@dataclass(frozen=True, slots=True)
class Via:
    """One via-parm (RFC 3261 §20.42)."""

    text: str
    protocol: str
    transport: str
    host: str
    port: int | None = None
    params: Params = ()

    def param(self, name: str) -> str | None:
        return param_of(self.params, name)

    @property
    def branch(self) -> str | None:
        return self.param("branch")

    @property
    def received(self) -> str | None:
        return self.param("received")


@quick_init
@dataclass(frozen=True, slots=True)
class CSeq:
    number: int
    method: str

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


@quick_init
@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One ms-diagnostics / ms-diagnostics-public / ms-client-diagnostics value.

    ``ErrorId[.SubCode];reason="...";source="..."[;name="value"]*`` in any
    order, any case, with or without quotes ([MS-OCER] 2.2.1, [UCMA]).
    """

    header: str
    code: int | None
    sub_code: int | None
    reason: str | None
    source: str | None
    params: Params
    text: str

    def param(self, name: str) -> str | None:
        return param_of(self.params, name)

    def blob(self, name: str) -> tuple[tuple[str, str], ...]:
        """A nested ``k=v,k=v`` value (MediaChanBlob, CallerMediaDebug...) as pairs."""
        value = self.param(name)
        return parse_blob(value) if value else ()


@quick_init
@dataclass(frozen=True, slots=True)
class ResultCode:
    """A Lync/SfB HRESULT-style code such as 0xC3E93C2F SIPPROXY_E_UNKNOWN_USER_OR_EPID."""

    value: int
    symbol: str | None = None

    @property
    def hex(self) -> str:
        return f"0x{self.value:08X}"

    def __str__(self) -> str:
        return f"{self.hex} {self.symbol}" if self.symbol else self.hex


# ---------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------

def _text(tok: object) -> str:
    value = getattr(tok, "value", None)     # a Token's text; a plain string is its own
    return value if isinstance(value, str) else str(tok)


def _is_token(node: object) -> bool:
    """Tokens of pure-Python Lark and of lark-cython alike have ``.type``; trees do not."""
    return hasattr(node, "type")


def unquote(value: str) -> str:
    """Strip a quoted-string's quotes and escapes (RFC 3261 §25.1), or blanks."""
    value = value.strip()
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        if "\\" in inner:
            out, it = [], iter(inner)
            for ch in it:
                out.append(next(it, "") if ch == "\\" else ch)
            inner = "".join(out)
        return inner
    if len(value) >= 2 and value[0] in "\u201c\u201d" and value[-1] in "\u201c\u201d":
        return value[1:-1]
    return value


class ValueBuilder(Transformer):
    """Shapes the value trees into tuples; the model classes are made by the callers."""

    def param(self, children):  # type: ignore[no-untyped-def]
        name = _text(children[0])
        value = children[1] if len(children) > 1 else None
        return (name, value)

    def pvalue(self, children):  # type: ignore[no-untyped-def]
        return unquote(_text(children[0])) if children else ""

    def params(self, children):  # type: ignore[no-untyped-def]
        return tuple(c for c in children if isinstance(c, tuple))

    def uri_param(self, children):  # type: ignore[no-untyped-def]
        name = _text(children[0])
        if len(children) > 1:
            return (name, _text(children[1]))
        return (name, None)

    def uri_params(self, children):  # type: ignore[no-untyped-def]
        return tuple(children)


VALUE_STARTS = ["value_list", "name_addr_list", "via_list", "uri", "lead_params", "blob", "result_code"]


@functools.lru_cache(maxsize=None)
def value_parser() -> Lark:
    """Parser of header values (URIs, name-addr, Via, parameters).

    Parameters are shaped into tuples while parsing (no second pass over a
    tree); the other rules stay small trees for `values` to read.
    """
    return load_grammar("sipvalues.lark", VALUE_STARTS, transformer=ValueBuilder())


def _parse(text: str, start: str):  # type: ignore[no-untyped-def]
    return value_parser().parse(text, start=start)


@functools.lru_cache(maxsize=_CACHE)
def parse_uri(text: str) -> Uri | None:
    """A URI, or None when it is not one (``sip:`` with no host, junk)."""
    text = text.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1].strip()
    found = _fast().uri(text)
    if found is None:
        found = uri_by_grammar(text)
    if found is None:
        repaired = bracket_bare_ipv6(text)
        if repaired != text:
            found = parse_uri(repaired)
            if found is not None:    # read as if bracketed; the text stays as written
                found = dataclasses.replace(found, text=text)
    return found


def uri_by_grammar(text: str) -> Uri | None:
    """`parse_uri` (of a text already stripped of blanks and <>) through the Lark grammar only."""
    try:
        tree = _parse(text, "uri")
    except LarkError:
        return None
    scheme = user = password = host = headers = None
    port: int | None = None
    params: tuple = ()
    for child in tree.children:
        if _is_token(child):
            kind = child.type
            if kind == "SCHEME":
                scheme = child.value.lower()
            elif kind == "USERINFO":
                userinfo = child.value[:-1].strip()
                user, _, pw = userinfo.partition(":")
                password = pw or None
            elif kind == "HOST":
                host = child.value
            elif kind == "PORT":
                port = int(child.value)
            elif kind == "URI_HEADERS":
                headers = child.value[1:]
        elif isinstance(child, tuple):
            params = child
    return _uri(text, scheme or "", user, password, host, port, params, headers)


def _uri(text: str, scheme: str, user: str | None, password: str | None, host: str | None,
         port: int | None, params: tuple, headers: str | None) -> Uri:
    if scheme == "tel" and user is None:
        # tel:+14255550100;phone-context=... : the number is the whole "host" part
        user, host = host, None
    return Uri(text=text, scheme=scheme, user=user, password=password,
               host=host, port=port, params=params, headers=headers)


@functools.lru_cache(maxsize=_CACHE)
def parse_name_addrs(text: str) -> tuple[NameAddr, ...]:
    """name-addr / addr-spec values of one header line (Contact may hold several)."""
    found = _fast().name_addr(text)
    return found if found is not None else name_addrs_by_grammar(text)


def name_addrs_by_grammar(text: str) -> tuple[NameAddr, ...]:
    """`parse_name_addrs` through the Lark grammar only (the fast path's reference)."""
    try:
        tree = _parse(text, "name_addr_list")
    except LarkError:
        raw = text.strip()
        return (NameAddr(text=raw, uri_text=raw.strip("<>")),) if raw else ()
    out = []
    for item in tree.children:
        display = None
        uri_text = ""
        params: tuple = ()
        for child in item.children:
            if _is_token(child):
                if child.type == "ANGLE":
                    uri_text = child.value[1:-1].strip()
                elif child.type in ("ADDR_SPEC", "STAR"):
                    uri_text = child.value
            elif isinstance(child, tuple):
                params = child
            else:  # display_name: one quoted string, or words joined by one blank
                words = [_text(t) for t in child.children]
                display = unquote(words[0]) if len(words) == 1 else " ".join(words)
        out.append(NameAddr(text=text.strip(), uri_text=uri_text, display=display, params=params))
    if len(out) > 1:  # each value's own text, not the whole line
        out = [NameAddr(text=a.uri_text, uri_text=a.uri_text, display=a.display, params=a.params) for a in out]
    return tuple(out)


def first_name_addr(text: str | None) -> NameAddr | None:
    if text is None:
        return None
    found = parse_name_addrs(text)
    return found[0] if found else None


def name_addrs(lines: tuple[str, ...]) -> tuple[NameAddr, ...]:
    out: list[NameAddr] = []
    for line in lines:
        out.extend(parse_name_addrs(line))
    return tuple(out)


@functools.lru_cache(maxsize=_CACHE)
def parse_vias(text: str) -> tuple[Via, ...]:
    """The via-parms of one Via line."""
    found = _fast().via(text)
    if found is None:
        found = vias_by_grammar(text)
    if not found:
        repaired = bracket_bare_ipv6(text)
        if repaired != text:
            found = parse_vias(repaired)
            if len(found) == 1:
                found = (dataclasses.replace(found[0], text=text.strip()),)
    return found


def vias_by_grammar(text: str) -> tuple[Via, ...]:
    """`parse_vias` through the Lark grammar only (the fast path's reference)."""
    try:
        tree = _parse(text, "via_list")
    except LarkError:
        return ()
    return tuple(_via(text, _text(proto), _text(sent_by), params) for proto, sent_by, params
                 in (via.children for via in tree.children))


def _via(text: str, protocol: str, sent_by: str, params: tuple) -> Via:
    parts = [p.strip() for p in protocol.split("/")]
    host, port = _split_hostport(sent_by.replace(" ", "").replace("\t", ""))
    return Via(text=text.strip(), protocol="/".join(parts[:2]), transport=parts[-1].upper(),
               host=host, port=port, params=params)


class _FastValues:
    """URIs, the single-value Via and name-addr shapes, and ``lead;k=v``, read with sipvalues.lark's own terminals.

    Whatever does not fit the plain shape exactly (lists, junk after a quote,
    empty parameters...) returns None and goes to the grammar; a test compares
    both on every value of the samples and on damaged ones.
    """

    def __init__(self) -> None:
        # each terminal in an atomic group: like the lexer, a token once matched is
        # never shortened to let the next one fit
        pat = {t.name: f"(?>{t.pattern.to_regexp()})" for t in value_parser().terminals}
        ws = "[ \\t\\r\\n]*"
        quoted, pname, word = pat["QUOTED_STRING"], pat["PNAME"], pat["DISPLAY_WORD"]
        token = '(?>[^;,"\\s\u201c\u201d]+)'     # an unquoted value without inner blanks
        params = f"(?:{ws};{ws}{pname}(?:{ws}={ws}(?:{quoted}|{token}))?)*"
        self._param = re.compile(f";{ws}({pname})(?:{ws}={ws}({quoted}|{token}))?")
        self._via = re.compile(f"{ws}({pat['SENT_PROTOCOL']}){ws}({pat['SENT_BY']})({params}){ws}\\Z")
        self._addr_spec = re.compile(f"{ws}({pat['ADDR_SPEC']})")
        self._bare = re.compile(f"{ws}({pat['ADDR_SPEC']})({params}){ws}\\Z")
        self._lead = re.compile(f"{ws}({pat['LEAD']})?({params}){ws}\\Z")
        # the lexer takes a userinfo wherever one matches, hence the possessive "?+"
        uri_param = f"{ws};{ws}{pat['PNAME']}(?:{ws}={ws}{pat['UVALUE']}?)?"
        self._uri_param = re.compile(f"{ws};{ws}({pat['PNAME']})(?:{ws}={ws}({pat['UVALUE']})?)?")
        self._uri = re.compile(
            f"({pat['SCHEME']}){ws}:{ws}(?:({pat['USERINFO']}){ws})?+({pat['HOST']})"
            f"(?:{ws}:{ws}({pat['PORT']}))?((?:{uri_param})*){ws}({pat['URI_HEADERS']})?\\Z")
        self._bracketed = re.compile(
            f"{ws}(?:({quoted}){ws}|((?:{word}[ \\t\\r\\n]+)*{word}){ws})?({pat['ANGLE']})({params}){ws}\\Z")

    def _params(self, text: str) -> tuple[tuple[str, str | None], ...]:
        # findall gives "" for a parameter without a value (a value is never empty:
        # a quoted one has its quotes, a token at least one character)
        return tuple([(name, (unquote(value) if value[0] == '"' else value) if value else None)
                      for name, value in self._param.findall(text)])

    def via(self, text: str) -> tuple[Via, ...] | None:
        m = self._via.match(text)
        if m is None:
            return None
        return (_via(text, m.group(1), m.group(2), self._params(m.group(3))),)

    def lead_params(self, text: str) -> tuple[str | None, tuple[tuple[str, str | None], ...]] | None:
        m = self._lead.match(text)
        if m is None:
            return None
        lead = m.group(1)
        return (lead.strip() if lead is not None else None), self._params(m.group(2))

    def uri(self, text: str) -> Uri | None:
        m = self._uri.match(text)
        if m is None:
            return None
        scheme, userinfo, host, port, params, headers = m.groups()
        user = password = None
        if userinfo is not None:
            user, _, pw = userinfo[:-1].strip().partition(":")
            password = pw or None
        return _uri(text, scheme.lower(), user, password, host, int(port) if port else None,
                    tuple([(name, value or None) for name, value in self._uri_param.findall(params)]),
                    headers[1:] if headers else None)

    def name_addr(self, text: str) -> tuple[NameAddr, ...] | None:
        if self._addr_spec.match(text):     # the grammar reads an addr-spec first (its priority)
            m = self._bare.match(text)
            if m is None:
                return None
            return (NameAddr(text=text.strip(), uri_text=m.group(1), params=self._params(m.group(2))),)
        m = self._bracketed.match(text)
        if m is None:
            return None
        quoted, words, angle, params = m.groups()
        display = unquote(quoted) if quoted is not None else (
            None if words is None else " ".join(words.split()))
        return (NameAddr(text=text.strip(), uri_text=angle[1:-1].strip(), display=display,
                         params=self._params(params)),)


@functools.lru_cache(maxsize=None)
def _fast() -> _FastValues:
    return _FastValues()


def warm_up() -> None:
    """Build the value parser and its fast path now (see `recordparse.warm_up`)."""
    _fast()


def vias(lines: tuple[str, ...]) -> tuple[Via, ...]:
    out: list[Via] = []
    for line in lines:
        out.extend(parse_vias(line))
    return tuple(out)


# A host written as a bare IPv6 address, where RFC 3261 §19.1.1 / §25.1 wants an
# IPv6reference in brackets: after "sip:" (and a userinfo) or after a Via's
# sent-protocol, up to the parameters.  Real devices write
# "sip:4321@fec0:0:0:0:216:d3ff:fe0d:22c:5060" and "SIP/2.0/UDP fe80::1:5060".
_BARE_V6 = re.compile(r"(?P<lead>(?:\bsips?:(?:[^@<>\s;]*@)?)|(?:SIP[ \t]*/[ \t]*[0-9.]+[ \t]*/[ \t]*[A-Za-z]+[ \t]+))"
                      r"(?P<host>[0-9A-Fa-f]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)(?=[;,>?\s]|\Z)", re.IGNORECASE)


def _v6(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def split_bare_ipv6(text: str) -> tuple[str, int | None] | None:
    """``fec0:0:0:0:216:d3ff:fe0d:22c:5060`` → ("fec0:...:22c", 5060); None when it is no IPv6 address.

    The last ``:digits`` is the port when what stands before it is a valid
    IPv6 address; otherwise the whole text must be one.
    """
    head, _, tail = text.rpartition(":")
    if tail.isdigit() and len(tail) <= 5 and _v6(head):
        return head, int(tail)
    return (text, None) if _v6(text) else None


def bare_ipv6_hosts(text: str) -> list[tuple[str, int | None]]:
    """(address, port) of each host in the text written as a bare IPv6 address."""
    if text.count(":") < 2:
        return []
    return [found for m in _BARE_V6.finditer(text) if (found := split_bare_ipv6(m.group("host"))) is not None]


@functools.lru_cache(maxsize=256)
def bracket_bare_ipv6(text: str) -> str:
    """The text with each bare IPv6 host put in brackets (and its port after them); unchanged when there is none."""

    def fix(m: re.Match[str]) -> str:
        found = split_bare_ipv6(m.group("host"))
        if found is None:
            return m.group()
        host, port = found
        return f"{m.group('lead')}[{host}]" + (f":{port}" if port is not None else "")

    return _BARE_V6.sub(fix, text) if text.count(":") >= 2 else text


def _split_hostport(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        end = text.find("]")
        host, rest = text[: end + 1], text[end + 1:]
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = text.partition(":")
    return host, (int(port) if port.isdigit() else None)


def split_hostport(text: str) -> tuple[str, int | None]:
    """``host:port`` / ``[v6]:port`` / ``host`` → (host, port)."""
    return _split_hostport(text.strip())


@functools.lru_cache(maxsize=_CACHE)
def split_list(text: str) -> tuple[str, ...]:
    """Split a comma-list value, keeping commas inside quotes and <> (RFC 3261 §7.3.1)."""
    try:
        tree = _parse(text, "value_list")
    except LarkError:
        return (text.strip(),)
    out = []
    for item in tree.children:
        joined = "".join(_text(t) for t in item.children).strip()
        if joined:
            out.append(joined)
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def parse_lead_params(text: str) -> tuple[str | None, tuple[tuple[str, str | None], ...]] | None:
    """``lead;k=v;k="v"`` → (lead, params); None when the grammar rejects it (cached)."""
    return lead_params(text)


def lead_params(text: str) -> tuple[str | None, tuple[tuple[str, str | None], ...]] | None:
    """`parse_lead_params` without the cache, for values that rarely repeat."""
    found = _fast().lead_params(text)
    return found if found is not None else lead_params_by_grammar(text)


def lead_params_by_grammar(text: str) -> tuple[str | None, tuple[tuple[str, str | None], ...]] | None:
    """`lead_params` through the Lark grammar only (the fast path's reference)."""
    try:
        tree = _parse(text, "lead_params")
    except LarkError:
        return None
    lead = None
    params: tuple = ()
    for child in tree.children:
        if _is_token(child):
            lead = child.value.strip()
        else:
            params = child
    return lead, params


@functools.lru_cache(maxsize=_CACHE)
def parse_diagnostic(header: str, text: str) -> Diagnostic:
    """One Microsoft diagnostic header value; never raises."""
    parsed = parse_lead_params(text)
    lead, params = parsed if parsed else (text.split(";", 1)[0].strip(), ())
    code = sub = None
    if lead:
        head, _, tail = lead.partition(".")
        head, tail = head.strip(), tail.strip()
        if head.isdigit():
            code = int(head)
        if tail.isdigit():
            sub = int(tail)
    reason = param_of(params, "reason")
    source = param_of(params, "source")
    return Diagnostic(header=header, code=code, sub_code=sub, reason=reason or None,
                      source=source or None, params=params, text=text.strip())


@functools.lru_cache(maxsize=4096)
def parse_blob(text: str) -> tuple[tuple[str, str], ...]:
    """``audio:ICEWarn=0x80000,LocalSite=1.2.3.4:5`` → (("audio:ICEWarn", "0x80000"), ...)."""
    try:
        tree = _parse(text, "blob")
    except LarkError:
        return ()
    out = []
    for item in tree.children:
        if not item.children:
            continue
        key, _, value = _text(item.children[0]).partition("=")
        out.append((key.strip(), value.strip()))
    return tuple(out)


@functools.lru_cache(maxsize=_CACHE)
def parse_cseq(text: str) -> CSeq | None:
    """CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16)."""
    parts = text.split()
    if len(parts) != 2 or not parts[0].isdigit():
        return None
    return CSeq(number=int(parts[0]), method=parts[1])


def find_result_code(text: str | None, markers: tuple[str, ...] = ("Result-Code:", "HRESULT=", "Result ")) -> ResultCode | None:
    """The first result code after one of ``markers`` in a line of text.

    A plain string search finds where a code may stand; the grammar's
    ``result_code`` rule decides whether it is one.
    """
    if not text:
        return None
    for marker in markers:
        start = text.find(marker)
        while start != -1:
            found = parse_result_code(text[start + len(marker):].strip().strip('"').split("\n", 1)[0])
            if found is not None:
                return found
            start = text.find(marker, start + 1)
    return None


@functools.lru_cache(maxsize=4096)
def parse_result_code(text: str) -> ResultCode | None:
    from .resultcodes import symbol_for

    try:
        tree = _parse(text.strip(), "result_code")
    except LarkError:
        return None
    value = int(tree.children[0].value, 16)
    symbol = None
    for tok in tree.children[1:]:
        if tok.type == "SYMBOL_PAREN":
            symbol = tok.value[1:-1]
        elif tok.type == "SYMBOL":
            symbol = tok.value
    return ResultCode(value=value, symbol=symbol or symbol_for(value))
