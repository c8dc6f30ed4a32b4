"""Which reader an input needs, decided by its content (the file name only breaks ties)."""

from __future__ import annotations

import re

FORMATS = ("ocslogger", "uccapi", "sip", "pcap")

_PCAP_MAGICS = (b"\xa1\xb2\xc3\xd4", b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\x3c\x4d", b"\x4d\x3c\xb2\xa1")
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
# SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (RFC 3261 §25.1): SIP/2.0, and the
# SIP/7.0 of RFC 4475's torture test, which is still SIP text to read
_SIP_VERSION = re.compile(rb"SIP/[0-9]+\.[0-9]+", re.IGNORECASE)
# A client log line's prefix, "MM/DD/YYYY|hh:mm:ss.mmm PID:TID LEVEL ::" (PREFIX in grammars/uccapi.lark)
_CLIENT_PREFIX = re.compile(rb"^[0-9]{2}/[0-9]{2}/[0-9]{4}\|[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{1,6}[ \t]+"
                            rb"[0-9A-Fa-f]+(?::[0-9A-Fa-f]+)?[ \t]+[A-Za-z]+[ \t]*::", re.M)


def is_capture(head: bytes) -> bool:
    return head[:4] in _PCAP_MAGICS or head[:4] == _PCAPNG_MAGIC


def detect(head: bytes, name: str = "") -> str | None:
    """"ocslogger", "uccapi", "sip", "pcap", or None when nothing fits."""
    if is_capture(head):
        return "pcap"
    low_name = name.lower()
    if b"$$begin_record" in head or b"$$end_record" in head or head.lstrip(b"\xef\xbb\xbf").startswith(b"TL_"):
        return "ocslogger"
    lowered = head.lower()
    if low_name.endswith(".uccapilog") or _CLIENT_PREFIX.search(head) is not None:
        return "uccapi"
    if b"SIP/2.0" in head or b"sip/2.0" in lowered or _SIP_VERSION.search(head):
        return "sip"
    if low_name.endswith((".pcap", ".pcapng", ".cap")):
        return "pcap"
    return None
