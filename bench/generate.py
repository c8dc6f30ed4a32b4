#!/usr/bin/env python3
"""Seeded generator of synthetic Lync / Skype for Business Server SIPStack text traces.

    python bench/generate.py --size 10MB --seed 1 -o /tmp/t10.log

Writes OCSLogger / CLS style records (the text form Snooper opens), CRLF line ends:
TF_PROTOCOL records (one per logged SIP message), TF_DIAG and TF_CONNECTION records
(about 10 % of all records) and a few TF_COMPONENT records whose first line carries free
text instead of ``$$begin_record`` (as in the public OCS 2007 R2 sample).

The traffic is a simulation of one Front End (fe01) relaying for many users at once:
REGISTER with a 401 challenge and retry, SERVICE (presence publication), batch SUBSCRIBE
plus NOTIFY / BENOTIFY, OPTIONS, and INVITE dialogs with SDP (ICE candidates), some of
which fail (486, 480, 603, 504 + ms-diagnostics 1008 / 1010, CANCEL + 487). Relayed
messages are logged twice, incoming and outgoing. Records of the Edge (edge01) are mixed
in, as a Centralized Logging Service search over several machines would show them.

Pure standard library. Output is streamed in large chunks; the same seed gives the same
bytes. A summary goes to stderr (and, with --meta FILE, to a JSON file).
"""
from __future__ import annotations

import argparse
import base64
import heapq
import json
import os
import random
import re
import sys
import time
from calendar import timegm

GENERATOR_VERSION = 1

# --------------------------------------------------------------------------- sizes

_UNITS = {
    "": 1, "B": 1,
    "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30,
}


def parse_size(text: str) -> int:
    """'10MB' -> 10_000_000 (decimal units); 'MiB' / 'GiB' are binary."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).upper() not in _UNITS:
        raise ValueError(f"bad size {text!r} (examples: 500KB, 10MB, 1.5GB, 64MiB)")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


# --------------------------------------------------------------------------- world

FIRST = ("Alice Bob Carol Dave Erin Frank Grace Heidi Ivan Judy Mallory Niaj Olivia Peggy Rupert "
         "Sybil Trent Victor Walter Yvonne Zoe Aaron Bianca Chen Dmitri Elena Farid Gita Hiro Ines "
         "Jonas Kenji Laila Marta Nils Oona Pavel Quinn Rosa Sanjay Tomas Uma Vera Wei Ximena Yusuf").split()
LAST = ("Smith Jones Brown Garcia Miller Davis Wilson Moore Taylor Anderson Thomas Jackson White Harris "
        "Martin Thompson Young King Wright Lopez Hill Scott Green Adams Baker Nelson Carter Mitchell "
        "Perez Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart Morris Rogers").split()
# A few names with non-ASCII letters, so header and body byte counts are exercised.
UTF8_NAMES = ("Zoë Müller", "Renée Dubois", "Jürgen Groß", "Åsa Lindström", "José Núñez",
              "Søren Ødegård", "François Lefèvre", "Łukasz Wąsik")

UA_CLIENT = (
    "UCCAPI/16.0.4849.1000 OC/16.0.4849.1000 (Skype for Business)",
    "UCCAPI/16.0.5095.1000 OC/16.0.5095.1000 (Skype for Business)",
    "UCCAPI/15.0.5319.1000 OC/15.0.5319.1000 (Skype for Business)",
    "UCCAPI/15.0.4569.1503 OC/15.0.4569.1503 (Microsoft Lync)",
    "UCCAPI/16.0.14326.20404 OC/16.0.14326.20404 (Skype for Business)",
)
UA_FED = ("UCCAPI/16.0.4849.1000 OC/16.0.4849.1000 (Skype for Business)",
          "UCCAPI/15.0.4569.1503 OC/15.0.4569.1503 (Microsoft Lync)")
SERVER_UA = "RTC/6.0"

LOCAL = "fe01"
FE = "fe01.contoso.com"
FE_IP = "10.0.1.11"
FE2 = "fe02.contoso.com"
EDGE = "edge01.contoso.com"
EDGE_IP = "10.0.2.21"
EDGE_EXT = "sip.contoso.com"
REALM = "SIP Communications Service"
FED_DOMAINS = ("fabrikam.com", "litwareinc.com", "northwindtraders.com")
NO_SRV_DOMAINS = ("tailspintoys.com", "wingtiptoys.com", "adventure-works.com")
CERT_BAD_DOMAINS = ("woodgrovebank.com", "proseware.com")

DIR_IN = "incoming"
DIR_OUT = "outgoing"
DIR_IN_EDGE = 'incoming;source="external edge";destination="internal edge"'
DIR_OUT_EDGE = 'outgoing;source="internal edge";destination="external edge"'

SUPPORTED_INVITE = ("Supported: ms-dialog-route-set-update\r\nSupported: timer\r\nSupported: histinfo\r\n"
                    "Supported: ms-safe-transfer\r\nSupported: ms-sender\r\nSupported: ms-early-media\r\n"
                    "Supported: 100rel\r\nSupported: replaces\r\nSupported: ms-conf-invite\r\n")
ALLOW = "Allow: INVITE, BYE, ACK, CANCEL, INFO, UPDATE, REFER, NOTIFY, BENOTIFY, OPTIONS\r\n"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

# (text, result-code, ...) facts used by TF_DIAG records
DIAG_UNKNOWN_EPID = ("The endpoint of the request could not be found",
                     "0xc3e93c2f SIPPROXY_E_UNKNOWN_USER_OR_EPID")
DIAG_NO_SRV = ("Unable to resolve DNS SRV record",
               "0x8007232b DNS_ERROR_RCODE_NAME_ERROR")
DIAG_CERT = ("Message cannot be routed because the peer's certificate does not contain a matching FQDN",
             "0xc3e93d67 SIPPROXY_E_ROUTING_MSG_CERT_MISMATCH")
DIAG_SRV_MISMATCH = ("The domain of the message resolved by DNS SRV but none of the FQDNs is in the same domain",
                     "0xc3e93d6f SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH")

CONN_TEXTS = (
    ("TL_INFO", "information", "TLS negotiation succeeded"),
    ("TL_INFO", "information", "Connection established"),
    ("TL_INFO", "information", "Connection closed by peer"),
    ("TL_INFO", "information", "TLS negotiation succeeded"),
    ("TL_WARN", "warning", "Keep-alive timed out; connection closed"),
)


def _b64(rng: random.Random, nbytes: int) -> str:
    return base64.b64encode(rng.getrandbits(8 * nbytes).to_bytes(nbytes, "big")).decode()


class User:
    __slots__ = ("uri", "name", "display", "epid", "gruu", "ip", "port", "cid", "ua",
                 "subnet", "peer", "fed", "via_host", "instance")

    def __init__(self, rng: random.Random, uri: str, name: str, ip: str, fed: bool, ua: str):
        self.uri = uri
        self.name = name
        self.display = '"%s"' % name
        self.epid = "%010x" % rng.getrandbits(40)
        opaque = "".join(rng.choice(B64[:62]) for _ in range(20)) + "AA"
        self.gruu = "<%s;opaque=user:epid:%s;gruu>" % (uri, opaque)
        self.instance = "%08X-%04X-%04X-%04X-%012X" % (rng.getrandbits(32), rng.getrandbits(16),
                                                      rng.getrandbits(16), rng.getrandbits(16),
                                                      rng.getrandbits(48))
        self.fed = fed
        self.ua = ua
        self.ip = ip
        self.port = rng.randrange(49152, 65535)
        self.cid = "%X" % rng.randrange(0x1000, 0xFFFFF)
        self.subnet = ip.rsplit(".", 1)[0] + ".0"
        # Who sends this user's messages to fe01 (the Peer of the record):
        self.peer = "%s:5061" % EDGE if fed else "%s:%d" % (ip, self.port)
        self.via_host = "%s:%d" % (ip, self.port)


# --------------------------------------------------------------------------- generator

class TraceGen:
    def __init__(self, seed: int, target: int, start_epoch: int, concurrency: int):
        self.rng = random.Random(seed)
        self.target = target
        self.concurrency = concurrency
        self.now = start_epoch * 1000          # ms
        self.instance = self.rng.randrange(0x1000, 0x8000)
        self.corr = self.rng.randrange(10**8, 4 * 10**9)
        self.bytes = 0
        self.records = 0
        self.records_marker = 0        # records whose first line holds $$begin_record
        self.sip = 0                   # TF_PROTOCOL records (logged SIP messages)
        self.sip_distinct = 0          # distinct SIP messages (a relayed one counts once)
        self.diag = 0
        self.conn = 0
        self.component = 0
        self.methods: dict[str, int] = {}
        self.by_scenario: dict[str, int] = {}
        self.scenario = "start"
        self.buf: list[str] = []
        self.buflen = 0
        self._sec = -1
        self._secstr = ""
        self._datehdr = ""
        self.done = False
        rng = self.rng
        self.pid = {LOCAL: "%04X" % rng.randrange(0x400, 0x2000), "edge01": "%04X" % rng.randrange(0x400, 0x2000)}
        self.tids = {k: ["%04X" % rng.randrange(0x400, 0x4000) for _ in range(16)] for k in self.pid}
        # WPP sequence counter, one per machine (a CLS search merges several machines' records).
        self.ctrs = {k: rng.randrange(0x10000, 0x200000) for k in self.pid}
        self._make_users()

    # ---------------------------------------------------------------- users
    def _make_users(self) -> None:
        rng = self.rng
        seen: dict[str, int] = {}
        self.users: list[User] = []
        for i in range(3000):
            if i % 97 == 5:
                name = UTF8_NAMES[(i // 97) % len(UTF8_NAMES)]
                local = "user%04d" % i
            else:
                f, l = rng.choice(FIRST), rng.choice(LAST)
                name = "%s %s" % (f, l)
                local = ("%s.%s" % (f, l)).lower()
            n = seen.get(local, 0)
            seen[local] = n + 1
            if n:
                local += str(n + 1)
            ip = "10.%d.%d.%d" % (rng.randrange(1, 9), rng.randrange(0, 255), rng.randrange(2, 254))
            self.users.append(User(rng, "sip:%s@contoso.com" % local, name, ip, False, rng.choice(UA_CLIENT)))
        self.fed_users: list[User] = []
        for i in range(400):
            f, l = rng.choice(FIRST), rng.choice(LAST)
            dom = FED_DOMAINS[i % len(FED_DOMAINS)]
            ip = "198.51.100.%d" % rng.randrange(2, 254)
            self.fed_users.append(User(rng, "sip:%s%s@%s" % (f[0].lower(), l.lower(), dom),
                                       "%s %s" % (f, l), ip, True, rng.choice(UA_FED)))

    # ---------------------------------------------------------------- output
    def _flush(self) -> None:
        self.out.write("".join(self.buf).encode("utf-8"))
        self.bytes += self.buflen
        self.buf = []
        self.buflen = 0

    def _emit(self, rec: str) -> None:
        n = len(rec) if rec.isascii() else len(rec.encode("utf-8"))
        self.records += 1
        self.by_scenario[self.scenario] = self.by_scenario.get(self.scenario, 0) + 1
        self.buf.append(rec)
        self.buflen += n
        if self.bytes + self.buflen >= self.target:
            self.done = True          # stop at the first record boundary at or past the target
        if self.buflen >= 4_000_000:
            self._flush()

    def _head(self, level: str, flag: str, where: str, machine: str = LOCAL) -> str:
        self.now += self.rng.randrange(0, 3)
        now = self.now
        sec = now // 1000
        if sec != self._sec:
            self._sec = sec
            t = time.gmtime(sec)
            self._secstr = time.strftime("%m/%d/%Y-%H:%M:%S", t)
            self._datehdr = time.strftime("%a, %d %b %Y %H:%M:%S GMT", t)
        ctr = self.ctrs[machine] = (self.ctrs[machine] + 1 + self.rng.getrandbits(2)) & 0xFFFFFFFF
        return "%s(%s) [%s\\%s]%s.%s::%s.%03d.%08X (SIPStack,%s" % (
            level, flag, machine, machine, self.pid[machine], self.tids[machine][self.rng.getrandbits(4)],
            self._secstr, now % 1000, ctr, where)

    def new_corr(self) -> int:
        self.corr = (self.corr + 1 + self.rng.getrandbits(6)) % 4294967296
        return self.corr

    # ---------------------------------------------------------------- record kinds
    def proto(self, corr: int, direction: str, peer: str, mtype: str, start: str,
              hdrs: str, body: str | None, new: bool = True) -> None:
        """One TF_PROTOCOL record. hdrs: header lines, each ending CRLF. body ends CRLF.
        new=False for the outgoing copy of a relayed message."""
        if self.done:
            return
        key = start.split(" ", 2)[1] if mtype == "response" else start.split(" ", 1)[0]
        self.methods[key] = self.methods.get(key, 0) + 1
        self.sip_distinct += new
        self.instance = (self.instance + 1) & 0xFFFFFFFF
        self.sip += 1
        self.records_marker += 1
        self._emit("%s\r\nTrace-Correlation-Id: %d\r\nInstance-Id: %08X\r\nDirection: %s\r\nPeer: %s\r\n"
                   "Message-Type: %s\r\nStart-Line: %s\r\n%sMessage-Body: %s$$end_record\r\n" % (
                       self._head("TL_INFO", "TF_PROTOCOL",
                                  "SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record"),
                       corr, self.instance, direction, peer, mtype, start, hdrs, body or "-\r\n"))

    def diag_rec(self, corr: int, severity: str, fact: tuple[str, str], start: str, callid: str,
                 cseq: str, peer: str, data: str, machine: str = LOCAL) -> None:
        if self.done:
            return
        level, line = ("TL_ERROR", 833) if severity == "error" else ("TL_WARN", 830)
        self.diag += 1
        self.records_marker += 1
        self._emit("%s\r\nSeverity: %s\r\nText: %s\r\nResult-Code: %s\r\nSIP-Start-Line: %s\r\n"
                   "SIP-Call-ID: %s\r\nSIP-CSeq: %s\r\nPeer: %s\r\nData: %s\r\n$$end_record\r\n" % (
                       self._head(level, "TF_DIAG",
                                  "SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(%d)) [%d] $$begin_record"
                                  % (line, corr), machine),
                       severity, fact[0], fact[1], start, callid, cseq, peer, data))

    def conn_rec(self, peer_ip: str, cid: str, text_i: int | None = None, machine: str = LOCAL) -> None:
        if self.done:
            return
        rng = self.rng
        level, sev, text = CONN_TEXTS[rng.randrange(len(CONN_TEXTS)) if text_i is None else text_i]
        local = "%s:5061" % (FE_IP if machine == LOCAL else EDGE_IP)
        self.conn += 1
        self.records_marker += 1
        self._emit("%s\r\nLogType: connection\r\nSeverity: %s\r\nText: %s\r\nLocal-IP: %s\r\nPeer-IP: %s\r\n"
                   "Connection-ID: 0x%s\r\nTransport: TLS\r\n$$end_record\r\n" % (
                       self._head(level, "TF_CONNECTION",
                                  "SIPAdminLog::TraceConnectionRecord:SIPAdminLog.cpp(160))$$begin_record", machine),
                       sev, text, local, peer_ip, cid))

    def component_rec(self, start: str, callid: str, cseq: str) -> None:
        """TF_COMPONENT record: free text tail on the first line, no $$begin_record."""
        if self.done:
            return
        self.diag += 1
        self.component += 1
        self._emit("%s\r\nLogType: diagnostic\r\nSeverity: warning\r\nText: Cannot process Route headers from a "
                   "non-trusted source, or with first Route field in the set not matching the connection on which "
                   "the request arrived\r\nResult-Code: 0xc3e93c5e SIPPROXY_E_ROUTING\r\nSIP-Start-Line: %s\r\n"
                   "SIP-Call-ID: %s\r\nSIP-CSeq: %s\r\n$$end_record\r\n" % (
                       self._head("TL_ERROR", "TF_COMPONENT",
                                  "CSIPRequest::GetNextHopByRouteHeader:SIPRequest.cpp(2440))( %016X ) Exit - route "
                                  "headers from untrusted source. Result 0xC3E93C5E(SIPPROXY_E_ROUTING)"
                                  % self.rng.getrandbits(40), "edge01"),
                       start, callid, cseq))

    # ---------------------------------------------------------------- SIP pieces
    def tag(self) -> str:
        return "%010x" % self.rng.getrandbits(40)

    def stag(self) -> str:
        return "%032X" % self.rng.getrandbits(128)

    def callid(self) -> str:
        return "%032x" % self.rng.getrandbits(128)

    def cvia(self, u: User) -> str:
        """Via of a client (or of the Edge for a federated user), with what fe01 adds on receipt."""
        r = self.rng.getrandbits(32)
        if u.fed:
            return ("Via: SIP/2.0/TLS %s:5061;branch=z9hG4bK%08X.%d;branched=FALSE;ms-received-port=5061;"
                    "ms-received-cid=%s\r\nVia: SIP/2.0/TLS %s;branch=z9hG4bK%08x;ms-received-port=%d;"
                    "ms-received-cid=%X\r\n" % (EDGE_IP, r, r & 7, u.cid, u.via_host, r ^ 0x5A5A5A5A,
                                                 u.port, r & 0xFFFFF))
        return "Via: SIP/2.0/TLS %s;branch=z9hG4bK%08x;ms-received-port=%d;ms-received-cid=%s\r\n" % (
            u.via_host, r, u.port, u.cid)

    def fevia(self) -> str:
        return "Via: SIP/2.0/TLS %s:5061;branch=z9hG4bK%08X.%08X%08X;branched=FALSE\r\n" % (
            FE_IP, self.rng.getrandbits(32), self.rng.getrandbits(32), self.rng.getrandbits(32))

    def auth_info(self) -> str:
        r = self.rng
        return ('Authentication-Info: TLS-DSK qop="auth", opaque="%08X", srand="%08X", snum="%d", '
                'rspauth="%040x", targetname="%s", realm="%s", version=4\r\n' % (
                    r.getrandbits(32), r.getrandbits(32), r.randrange(1, 900), r.getrandbits(160), FE, REALM))

    def record_route(self) -> str:
        return "Record-Route: <sip:%s:5061;transport=tls;opaque=state:T:F:Ci.R%x;lr;ms-route-sig=%s>;tag=%s\r\n" % (
            FE, self.rng.getrandbits(24), _b64(self.rng, 21).rstrip("="), self.stag())

    def dirs(self, u: User) -> tuple[str, str]:
        return (DIR_IN_EDGE, DIR_OUT_EDGE) if u.fed else (DIR_IN, DIR_OUT)

    def relay_req(self, method: str, ruri: str, a: User, b: User | None, b_peer: str, common: str,
                  ctail: str, body: str | None, corr: int, rr: str = "", avia: str | None = None,
                  mf: int = 70, extra_in: str = "") -> str:
        """A request from a, received by fe01 and sent on to b_peer.
        Returns (a's Via, fe01's Via) for the responses of this transaction."""
        avia = avia or self.cvia(a)
        fev = self.fevia()
        start = "%s %s SIP/2.0" % (method, ruri)
        din = self.dirs(a)[0]
        self.proto(corr, din, a.peer, "request", start,
                   "%sMax-Forwards: %d\r\n%s%s%s" % (avia, mf, common, extra_in, ctail), body)
        dout = DIR_OUT_EDGE if (b is not None and b.fed) or b_peer.startswith("edge01") else DIR_OUT
        extra = rr
        if b is not None and not b.fed:
            extra += self.auth_info()
        self.proto(corr, dout, b_peer, "request", start,
                   "%s%sMax-Forwards: %d\r\n%s%s%s%s" % (fev, avia, mf - 1, extra, common, extra_in, ctail),
                   body, new=False)
        return avia, fev

    def relay_resp(self, status: str, a: User, b_peer: str, b_fed: bool, avia: str, fev: str, common: str,
                   ctail: str, body: str | None, corr: int, rr: str = "") -> None:
        """A response from b_peer, received by fe01 and sent back to a."""
        self.proto(corr, DIR_IN_EDGE if b_fed else DIR_IN, b_peer, "response", status,
                   "%s%s%s%s%s" % (fev, avia, rr, common, ctail), body)
        dout = self.dirs(a)[1]
        self.proto(corr, dout, a.peer, "response", status,
                   "%s%s%s%s%s" % (avia, rr, common, "" if a.fed else self.auth_info(), ctail), body, new=False)

    def local_resp(self, status: str, a: User, avia: str, common: str, ctail: str, body: str | None,
                   corr: int, extra: str = "") -> None:
        """A response fe01 itself sends to a."""
        self.proto(corr, self.dirs(a)[1], a.peer, "response", status,
                   "%s%s%sServer: %s\r\n%s%s" % (avia, common, extra, SERVER_UA,
                                                 "" if a.fed else self.auth_info(), ctail), body)

    def local_req_in(self, method: str, ruri: str, a: User, common: str, ctail: str, body: str | None,
                     corr: int) -> str:
        """A request from a that fe01 handles itself."""
        avia = self.cvia(a)
        self.proto(corr, self.dirs(a)[0], a.peer, "request", "%s %s SIP/2.0" % (method, ruri),
                   "%sMax-Forwards: 70\r\n%s%s" % (avia, common, ctail), body)
        return avia

    @staticmethod
    def ctail(ctype: str | None, body: str | None) -> str:
        if body is None:
            return "Content-Length: 0\r\n"
        return "Content-Type: %s\r\nContent-Length: %d\r\n" % (ctype, len(body.encode("utf-8")))

    # ---------------------------------------------------------------- bodies
    def sdp(self, u: User, answer: bool = False) -> str:
        r = self.rng
        ip = u.ip
        port = r.randrange(50000, 50040) & ~1
        relay_ip = "203.0.113.%d" % (10 + (r.getrandbits(4)))
        pub = "198.51.100.%d" % (r.getrandbits(7) + 100)
        rport = r.randrange(50000, 59999)
        ssrc = r.getrandbits(32) & ~0xFF
        lines = [
            "v=0",
            "o=- 0 %d IN IP4 %s" % (1 if answer else 0, ip),
            "s=session",
            "c=IN IP4 %s" % ip,
            "b=CT:99980",
            "t=0 0",
            "m=audio %d RTP/SAVP 117 104 114 9 112 111 0 8 116 115 4 97 13 118 101" % port,
            "a=x-ssrc-range:%d-%d" % (ssrc, ssrc),
            "a=rtcp-fb:* x-message app send:dsh recv:dsh",
            "a=rtcp-rsize",
            "a=label:main-audio",
            "a=x-source:main-audio",
            "a=ice-ufrag:%s" % _b64(r, 3),
            "a=ice-pwd:%s" % _b64(r, 18),
            "a=candidate:1 1 UDP 2130706431 %s %d typ host " % (ip, port),
            "a=candidate:1 2 UDP 2130705918 %s %d typ host " % (ip, port + 1),
            "a=candidate:2 1 TCP-PASS 174455807 %s %d typ relay raddr %s rport %d " % (relay_ip, rport, pub, rport),
            "a=candidate:2 2 TCP-PASS 174455806 %s %d typ relay raddr %s rport %d " % (relay_ip, rport, pub, rport),
            "a=candidate:3 1 UDP 184547839 %s %d typ relay raddr %s rport %d " % (relay_ip, rport + 2, pub, rport + 2),
            "a=candidate:3 2 UDP 184547838 %s %d typ relay raddr %s rport %d " % (relay_ip, rport + 3, pub, rport + 3),
            "a=candidate:4 1 UDP 1694234111 %s %d typ srflx raddr %s rport %d " % (pub, rport + 4, ip, port),
            "a=candidate:4 2 UDP 1694233598 %s %d typ srflx raddr %s rport %d " % (pub, rport + 5, ip, port + 1),
            "a=candidate:5 1 TCP-ACT 1684795903 %s %d typ srflx raddr %s rport %d " % (pub, rport + 6, ip, port),
            "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:%s|2^31|1:1" % _b64(r, 30),
            "a=maxptime:200",
            "a=rtcp:%d" % (port + 1),
            "a=rtpmap:117 G722/8000/2",
            "a=rtpmap:104 SILK/16000",
            "a=fmtp:104 useinbandfec=1; usedtx=0",
            "a=rtpmap:114 x-msrta/16000",
            "a=fmtp:114 bitrate=29000",
            "a=rtpmap:9 G722/8000",
            "a=rtpmap:112 G7221/16000",
            "a=fmtp:112 bitrate=24000",
            "a=rtpmap:111 SIREN/16000",
            "a=fmtp:111 bitrate=16000",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:116 AAL2-G726-32/8000",
            "a=rtpmap:115 x-msrta/8000",
            "a=fmtp:115 bitrate=11800",
            "a=rtpmap:4 G723/8000",
            "a=rtpmap:97 RED/8000",
            "a=rtpmap:13 CN/8000",
            "a=rtpmap:118 CN/16000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-16",
            "a=ptime:20",
            "a=sendrecv",
            "",
        ]
        return "\r\n".join(lines)

    def categories_xml(self, u: User, pretty: bool) -> str:
        r = self.rng
        avail = r.choice((3500, 3500, 3500, 6500, 9500, 15500, 18500))
        token = {3500: "Available", 6500: "Busy", 9500: "DoNotDisturb", 15500: "Away", 18500: "Offline"}[avail]
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.now // 1000)) + ".%03dZ" % (self.now % 1000)
        parts = [
            '<categories xmlns="http://schemas.microsoft.com/2006/09/sip/categories" uri="%s">' % u.uri,
            '<category name="state" instance="%d" publishTime="%s" container="2" version="%d" expireType="endpoint">'
            % (r.getrandbits(30), ts, r.randrange(1, 60)),
            '<state xsi:type="aggregateState" lastActive="%s" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns="http://schemas.microsoft.com/2006/09/sip/state">' % ts,
            "<availability>%d</availability>" % avail,
            '<activity token="%s"/>' % token,
            "<endpointLocation/>",
            "</state>",
            "</category>",
            '<category name="contactCard" instance="0" publishTime="%s" container="2" version="3" expireType="static">' % ts,
            '<contactCard xmlns="http://schemas.microsoft.com/2006/09/sip/contactcard">',
            '<identity><name><displayName>%s</displayName></name></identity>' % u.name,
            "</contactCard>",
            "</category>",
            "</categories>",
            "",
        ]
        return ("\r\n" if pretty else "").join(parts) + ("" if pretty else "\r\n")

    def batchsub_xml(self, u: User, contacts: list[User]) -> str:
        res = "".join('<resource uri="%s"/>' % c.uri for c in contacts)
        return ('<batchSub xmlns="http://schemas.microsoft.com/2006/01/sip/batch-subscribe" uri="%s" name="">'
                '<action name="subscribe" id="%d"><adhocList>%s</adhocList>'
                '<categoryList xmlns="http://schemas.microsoft.com/2006/09/sip/categorylist">'
                '<category name="calendarData"/><category name="contactCard"/><category name="note"/>'
                '<category name="state"/></categoryList></action></batchSub>\r\n'
                % (u.uri, self.rng.getrandbits(26), res))

    def publish_xml(self, u: User) -> str:
        r = self.rng
        avail = r.choice((3500, 3500, 6500, 15500))
        return ('<publish xmlns="http://schemas.microsoft.com/2006/09/sip/rich-presence"><publications uri="%s">'
                '<publication categoryName="state" instance="%d" container="2" version="%d" expireType="endpoint">'
                '<state xmlns="http://schemas.microsoft.com/2006/09/sip/state" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" manual="false" xsi:type="machineState">'
                '<availability>%d</availability><endpointLocation></endpointLocation></state></publication>'
                '<publication categoryName="state" instance="%d" container="3" version="%d" expireType="endpoint">'
                '<state xmlns="http://schemas.microsoft.com/2006/09/sip/state" '
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" manual="false" xsi:type="machineState">'
                '<availability>%d</availability><endpointLocation></endpointLocation></state></publication>'
                '</publications></publish>\r\n' % (u.uri, r.getrandbits(30), r.randrange(1, 40), avail,
                                                   r.getrandbits(30), r.randrange(1, 40), avail))

    # ---------------------------------------------------------------- scenarios
    # Each scenario is a generator that emits records and yields the delay (ms) to its next step.

    def pick_user(self) -> User:
        return self.users[self.rng.randrange(len(self.users))]

    def sc_register(self):
        r = self.rng
        a = self.pick_user()
        if r.random() < 0.5:
            self.conn_rec(a.via_host, a.cid, 0)
            yield r.randrange(5, 40)
        cid, tag, corr = self.callid(), self.tag(), self.new_corr()
        fromh = "From: <%s>;tag=%s;epid=%s\r\nTo: <%s>\r\nCall-ID: %s\r\n" % (a.uri, tag, a.epid, a.uri, cid)
        contact = ('Contact: <sip:%s;transport=tls;ms-opaque=%08x>;methods="INVITE, MESSAGE, INFO, SUBSCRIBE, '
                   'OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY";proxy=replace;+sip.instance="<urn:uuid:%s>"\r\n'
                   % (a.via_host, r.getrandbits(32), a.instance))
        rest = ("User-Agent: %s\r\nSupported: gruu-10, adhoclist, msrtc-event-categories, com.microsoft.msrtc.presence\r\n"
                "Supported: ms-forking\r\nSupported: ms-cluster-failover\r\nSupported: ms-userservices-state-notification\r\n"
                "ms-keep-alive: UAC;hop-hop=yes\r\nms-subnet: %s\r\nms-endpoint-location-data: NetworkScope;"
                "ms-media-location-type=Intranet\r\nEvent: registration\r\n" % (a.ua, a.subnet))
        stag = self.stag()
        avia = self.local_req_in("REGISTER", "sip:contoso.com", a,
                                 fromh + "CSeq: 1 REGISTER\r\n" + contact + rest, "Content-Length: 0\r\n", None, corr)
        yield r.randrange(1, 8)
        tls_dsk = ('WWW-Authenticate: NTLM realm="%s", targetname="%s", version=4\r\n'
                   'WWW-Authenticate: Kerberos realm="%s", targetname="sip/%s", version=4\r\n'
                   'WWW-Authenticate: TLS-DSK realm="%s", targetname="%s", version=4, '
                   'sts-uri="https://%s:443/CertProv/CertProvisioningService.svc"\r\n'
                   % (REALM, FE, REALM, FE, REALM, FE, FE))
        self.local_resp("SIP/2.0 401 Unauthorized", a, avia,
                        "Date: %s\r\n%sFrom: <%s>;tag=%s;epid=%s\r\nTo: <%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: 1 REGISTER\r\n"
                        % (self._datehdr, tls_dsk, a.uri, tag, a.epid, a.uri, stag, cid), "Content-Length: 0\r\n", None, corr)
        yield r.randrange(20, 300)
        corr = self.new_corr()
        authz = ('Authorization: TLS-DSK qop="auth", realm="%s", opaque="%08X", crand="%08x", cnum="1", '
                 'targetname="%s", response="%040x"\r\n' % (REALM, r.getrandbits(32), r.getrandbits(32), FE,
                                                             r.getrandbits(160)))
        avia = self.local_req_in("REGISTER", "sip:contoso.com", a,
                                 fromh + "CSeq: 2 REGISTER\r\n" + contact + rest + authz, "Content-Length: 0\r\n",
                                 None, corr)
        yield r.randrange(2, 30)
        if r.random() < 0.03:
            self.local_resp("SIP/2.0 403 Forbidden", a, avia,
                            "From: <%s>;tag=%s;epid=%s\r\nTo: <%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: 2 REGISTER\r\n"
                            'ms-diagnostics: 4004;reason="Credentials provided are not authorized to act as specified '
                            'from URI";source="%s"\r\n' % (a.uri, tag, a.epid, a.uri, stag, cid, FE),
                            "Content-Length: 0\r\n", None, corr)
            return
        self.local_resp("SIP/2.0 200 OK", a, avia,
                        "From: <%s>;tag=%s;epid=%s\r\nTo: <%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: 2 REGISTER\r\n"
                        'Contact: <sip:%s;transport=tls;ms-opaque=%08x;ms-received-cid=%s;grid>;expires=7200;'
                        '+sip.instance="<urn:uuid:%s>";gruu="%s"\r\nExpires: 7200\r\n'
                        'presence-state: register-action="added"\r\n'
                        "Allow-Events: vnd-microsoft-provisioning,vnd-microsoft-roaming-contacts,vnd-microsoft-roaming-ACL,"
                        "presence,presence.wpending,vnd-microsoft-roaming-self,vnd-microsoft-provisioning-v2\r\n"
                        "Supported: adhoclist\r\nSupported: msrtc-event-categories\r\nSupported: ms-keep-alive\r\n"
                        "ms-keep-alive: UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300\r\n"
                        % (a.uri, tag, a.epid, a.uri, stag, cid, a.via_host, r.getrandbits(32), a.cid, a.instance,
                           a.gruu[1:-1]),
                        "Content-Length: 0\r\n", None, corr)

    def sc_service(self):
        r = self.rng
        a = self.pick_user()
        cid, tag = self.callid(), self.tag()
        n = 1 + (r.random() < 0.15)
        for i in range(n):
            corr = self.new_corr()
            body = self.publish_xml(a)
            common = ("From: <%s>;tag=%s;epid=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: %d SERVICE\r\nContact: %s\r\n"
                      "User-Agent: %s\r\n" % (a.uri, tag, a.epid, a.uri, cid, i + 1, a.gruu, a.ua))
            avia = self.local_req_in("SERVICE", a.uri, a, common,
                                     self.ctail("application/msrtc-category-publish+xml", body), body, corr)
            yield r.randrange(3, 40)
            resp_common = ("From: <%s>;tag=%s;epid=%s\r\nTo: <%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: %d SERVICE\r\n"
                           % (a.uri, tag, a.epid, a.uri, self.stag(), cid, i + 1))
            if i + 1 < n:
                cbody = ('<conflictList xmlns="http://schemas.microsoft.com/2006/09/sip/error-details">'
                         '<conflict categoryName="state" instance="%d" container="2" version="%d" reason="'
                         'versionMismatch"/></conflictList>\r\n' % (r.getrandbits(30), r.randrange(2, 50)))
                self.local_resp("SIP/2.0 409 Conflict", a, avia, resp_common,
                                self.ctail("application/msrtc-fault+xml", cbody), cbody, corr)
                yield r.randrange(50, 400)
            else:
                self.local_resp("SIP/2.0 200 OK", a, avia, resp_common, "Content-Length: 0\r\n", None, corr)

    def sc_subscribe(self):
        r = self.rng
        a = self.pick_user()
        contacts = [self.pick_user() for _ in range(r.randrange(2, 9))]
        cid, tag, corr = self.callid(), self.tag(), self.new_corr()
        body = self.batchsub_xml(a, contacts)
        common = ("From: <%s>;tag=%s;epid=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 SUBSCRIBE\r\nContact: %s\r\n"
                  "User-Agent: %s\r\nEvent: presence\r\nAccept: application/msrtc-event-categories+xml, "
                  "application/xpidf+xml, text/xml+msrtc.pidf, application/pidf+xml, application/rlmi+xml, "
                  "multipart/related\r\nSupported: com.microsoft.autoextend\r\nSupported: ms-benotify\r\n"
                  "Proxy-Require: ms-benotify\r\nSupported: ms-piggyback-first-notify\r\nExpires: 3600\r\n"
                  % (a.uri, tag, a.epid, a.uri, cid, a.gruu, a.ua))
        avia = self.local_req_in("SUBSCRIBE", a.uri, a, common,
                                 self.ctail("application/msrtc-adrl-categorysubscription+xml", body), body, corr)
        yield r.randrange(5, 60)
        stag = self.stag()
        first = contacts[0]
        nbody = self.categories_xml(first, r.random() < 0.3)
        self.local_resp("SIP/2.0 200 OK", a, avia,
                        "From: <%s>;tag=%s;epid=%s\r\nTo: <%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: 1 SUBSCRIBE\r\n"
                        "Contact: <sip:%s:5061;transport=tls>\r\nExpires: 3600\r\n"
                        "subscription-state: active;expires=3600\r\nms-piggyback-cseq: 1\r\nSupported: ms-benotify\r\n"
                        "Event: presence\r\n" % (a.uri, tag, a.epid, a.uri, stag, cid, FE),
                        self.ctail("application/msrtc-event-categories+xml", nbody), nbody, corr)
        # Later presence changes of the contacts, from their home server fe02, relayed to a.
        cseq = 1
        for _ in range(r.randrange(1, 6)):
            yield r.randrange(1000, 40000)
            c = contacts[r.randrange(len(contacts))]
            cseq += 1
            corr = self.new_corr()
            nbody = self.categories_xml(c, r.random() < 0.3)
            method = "BENOTIFY" if r.random() < 0.45 else "NOTIFY"
            srv_via = "Via: SIP/2.0/TLS 10.0.1.12:5061;branch=z9hG4bK%08X.%d;branched=FALSE;ms-received-port=5061;" \
                      "ms-received-cid=%X\r\n" % (r.getrandbits(32), r.getrandbits(3), r.randrange(0x100, 0xFFFF))
            common = ("From: <%s>;tag=%s\r\nTo: <%s>;tag=%s;epid=%s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"
                      "Event: presence\r\nsubscription-state: active;expires=%d\r\nms-piggyback-cseq: 1\r\n"
                      % (a.uri, stag, a.uri, tag, a.epid, cid, cseq, method, r.randrange(600, 3600)))
            ctail = self.ctail("application/msrtc-event-categories+xml", nbody)
            start = "%s %s SIP/2.0" % (method, a.gruu[1:-1])
            self.proto(corr, DIR_IN, "%s:5061" % FE2, "request", start,
                       "%sMax-Forwards: 70\r\n%s%s" % (srv_via, common, ctail), nbody)
            if r.random() < 0.06:
                # Endpoint gone (client did not sign out cleanly): fe01 rejects; Event 32263 material.
                yield r.randrange(1, 5)
                self.diag_rec(corr, "warning", DIAG_UNKNOWN_EPID, start, cid, "%d %s" % (cseq, method),
                              "%s:5061" % FE2, 'destination="%s"; epid="%s"; reason="No matching endpoint"'
                              % (a.uri, a.epid))
                self.proto(corr, DIR_OUT, "%s:5061" % FE2, "response", "SIP/2.0 481 Call Leg/Transaction Does Not Exist",
                           "%sFrom: <%s>;tag=%s\r\nTo: <%s>;tag=%s;epid=%s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n"
                           'ms-diagnostics: 4011;reason="Epid not present";source="%s"\r\nServer: %s\r\n'
                           "Content-Length: 0\r\n"
                           % (srv_via, a.uri, stag, a.uri, tag, a.epid, cid, cseq, method, FE, SERVER_UA), None)
                return
            fev = self.fevia()
            self.proto(corr, DIR_OUT, a.peer, "request", start,
                       "%s%sMax-Forwards: 69\r\n%s%s%s" % (fev, srv_via, common, self.auth_info(), ctail),
                       nbody, new=False)
            if method == "NOTIFY":
                yield r.randrange(10, 200)
                rc = "From: <%s>;tag=%s\r\nTo: <%s>;tag=%s;epid=%s\r\nCall-ID: %s\r\nCSeq: %d NOTIFY\r\nUser-Agent: %s\r\n" % (
                    a.uri, stag, a.uri, tag, a.epid, cid, cseq, a.ua)
                self.proto(corr, DIR_IN, a.peer, "response", "SIP/2.0 200 OK",
                           "%s%s%sContent-Length: 0\r\n" % (fev, srv_via, rc), None)
                self.proto(corr, DIR_OUT, "%s:5061" % FE2, "response", "SIP/2.0 200 OK",
                           "%s%sContent-Length: 0\r\n" % (srv_via, rc), None, new=False)

    def sc_options(self):
        r = self.rng
        x = r.random()
        corr = self.new_corr()
        if x < 0.4:
            # Federation probe from the Edge, as in the public OCS 2007 R2 sample; fe01 answers.
            f = self.fed_users[r.randrange(len(self.fed_users))]
            cid, tag = self.callid(), self.tag()
            start = "OPTIONS sip:%s SIP/2.0" % FE
            if r.random() < 0.05:
                # The Edge refused it first (TF_COMPONENT record without $$begin_record).
                self.component_rec(start, cid, "1 OPTIONS")
                yield r.randrange(1, 10)
                return
            common = ("From: <%s>;tag=%s;epid=%s\r\nTo: <sip:%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
                      "Contact: <sip:sip.%s;transport=Tls>\r\nUser-Agent: %s\r\n"
                      "ms-edge-proxy-message-trust: ms-source-type=DirectPartner;ms-ep-fqdn=sip.%s;"
                      "ms-source-network=federation\r\n"
                      % (f.uri, tag, f.epid, FE, cid, f.uri[4:].split("@")[1], f.ua, f.uri.split("@")[1]))
            avia = self.local_req_in("OPTIONS", FE, f, common, "Content-Length: 0\r\n", None, corr)
            yield r.randrange(1, 10)
            self.local_resp("SIP/2.0 200 OK", f, avia,
                            "From: <%s>;tag=%s;epid=%s\r\nTo: <sip:%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
                            "Accept: application/sdp\r\nAccept: application/x-ms-mcu-dialinlist+xml\r\n"
                            "Allow: INVITE, BYE, ACK, CANCEL, INFO, UPDATE, REFER, NOTIFY, BENOTIFY, OPTIONS, SUBSCRIBE\r\n"
                            "Supported: ms-dialog-route-set-update\r\n"
                            % (f.uri, tag, f.epid, FE, self.stag(), cid), "Content-Length: 0\r\n", None, corr)
        else:
            # Capability query from a client to a contact, relayed both ways.
            a, b = self.pick_user(), (self.pick_user() if x < 0.85 else self.fed_users[r.randrange(len(self.fed_users))])
            cid, tag = self.callid(), self.tag()
            common = ("From: %s<%s>;tag=%s;epid=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
                      "Contact: %s\r\nUser-Agent: %s\r\nAccept: application/sdp\r\n"
                      "Accept: application/ms-imdn+xml\r\nAccept: text/plain\r\n"
                      % (a.display, a.uri, tag, a.epid, b.uri, cid, a.gruu, a.ua))
            b_peer = b.peer
            avia, fev = self.relay_req("OPTIONS", b.uri, a, b, b_peer, common, "Content-Length: 0\r\n", None, corr)
            yield r.randrange(30, 600)
            rc = ("From: %s<%s>;tag=%s;epid=%s\r\nTo: <%s>;tag=%s;epid=%s\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
                  "Contact: %s\r\nUser-Agent: %s\r\nAccept: application/sdp\r\n%s"
                  % (a.display, a.uri, tag, a.epid, b.uri, self.tag(), b.epid, cid, b.gruu, b.ua, ALLOW))
            self.relay_resp("SIP/2.0 200 OK", a, b_peer, b.fed, avia, fev, rc, "Content-Length: 0\r\n", None, corr)

    def sc_invite(self):
        r = self.rng
        a = self.pick_user()
        x = r.random()
        if x < 0.05:
            dom = NO_SRV_DOMAINS[r.randrange(len(NO_SRV_DOMAINS))]
            b = User(r, "sip:%s@%s" % (r.choice(FIRST).lower(), dom), "", "0.0.0.0", True, "")
            outcome = "504srv"
        elif x < 0.07:
            dom = CERT_BAD_DOMAINS[r.randrange(len(CERT_BAD_DOMAINS))]
            b = User(r, "sip:%s@%s" % (r.choice(FIRST).lower(), dom), "", "0.0.0.0", True, "")
            outcome = "504cert"
        else:
            b = self.pick_user() if r.random() < 0.8 else self.fed_users[r.randrange(len(self.fed_users))]
            y = r.random()
            outcome = ("ok" if y < 0.72 else "486" if y < 0.79 else "480" if y < 0.85 else "603" if y < 0.87
                       else "cancel")
        cid, tag, corr = self.callid(), self.tag(), self.new_corr()
        conv = _b64(r, 18)
        b_peer = b.peer
        offer = self.sdp(a)
        common = ("From: %s<%s>;tag=%s;epid=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\nContact: %s\r\n"
                  "User-Agent: %s\r\n%sMs-Conversation-ID: %s\r\nms-subnet: %s\r\n"
                  "ms-endpoint-location-data: NetworkScope;ms-media-location-type=Intranet\r\n%s"
                  "Session-Expires: 720\r\n"
                  % (a.display, a.uri, tag, a.epid, b.uri, cid, a.gruu, a.ua, SUPPORTED_INVITE, conv, a.subnet, ALLOW))
        rr = self.record_route()
        avia, fev = self.relay_req("INVITE", b.uri, a, b, b_peer, common, self.ctail("application/sdp", offer), offer, corr,
                                   rr=rr)
        yield r.randrange(1, 6)
        # 100 Trying from fe01 to the caller (hop by hop).
        fromto = "From: %s<%s>;tag=%s;epid=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n" % (
            a.display, a.uri, tag, a.epid, b.uri, cid)
        self.local_resp("SIP/2.0 100 Trying", a, avia, fromto, "Content-Length: 0\r\n", None, corr)
        if outcome.startswith("504"):
            yield r.randrange(200, 3000) if outcome == "504srv" else r.randrange(50, 600)
            peer_dom = b.uri.split("@")[1]
            start = "INVITE %s SIP/2.0" % b.uri
            if outcome == "504srv":
                self.diag_rec(corr, "error", DIAG_NO_SRV, start, cid, "1 INVITE", "%s:5061" % FE,
                              'domain="%s"; srv="_sipfederationtls._tcp.%s"' % (peer_dom, peer_dom), "edge01")
                diag = 'ms-diagnostics: 1008;reason="Unable to resolve DNS SRV record";source="%s"\r\n' % EDGE_EXT
            else:
                self.diag_rec(corr, "error", DIAG_CERT, start, cid, "1 INVITE", "sip.%s:5061" % peer_dom,
                              'expected-fqdn="sip.%s"; certName="mail.%s"; info="The peer certificate does not '
                              'contain a matching FQDN"' % (peer_dom, peer_dom), "edge01")
                diag = ('ms-diagnostics: 1010;reason="Certificate trust with another server could not be established";'
                        'ErrorType="The peer certificate does not contain a matching FQDN";tls-target="sip.%s";'
                        'HRESULT="0x80090322(SEC_E_WRONG_PRINCIPAL)";source="%s"\r\n' % (peer_dom, EDGE_EXT))
            yield r.randrange(1, 10)
            rc = "%sTo: <%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n%sServer: %s\r\n" % (
                fromto.split("To:")[0], b.uri, self.stag(), cid, diag, SERVER_UA)
            yield from self._fail(a, b_peer, True, avia, fev, "SIP/2.0 504 Server time-out", rc, corr, b.uri, cid)
            return
        yield r.randrange(100, 900)
        btag = self.tag()
        to_b = "To: <%s>;tag=%s;epid=%s\r\n" % (b.uri, btag, b.epid)
        rfrom = "From: %s<%s>;tag=%s;epid=%s\r\n%sCall-ID: %s\r\nCSeq: 1 INVITE\r\n" % (
            a.display, a.uri, tag, a.epid, to_b, cid)
        if outcome == "480":
            yield r.randrange(3000, 20000)
            rc = rfrom + "User-Agent: %s\r\n" % b.ua if not b.fed else rfrom + "Server: %s\r\n" % SERVER_UA
            yield from self._fail(a, b_peer, b.fed, avia, fev, "SIP/2.0 480 Temporarily Unavailable", rc, corr, b.uri, cid)
            return
        self.relay_resp("SIP/2.0 180 Ringing", a, b_peer, b.fed, avia, fev,
                        rfrom + "Contact: %s\r\nUser-Agent: %s\r\n" % (b.gruu, b.ua), "Content-Length: 0\r\n", None,
                        corr, rr)
        if outcome in ("486", "603"):
            yield r.randrange(500, 8000)
            status = "SIP/2.0 486 Busy Here" if outcome == "486" else "SIP/2.0 603 Decline"
            yield from self._fail(a, b_peer, b.fed, avia, fev, status, rfrom + "User-Agent: %s\r\n" % b.ua, corr, b.uri, cid)
            return
        if outcome == "cancel":
            yield r.randrange(1500, 15000)
            ccorr = self.new_corr()
            cc = ("From: %s<%s>;tag=%s;epid=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: 1 CANCEL\r\nUser-Agent: %s\r\n"
                  % (a.display, a.uri, tag, a.epid, b.uri, cid, a.ua))
            start = "CANCEL %s SIP/2.0" % b.uri
            self.proto(ccorr, self.dirs(a)[0], a.peer, "request", start,
                       "%sMax-Forwards: 70\r\n%sContent-Length: 0\r\n" % (avia, cc), None)
            self.local_resp("SIP/2.0 200 OK", a, avia, cc.split("User-Agent:")[0], "Content-Length: 0\r\n", None, ccorr)
            self.proto(ccorr, DIR_OUT_EDGE if b.fed else DIR_OUT, b_peer, "request", start,
                       "%s%sMax-Forwards: 69\r\n%sContent-Length: 0\r\n" % (fev, avia, cc), None, new=False)
            yield r.randrange(20, 200)
            self.proto(ccorr, DIR_IN_EDGE if b.fed else DIR_IN, b_peer, "response", "SIP/2.0 200 OK",
                       "%s%sFrom: %s<%s>;tag=%s;epid=%s\r\nTo: <%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: 1 CANCEL\r\n"
                       "User-Agent: %s\r\nContent-Length: 0\r\n" % (fev, avia, a.display, a.uri, tag, a.epid, b.uri,
                                                                     btag, cid, b.ua), None)
            yield r.randrange(1, 30)
            yield from self._fail(a, b_peer, b.fed, avia, fev, "SIP/2.0 487 Request Terminated",
                                  rfrom + "User-Agent: %s\r\n" % b.ua, corr, b.uri, cid)
            return
        # Answered.
        yield r.randrange(1500, 20000)
        answer = self.sdp(b, True)
        self.relay_resp("SIP/2.0 200 OK", a, b_peer, b.fed, avia, fev,
                        rfrom + "Contact: %s\r\nUser-Agent: %s\r\n%sSession-Expires: 720;refresher=uac\r\n"
                        "Require: timer\r\n" % (b.gruu, b.ua, SUPPORTED_INVITE),
                        self.ctail("application/sdp", answer), answer, corr, rr)
        yield r.randrange(20, 300)
        corr2 = self.new_corr()
        route = "Route: %s" % rr[len("Record-Route: "):]
        dlg = "From: %s<%s>;tag=%s;epid=%s\r\n%sCall-ID: %s\r\n" % (a.display, a.uri, tag, a.epid, to_b, cid)
        self.relay_req("ACK", b.gruu[1:-1], a, b, b_peer, route + dlg + "CSeq: 1 ACK\r\nUser-Agent: %s\r\n" % a.ua,
                       "Content-Length: 0\r\n", None, corr2)
        media_fail = b.fed and r.random() < 0.25
        # A call whose media never connected ends within seconds; others last up to 3 minutes.
        yield r.randrange(8000, 30000) if media_fail else r.randrange(3000, 180000)
        corr3 = self.new_corr()
        if r.random() < 0.5 or media_fail:
            extra = ""
            if media_fail:
                extra = ('ms-client-diagnostics: 23; reason="Call failed to establish due to a media connectivity '
                         'failure when one endpoint is internal and the other is remote";CallerMediaDebug='
                         '"audio:ICEWarn=0x4000320,LocalSite=%s:%d,LocalMR=203.0.113.5:%d,RemoteSite=198.51.100.9:%d,'
                         'PortRange=50000:50039,LocalMRTCPPort=%d,LocalLocation=2,RemoteLocation=1,FederationType=1"\r\n'
                         % (a.ip, r.randrange(50000, 50040), r.randrange(50000, 59999), r.randrange(50000, 59999),
                            r.randrange(50000, 59999)))
            avia, fev = self.relay_req("BYE", b.gruu[1:-1], a, b, b_peer,
                                  route + dlg + "CSeq: 2 BYE\r\nUser-Agent: %s\r\n%s" % (a.ua, extra),
                                  "Content-Length: 0\r\n", None, corr3)
            yield r.randrange(20, 300)
            self.relay_resp("SIP/2.0 200 OK", a, b_peer, b.fed, avia, fev,
                            dlg + "CSeq: 2 BYE\r\nUser-Agent: %s\r\n" % b.ua, "Content-Length: 0\r\n", None, corr3)
        else:
            # Callee hangs up: request from b relayed to a.
            rdlg = "From: <%s>;tag=%s;epid=%s\r\nTo: %s<%s>;tag=%s;epid=%s\r\nCall-ID: %s\r\n" % (
                b.uri, btag, b.epid, a.display, a.uri, tag, a.epid, cid)
            bvia, bfev = self.relay_req("BYE", a.gruu[1:-1], b, a, a.peer,
                                  "Route: <sip:%s:5061;transport=tls;lr>\r\n" % FE + rdlg + "CSeq: 1 BYE\r\nUser-Agent: %s\r\n" % b.ua,
                                  "Content-Length: 0\r\n", None, corr3)
            yield r.randrange(20, 300)
            self.relay_resp("SIP/2.0 200 OK", b, a.peer, False, bvia, bfev,
                            rdlg + "CSeq: 1 BYE\r\nUser-Agent: %s\r\n" % a.ua, "Content-Length: 0\r\n", None, corr3)

    def _fail(self, a: User, b_peer: str, b_fed: bool, avia: str, fev: str, status: str, rc: str, corr: int,
              b_uri: str, cid: str):
        """A final non-2xx response from downstream: ACK hop by hop on each side, response relayed."""
        r = self.rng
        self.proto(corr, DIR_IN_EDGE if b_fed else DIR_IN, b_peer, "response", status,
                   "%s%s%sContent-Length: 0\r\n" % (fev, avia, rc), None)
        ack_common = rc.split("CSeq:")[0] + "CSeq: 1 ACK\r\n"
        self.proto(corr, DIR_OUT_EDGE if b_fed else DIR_OUT, b_peer, "request", "ACK %s SIP/2.0" % b_uri,
                   "%sMax-Forwards: 70\r\n%sContent-Length: 0\r\n" % (fev, ack_common), None)
        self.proto(corr, self.dirs(a)[1], a.peer, "response", status,
                   "%s%s%sContent-Length: 0\r\n" % (avia, rc, "" if a.fed else self.auth_info()), None, new=False)
        yield r.randrange(10, 200)
        self.proto(corr, self.dirs(a)[0], a.peer, "request", "ACK %s SIP/2.0" % b_uri,
                   "%sMax-Forwards: 70\r\n%sContent-Length: 0\r\n" % (avia, ack_common), None)

    def sc_background(self):
        """Connection housekeeping and stale-endpoint warnings, spread over time."""
        r = self.rng
        u = self.pick_user() if r.random() < 0.85 else self.fed_users[r.randrange(len(self.fed_users))]
        if r.random() < 0.4:
            # BENOTIFY from the contact's home pool to an endpoint that has gone (Event 32263 material).
            w = self.pick_user()
            self.diag_rec(self.new_corr(), "warning", DIAG_UNKNOWN_EPID, "BENOTIFY %s SIP/2.0" % w.gruu[1:-1],
                          self.callid(), "%d BENOTIFY" % r.randrange(2, 40), "%s:5061" % FE2,
                          'destination="%s"; epid="%s"; reason="No matching endpoint"' % (w.uri, w.epid))
        elif u.fed:
            self.conn_rec("%s:%d" % (u.ip, u.port), u.cid, None, "edge01")
        else:
            self.conn_rec(u.via_host, u.cid)
        yield 0

    # ---------------------------------------------------------------- main loop
    SCENARIOS = (("register", 2.2), ("service", 4.2), ("subscribe", 2.6), ("options", 3.4), ("invite", 2.6))

    def run(self, out) -> None:
        self.out = out
        r = self.rng
        names = [n for n, _ in self.SCENARIOS]
        weights = [w for _, w in self.SCENARIOS]
        makers = {n: getattr(self, "sc_" + n) for n in names}
        heap: list = []
        seq = 0
        for _ in range(self.concurrency):
            seq += 1
            name = r.choices(names, weights)[0]
            heapq.heappush(heap, (self.now + r.randrange(0, 5000), seq, name, makers[name]()))
        nonsip_share = 0.10
        while not self.done:
            t, _, name, gen = heapq.heappop(heap)
            if t > self.now:
                self.now = t
            self.scenario = name
            try:
                delay = next(gen)
                seq += 1
                heapq.heappush(heap, (self.now + delay, seq, name, gen))
            except StopIteration:
                seq += 1
                name = r.choices(names, weights)[0]
                heapq.heappush(heap, (self.now + r.randrange(0, 400), seq, name, makers[name]()))
            # Keep the non-SIP share near 10 % of records.
            if (self.records - self.sip) < nonsip_share * self.records - 1:
                self.scenario = "background"
                while not self.done and (self.records - self.sip) < nonsip_share * self.records - 1:
                    for _ in self.sc_background():
                        pass
        if self.buf:
            self._flush()

    def summary(self) -> dict:
        return {
            "generator_version": GENERATOR_VERSION,
            "bytes": self.bytes,
            "records": self.records,
            "records_with_begin_marker": self.records_marker,
            "sip": self.sip,
            "sip_distinct": self.sip_distinct,
            "diagnostic": self.diag,
            "connection": self.conn,
            "component_without_marker": self.component,
            "by_method_or_status": dict(sorted(self.methods.items())),
            "records_by_scenario": dict(sorted(self.by_scenario.items())),
        }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", default="10MB", help="target size: 500KB, 10MB, 1GB (decimal), 64MiB (binary)")
    p.add_argument("--seed", type=int, default=1, help="random seed; same seed, same bytes (default %(default)s)")
    p.add_argument("-o", "--output", required=True, help="output file ('-' for stdout)")
    p.add_argument("--start", default="2026-11-03T09:00:00",
                   help="UTC time of the first record, YYYY-MM-DDThh:mm:ss (default %(default)s)")
    p.add_argument("--concurrency", type=int, default=300, help="scenarios in flight at once (default %(default)s)")
    p.add_argument("--meta", help="also write the summary as JSON to this file")
    p.add_argument("-q", "--quiet", action="store_true", help="no summary on stderr")
    args = p.parse_args(argv)
    try:
        target = parse_size(args.size)
        start = timegm(time.strptime(args.start, "%Y-%m-%dT%H:%M:%S"))
    except ValueError as e:
        p.error(str(e))
    t0 = time.perf_counter()
    gen = TraceGen(args.seed, target, start, args.concurrency)
    if args.output == "-":
        gen.run(sys.stdout.buffer)
        sys.stdout.buffer.flush()
    else:
        tmp = args.output + ".part"
        with open(tmp, "wb") as f:
            gen.run(f)
        os.replace(tmp, args.output)
    elapsed = time.perf_counter() - t0
    s = gen.summary()
    s["seed"] = args.seed
    s["size_arg"] = args.size
    s["start"] = args.start
    s["concurrency"] = args.concurrency
    if args.meta:
        with open(args.meta, "w", encoding="utf-8") as f:
            json.dump(s, f, indent=2)
            f.write("\n")
    if not args.quiet:
        print("generated %s: %d bytes, %d records (%d with $$begin_record on the first line), "
              "%d SIP messages logged (%d distinct), %d diagnostic, %d connection; %.1f s, %.1f MB/s"
              % (args.output, s["bytes"], s["records"], s["records_with_begin_marker"], s["sip"],
                 s["sip_distinct"], s["diagnostic"], s["connection"], elapsed,
                 s["bytes"] / 1e6 / elapsed if elapsed else 0.0), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
