"""Redaction: consistent pseudonyms before correlation; nothing personal survives in any output."""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from flows import dialog_headers, record
from rules.um_flows import um_call
from siptrace.cli.cmd_report import report_command
from siptrace.model.context import Context
from siptrace.model.sip import DiagRecord, SipMessage
from siptrace.read.reader import Reader
from siptrace.read.redact import Redactor
from siptrace.rules import run_rules
from siptrace.correlate.timeline import build_timeline

UM_CALL_ID = "5d2c6f0e9b8a47c3a1e2f3b4c5d6e7f8"
RICH_CALL_ID = "9f1e2d3c4b5a69788796a5b4c3d2e1f0"
CRLF = "\r\n"

SDP = CRLF.join([
    "v=0", "o=- 0 0 IN IP4 10.0.10.54", "s=session", "c=IN IP4 10.0.10.54", "t=0 0",
    "m=audio 21020 RTP/AVP 0 101",
    "a=ice-ufrag:gFJL", "a=ice-pwd:anax6ktxowHMtpqIAWlfbPXs",
    "a=candidate:1 1 UDP 2130706431 10.0.10.54 21020 typ host",
    "a=candidate:3 1 UDP 16648703 203.0.113.10 52420 typ relay raddr 10.0.10.54 rport 20312",
    "a=candidate:4 1 UDP 2130705919 fd00:1234:5678::20 21022 typ host",
    "a=rtcp:21021 IN IP4 10.0.10.54",
    "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:P/jk9xXW+524ZxqH6V0Ru38hC8MQXgYZraTJK1E5|2^31|1:1",
    "",
])

AUTH = ('Kerberos qop="auth", realm="SIP Communications Service", opaque="23BDA6F5", crand="3f33d7ea", '
        'cnum="41", targetname="sip/fe01.contoso.com", response="364feca906f2a015aa792e1d0243d827d64955d3"')


def diag_record(at: float, text: str, call_id: str, peer: str, data: str, machine: str = "fe01\\fe01") -> str:
    """One TF_DIAG record in the server-trace layout (as in the samples)."""
    from flows import BASE, _counter
    from datetime import timedelta

    _counter[0] += 1
    when = BASE + timedelta(seconds=at)
    stamp = when.strftime("%m/%d/%Y-%H:%M:%S.") + f"{when.microsecond // 1000:03d}.{_counter[0]:08X}"
    return CRLF.join([
        f"TL_ERROR(TF_DIAG) [{machine}]0A1C.0F2C::{stamp} "
        "(SIPStack,SIPAdminLog::WriteDiagnosticEvent:SIPAdminLog.cpp(830)) [1902367441] $$begin_record",
        "LogType: diagnostic", "Severity: error", f"Text: {text}",
        "Result-Code: 0xc3e93c2f SIPPROXY_E_UNKNOWN_USER_OR_EPID", "SIP-Start-Line: INVITE sip:alice@contoso.com SIP/2.0",
        f"SIP-Call-ID: {call_id}", "SIP-CSeq: 1 INVITE", f"Peer: {peer}", f"Data: {data}", "$$end_record", ""])


def rich_call(edge: bool = False) -> str:
    """Bob calls Alice (remote, via the Edge); Alice's client answers 480 with diagnostics.

    Display names, EPIDs, GRUUs, tel: numbers, Kerberos headers, an SDP offer
    with IPv4, IPv6, ICE and SRTP keys; the same call seen on the Edge when
    ``edge``.
    """
    skew = 2.35 if edge else 0.0
    machine = "edge01\\edge01" if edge else "fe01\\fe01"

    def h(cseq: str, to_tag: str | None = None) -> list[tuple[str, str]]:
        out = dialog_headers(RICH_CALL_ID, cseq, "271ca2b75d", to_tag, caller="sip:bob@contoso.com",
                             callee="sip:alice@contoso.com")
        out[0] = ("Via", "SIP/2.0/TLS 10.0.10.54:53214;received=10.0.10.54;ms-received-port=53214")
        out[1] = ("From", '"Bob Sample" <sip:bob@contoso.com>;tag=271ca2b75d;epid=5f8c3a21b7')
        out[2] = ("To", '"Alice Example" <sip:alice@contoso.com>' + (f";tag={to_tag};epid=7e2a91c0d3" if to_tag else ""))
        return out

    fe_side = "fe01.contoso.com:5061"
    invite_in = dict(direction="incoming", peer=fe_side if edge else "10.0.10.54:53214", machine=machine)
    invite_out = dict(direction="outgoing", peer="198.51.100.23:61533" if edge else "edge01.contoso.com:5061",
                      machine=machine)
    answer_in = dict(direction="incoming", peer="198.51.100.23:61533" if edge else "edge01.contoso.com:5061",
                     machine=machine)
    invite = h("1 INVITE") + [
        ("Contact", "<sip:bob@contoso.com;opaque=user:epid:pK0w3mS7XUW2eT1a4Jc9BgAA;gruu>"),
        ("P-Asserted-Identity", '"Bob Sample" <sip:bob@contoso.com>, <tel:+14255550110>'),
        ("Proxy-Authorization", AUTH), ("ms-subnet", "10.0.10.0"), ("Content-Type", "application/sdp")]
    ruri = "sip:alice@contoso.com;opaque=user:epid:Zt7q1LwJ2kCwR8y5Hn3D0gAA;gruu"
    answer = h("1 INVITE", "5ec397bd2c") + [
        ("Contact", '"Alice Example" <sip:alice@contoso.com;opaque=user:epid:Zt7q1LwJ2kCwR8y5Hn3D0gAA;gruu>'),
        ("ms-client-diagnostics", '52001;reason="Client is not reachable";CalleeMediaDebug="audio:ICEWarn=0x0,'
                                  'LocalSite=192.168.1.20:50010,RemoteSite=10.0.10.54:21020"'),
        ("ms-diagnostics", '1046;reason="Failed to connect to a peer server";PeerServer="mail.contoso.com";'
                           'Callee="+14255550123";source="fe01.contoso.com"')]
    out = [
        record(200.0 + skew, f"INVITE {ruri} SIP/2.0", invite, body=SDP, **invite_in),
        record(200.01 + skew, f"INVITE {ruri} SIP/2.0", invite, body=SDP, **invite_out),
        record(201.0 + skew, "SIP/2.0 480 Temporarily Unavailable", answer, **answer_in),
    ]
    if not edge:
        out.append(diag_record(201.01, f"Routing failed for alice@contoso.com (Alice Example) in dialog {RICH_CALL_ID}",
                               RICH_CALL_ID, "192.168.1.20:50010",
                               'user="bob"; client-ip="198.51.100.23"; dialog-tag="5ec397bd2c"'))
    return "".join(out)


def write_traces(folder: Path) -> list[Path]:
    fe = folder / "fe.log"
    fe.write_text(um_call("mail.contoso.com", call_id=UM_CALL_ID) + rich_call(), encoding="utf-8")
    edge = folder / "edge.log"
    edge.write_text(rich_call(edge=True), encoding="utf-8")
    return [fe, edge]


# ---------------------------------------------------------------------------
# The originals, collected from the input text (not from the redactor)
# ---------------------------------------------------------------------------


def originals(paths: list[Path], domains: bool) -> dict[str, set[str]]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in paths)
    found: dict[str, set[str]] = {k: set() for k in (
        "user", "display", "phone", "ip", "tag", "call_id", "epid", "gruu", "secret", "domain")}
    for user, host in re.findall(r"(?i)\bsips?:([^@;>\s:\"]+)@([\w.\-]+)", text):
        (found["phone"] if re.fullmatch(r"\+?\d+", user) else found["user"]).add(user)
        found["domain"].add(host)
    found["display"].update(re.findall(r'"([^"]+)"\s*<', text))
    found["phone"].update(re.findall(r"\+\d{7,15}", text))
    for ip in re.findall(r"(?<![\w./])\d{1,3}(?:\.\d{1,3}){3}(?![\w])", text):
        ipaddress.ip_address(ip)
        found["ip"].add(ip)
    found["ip"].update(re.findall(r"\bfd00:[0-9a-f:]+", text))
    found["tag"].update(re.findall(r"tag=\"?([\w\-]+)", text))
    found["epid"].update(re.findall(r"epid=([\w\-]+)", text))
    found["call_id"].update(re.findall(r"(?m)^(?:SIP-)?Call-ID: (\S+)", text))
    found["gruu"].update(re.findall(r"opaque=user:epid:([\w\-]+)", text))
    found["secret"].update(re.findall(r'(?:response|crand|opaque)="([^"]+)"', text))
    found["secret"].update(re.findall(r"(?:ice-pwd:|inline:)([^|\s]+)", text))
    for peer in re.findall(r"(?m)^Peer: ([\w.\-]+):\d+", text):
        if not re.fullmatch(r"[\d.]+", peer):
            found["domain"].add(peer)
    found["domain"].update(re.findall(r'(?:source|PeerServer)="([\w.\-]+)"', text))
    if domains:
        hosts = set(found["domain"])
        for host in hosts:
            labels = host.split(".")
            found["domain"].add(".".join(labels[-2:]))   # contoso.com
            found["domain"].add(labels[-2])              # contoso
    else:
        found["domain"] = set()
    assert {"alice", "bob"} <= found["user"] and "+14255550150" in found["phone"]
    assert {"Alice Example", "Bob Sample"} <= found["display"]
    assert {"10.0.10.54", "203.0.113.10", "fd00:1234:5678::20"} <= found["ip"]
    assert RICH_CALL_ID in found["call_id"] and UM_CALL_ID in found["call_id"]
    assert domains is False or {"contoso.com", "contoso", "mail.contoso.com", "um01.contoso.com"} <= found["domain"]
    return found


def leaks(output: str, found: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Originals that still stand as a whole token in ``output`` (inline images left out)."""
    output = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", output)
    out = []
    for category, values in found.items():
        for value in values:
            if re.search(r"(?<![A-Za-z0-9])" + re.escape(value) + r"(?![A-Za-z0-9])", output, re.I):
                out.append((category, value))
    return out


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_traces(tmp_path_factory.mktemp("in"))


def report(traces: list[Path], out: Path, *extra: str) -> None:
    args = [*map(str, traces), "--um-fqdn", "um01.contoso.com", "-o", str(out), *extra]
    result = CliRunner().invoke(report_command, args)
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------------------
# Every output format
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".html", ".md", ".json", ".txt"])
@pytest.mark.parametrize("domains", [False, True], ids=["names", "names+domains"])
def test_no_original_survives_in_any_output(traces: list[Path], tmp_path: Path, suffix: str, domains: bool) -> None:
    found = originals(traces, domains)
    out = tmp_path / f"report{suffix}"
    mapping = tmp_path / "map.json"
    report(traces, out, "--redact", "--redact-map", str(mapping), *(["--redact-domains"] if domains else []))
    outputs = [out.read_text(encoding="utf-8")]
    if suffix == ".md":
        outputs += [p.name for p in (tmp_path / "report_files").iterdir()]
    assert leaks("\n".join(outputs), found) == []
    # the mapping holds what was replaced, and stays out of the report
    table = json.loads(mapping.read_text(encoding="utf-8"))
    assert table["user"]["alice"].startswith("user") and table["call_id"][RICH_CALL_ID].startswith("call")
    assert "map.json" not in outputs[0]


def test_redacted_diagnosis_still_reads_right(traces: list[Path], tmp_path: Path) -> None:
    out, mapping = tmp_path / "r.json", tmp_path / "map.json"
    report(traces, out, "--redact-domains", "--redact-map", str(mapping))
    doc, table = json.loads(out.read_text(encoding="utf-8")), json.loads(mapping.read_text(encoding="utf-8"))
    hosts = table["host"]
    (f,) = [f for f in doc["findings"] if f["rule"] == "ack-retarget-bye"]
    facts = f["facts"]
    assert facts["contact_host"] == facts["ack_host"] == hosts["mail.contoso.com"]
    assert facts["invite_host"] == facts["um_fqdn"] == hosts["um01.contoso.com"] != facts["contact_host"]
    assert re.fullmatch(r"host\d+\.domain\d+\.example", facts["contact_host"])
    assert f["call_id"] == table["call_id"][UM_CALL_ID] and not f["inferred"]
    assert doc["context"]["um_fqdn"] == [hosts["um01.contoso.com"]]
    # the same rules fire as without redaction, on the same calls
    plain = tmp_path / "plain.json"
    report(traces, plain)
    before = json.loads(plain.read_text(encoding="utf-8"))
    assert [g["rule"] for g in before["findings"]] == [g["rule"] for g in doc["findings"]]
    assert [table["call_id"].get(g["call_id"]) for g in before["findings"]] == [g["call_id"] for g in doc["findings"]]
    assert (doc["messages"], doc["dialogs"], doc["calls"]) == (before["messages"], before["dialogs"], before["calls"])
    # one call seen in two files is still one call, with the Edge clock offset found
    assert doc["inputs"][1]["clock_offset_s"] == pytest.approx(2.35, abs=0.01)


def test_without_redact_domains_the_domains_stay(traces: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "r.txt"
    report(traces, out, "--redact")
    text = out.read_text(encoding="utf-8")
    assert "um01.contoso.com" in text and "mail.contoso.com" in text
    assert "ACK for the call to um01.contoso.com went to mail.contoso.com" in text


# ---------------------------------------------------------------------------
# The Redactor, value by value
# ---------------------------------------------------------------------------


def _redacted(paths: list[Path], domains: bool = False) -> tuple[list, list, Redactor]:
    reader = Reader([str(p) for p in paths])
    items = list(reader)
    redactor = Redactor(redact_domains=domains)
    return items, redactor.redact_items(items), redactor


def test_pseudonyms_keep_the_structure() -> None:
    r = Redactor()
    assert r.text('"Alice Example" <sip:alice@contoso.com>;tag=9a8b;epid=7e2a91c0d3', "header") == \
        '"User 1" <sip:user1@contoso.com>;tag=tag1;epid=epid1'
    assert r.text("sip:ALICE@contoso.com") == "sip:user1@contoso.com"          # same user, any case
    phone = r.text("<tel:+14255550150>;user=phone")
    assert re.fullmatch(r"<tel:\+1555\d{7}>;user=phone", phone)
    assert r.text("sip:+14255550150@contoso.com;user=phone") == f"sip:{phone[5:17]}@contoso.com;user=phone"
    assert r.text("+1 (425) 555-0150") != "+1 (425) 555-0150"


def test_ip_addresses_become_documentation_addresses_never_an_original() -> None:
    r = Redactor()
    text = "c=IN IP4 10.0.10.54\r\na=candidate:1 1 UDP 1 192.0.2.1 5 typ host raddr 203.0.113.10 rport 9\r\n"
    from siptrace.model.sip import Origin

    msg = SipMessage(origin=Origin("x", 1), time=None, start_line="INVITE sip:10.0.0.1 SIP/2.0", method="INVITE",
                     request_uri="sip:10.0.0.1", body=text)
    (out,) = r.redact_items([msg])
    mapping = r.mapping()["ipv4"]
    assert set(mapping) == {"10.0.10.54", "192.0.2.1", "203.0.113.10", "10.0.0.1"}
    docs = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
    assert all(any(ipaddress.ip_address(v) in n for n in docs) for v in mapping.values())
    assert not set(mapping.values()) & set(mapping)        # a pseudonym is never an original
    assert mapping["192.0.2.1"] != "192.0.2.1" and "192.0.2.1 " not in out.body
    assert out.request_uri == f"sip:{mapping['10.0.0.1']}"
    assert Redactor().text("fd00:1234:5678::20 and [fd00::1]:5061") == "2001:db8::1 and [2001:db8::2]:5061"
    assert Redactor().text("RTCC/5.0.0.0 0.0.0.0 127.0.0.1") == "RTCC/5.0.0.0 0.0.0.0 127.0.0.1"


def test_every_item_is_redacted_consistently(traces: list[Path]) -> None:
    items, redacted, r = _redacted(traces, domains=True)
    mapping = r.mapping()
    sips = [i for i in redacted if isinstance(i, SipMessage)]
    rich = [m for m in sips if m.call_id == mapping["call_id"][RICH_CALL_ID]]
    assert len(rich) == 6                                   # 3 on the front end, 3 on the Edge
    first = rich[0]
    assert first.from_.display == "User {}".format(mapping["user"]["bob"][4:])
    assert first.from_.uri_text == f"sip:{mapping['user']['bob']}@{mapping['domain']['contoso.com']}"
    assert first.from_tag == mapping["tag"]["271ca2b75d"] and first.from_.epid == mapping["epid"]["5f8c3a21b7"]
    assert "opaque=user:epid:" + mapping["gruu"]["pK0w3mS7XUW2eT1a4Jc9BgAA"] in first.headers.get("contact")
    auth = first.headers.get("proxy-authorization")
    assert auth.startswith("Kerberos qop=\"redacted\"") and "364feca9" not in auth and "targetname=" in auth
    assert "inline:redacted" in first.body and "a=ice-pwd:redacted" in first.body
    original = next(m for m in items if isinstance(m, SipMessage) and m.call_id == RICH_CALL_ID)
    assert len(first.body) != len(original.body)            # the Content-Length follows the body
    assert first.content_length - len(first.body.encode()) == original.content_length - len(original.body.encode())
    assert first.has_sdp and first.peer.host == mapping["ipv4"]["10.0.10.54"]
    # the record's own fields say the same as the message
    assert dict(first.record.fields)["Peer"] == str(first.peer)
    assert first.record.machine == "{0}\\{0}".format(mapping["host"]["fe01.contoso.com"].split(".")[0])
    diag = next(i for i in redacted if isinstance(i, DiagRecord))
    assert diag.call_id == first.call_id and mapping["user"]["alice"] in diag.text
    assert "User" in diag.text and "Alice" not in diag.text and RICH_CALL_ID not in diag.text  # the final sweep
    assert dict(diag.data)["dialog-tag"] == mapping["tag"]["5ec397bd2c"]
    # same message on two servers: still one message with its sightings
    assert len(build_timeline(redacted).messages) == len(build_timeline(items).messages)


def test_domains_map_to_hosts_under_their_domain() -> None:
    r = Redactor(redact_domains=True)
    out = r.text("sip:um01.contoso.com:5061 sip:alice@contoso.com edge01.contoso.com UM01.CONTOSO.COM")
    um, domain, edge, again = re.findall(r"[\w.]+\.example", out)
    assert domain == "domain1.example" and um.endswith("." + domain) and edge.endswith("." + domain)
    assert um == again != edge
    ctx = r.redact_context(Context.of(["um01.contoso.com"]))
    assert ctx.um_fqdns == (um,)
    assert r.text("sip:um01.contoso.com;maddr=10.1.2.3") == f"sip:{um};maddr={r.mapping()['ipv4']['10.1.2.3']}"


def test_dataframes_ladder_and_findings_see_only_pseudonyms(traces: list[Path]) -> None:
    from siptrace.views.notebook import Trace

    found = originals(traces, domains=True)
    _, redacted, r = _redacted(traces, domains=True)
    ctx = r.redact_context(Context.of(["um01.contoso.com"]))
    timeline = build_timeline(redacted)
    findings = run_rules(timeline, ctx)
    trace = Trace(timeline, ctx, findings)
    frames = "\n".join(df.to_csv() for df in (trace.messages, trace.dialogs, trace.calls, trace.findings))
    assert leaks(frames, found) == []
    assert leaks(json.dumps([f.as_dict() for f in findings], default=str), found) == []
    ladder = pytest.importorskip("siptrace.views.ladder")
    for call_id in {f.call_id for f in findings if f.call_id}:
        assert leaks(ladder.ladder_text(timeline, call_id, findings, 120), found) == []


def test_redacting_twice_changes_nothing_more() -> None:
    r = Redactor(redact_domains=True)
    once = r.text('"Alice" <sip:alice@contoso.com>;tag=1a2b;epid=3c4d 10.0.0.1 +14255550150', "header")
    assert r.text(once, "header") == once


def test_images_carry_no_original_text(traces: list[Path], tmp_path: Path) -> None:
    """The PNGs are pictures: their metadata must not carry trace values either."""
    out = tmp_path / "r.html"
    report(traces, out, "--redact-domains")
    for data in re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", out.read_text(encoding="utf-8")):
        raw = base64.b64decode(data)
        assert b"contoso" not in raw and b"alice" not in raw.lower()
