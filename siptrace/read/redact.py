"""Consistent pseudonyms for a trace, applied between reading and correlation.

A `Redactor` rewrites every item the reader yields (SIP messages, diagnostic
and other records, skipped input) before anything is correlated, so findings,
ladders, charts, JSON and DataFrames built afterwards only ever see the
pseudonyms.  It does not parse messages again: it rewrites their text (start
line, header values, body, record fields) and the model re-derives the rest
lazily from that text.

Theory of operation:

* Pseudonyms keep the structure an administrator reads: ``sip:alice@contoso.com``
  becomes ``sip:user1@contoso.com``, ``"Alice Example"`` becomes ``"User 1"``,
  a phone number keeps its length and punctuation with digits from the
  fictional 555-01xx range, IPv4 addresses come from the documentation ranges
  (RFC 5737, then the benchmark range 198.18.0.0/15), IPv6 from 2001:db8::/32
  (RFC 3849), and with ``redact_domains`` a host keeps its place under its
  domain (``um01.contoso.com`` → ``host1.domain1.example``, ``contoso.com`` →
  ``domain1.example``), so suffix comparisons still hold.
* The same original always gets the same pseudonym, in every item and file,
  so dialogs (Call-ID + tags), calls and the UM rules still line up.
* `redact_items` makes two passes: the first only collects the originals
  (nothing is rewritten), so that no pseudonym is ever equal to an original
  (traces often use documentation addresses already) and so that the final
  sweep knows every original, wherever in the trace it was first seen.
* After the structured replacements, a final sweep replaces any remaining
  whole-token occurrence (case-insensitive, longest first) of any collected
  original, for names that appear in free text (diagnostic text, XML bodies,
  ``Data:`` fields) or inside other names (``jdoe`` in ``jdoe-laptop``).
  `sweep` applies it to a report's own text, so a value a pattern missed in one
  place but that was learned in another never reaches an output.
* Every pattern is linear in its input and nothing recurses on it (see the
  patterns' comment and `_Sweeper`).
* Input folder and file names are replaced too (``file1.log``): they often name
  the customer, the user or a ticket.
* Authentication header values keep their scheme and parameter names; every
  parameter value is replaced.  SDP keys (``a=crypto`` inline keys,
  ``a=ice-pwd``) are replaced too.

`mapping()` gives original → pseudonym per category, for the person who
redacted the trace; it is never part of a report.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..model.context import Context
from ..model.sip import DiagRecord, Headers, Item, Origin, Peer, Record, SipMessage, Skipped, TraceDirection
from .reader import InputStats

T = TypeVar("T")

CATEGORIES = ("user", "display", "phone", "ipv4", "ipv6", "epid", "tag", "call_id", "gruu", "uuid", "id",
              "conf", "secret", "host", "domain", "label", "org", "file")

AUTH_HEADERS = frozenset({"authorization", "proxy-authorization", "www-authenticate",
                          "proxy-authenticate", "authentication-info", "proxy-authentication-info"})
CALL_ID_HEADERS = frozenset({"call-id", "i", "sip-call-id"})

# Top-level domains taken as host names in free text even before the trace
# names the domain in a URI.  Mixed-case names (System.Net) are not taken.
_TLDS = frozenset("""
com net org edu gov mil int info biz io co us uk de fr nl ca au jp cn in ru br it es se no fi dk ch at be ie
nz za mx ar cl pt gr cz hu ro sk si hr tr il ae sa sg hk tw kr my th ph id vn eu asia cloud online local
lan corp internal intranet home example test invalid
""".split())
# Second-level labels under which the registrable domain has three labels (contoso.co.uk).
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or", "go", "gob"})
# Domain labels that name a public service or a word, never swept on their own.
_COMMON_LABELS = frozenset({"microsoft", "outlook", "office", "office365", "lync", "skype", "live",
                            "hotmail", "example", "partner", "online", "local", "cloud", "mail",
                            "server", "service", "services", "domain", "host", "user", "test"})

# --- patterns (applied in this order by `_text`) ------------------------------------------
# Every pattern is linear in its input: a match can start only at the start of a token (a
# look-behind), quantifiers that could re-scan a long run are possessive or bounded, and the
# handlers never copy the rest of the text.  tests/test_redact_speed.py times the hostile shapes.
#
# percent-encoded URI text (sip%3Ajdoe%40contoso.com): a run of URI characters and %XX escapes
_PCT_RUN = re.compile(r"(?<![\w.+\-;=%])(?:[\w.+\-;=]|%[0-9A-Fa-f]{2})++")
_PCT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_PCT_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@:.+-_~;=!$*'(),")
_CRYPTO = re.compile(r"(?i)(\binline:)([^|\s]+)")
_ICE = re.compile(r"(?im)^(a=ice-(?:pwd|ufrag):)(\S+)")
_UUID = re.compile(r"(?i)\burn:uuid:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b")
# a conference (meeting) in a focus or MCU URI: app:conf:focus:id:7XK9P2QJ, app:conf:audio-video:id:…
_CONF = re.compile(r"(?i)\b(app:conf:[\w\-]{1,40}:id:)([^;>\s\"',&]+)")
_XML_CONF = re.compile(r"(?i)(<([\w:\-]{0,40}(?:conference-?id|meeting-?id|conf-?id))>)([^<]+)(</)")
_OPAQUE = re.compile(r"(?i)(\bopaque=)(\"?)([^;>\s\",]+)")
_MS_OPAQUE = re.compile(r"(?i)(\bms-opaque=)([\w+/=.-]+)")
# RFC 5627: the ;gr= value of a GRUU (an instance id that is not a urn:uuid is an identifier too)
_GR = re.compile(r"(?i)(?<![\w-])(gr=)(\"?)([^;>\s\",]+)")
_EPID = re.compile(r"(?i)(\bepid=)(\"?)([^;>\s\",]+)")
# tag=, to-tag=, dialog-tag=: "tag=" itself starts a token (no prefix to re-scan from every dash)
_TAG = re.compile(r"(?i)(?<![\w])(tag=)(\"?)([^;>\s\",]+)")
_CALL_ID_LINE = re.compile(r"(?im)^([ \t]*(?:Call-ID|i|SIP-Call-ID)[ \t]*:[ \t]*)(\S+)")
_AUTH_LINE = re.compile(r"(?im)^([ \t]*(?:(?:Proxy-)?Authorization|WWW-Authenticate|Proxy-Authenticate|"
                        r"(?:Proxy-)?Authentication-Info)[ \t]*:[ \t]*)([^\r\n]*)")
# a display name starts a header value, follows a comma, or a "Name:" in copied log text
_QUOTED_DISPLAY = re.compile(r'(^|[,:;=])([ \t]*)"((?:[^"\\\r\n]|\\.)*)"(\s*<\s*(?:sips?|tel|im|pres):)', re.I | re.M)
# words separated by blanks, each blank run followed by a word: no pattern can
# re-scan a long blank run (a lazy "anything" before "\s*<" did, quadratically)
_BARE_DISPLAY = re.compile(r"(^|,)(\s*)([^\"<>,;=\s]+(?:[ \t]+[^\"<>,;=\s]+)*)(\s*<\s*(?:sips?|tel|im|pres):)", re.I)
# in diagnostic text and Data: fields: up to four words after "=", ":", ";", "," or a line start,
# or up to four capitalised words, right before a URI in angle brackets
_TEXT_DISPLAY = re.compile(r"(?:^|(?<=[=:;,]))([ \t]*)([^\"<>,;=:\s]++(?:[ \t]+[^\"<>,;=:\s]++){0,3})"
                           r"([ \t]*<\s*(?:sips?|tel|im|pres):)", re.I | re.M)
_CAPITAL_DISPLAY = re.compile(r"(?<![\w'.\-])((?:[A-Z][\w'.\-]*+[ \t]+){0,3}[A-Z][\w'.\-]*+)"
                              r"([ \t]*<\s*(?:sips?|tel|im|pres):)")
# display names as key=value pairs (Data: displayName=Jane Roe; callerName="Jane Roe")
_KEY_DISPLAY = re.compile(r"(?i)(?<![\w-])((?:display[-_]?name|friendly[-_]?name|caller[-_]?name|callee[-_]?name|"
                          r"full[-_]?name)[ \t]*=[ \t]*)(\"?)([^;,\"\r\n<>=&]+)")
# organisation parts of a certificate's distinguished name (CN is a host, replaced as one)
_DN_PART = re.compile(r"(?<![\w-])((?:O|OU|L|ST|STREET)=)([^,;\"\r\n]+)")
_XML_DISPLAY = re.compile(r"(?i)(<(displayName|display-name|friendlyName)>)([^<]+)(</)")
_XML_DISPLAY_ATTR = re.compile(r"(?i)(\b(?:displayName|display-name|friendlyName)=)([\"'])([^\"']*)\2")
# DOMAIN\user (a NetBIOS domain is at most 15 characters; "\\" as a log escapes it)
_DOMAIN_USER = re.compile(r"(?<![\w.\-\\\[$])([A-Za-z][\w.\-]{0,14})(\\{1,2})([A-Za-z0-9][\w.\-$]{0,63})(?![\w\\$])")
# UserName=jdoe, user="jdoe", account=…, upn=… (not ;user=phone, the URI parameter: see the values kept)
_USER_KEY = re.compile(r"(?i)(?<![\w-])((?:user(?:[-_]?(?:name|id))?|account(?:[-_]?name)?|upn|samaccountname|"
                       r"log[io]n(?:[-_]?name)?)[ \t]*=[ \t]*)(\"?)([^;,\"\s&<>\\@=]+)(?![\\@\w])")
_USER_KEY_VALUES = frozenset({"phone", "ip", "dialstring", "redacted", "none", "null", "unknown", "anonymous"})
# the characters of a user part and its parameters, as one maximal run just before "@"
_USERINFO_RUN = re.compile(r"(?<![\w.%+\-;=])[\w.%+\-;=]++(?=@[\w\[])")
_USERINFO_TAIL = re.compile(r"(?<![\w.%+\-])([\w.%+\-]+)((?:;[\w.%=+\-]*)*)\Z")
_TEL = re.compile(r"(?i)(\btel:)(\+?[\d().\-]*+)")
# +14255550150, +1 (425) 555-0150, +44 20 7946 0000 (7-15 digits, checked in `_phone_match`);
# national forms (425) 555-0142, 425.555.0188, 425-555-0177, 1-425-555-0177, 4255550199
_PHONE = re.compile(r"(?<![\w+.\-/:])(?:"
                    r"\+\d++(?:[ .\-]?\(?\d++\)?){0,5}+"
                    r"|(?:1[ .\-]?)?(?:\(\d{3}\)[ ]?|\d{3}[ .\-])\d{3}[ .\-]\d{4}(?![\w]|[.\-]\d)"
                    r"|1?[2-9]\d{2}[2-9]\d{6}(?![\w]|[.\-]\d))")
_IPV6 = re.compile(r"(?<![\w:.])((?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\d{1,3}(?:\.\d{1,3}){3})?)"
                   r"(?![\w:./])")
_IPV4 = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w]|\.\d)")
# 10-1-2-3 (in host names such as ip-10-1-2-3); a date (2024-01-15-10-30) starts with four digits
_IPV4_DASHED = re.compile(r"(?<![\w.])(?<!\d-)(\d{1,3}(?:-\d{1,3}){3})(?![\w]|[-.]\d)")
# (not a feature tag +sip.instance, a MIME type vnd.ms-…, a path part; a URL's host is one)
_HOST = re.compile(r"(?<![\w.\-+])(?<![^/]/)((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+"
                   r"[A-Za-z](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)(?![\w\-]|\.[A-Za-z0-9])")
_URI_HOST = re.compile(r"(?i)\bsips?:(?:[^@\s<>\":]*+@)?([A-Za-z0-9.\-]+\.[A-Za-z][A-Za-z0-9\-]*)")
_VIA_HOST = re.compile(r"(?i)\bSIP/2\.0/[A-Z]+\s+([A-Za-z0-9.\-]+\.[A-Za-z][A-Za-z0-9\-]*)")
_PHONE_USER = re.compile(r"^\+?[\d().\-]*\d[\d().\-]*$")
_CONTROL_LENGTH = re.compile(r"\d+")
_PARAM_NAME = re.compile(r"[A-Za-z][\w.\-]{0,39}")
_HEX_ID = re.compile(r"[0-9A-Fa-f\-]{16,}")
_DIGIT = re.compile(r"\d")
_CSEQ = re.compile(r"\s*\d{1,10}\s+[A-Za-z\-]{1,40}\s*")
_USER_AFTER = re.compile(r"([^@\s<>\"';:,]+)(?:;[^@\s<>\"']*)?@")
# XML namespace hosts in message bodies: public, not the deployment's, left as they are.
_PUBLIC_HOSTS = frozenset({"schemas.microsoft.com", "www.w3.org", "www.ietf.org", "schemas.xmlsoap.org",
                           "schemas.openxmlformats.org", "purl.org"})
# Last labels that make a dotted word a file or a code name, not a host (SIPAdminLog.cpp).
_FILE_SUFFIXES = frozenset("""
cpp c h hpp cs dll exe sys log txt xml xsd json js ps1 psm1 html htm aspx asmx svc config etl zip gz cab png
jpg md py uccapilog svclog pcap pcapng cap msi bat cmd ini
""".split())
# First labels of .NET and Windows names (System.Net.Sockets), kept when not in a known domain.
_NAMESPACES = frozenset({"system", "microsoft", "windows", "rtc"})
# Trace file extensions kept in a file's pseudonym (file1.log.gz); any other suffix is dropped.
_FILE_EXTENSIONS = frozenset("log txt gz zip pcap pcapng cap uccapilog syslog out trc sip etl md json".split())
# Path parts too common to be a customer's name: not swept from the report.
_COMMON_PATH_PARTS = frozenset("""
tmp temp home users user var log logs trace traces tracing data mnt media desktop documents downloads appdata
local microsoft office lync skype server servers cases case ticket tickets support work root private shared
share incoming input inputs output reports report files sfb cls ocslogger
""".split())

# Originals that are words of the pseudonyms themselves are never swept (they
# would rewrite "User 1" or "host1"); their structured places are still replaced.
_PSEUDONYM_WORDS = frozenset({"user", "host", "domain", "example", "tag", "call", "epid", "gruu",
                              "machine", "redacted", "sip", "tel", "file", "id", "org", "conf"})

_MAKERS: dict[str, Callable[[int], str]] = {
    "user": lambda n: f"user{n}",
    "tag": lambda n: f"tag{n}",
    "call_id": lambda n: f"call{n}",
    "epid": lambda n: f"epid{n}",
    "gruu": lambda n: f"gruu{n}",
    "uuid": lambda n: f"00000000-0000-0000-0000-{n:012x}",
    "label": lambda n: f"machine{n}",
    "id": lambda n: f"id{n}",
    "org": lambda n: f"Org {n}",
    "conf": lambda n: f"conf{n}",
    "display": lambda n: f"User {n}",
}


def _is_phone(text: str) -> bool:
    return bool(_PHONE_USER.match(text)) and sum(ch.isdigit() for ch in text) >= 3


def _fake_digits(n: int, counter: int) -> str:
    """``n`` digits from the fictional 555-0100…0199 style range, unique by ``counter``."""
    count = str(counter).zfill(2)
    template = "15550100" if n >= 11 else "5550100"
    room = max(0, n - len(count))
    base = (template + "0" * n)[:room]
    return (base + count)[-n:] if n else ""


def _ipv4_pool() -> Iterable[str]:
    for net in ("192.0.2.", "198.51.100.", "203.0.113."):
        for last in range(1, 255):
            yield f"{net}{last}"
    for third in range(0, 512):
        for last in range(1, 255):
            yield f"198.{18 + third // 256}.{third % 256}.{last}"
    raise RuntimeError("more than 131,000 IPv4 addresses in one trace")


def _keep_ipv4(ip: ipaddress.IPv4Address) -> bool:
    """Addresses that identify nobody: unspecified, loopback, broadcast, netmasks, multicast."""
    text = str(ip)
    return (ip.is_unspecified or ip.is_loopback or ip.is_multicast or text == "255.255.255.255"
            or text.startswith("255."))


class Redactor:
    """Replaces user names, numbers, addresses, identifiers (and domains) by pseudonyms.

    Args:
        redact_domains: also replace domains and host names
            (``um01.contoso.com`` → ``host1.domain1.example``).

    Example:
        >>> r = Redactor()
        >>> r.text('"Alice Example" <sip:alice@contoso.com>;tag=9a8b')
        '"User 1" <sip:user1@contoso.com>;tag=tag1'
    """

    def __init__(self, redact_domains: bool = False) -> None:
        self.redact_domains = redact_domains
        self._maps: dict[str, dict[str, str]] = {c: {} for c in CATEGORIES}
        self._counters: dict[str, int] = {c: 0 for c in CATEGORIES}
        self._issued: set[str] = set()          # every pseudonym given, lower-cased
        self._reserved: set[str] = set()        # every original seen, lower-cased
        self._domains: set[str] = set()         # registrable domains named in URIs, Vias, Peers
        self._sweep: dict[str, str] = {}       # original (lower) → pseudonym, for the final sweep
        self._sweeper: _Sweeper | None = None
        self._sweep_size = -1
        self._dry = False
        self._seen: set[tuple[str, str]] = set()
        self._pending: list[tuple[str, Callable[[], object]]] = []
        self._cache: dict[tuple[str, str], str] = {}
        self._files: dict[str, str] = {}
        self._file_names: list[str] = []       # input names seen while learning, named after the trace
        self._ipv4 = iter(_ipv4_pool())

    # ------------------------------------------------------------------ public API
    def redact_items(self, items: Iterable[Item]) -> list[Item]:
        """Every item redacted: one pass to learn the originals, one to rewrite."""
        items = list(items)
        self.learn(items)
        return [self.redact_item(item) for item in items]

    def learn(self, items: Iterable[Item]) -> None:
        """Collect the originals of these items, then give each its pseudonym.

        Nothing is rewritten.  Pseudonyms are given in the order the originals
        first appear (machine names last, so they follow their hosts), and
        none is equal to any original seen.
        """
        self._dry = True
        try:
            for item in items:
                self._item(item)
        finally:
            self._dry = False
        self._assign_pending()

    def learn_context(self, ctx: Context) -> None:
        """Collect the FQDNs of a `Context` (call before `learn` or `redact_items`)."""
        self._dry = True
        try:
            self._context(ctx)
        finally:
            self._dry = False
        self._assign_pending()

    def _assign_pending(self) -> None:
        pending, self._pending = self._pending, []
        for cat, give in pending:
            if cat != "label":
                give()
        for cat, give in pending:
            if cat == "label":
                give()
        names, self._file_names = self._file_names, []
        for name in names:
            self.file(name)
        self._cache.clear()

    def redact_item(self, item: T) -> T:
        """A new item with every text field redacted (the model re-derives the rest)."""
        return self._item(item)  # type: ignore[return-value]

    def redact_context(self, ctx: Context) -> Context:
        """The UM / Edge / pool FQDNs under the same pseudonyms as in the trace."""
        return self._context(ctx)

    def redact_stats(self, stats: InputStats) -> InputStats:
        """A copy of one input's counts with its name, skip reasons and examples redacted."""
        out = dataclasses.replace(stats)
        out.path = self.file(stats.path)
        out.skip_reasons = type(stats.skip_reasons)(
            {self.text(reason): n for reason, n in stats.skip_reasons.items()})
        out.examples = [self.redact_item(s) for s in stats.examples]
        return out

    def mapping(self) -> dict[str, dict[str, str]]:
        """Original → pseudonym, per category (only the categories that were used)."""
        return {cat: dict(values) for cat, values in self._maps.items() if values}

    def text(self, text: str | None, context: str = "text") -> str:
        """Free text (a field, a body, a log line) with every recognised value replaced."""
        if not text:
            return text or ""
        key = (context, text)
        if not self._dry:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        out = self._text(text, context)
        if not self._dry:
            out = self._final_sweep(out)
            if len(self._cache) < 200_000:
                self._cache[key] = out
        return out

    def file(self, name: str) -> str:
        """An input's pseudonym: ``file1.log``, ``file2.zip!file3.log`` (a customer's folder and
        file names say who the trace is from).  Its folder names, its name and the numbers in
        them are swept from every text."""
        if self._dry:
            if name not in self._files:
                self._files[name] = name
                self._file_names.append(name)
            return name
        known = self._files.get(name)
        if known is not None and (known != name or name in ("-", "<stdin>", "")):
            return known
        self._files[name] = "!".join(self._file_part(part) for part in name.split("!"))
        return self._files[name]

    def call_id(self, value: str) -> str:
        """A Call-ID under its pseudonym (one given on the command line, echoed in a report)."""
        return self._call_id(value)

    def _file_part(self, part: str) -> str:
        if part in ("-", "<stdin>", ""):
            return part
        key = part.lower()
        known = self._maps["file"].get(key)
        if known is not None:
            return known
        folders = [p for p in re.split(r"[\\/]", part) if p]
        base = folders.pop() if folders else part
        suffixes: list[str] = []
        for suffix in reversed(base.lower().split(".")[1:]):
            if suffix not in _FILE_EXTENSIONS:
                break
            suffixes.insert(0, "." + suffix)
        pseudo = self._pseudo("file", part, lambda n: f"file{n}{''.join(suffixes)}", sweep_min=3)
        self._sweep_add(base, pseudo)
        stem = base[: len(base) - len("".join(suffixes))] if suffixes else base
        if len(stem) >= 3 and stem.lower() not in _COMMON_PATH_PARTS:
            self._sweep_add(stem, pseudo.split(".")[0])
        for folder in folders:
            low = folder.lower()
            if len(folder) >= 3 and low not in _COMMON_PATH_PARTS and low not in self._sweep:
                self._sweep_add(folder, self._pseudo("file", "/" + folder, lambda n: f"folder{n}"))
        for number in re.findall(r"(?<!\d)\d{5,}(?!\d)", part):
            self._phone(number)   # a ticket or phone number in a folder name
        return pseudo

    def host(self, host: str | None) -> str | None:
        """A host (IP address or name) under its pseudonym."""
        if not host:
            return host
        bare = host.strip()
        if bare.startswith("[") and bare.endswith("]"):
            inner = self._ip(bare[1:-1])
            return f"[{inner}]" if inner is not None else bare
        ip = self._ip(bare)
        if ip is not None:
            return ip
        if not self.redact_domains:
            return host
        if "." not in bare:
            return self._label(bare)
        return self._hostname(bare)

    # ------------------------------------------------------------------ items
    def _item(self, item: Any) -> Any:
        if isinstance(item, SipMessage):
            return self._sip(item)
        if isinstance(item, DiagRecord):
            return self._diag(item)
        if isinstance(item, Record):
            return self._record(item)
        if isinstance(item, Skipped):
            return self._skipped(item)
        return item

    def _origin(self, origin: Origin) -> Origin:
        name = self.file(origin.file)
        return origin if name == origin.file else dataclasses.replace(origin, file=name)

    def _sip(self, msg: SipMessage) -> SipMessage:
        request_uri = self.text(msg.request_uri, "uri") if msg.request_uri is not None else None
        reason = self.text(msg.reason) if msg.reason is not None else None
        if msg.method is not None and msg.start_line == f"{msg.method} {msg.request_uri} {msg.version}":
            start_line = f"{msg.method} {request_uri} {msg.version}"
        elif msg.status is not None and msg.start_line == f"{msg.version} {msg.status} {msg.reason}".rstrip():
            start_line = f"{msg.version} {msg.status} {reason}".rstrip()
        else:
            start_line = self.text(msg.start_line)
        body = self.text(msg.body, "body")
        fields = tuple((name, self._header(name, value)) for name, value in msg.headers.fields)
        if body != msg.body:
            grew = len(body.encode("utf-8")) - len(msg.body.encode("utf-8"))
            fields = tuple((n, _adjust_length(v, grew) if n.strip().lower() in ("content-length", "l") else v)
                           for n, v in fields)
        return dataclasses.replace(
            msg, origin=self._origin(msg.origin), start_line=start_line, request_uri=request_uri, reason=reason,
            headers=Headers(fields), body=body, direction=self._direction(msg.direction),
            peer=self._peer(msg.peer), src=self._peer(msg.src), dst=self._peer(msg.dst),
            record=self._record(msg.record) if msg.record is not None else None)

    def _header(self, name: str, value: str) -> str:
        low = name.strip().lower()
        if low == "cseq" and _CSEQ.fullmatch(value):
            return value   # a sequence number, compared by the rules: not a phone number
        if low in CALL_ID_HEADERS:
            return self._call_id(value)
        if low in AUTH_HEADERS:
            return self._auth(value)
        return self.text(value, "header")

    def _diag(self, diag: DiagRecord) -> DiagRecord:
        data = tuple((k, self._call_id(v) if k.lower() in ("call-id", "callid", "sip-call-id")
                      else self._tag(v) if k.lower().endswith("tag") else self.text(v)) for k, v in diag.data)
        return dataclasses.replace(
            diag, origin=self._origin(diag.origin), record=self._record(diag.record),
            text=self.text(diag.text) if diag.text is not None else None,
            sip_start_line=self.text(diag.sip_start_line) if diag.sip_start_line is not None else None,
            call_id=self._call_id(diag.call_id) if diag.call_id is not None else None,
            peer=self._peer(diag.peer), data=data)

    def _record(self, rec: Record) -> Record:
        fields = tuple((k, self._field(k, v)) for k, v in rec.fields)
        machine = rec.machine
        if machine and self.redact_domains:
            # "[0]" names no machine; a name is replaced like the first label of its host
            machine = "\\".join(self._label(p) if p and not p.isdigit() else p for p in machine.split("\\"))
        return dataclasses.replace(
            rec, origin=self._origin(rec.origin), machine=machine, tail=self.text(rec.tail), fields=fields,
            text_lines=tuple(self.text(line) for line in rec.text_lines))

    def _field(self, name: str, value: str) -> str:
        low = name.strip().lower()
        if low in ("cseq", "sip-cseq") and _CSEQ.fullmatch(value):
            return value
        if low in CALL_ID_HEADERS:
            return self._call_id(value)
        if low in AUTH_HEADERS:
            return self._auth(value)
        return self.text(value)

    def _skipped(self, item: Skipped) -> Skipped:
        excerpt = item.excerpt
        if len(excerpt) >= 200 and "\n" in excerpt:
            # cut at 200 characters: the last line may end inside a value no pattern can recognise
            excerpt = excerpt[: excerpt.rfind("\n") + 1]
        return dataclasses.replace(item, origin=self._origin(item.origin), reason=self.text(item.reason),
                                   context=self.text(item.context), excerpt=self.text(excerpt))

    def _direction(self, d: TraceDirection | None) -> TraceDirection | None:
        if d is None:
            return None
        return dataclasses.replace(d, text=self.text(d.text),
                                   source=self.text(d.source) if d.source else d.source,
                                   destination=self.text(d.destination) if d.destination else d.destination)

    def _peer(self, peer: Peer | None) -> Peer | None:
        if peer is None:
            return None
        host = self.host(peer.host)
        if self.redact_domains and peer.host and "." in peer.host and not _ip_or_none(peer.host):
            self._learn_domain(peer.host)
        return peer if host == peer.host else dataclasses.replace(peer, host=host or peer.host)

    def _context(self, ctx: Context) -> Context:
        def each(values: tuple[str, ...]) -> tuple[str, ...]:
            out = []
            for value in values:
                if self.redact_domains and "." in value and not _ip_or_none(value):
                    self._learn_domain(value)
                out.append((self.host(value) or value).lower())
            return tuple(out)

        return Context(each(ctx.um_fqdns), each(ctx.edge_fqdns), each(ctx.pool_fqdns))

    # ------------------------------------------------------------------ structured values
    def _call_id(self, value: str) -> str:
        stripped = value.strip()
        if not stripped:
            return value
        pseudo = self._pseudo("call_id", stripped, fold=False)
        return value.replace(stripped, pseudo, 1)

    def _tag(self, value: str) -> str:
        stripped = value.strip().strip('"')
        if not stripped:
            return value
        return value.replace(stripped, self._pseudo("tag", stripped, fold=False), 1)

    def _auth(self, value: str) -> str:
        """Keep the scheme and parameter names, replace every parameter value."""
        match = re.match(r"\s*([A-Za-z][\w.\-]*)(\s*)(.*)$", value, re.S)
        if not match:
            return "redacted"
        scheme, space, rest = match.groups()
        if not rest.strip():
            return value
        parts = _split_params(rest)
        out = []
        for part in parts:
            name, eq, val = part.partition("=")
            if not eq or not _PARAM_NAME.fullmatch(name.strip()) or not val.strip() or val.startswith("="):
                out.append("redacted")   # a bare token (NTLM, Negotiate blobs): nothing to keep
                continue
            quoted = val.strip().startswith('"')
            self._learn_auth(name.strip().lower(), val.strip().strip('"'))
            out.append(f'{name.strip()}="redacted"' if quoted else f"{name.strip()}=redacted")
        return f"{scheme}{space or ' '}{', '.join(out)}"

    def _learn_auth(self, name: str, value: str) -> None:
        """An authentication value is replaced where it stands; an account or a secret is also
        swept from every other text that quotes it."""
        if name in ("username", "user", "targetname", "realm", "qop", "version", "algorithm", "scheme"):
            if name in ("username", "user") and value:
                if "\\" in value or "@" in value:
                    self.text(value.replace("\\\\", "\\"))   # CONTOSO\\jdoe, jdoe@contoso.com
                elif re.fullmatch(r"[\w.\-$]{1,64}", value):
                    self._user_like(value)
            return
        if 6 <= len(value) and any(ch.isdigit() for ch in value) and value.lower() not in self._issued:
            self._sweep_add(value, "redacted")

    def _ip(self, text: str) -> str | None:
        """The pseudonym of an IP address, or None when ``text`` is not one."""
        ip = _ip_or_none(text)
        if ip is None:
            return None
        if isinstance(ip, ipaddress.IPv4Address):
            if _keep_ipv4(ip):
                return text
            return self._pseudo("ipv4", str(ip), lambda n: self._next_ipv4(), extra=(text,),
                                replay=lambda: self._ip(text))
        if ip.is_unspecified or ip.is_loopback:
            return text
        return self._pseudo("ipv6", ip.compressed, lambda n: f"2001:db8::{n:x}", extra=(text,),
                            replay=lambda: self._ip(text))

    def _next_ipv4(self) -> str:
        return next(self._ipv4)

    def _phone(self, text: str) -> str:
        digits = "".join(ch for ch in text if ch.isdigit())
        if not digits or digits in self._issued:
            return text
        fake = self._pseudo("phone", digits, lambda n: _fake_digits(len(digits), n),
                            replay=lambda: self._phone(text))
        if self._dry:
            self._reserved.add(text.lower())
            return text
        it = iter(fake)
        formatted = "".join(next(it) if ch.isdigit() else ch for ch in text)
        self._sweep_add(text, formatted)
        return formatted

    def _user(self, user: str) -> str:
        return self._pseudo("user", user)

    def _display(self, display: str, user_after: str | None = None) -> str:
        """``"User N"``, numbered like the user of the URI that follows when it can be."""
        key = display.strip()
        if not key:
            return display
        if self._dry:
            return self._pseudo("display", key, fold=False,
                                replay=lambda: self._display(display, user_after))
        hint = self._user_number(user_after) if user_after else None

        def make(n: int) -> str:
            if hint is not None and f"user {hint}" not in self._issued:
                return f"User {hint}"
            return f"User {n}"

        return self._pseudo("display", key, make, fold=False, sweep_min=4)

    def _user_number(self, user: str) -> int | None:
        if _is_phone(user) or _ip_or_none(user) or self._looks_like_host(user):
            return None
        pseudo = user.lower() if user.lower() in self._issued else self._user(user)
        digits = pseudo[4:]
        return int(digits) if pseudo.startswith("user") and digits.isdigit() else None

    def _learn_domain(self, host: str) -> None:
        labels = host.lower().strip(".").split(".")
        if len(labels) >= 2 and labels[-1].isalpha():
            self._domains.add(".".join(labels[-_domain_len(labels):]))

    def _hostname(self, name: str) -> str:
        """``um01.contoso.com`` → ``host1.domain1.example``: each level under its parent's pseudonym.

        Built from the domain up, in a loop (a name of thousands of labels must not
        recurse); a name longer than DNS allows (253 characters, 127 labels) is one
        host under its domain, its inner levels are not given names of their own.
        """
        key = name.lower().rstrip(".")
        known = self._maps["host"].get(key) or self._maps["domain"].get(key)
        if known is not None:
            return known
        labels = key.split(".")
        size = _domain_len(labels)
        levels = range(len(labels) - size, -1, -1)
        if len(key) > 253 or len(labels) > 127:
            levels = range(0, -1, -1) if len(labels) > size else range(0)
        self._learn_domain(key)
        if self._dry:
            self._reserved.add(".".join(labels[-size:]))
            for i in levels:
                self._reserved.add(".".join(labels[i:]))
            self._reserved.add(labels[0])
            return self._pseudo("host", key, replay=lambda: self._hostname(key))
        if key in self._issued:
            return name
        domain = ".".join(labels[-size:])
        pseudo = self._maps["domain"].get(domain)
        if pseudo is None:
            pseudo = self._pseudo("domain", domain, lambda n: f"domain{n}.example")
            first = labels[-size]
            if len(first) >= 4 and first not in _COMMON_LABELS and not first.isdigit():
                self._sweep_add(first, pseudo.split(".")[0])
        for i in levels:
            if i == len(labels) - size:
                continue   # the domain itself
            pseudo = self._pseudo("host", ".".join(labels[i:]), _host_under(pseudo))
            first = labels[i]
            if any(ch.isdigit() for ch in first) and any(ch.isalpha() for ch in first) and 3 <= len(first) <= 63:
                # a machine-like first label (fe01) also stands alone in free text and record headers
                self._maps["label"].setdefault(first, pseudo.split(".")[0])
                self._sweep_add(first, pseudo.split(".")[0])
        return pseudo

    def _label(self, label: str) -> str:
        """A single-label machine name: the first label of its host's pseudonym, or ``machineN``."""
        key = label.lower()
        known = self._maps["label"].get(key)
        if known is not None:
            return known
        if not self._dry:
            if key in self._issued:
                return label
            for fqdn, pseudo in self._maps["host"].items():
                if fqdn.split(".", 1)[0] == key:
                    self._maps["label"][key] = pseudo.split(".")[0]
                    self._sweep_add(key, pseudo.split(".")[0])
                    return pseudo.split(".")[0]
        return self._pseudo("label", key, replay=lambda: self._label(key))

    # ------------------------------------------------------------------ the pseudonym table
    def _pseudo(self, cat: str, original: str, make: Callable[[int], str] | None = None, *, fold: bool = True,
                extra: tuple[str, ...] = (), sweep_min: int = 2, replay: Callable[[], object] | None = None) -> str:
        if original.lower() == "redacted":
            return original     # an authentication value replaced earlier in the same text
        key = original.lower() if fold else original
        table = self._maps[cat]
        found = table.get(key)
        if found is not None:
            return found
        if self._dry:
            self._reserved.add(original.lower())
            self._reserved.update(e.lower() for e in extra)
            if (cat, key) not in self._seen:
                self._seen.add((cat, key))
                self._pending.append((cat, replay or (lambda: self._pseudo(
                    cat, original, make, fold=fold, extra=extra, sweep_min=sweep_min))))
            return original
        if original.lower() in self._issued:
            return original      # already a pseudonym (text redacted twice)
        make = make or _MAKERS[cat]
        for _ in range(1_000_000):
            self._counters[cat] += 1
            candidate = make(self._counters[cat])
            low = candidate.lower()
            if low not in self._issued and low not in self._reserved:
                break
        else:  # pragma: no cover - a million values of one kind in one report
            raise RuntimeError(f"ran out of {cat} pseudonyms")
        table[key] = candidate
        self._issued.add(candidate.lower())
        for text in (original, *extra):
            if len(text) >= sweep_min:
                self._sweep_add(text, candidate)
        return candidate

    def _sweep_add(self, original: str, pseudo: str) -> None:
        low = original.lower()
        if low and low not in self._sweep and low != pseudo.lower() and low not in _PSEUDONYM_WORDS:
            self._sweep[low] = pseudo

    # ------------------------------------------------------------------ text rewriting
    def _text(self, text: str, context: str) -> str:
        # each pattern runs only when a plain substring test says it may match (most values
        # hold none of these): the patterns, not the tests, decide what is replaced
        if "%" in text:
            text = _PCT_RUN.sub(_percent_decoded, text)
        if self._dry:
            for pattern in (_URI_HOST, _VIA_HOST):
                for m in pattern.finditer(text):
                    if not _ip_or_none(m.group(1)):
                        self._learn_domain(m.group(1))
        low = text.lower()
        if context == "body" or "inline:" in low or "a=ice-" in low:
            text = _CRYPTO.sub(lambda m: m.group(1) + "redacted", text)
            text = _ICE.sub(lambda m: m.group(1) + "redacted", text)
        if context not in ("header", "uri") and ":" in text:
            text = _CALL_ID_LINE.sub(lambda m: m.group(1) + self._call_id(m.group(2)), text)
            text = _AUTH_LINE.sub(lambda m: m.group(1) + self._auth(m.group(2)), text)
        if "urn:uuid:" in low:
            text = _UUID.sub(lambda m: "urn:uuid:" + self._pseudo("uuid", m.group(1)), text)
        if "app:conf:" in low:
            text = _CONF.sub(lambda m: m.group(1) + self._pseudo("conf", m.group(2), fold=False), text)
        if "id>" in low:
            text = _XML_CONF.sub(lambda m: m.group(1) + self._pseudo("conf", m.group(3), fold=False) + m.group(4),
                                 text)
        if "opaque=" in low:
            text = _OPAQUE.sub(self._opaque, text)
            text = _MS_OPAQUE.sub(lambda m: m.group(1) + self._pseudo("gruu", m.group(2), fold=False), text)
        if "gr=" in low:
            text = _GR.sub(self._gr, text)
        if "epid=" in low:
            text = _EPID.sub(lambda m: m.group(1) + m.group(2) + self._pseudo("epid", m.group(3)), text)
        if "tag=" in low:
            text = _TAG.sub(lambda m: m.group(1) + m.group(2) + self._pseudo("tag", m.group(3), fold=False), text)
        if "<" in text:
            if '"' in text:
                text = _QUOTED_DISPLAY.sub(self._quoted_display, text)
            if context == "header":
                text = _BARE_DISPLAY.sub(self._bare_display, text)
            elif context != "uri":
                text = _CAPITAL_DISPLAY.sub(self._capital_display, text)
                text = _TEXT_DISPLAY.sub(self._text_display, text)
        if "name" in low:
            text = _KEY_DISPLAY.sub(self._key_display, text)
        if "displayname" in low or "display-name" in low or "friendlyname" in low:
            text = _XML_DISPLAY.sub(lambda m: m.group(1) + self._display(m.group(3)) + m.group(4), text)
            text = _XML_DISPLAY_ATTR.sub(
                lambda m: m.group(1) + m.group(2) + self._display(m.group(3)) + m.group(2), text)
        if "CN=" in text:
            text = _DN_PART.sub(lambda m: m.group(1) + self._pseudo("org", m.group(2).strip(), sweep_min=4), text)
        if "\\" in text:
            text = _DOMAIN_USER.sub(self._domain_user, text)
        if "=" in text and ("user" in low or "account" in low or "upn" in low or "log" in low):
            text = _USER_KEY.sub(self._user_key, text)
        if "tel:" in low:
            text = _TEL.sub(self._tel, text)
        if "@" in text:
            text = _USERINFO_RUN.sub(self._userinfo_run, text)
        if _DIGIT.search(text):
            text = _PHONE.sub(self._phone_match, text)
            if text.count(":") >= 2:
                text = _IPV6.sub(self._ipv6_match, text)
            if "." in text:
                text = _IPV4.sub(self._ipv4_match, text)
            if "-" in text:
                text = _IPV4_DASHED.sub(self._ipv4_dashed_match, text)
        elif text.count(":") >= 2:
            text = _IPV6.sub(self._ipv6_match, text)
        if self.redact_domains and "." in text:
            text = _HOST.sub(self._host_match, text)
        return text

    def _opaque(self, m: re.Match[str]) -> str:
        """``opaque=user:epid:ID``, ``srvr:…:ID``: the last part is the identifier (``app:conf:`` has its own)."""
        value = m.group(3)
        parts = value.split(":")
        last = parts[-1]
        if value.lower().startswith("app:conf:") or not last or last.lower() in self._issued:
            return m.group(0)
        if len(parts) > 1 and re.fullmatch(r"[a-z][a-z\-]{0,19}", last):
            return m.group(0)   # a keyword (app:voicemail), not an identifier
        return m.group(1) + m.group(2) + ":".join([*parts[:-1], self._pseudo("gruu", last, fold=False)])

    def _gr(self, m: re.Match[str]) -> str:
        value = m.group(3)
        if value.lower().startswith("urn:uuid:") or value.lower() in self._issued:
            return m.group(0)
        return m.group(1) + m.group(2) + self._pseudo("gruu", value, fold=False)

    def _quoted_display(self, m: re.Match[str]) -> str:
        display = self._display(m.group(3), _user_after(m.string, m.end()))
        return f'{m.group(1)}{m.group(2)}"{display}"{m.group(4)}'

    def _bare_display(self, m: re.Match[str]) -> str:
        words = m.group(3)
        if words.lower() in self._issued:
            return m.group(0)
        return f"{m.group(1)}{m.group(2)}{self._display(words, _user_after(m.string, m.end()))}{m.group(4)}"

    def _capital_display(self, m: re.Match[str]) -> str:
        words = m.group(1)
        if words.lower() in self._issued or words.upper() == words:
            return m.group(0)   # a pseudonym, or an upper-case keyword (INVITE)
        return self._display(words, _user_after(m.string, m.end())) + m.group(2)

    def _text_display(self, m: re.Match[str]) -> str:
        words = m.group(2)
        if words.lower() in self._issued or re.search(r"\bUser \d+$", words):
            return m.group(0)
        return m.group(1) + self._display(words, _user_after(m.string, m.end())) + m.group(3)

    def _key_display(self, m: re.Match[str]) -> str:
        value = m.group(3)
        name = value.strip()
        if not name or name.lower() in self._issued:
            return m.group(0)
        return m.group(1) + m.group(2) + value.replace(name, self._display(name), 1)

    def _domain_user(self, m: re.Match[str]) -> str:
        domain, sep, user = m.groups()
        if user.lower() in ("n", "r", "t", "r\\n"):
            return m.group(0)   # a line-end escape in copied text, not an account
        new_user = self._user_like(user)
        new_domain = self._netbios(domain) if self.redact_domains else domain
        return f"{new_domain}{sep}{new_user}"

    def _netbios(self, name: str) -> str:
        """A Windows domain (CONTOSO): the first label of its DNS domain's pseudonym when one matches."""
        low = name.lower()
        if low in self._issued or re.fullmatch(r"(?:domain|host|machine)\d+", low):
            return name   # already a pseudonym (the first label of one)
        if not self._dry:
            for domain in sorted(self._domains):
                if domain.split(".", 1)[0] == low:
                    return self._hostname(domain).split(".", 1)[0]
        return self._label(name)

    def _user_key(self, m: re.Match[str]) -> str:
        value = m.group(3)
        low = value.lower()
        if low in _USER_KEY_VALUES or low in _PSEUDONYM_WORDS or low in self._issued:
            return m.group(0)      # nothing to hide, or a pseudonym given earlier in this text ("User 1")
        return m.group(1) + m.group(2) + self._user_like(value)

    def _tel(self, m: re.Match[str]) -> str:
        number = m.group(2)
        end = len(number)
        while end and not number[end - 1].isdigit():
            end -= 1
        if not end:
            return m.group(0)
        return m.group(1) + self._phone(number[:end]) + number[end:]

    def _userinfo_run(self, m: re.Match[str]) -> str:
        """The user part (and its parameters) at the end of a run of user characters before ``@``."""
        run = m.group(0)
        tail = _USERINFO_TAIL.search(run)
        if tail is None:
            return run
        return run[: tail.start()] + self._user_like(tail.group(1)) + (tail.group(2) or "")

    def _user_like(self, user: str) -> str:
        """A URI's user part, an account name: a number, an id, an address, a host or a person."""
        if user.lower() in self._issued:
            return user
        if user.lower() in self._maps["user"]:
            return self._maps["user"][user.lower()]   # a user before it was also seen as a host name
        if _is_phone(user):
            return self._phone(user)
        if _HEX_ID.fullmatch(user):
            return self._pseudo("id", user)   # Content-ID, Message-ID style: not a person
        if _ip_or_none(user):
            return self._ip(user) or user
        if self._looks_like_host(user):
            return self.host(user) or user
        return self._user(user)

    def _looks_like_host(self, text: str) -> bool:
        """A user part that is a server's FQDN (``sip:fe01.contoso.com@contoso.com;gruu``)."""
        labels = text.lower().split(".")
        if len(labels) < 2 or not labels[-1].isalpha():
            return False
        known = ".".join(labels[-_domain_len(labels):]) in self._domains
        return known or (len(labels) >= 3 and labels[-1] in _TLDS)

    def _phone_match(self, m: re.Match[str]) -> str:
        text = m.group(0)
        if "".join(ch for ch in text if ch.isdigit()) in self._issued:
            return text   # a pseudonym already (a tel: URI's number, a number redacted twice)
        if not text.startswith("+"):
            return self._phone(text)
        first = len(text) - len(text[1:].lstrip("0123456789"))
        if text[1:first] in self._issued:
            # a pseudonym (a tel: URI's number) followed by other groups: those are a number of their own
            return text[:first] + _PHONE.sub(self._phone_match, text[first:])
        # E.164: the longest run of digit groups that stays within 15 digits
        count, cut = 0, 0
        for group in re.finditer(r"\d+", text):
            if count + len(group.group(0)) > 15:
                break
            count += len(group.group(0))
            cut = group.end()
        if count < 7:
            return text
        if text[cut:cut + 1] == ")" and text[:cut].count("(") > text[:cut].count(")"):
            cut += 1
        return self._phone(text[:cut]) + text[cut:]

    def _ipv6_match(self, m: re.Match[str]) -> str:
        text = m.group(1)
        if text.count(":") < 2 or text.lower() in self._issued:
            return text
        return self._ip(text) or text

    def _ipv4_match(self, m: re.Match[str]) -> str:
        text = m.group(1)
        start = m.start(1)
        before = m.string[max(0, start - 2):start]
        if before.endswith("/") and not before.endswith("//"):
            return text   # a product version: RTCC/5.0.0.0
        return self._ipv4_any(text, ".")

    def _ipv4_dashed_match(self, m: re.Match[str]) -> str:
        return self._ipv4_any(m.group(1), "-")

    def _ipv4_any(self, text: str, sep: str) -> str:
        """An IPv4 address written with leading zeros (010.001.002.003) or dashes, as well as plainly."""
        canonical = _canonical_ipv4(text, sep)
        if canonical is None or canonical in self._issued:
            return text
        new = self._ip(canonical) or canonical
        if new == canonical:
            return text   # kept (loopback, netmask …)
        new = new.replace(".", sep)
        if text != canonical:
            if self._dry:
                self._reserved.add(text)
            else:
                self._sweep_add(text, new)
        return new

    def _host_match(self, m: re.Match[str]) -> str:
        name = m.group(1)
        low = name.lower()
        if low in self._issued or low in _PUBLIC_HOSTS:
            return name
        labels = low.split(".")
        if labels[-1] in _FILE_SUFFIXES or len(labels[-1]) < 2 or not labels[-1].isalpha():
            return name   # a file or code name (SIPAdminLog.cpp), an abbreviation (e.g)
        domain = ".".join(labels[-_domain_len(labels):])
        if domain not in self._domains and labels[0] in ("sip", "g", "ms", "vnd", "x"):
            return name   # a feature tag or a MIME name (sip.instance, g.oma.sip-im)
        if domain not in self._domains and not (name.islower() or name.isupper()):
            if labels[0] in _NAMESPACES or labels[-1] not in _TLDS:
                return name   # a mixed-case code name (System.Net, rtc.LocationProfile) in no known domain
        return self._hostname(name)

    # ------------------------------------------------------------------ the final sweep
    def sweep(self, text: str) -> str:
        """Every learned original in ``text`` replaced by its pseudonym (for a report's own text)."""
        return self._final_sweep(text, fresh=True) if text else text

    def _final_sweep(self, text: str, fresh: bool = False) -> str:
        if not text or not self._sweep:
            return text
        size = len(self._sweep)
        # while items are rewritten, a few late pseudonyms do not rebuild the pattern each time;
        # `sweep` (each output's text) always uses every value learned
        if self._sweeper is None or (size != self._sweep_size and (fresh or size > self._sweep_size * 1.05 + 16)):
            self._sweeper = _Sweeper(dict(self._sweep))
            self._sweep_size = size
        return self._sweeper(text)


# ---------------------------------------------------------------------- helpers
def _user_after(text: str, at: int) -> str | None:
    """The user part of the URI that starts at ``at`` (just after ``<sip:``), if any."""
    m = _USER_AFTER.match(text, at)
    return m.group(1) if m else None


def _percent_decoded(m: re.Match[str]) -> str:
    """A percent-encoded URI run (sip%3Ajdoe%40contoso.com) with its URI characters decoded."""
    run = m.group(0)
    low = run.lower()
    if "%40" not in low and "%3a" not in low:
        return run

    def one(e: re.Match[str]) -> str:
        ch = chr(int(e.group(1), 16))
        return ch if ch in _PCT_SAFE else e.group(0)

    return _PCT_ESCAPE.sub(one, run)


def _canonical_ipv4(text: str, sep: str = ".") -> str | None:
    parts = text.split(sep)
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts):
        return None
    return ".".join(str(int(p)) for p in parts)


def _ip_or_none(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = text.strip().strip("[]").split("%", 1)[0]
    if not value or not (value[0].isdigit() or ":" in value or value[0] in "abcdefABCDEF"):
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _domain_len(labels: list[str]) -> int:
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return 3
    return min(2, len(labels))


def _host_under(parent: str) -> Callable[[int], str]:
    """Pseudonyms for the hosts of a domain already given its pseudonym ``parent``."""
    return lambda n: f"host{n}.{parent}"


def _split_params(text: str) -> list[str]:
    """``a="x, y", b=z`` → ['a="x, y"', 'b=z'] (commas inside quotes kept)."""
    out: list[str] = []
    buf: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    if "".join(buf).strip():
        out.append("".join(buf).strip())
    return [p for p in out if p]


def _adjust_length(value: str, grew: int) -> str:
    m = _CONTROL_LENGTH.search(value)
    if not m:
        return value
    return value[: m.start()] + str(max(0, int(m.group(0)) + grew)) + value[m.end():]


_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_FIRST_RUN = re.compile(r"[a-z0-9]+")
# where a swept word may start: after a character that is not a letter or digit, or after a
# %XX escape (sip%3Ajdoe); the group is the run of letters and digits from there
_TOKEN_START = re.compile(r"(?:(?<![a-z0-9])|(?<=%[0-9a-f]{2}))(?=([a-z0-9]+))")


class _Sweeper:
    """Finds every original of a table in a text as a whole token, any case, longest first.

    The originals are indexed by their first run of letters and digits and the next four
    characters, so one pass over the text's tokens finds them, whatever their number or
    length: no pattern to compile, nothing that recurses, linear in the text.  A token
    boundary is any character but an ASCII letter or digit, so ``jdoe`` is found in
    ``jdoe-laptop`` and ``JDOE-PC``, never in ``jdoes``.
    """

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.index: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.runs: set[str] = set()
        for word in table:
            m = _FIRST_RUN.search(word)
            if m is None:
                continue
            lead, rest = word[: m.start()], word[m.end():]
            self.runs.add(m.group(0))
            self.index.setdefault((m.group(0), rest[:4]), []).append((lead, word))
        for bucket in self.index.values():
            bucket.sort(key=lambda lead_word: len(lead_word[1]), reverse=True)

    def __call__(self, text: str) -> str:
        low = text.lower()
        if len(low) != len(text):   # a character whose lower case is longer (İ): keep positions
            low = "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
        out: list[str] = []
        pos = 0
        for m in _TOKEN_START.finditer(low):
            run = m.group(1)
            if run not in self.runs or m.start() < pos:
                continue
            after = m.start() + len(run)
            found = None
            for k in range(4, -1, -1):
                for lead, word in self.index.get((run, low[after:after + k]), ()):
                    begin = m.start() - len(lead)
                    end = begin + len(word)
                    if (begin >= pos and low.startswith(word, begin) and (end == len(low) or low[end] not in _ALNUM)
                            and (not lead or begin == 0 or low[begin - 1] not in _ALNUM)):
                        found = begin, end, self.table[word]
                        break
                if found:
                    break
            if found:
                out += [text[pos:found[0]], found[2]]
                pos = found[1]
        if not out:
            return text
        out.append(text[pos:])
        return "".join(out)


__all__ = ["Redactor", "CATEGORIES"]
