"""RFC 3261 checks that a parser alone does not make: is this a valid SIP message?

Used for messages from the wire or pasted text (captures, client logs, bare
SIP).  What is wrong is reported with the message (`SipMessage.problems`),
and the message is kept as long as it can be placed in a call: one bad
header must not hide the `ms-diagnostics` next to it.  Only a message
without a single Call-ID and CSeq is refused (`unplaceable`).  Server-trace
records are not held to these rules: Microsoft's logs leave out headers (a
published TF_PROTOCOL record has no From), and the record is still the best
evidence there is.
"""

from __future__ import annotations

from ..model.sip import SipMessage
from ..model.values import bare_ipv6_hosts, parse_cseq, parse_name_addrs, parse_uri, parse_vias

# §8.1.1: "A valid SIP request formulated by a UAC MUST, at a minimum, contain
# the following header fields: To, From, CSeq, Call-ID, Max-Forwards, and Via".
# Max-Forwards is left out on purpose: RFC 2543 requests have none, and a
# receiver accepts them (RFC 4475 §3.5.1); without the others a message cannot
# be placed in any transaction.
REQUEST_MANDATORY = ("to", "from", "cseq", "call-id", "via")
# §8.2.6.2 / §20: a response copies To, From, Call-ID, CSeq and Via.
RESPONSE_MANDATORY = ("to", "from", "cseq", "call-id", "via")
# Header fields that hold one value (§7.3.1 allows repeating only list headers).
SINGLE = ("to", "from", "cseq", "call-id", "max-forwards", "content-length", "content-type", "expires")


def unplaceable(msg: SipMessage) -> str | None:
    """Why the message cannot be placed in any transaction (no single Call-ID and CSeq), or None."""
    h = msg.headers
    for name in ("call-id", "cseq"):
        lines = h.lines(name)
        if not lines:
            return f"missing mandatory header {_title(name)}"
        if len({" ".join(v.split()) for v in lines}) > 1:
            return f"{_title(name)} given {len(lines)} times with different values"
    if parse_cseq(h.get("cseq") or "") is None:
        return f"malformed CSeq {h.get('cseq')!r}"
    return None


def _title(name: str) -> str:
    return "Call-ID" if name == "call-id" else "CSeq" if name == "cseq" else name.title()


def problems(msg: SipMessage) -> list[str]:
    """Why the message is not valid SIP; an empty list when it is."""
    found: list[str] = []
    version = msg.version.upper()
    if version != "SIP/2.0":
        found.append(f"unsupported SIP version {msg.version}")
    h = msg.headers
    for name in REQUEST_MANDATORY if msg.is_request else RESPONSE_MANDATORY:
        if name not in h:
            found.append(f"missing mandatory header {_title(name)}")
    for name in SINGLE:
        if len(h.lines(name)) > 1:
            found.append(f"{_title(name)} given {len(h.lines(name))} times (one value allowed)")
    cseq_text = h.get("cseq")
    if cseq_text is not None:
        cseq = parse_cseq(cseq_text)
        if cseq is None:
            found.append(f"malformed CSeq {cseq_text!r}")
        else:
            # §8.1.1.5: "The sequence number value MUST be expressible as a 32-bit unsigned integer
            # and MUST be less than 2**31"; the method MUST match the request's
            if cseq.number >= 2 ** 31:
                found.append(f"CSeq number {cseq.number} is not below 2**31")
            if msg.is_request and cseq.method != msg.method:
                found.append(f"CSeq method {cseq.method} does not match the request method {msg.method}")
    found += _scalar(h.get("max-forwards"), "Max-Forwards", 255)
    found += _scalar(h.get("content-length"), "Content-Length", 2 ** 31)
    found += _scalar(h.get("expires"), "Expires", 2 ** 32 - 1)
    length = msg.content_length
    if length is not None:
        body = len(msg.body.encode("utf-8", errors="surrogateescape"))
        if body < length:
            found.append(f"body is {body} bytes, shorter than Content-Length {length} (cut short; kept as it is)")
    for name in ("from", "to"):
        value = h.get(name)
        if value is not None and not _name_addr_ok(value):
            found.append(f"malformed {name.title()} header")
    for name in ("from", "to", "contact"):
        for value in h.lines(name):
            found += _addr_spec_rules(name, value)
    if h.lines("via") and not all(parse_vias(v) for v in h.lines("via")):
        found.append("malformed Via header")
    if msg.is_request:
        found += _request_uri(msg.request_uri or "")
    found += _bare_ipv6(msg)
    return found


def _bare_ipv6(msg: SipMessage) -> list[str]:
    """IPv6 hosts written without brackets (§25.1 IPv6reference): read leniently, named here."""
    found: list[str] = []
    where = [("Request-URI", msg.request_uri or "")] + [
        (_title(name), value) for name in ("via", "from", "to", "contact") for value in msg.headers.lines(name)]
    for label, text in where:
        for host, port in bare_ipv6_hosts(text)[:1]:
            at = f", port {port}" if port is not None else ""
            found.append(f"IPv6 address without [brackets] in {label}: read as host [{host}]{at}")
    return found


def _scalar(value: str | None, name: str, limit: int) -> list[str]:
    if value is None:
        return []
    value = value.strip()
    if not value.isdigit():
        return [f"{name} {value!r} is not a number"]
    if int(value) > limit:
        return [f"{name} {value} is out of range"]
    return []


def _name_addr_ok(value: str) -> bool:
    addrs = parse_name_addrs(value)
    if len(addrs) != 1:
        return False
    addr = addrs[0]
    # an unbalanced quote leaves no parseable name-addr: the raw text is kept
    # as the "URI", which then is not one
    return bool(addr.uri_text) and parse_uri(addr.uri_text) is not None


def _outside_quotes(value: str) -> str:
    out, quoted, escaped = [], False, False
    for ch in value:
        if escaped:
            escaped = False
        elif quoted and ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif not quoted:
            out.append(ch)
    return "".join(out)


def _addr_spec_rules(name: str, value: str) -> list[str]:
    """§20.10: a URI holding "," "?" or ";" MUST be in <>; no blanks inside <>."""
    bare = _outside_quotes(value)
    if "<" not in bare:
        uri = bare.split(";", 1)[0].strip()
        if "?" in uri:
            return [f"{name.title()} URI with headers is not enclosed in <>"]
        return []
    if "< " in bare or " >" in bare or "<\t" in bare or "\t>" in bare:
        return [f"blanks inside the <> of the {name.title()} header"]
    return []


def _request_uri(text: str) -> list[str]:
    if text.startswith("<"):
        return [f"Request-URI {text!r} is enclosed in <> (§7.1 forbids it)"]
    uri = parse_uri(text)
    if uri is None:
        return [f"Request-URI {text!r} is not a URI"]
    if uri.scheme in ("sip", "sips"):
        if uri.headers is not None:
            return ["Request-URI carries headers (§19.1.1 forbids them there)"]
        if not uri.host:
            return [f"Request-URI {text!r} has no host"]
    return []
