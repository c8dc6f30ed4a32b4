"""The ladder: columns, one arrow per hop, marks, layout without overlaps, text, and the ladder command."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from matplotlib.colors import to_rgba
from matplotlib.patches import FancyArrowPatch

from siptrace.model.context import Context
from siptrace.model.errors import SiptraceError
from siptrace.rules.findings import Severity
from siptrace.views.ladder import PLAIN, SEVERITY_COLOURS, UnknownCall, hosts_of, ladder_figure, ladder_text
from siptrace.cli.cmd_ladder import ladder_command
from siptrace.rules import run_rules
from siptrace.correlate.timeline import load_timeline

from conftest import sample
from flows import dialog_headers, record
from rules.um_flows import um_call

UM_CALL = "5d2c6f0e9b8a47c3a1e2f3b4c5d6e7f8"
SAMPLE_CALL = "5a3306c8d206a94ff659cf5a15769d51"


def _load(write, text: str, name: str = "fe.log", um: str | None = "um01.contoso.com"):
    timeline = load_timeline(str(write(name, text)))
    return timeline, run_rules(timeline, Context.of(um))


def _arrows(fig) -> list[FancyArrowPatch]:
    return [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]


def _texts(fig, prefix: str) -> dict[str, str]:
    return {t.get_gid(): t.get_text() for t in fig.axes[0].texts if (t.get_gid() or "").startswith(prefix)}


def _row_of(fig, label: str, dst: str):
    ladder = fig.ladder
    return next(i for i, r in enumerate(ladder.rows)
                if r.hop is not None and r.label.startswith(label) and ladder.hosts.label(r.hop.dst) == dst)


# ---------------------------------------------------------------------------
# A flow seen from both ends of its hops: an Edge log and a front-end log
# ---------------------------------------------------------------------------

VIA_CLIENT = "SIP/2.0/TLS 192.168.1.20:50344;branch=z9hG4bKa1;received=198.51.100.23"
VIA_EDGE = "SIP/2.0/TLS 10.0.2.21:51234;branch=z9hG4bKe1"
VIA_FE = "SIP/2.0/TLS 10.0.1.11:52880;branch=z9hG4bKf1"
TWO_SIDED = "7b1e0c3a9d2f4e5b8c6a1d0e2f3a4b5c"


def _headers(vias: list[str], cseq: str, to_tag: str | None = None, rr: tuple[str, ...] = (),
             contact: str | None = None) -> list[tuple[str, str]]:
    out = [("Via", v) for v in vias]
    out += [("Record-Route", f"<sip:{h}:5061;transport=tls;lr>") for h in rr]
    out += [("From", "<sip:alice@contoso.com>;tag=a1"),
            ("To", "<sip:+14255550150@contoso.com;user=phone>" + (f";tag={to_tag}" if to_tag else "")),
            ("Call-ID", TWO_SIDED), ("CSeq", cseq)]
    if contact:
        out.append(("Contact", f"<{contact}>"))
    return out


def _two_sided(write):
    invite = "INVITE sip:+14255550150@contoso.com;user=phone SIP/2.0"
    edge = "".join([
        record(0.000, invite, _headers([VIA_CLIENT], "1 INVITE"), peer="198.51.100.23:61533",
               machine="edge01\\edge01"),
        record(0.003, invite, _headers([VIA_EDGE, VIA_CLIENT], "1 INVITE", rr=("edge01.contoso.com",)),
               direction="outgoing", peer="fe01.contoso.com:5061", machine="edge01\\edge01"),
        record(0.900, "SIP/2.0 200 OK", _headers([VIA_EDGE, VIA_CLIENT], "1 INVITE", "u1"),
               peer="fe01.contoso.com:5061", machine="edge01\\edge01"),
        record(0.902, "SIP/2.0 200 OK", _headers([VIA_CLIENT], "1 INVITE", "u1"), direction="outgoing",
               peer="198.51.100.23:61533", machine="edge01\\edge01"),
    ])
    fe = "".join([
        # the front end names the Edge by its address only
        record(0.005, invite, _headers([VIA_EDGE, VIA_CLIENT], "1 INVITE", rr=("edge01.contoso.com",)),
               peer="10.0.2.21:51234"),
        record(0.010, invite, _headers([VIA_FE, VIA_EDGE, VIA_CLIENT], "1 INVITE",
                                       rr=("pool01.contoso.com", "edge01.contoso.com")),
               direction="outgoing", peer="um01.contoso.com:5061"),
        record(0.890, "SIP/2.0 200 OK", _headers([VIA_FE, VIA_EDGE, VIA_CLIENT], "1 INVITE", "u1",
                                                 contact="sip:um01.contoso.com:5061;transport=Tls"),
               peer="um01.contoso.com:5061"),
        record(0.895, "SIP/2.0 200 OK", _headers([VIA_EDGE, VIA_CLIENT], "1 INVITE", "u1"),
               direction="outgoing", peer="10.0.2.21:51234"),
    ])
    return load_timeline([str(write("edge.log", edge)), str(write("fe.log", fe))])


def test_both_ends_of_a_hop_are_one_arrow_and_hosts_merge_by_fqdn(write):
    timeline = _two_sided(write)
    call = timeline.call(TWO_SIDED)
    assert hosts_of(timeline, call) == ["198.51.100.23", "edge01.contoso.com", "fe01.contoso.com",
                                        "um01.contoso.com"]
    fig = ladder_figure(timeline, TWO_SIDED)
    # 8 sightings, 6 hops: INVITE client→Edge→FE→UM, 200 OK back the same way
    assert len(_arrows(fig)) == 6
    ladder = fig.ladder
    assert [(ladder.hosts.label(h.src), ladder.hosts.label(h.dst)) for h in ladder.hops] == [
        ("198.51.100.23", "edge01.contoso.com"), ("edge01.contoso.com", "fe01.contoso.com"),
        ("fe01.contoso.com", "um01.contoso.com"), ("um01.contoso.com", "fe01.contoso.com"),
        ("fe01.contoso.com", "edge01.contoso.com"), ("edge01.contoso.com", "198.51.100.23")]
    assert [len(h.sightings) for h in ladder.hops] == [1, 2, 1, 1, 2, 1]
    # the IP the front end used is under the Edge's name, the client's private address under its public one
    info = _texts(fig, "hostinfo-")
    assert "10.0.2.21" in info["hostinfo-1"] and "192.168.1.20" in info["hostinfo-0"]
    hosts = _texts(fig, "host-")
    assert [hosts[f"host-{k}"].replace("\n", "") for k in range(4)] == ladder.labels()


def test_unknown_machine_is_named_by_what_the_messages_say(write):
    invite = "INVITE sip:carol@contoso.com SIP/2.0"
    headers = _headers([VIA_FE, VIA_CLIENT], "1 INVITE", rr=("pool01.contoso.com",))
    text = (record(0.0, invite, _headers([VIA_CLIENT], "1 INVITE"), peer="198.51.100.23:61533", machine="0")
            + record(0.01, invite, headers, direction="outgoing", peer="10.0.10.77:5061", machine="0"))
    timeline, _ = _load(write, text)
    # [0] is a processor number: the server is the Record-Route it puts on the requests it relays
    assert hosts_of(timeline, timeline.calls[0]) == ["198.51.100.23", "pool01.contoso.com", "10.0.10.77"]


# ---------------------------------------------------------------------------
# The UM failure
# ---------------------------------------------------------------------------

def test_um_failure_columns_arrows_labels_and_marks(write):
    timeline, findings = _load(write, um_call("mail.contoso.com"))
    fig = ladder_figure(timeline, UM_CALL, findings)
    assert fig.ladder.labels() == ["edge01.contoso.com", "fe01", "um01.contoso.com", "mail.contoso.com"]
    # 7 records, each its own hop: INVITE in/out, 180, 200 OK, ACK in/out, BYE
    assert len(_arrows(fig)) == 7
    labels = _texts(fig, "label-")
    times = _texts(fig, "time-")
    ack = _row_of(fig, "ACK", "mail.contoso.com")
    bye = _row_of(fig, "BYE", "fe01")
    assert labels[f"label-{ack}"] == "ACK → mail.contoso.com ≠ um01 · CSeq 1"   # where it went, and that it is wrong
    assert times[f"time-{ack}"] == "+1.410 s" and times[f"time-{bye}"] == "+33.600 s"
    assert labels["label-0"] == "INVITE · CSeq 1"
    assert (_texts(fig, "label-")[f"label-{_row_of(fig, '200 OK', 'fe01')}"]
            == "200 OK · Contact mail.contoso.com ≠ um01 · CSeq 1 INVITE")
    # the ACK to the certificate name is red and says which rule cites it
    arrow = next(a for a in _arrows(fig) if a.get_gid() == f"arrow-{ack}")
    assert arrow.get_edgecolor() == to_rgba(SEVERITY_COLOURS[Severity.ERROR])
    assert "ack-retarget-bye" in _texts(fig, "mark-")[f"mark-{ack}"]


def test_every_cited_arrow_is_coloured_and_marked_and_no_other(write):
    timeline, findings = _load(write, um_call("mail.contoso.com"))
    fig = ladder_figure(timeline, UM_CALL, findings)
    cited = {e.origin for f in findings for e in f.evidence}
    marks = _texts(fig, "mark-")
    for i, row in enumerate(fig.ladder.rows):
        if row.hop is None:
            continue
        arrow = next(a for a in _arrows(fig) if a.get_gid() == f"arrow-{i}")
        hit = [f for f in findings if {e.origin for e in f.evidence} & set(row.hop.origins)]
        if set(row.hop.origins) & cited:
            worst = max((f.severity for f in hit), key=lambda s: s.rank)
            assert arrow.get_edgecolor() == to_rgba(SEVERITY_COLOURS[worst])
            assert set(marks[f"mark-{i}"].split()) == {f.rule for f in hit}
        else:
            assert arrow.get_edgecolor() == to_rgba(PLAIN) and f"mark-{i}" not in marks


def test_without_findings_nothing_is_marked(write):
    timeline, _ = _load(write, um_call("mail.contoso.com"))
    fig = ladder_figure(timeline, UM_CALL)
    assert not _texts(fig, "mark-")
    assert {a.get_edgecolor() for a in _arrows(fig)} == {to_rgba(PLAIN)}


def test_retransmissions_are_dashed_and_say_so():
    timeline = load_timeline(str(sample("ack-missing.fe.log")))
    call = "09216324566c1a24f4e9f648f9f29d51"
    fig = ladder_figure(timeline, call, run_rules(timeline, Context()))
    labels = _texts(fig, "label-")
    dashed = solid = 0
    for i, row in enumerate(fig.ladder.rows):
        arrow = next(a for a in _arrows(fig) if a.get_gid() == f"arrow-{i}")
        if row.retransmission:
            dashed += 1
            assert arrow.get_linestyle() == "--" and labels[f"label-{i}"].endswith("(retransmission)")
        else:
            solid += 1
            assert arrow.get_linestyle() == "-" and "retransmission" not in labels[f"label-{i}"]
    assert dashed == 12   # six 200 OK retransmissions, each relayed: two hops
    assert solid == 11


def test_sdp_is_tagged():
    timeline = load_timeline(str(sample("um-ack-retarget-bye.fe.log")))
    labels = _texts(ladder_figure(timeline, SAMPLE_CALL), "label-")
    assert labels["label-0"] == "INVITE · CSeq 1 · SDP"
    assert sum(text.endswith("· SDP") for text in labels.values()) == 4   # INVITE ×2, 200 OK ×2


def test_diagnostic_records_are_notes_on_the_server_that_logged_them():
    paths = [str(sample("um-ack-retarget-bye.fe.log")), str(sample("um-ack-retarget-bye.edge.log"))]
    timeline = load_timeline(paths)
    findings = run_rules(timeline, Context.of("um01.contoso.com"))
    fig = ladder_figure(timeline, SAMPLE_CALL, findings)
    (i, note), = [(i, r) for i, r in enumerate(fig.ladder.rows) if r.note is not None]
    assert fig.ladder.hosts.label(note.host) == "fe01.contoso.com"
    assert "0xC3E93C2F" in _texts(fig, "note-")[f"note-{i}"]
    assert "error-records" in _texts(fig, "mark-")[f"mark-{i}"]
    assert fig.ladder.labels() == ["198.51.100.23", "edge01.contoso.com", "fe01.contoso.com",
                                   "um01.contoso.com", "mail.contoso.com"]
    assert len(_arrows(fig)) == 20
    _assert_no_overlaps(fig)


def test_unknown_call_id_says_what_was_meant(write):
    timeline, _ = _load(write, um_call("mail.contoso.com"))
    with pytest.raises(UnknownCall) as err:
        ladder_figure(timeline, UM_CALL[:-1])
    assert isinstance(err.value, SiptraceError) and isinstance(err.value, KeyError)
    assert f"Did you mean {UM_CALL}?" in str(err.value)
    with pytest.raises(UnknownCall):
        ladder_text(timeline, "nothing-like-it")


# ---------------------------------------------------------------------------
# Layout: a long call
# ---------------------------------------------------------------------------

LONG_HOST = "df6b236d-2a7c-4c1e-9b41-5f3e1c2a7b10.um.outlook.com"


def _long_call(messages: int, call_id: str = "1f0e2d3c4b5a69788796a5b4c3d2e1f0") -> str:
    """A call of ``messages`` unique messages, each logged in and out on the front end."""
    out: list[str] = []
    at = 0.0

    def both(start: str, headers, sender_is_caller: bool, body: str = "") -> None:
        nonlocal at
        first, second = ("10.0.10.54:53214", f"{LONG_HOST}:5061") if sender_is_caller else \
            (f"{LONG_HOST}:5061", "10.0.10.54:53214")
        out.append(record(at, start, headers, peer=first, body=body))
        out.append(record(at + 0.004, start, headers, direction="outgoing", peer=second, body=body))
        at += 0.25

    sdp = "v=0\r\no=- 0 0 IN IP4 10.0.10.54\r\ns=session\r\nc=IN IP4 10.0.10.54\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n"
    h = lambda cseq, to=None, branch="z9hG4bK1", swap=False, frm="c1": dialog_headers(  # noqa: E731
        call_id, cseq, frm, to, branch=branch, callee=f"sip:+14255550160@{LONG_HOST}", swap=swap)
    both(f"INVITE sip:+14255550160@{LONG_HOST} SIP/2.0", h("1 INVITE"), True, sdp)
    both("SIP/2.0 180 Ringing", h("1 INVITE", "u1"), False)
    both("SIP/2.0 200 OK", h("1 INVITE", "u1"), False, sdp)
    both("SIP/2.0 200 OK", h("1 INVITE", "u1"), False, sdp)          # a retransmission
    both(f"ACK sip:{LONG_HOST}:5061;transport=Tls SIP/2.0", h("1 ACK", "u1", "z9hG4bKack"), True)
    n = 2
    while len(out) // 2 < messages - 1:
        branch = f"z9hG4bKinfo{n}"
        both(f"INFO sip:{LONG_HOST}:5061;transport=Tls SIP/2.0", h(f"{n} INFO", "u1", branch), True)
        both("SIP/2.0 200 OK", h(f"{n} INFO", "u1", branch), False)
        n += 1
    bye = [("Via", "SIP/2.0/TLS 52.112.15.40:5061;branch=z9hG4bKbye") if k == "Via" else (k, v)
           for k, v in h("1 BYE", "c1", "z9hG4bKbye", swap=True, frm="u1")]
    both("BYE sip:bob@contoso.com;opaque=user:epid:x;gruu SIP/2.0", bye, False)
    return "".join(out)


def _overlap(a, b, slack: float = 0.5) -> bool:
    return (a.x0 + slack < b.x1 and b.x0 + slack < a.x1 and a.y0 + slack < b.y1 and b.y0 + slack < a.y1)


def _pairs(boxes: list[tuple[str, object]], others: list[tuple[str, object]] | None = None):
    """Pairs of boxes whose vertical ranges meet (a sweep, so a long call stays quick)."""
    items = sorted([(b.y0, b.y1, name, b, 0) for name, b in boxes] +
                   [(b.y0, b.y1, name, b, 1) for name, b in (others or [])])
    active: list[tuple] = []
    for y0, y1, name, box, group in items:
        active = [a for a in active if a[1] > y0]
        for other in active:
            if others is None or other[4] != group:
                yield (name, box), (other[2], other[3])
        active.append((y0, y1, name, box, group))


def _assert_no_overlaps(fig) -> None:
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = [(t.get_gid(), t.get_window_extent(renderer)) for t in fig.axes[0].texts if t.get_text()]
    clashes = [(a[0], b[0]) for a, b in _pairs(texts) if _overlap(a[1], b[1])]
    assert not clashes, clashes[:5]
    arrows = [(a.get_gid(), a.get_window_extent(renderer)) for a in _arrows(fig)]
    crossed = [(a[0], b[0]) for a, b in _pairs(texts, arrows) if _overlap(a[1], b[1])]
    assert not crossed, crossed[:5]
    # everything is inside the figure
    whole = fig.bbox
    assert all(whole.x0 - 1 <= b.x0 and b.x1 <= whole.x1 + 1 for _, b in texts)


def test_a_200_message_call_has_no_overlapping_labels(write):
    timeline, findings = _load(write, _long_call(200), um=None)
    call = timeline.calls[0]
    assert len(call.messages) == 200
    fig = ladder_figure(timeline, call.call_id, findings)
    # the front end relays with the caller's Via on top (no Via of its own): still two hosts,
    # since messages went from one to the other
    assert fig.ladder.labels() == ["10.0.10.54", "fe01", LONG_HOST]
    assert len(_arrows(fig)) == 400
    assert sum(r.retransmission for r in fig.ladder.rows) == 2
    host = _texts(fig, "host-")["host-2"]
    first, *_, last = host.split("\n") * 2 if "\n" not in host else host.split("\n")
    assert first.startswith("df6b236d-") and last.endswith("um.outlook.com")   # whole, or wrapped after its dots
    _assert_no_overlaps(fig)


def test_figure_grows_with_the_call(write):
    small, _ = _load(write, _long_call(20, "a" * 32), "small.log", um=None)
    large, _ = _load(write, _long_call(120, "b" * 32), "large.log", um=None)
    h_small = ladder_figure(small, "a" * 32).get_size_inches()[1]
    h_large = ladder_figure(large, "b" * 32).get_size_inches()[1]
    assert h_large > h_small * 4
    # a fixed pitch: each extra arrow adds the same height, plus the host names again every 40 rows
    again = {t.get_gid().split("-")[2] for t in ladder_figure(large, "b" * 32).axes[0].texts
             if (t.get_gid() or "").startswith("host-again-")}
    assert len(again) == 240 // 40 - 1
    assert (240 - 40) * 0.30 < h_large - h_small < (240 - 40) * 0.30 + len(again) * 0.6


def test_columns_spread_evenly(write):
    timeline, findings = _load(write, um_call("mail.contoso.com"))
    fig = ladder_figure(timeline, UM_CALL, findings)
    xs = [t.get_position()[0] for t in fig.axes[0].texts if (t.get_gid() or "").startswith("host-")]
    steps = {round(b - a, 6) for a, b in zip(xs, xs[1:])}
    assert len(xs) == 4 and len(steps) == 1
    _assert_no_overlaps(fig)


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("width", [60, 80, 100, 140])
def test_text_ladder_fits_the_width(write, width):
    timeline, findings = _load(write, um_call("mail.contoso.com"))
    text = ladder_text(timeline, UM_CALL, findings, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "-->" in text and "<--" in text


def test_text_ladder_shows_time_label_and_rule(write):
    timeline, findings = _load(write, um_call("mail.contoso.com"))
    lines = ladder_text(timeline, UM_CALL, findings, width=120).splitlines()
    assert lines[0].startswith(f"Call-ID {UM_CALL} · ") and "first message" in lines[0]
    header = lines[1]
    for name in ("edge01.contoso.com", "fe01", "um01.contoso.com", "mail.contoso.com"):
        assert name in header
    assert lines[2].split() == ["10.0.10.54", "|", "|", "|"]    # the Edge's address under its name
    ack = next(i for i, line in enumerate(lines) if line.lstrip().startswith("+1.410 s"))
    assert "ACK → mail.contoso.com ≠ um01 · CSeq 1" in lines[ack - 1] + lines[ack]
    assert lines[ack].rstrip().endswith("*ack-retarget-bye")
    # the arrow runs from the front end's column to the last one (mail.contoso.com)
    arrow = lines[ack]
    assert arrow.index("-") > header.index("fe01") and arrow.rindex(">") < header.index("mail.contoso.com") + 16
    assert any(line.startswith("+33.600 s") for line in lines)


def test_text_ladder_wraps_long_host_names(write):
    timeline, findings = _load(write, um_call("mail.contoso.com"))
    lines = ladder_text(timeline, UM_CALL, findings, width=90).splitlines()
    at = next(i for i, line in enumerate(lines) if "edge01." in line)
    assert "edge01.contoso.com" not in lines[at] and "contoso.com" in lines[at + 1]


def test_text_ladder_dashes_retransmissions():
    timeline = load_timeline(str(sample("ack-missing.fe.log")))
    text = ladder_text(timeline, "09216324566c1a24f4e9f648f9f29d51", width=90)
    assert text.count("< - -") == 12
    assert text.count("(retransmission)") == 12


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------

MAGIC = {"png": b"\x89PNG", "svg": b"<?xml", "pdf": b"%PDF"}


@pytest.mark.parametrize("kind", ["png", "svg", "pdf"])
def test_ladder_command_writes_the_file(write, tmp_path, kind):
    log = write("fe.log", um_call("mail.contoso.com"))
    out = tmp_path / f"flow.{kind}"
    result = CliRunner().invoke(ladder_command, [str(log), "-q", "--call-id", UM_CALL, "-o", str(out),
                                                 "--um-fqdn", "um01.contoso.com"])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(MAGIC[kind])
    assert f"call {UM_CALL}, 7 arrows between 4 hosts" in result.output


def test_ladder_command_picks_the_call_with_an_error(write):
    healthy = um_call("um01.contoso.com", call_id="0" * 32)
    log = write("fe.log", healthy + um_call("mail.contoso.com"))
    result = CliRunner().invoke(ladder_command, [str(log), "-q", "--width", "100", "--um-fqdn", "um01.contoso.com"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Call-ID {UM_CALL}")
    assert "*ack-retarget-bye" in result.output


def test_ladder_command_unknown_call_id_is_exit_2_with_a_suggestion(write):
    log = write("fe.log", um_call("mail.contoso.com"))
    result = CliRunner().invoke(ladder_command, [str(log), "-q", "--call-id", UM_CALL[:-2] + "xx"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert f"Did you mean {UM_CALL}?" in result.output


@pytest.mark.parametrize("args, words", [
    (["-o", "flow.jpg"], "Name the output .png, .svg or .pdf"),
    (["--input-format", "pcap"], ""),
])
def test_ladder_command_errors_are_one_line_exit_2(write, tmp_path, args, words):
    log = write("fe.log", um_call("mail.contoso.com"))
    result = CliRunner().invoke(ladder_command, [str(log), "-q", *[str(tmp_path / a) if a.endswith(".jpg") else a
                                                                    for a in args]])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("siptrace: ") and words in result.output


def test_ladder_command_on_input_without_calls(write):
    log = write("empty.log", "just some text, no SIP here\n")
    result = CliRunner().invoke(ladder_command, [str(log), "-q", "--input-format", "sip"])
    assert result.exit_code == 2
    assert "no SIP calls" in result.output


def test_text_ladder_needs_no_matplotlib():
    import subprocess
    import sys

    code = ("import sys, siptrace.views.ladder as l, siptrace.correlate.timeline as t; "
            f"tl = t.load_timeline({str(sample('cancel.fe.log'))!r}); "
            "l.ladder_text(tl, tl.calls[0].call_id); "
            "assert 'matplotlib' not in sys.modules and 'pandas' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_host_sending_to_itself_is_a_loop(write):
    # bare SIP text: the Via and the Request-URI are all there is, and here they name one host
    text = ("OPTIONS sip:10.0.3.31:5061;transport=tls SIP/2.0\r\n"
            "Via: SIP/2.0/TLS 10.0.3.31:5061;branch=z9hG4bKloop\r\n"
            "From: <sip:um01.contoso.com>;tag=l1\r\nTo: <sip:um01.contoso.com>\r\n"
            "Call-ID: loop-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
    timeline = load_timeline(str(write("loop.txt", text)), input_format="sip")
    fig = ladder_figure(timeline, "loop-1")
    (arrow,) = _arrows(fig)
    assert fig.ladder.labels() == ["10.0.3.31"]
    label = next(t for t in fig.axes[0].texts if t.get_gid() == "label-0")
    assert label.get_text() == "OPTIONS → 10.0.3.31 · CSeq 1"
    assert label.get_position()[0] > arrow.get_path().vertices[0][0]
    _assert_no_overlaps(fig)
    assert "|<-'" in ladder_text(timeline, "loop-1", width=60)
