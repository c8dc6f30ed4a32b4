"""A ladder that shows the fault: decisive values in the labels, quiet stretches as breaks, a legend,
titles whole, host names again on tall ladders, SVG text kept as text, one line per message."""

from __future__ import annotations

import io
import re

import pytest

from siptrace.model.context import Context
from siptrace.run.diagnose import diagnose
from siptrace.views.ladder import ladder_figure, ladder_text, save

from conftest import sample

UM_CALL = "5a3306c8d206a94ff659cf5a15769d51"
FORKED = "3e4f1a2b9c8d47e6a5b4c3d2e1f0a9b8"


def _diagnosed(name):
    result = diagnose([str(sample(name))], Context.of())
    return result.timeline, list(result.findings)


def _labels(fig):
    return [t.get_text() for t in fig.axes[0].texts if (t.get_gid() or "").startswith("label-")]


# (case, sample, call, label expected among the arrows)
DECISIVE = [
    ("the INVITE says which server it goes to", "um-ack-retarget-bye.fe.log", UM_CALL,
     "INVITE → um01.contoso.com · CSeq 1 · SDP"),
    ("the UM's answer says its Contact, and that it is not the UM", "um-ack-retarget-bye.fe.log", UM_CALL,
     "200 OK · Contact mail.contoso.com ≠ um01 · CSeq 1 INVITE · SDP"),
    ("the ACK says where it went", "um-ack-retarget-bye.fe.log", UM_CALL, "ACK → mail.contoso.com ≠ um01 · CSeq 1"),
    ("a healthy UM answer names the UM, with nothing to blame", "um-healthy-fqdn-contact.fe.log",
     "34b57e40b91feca7bf5013e29a9a605d", "200 OK · Contact um01.contoso.com · CSeq 1 INVITE · SDP"),
    ("a redirect names where the call goes next", "um-two-servers.fe.log", "e07c3b5a91d24f68b2a4c6d8e0f1a3b5",
     "INVITE → um02.contoso.com · CSeq 1 · SDP"),
]


@pytest.mark.parametrize("name, call, label", [c[1:] for c in DECISIVE], ids=[c[0] for c in DECISIVE])
def test_labels_carry_the_decisive_values(name, call, label):
    timeline, findings = _diagnosed(name)
    assert label in _labels(ladder_figure(timeline, call, findings))
    assert label in ladder_text(timeline, call, findings, width=400)


def test_a_gruu_contact_or_request_uri_is_not_shown_as_a_server():
    timeline, findings = _diagnosed("forked-call.fe.log")
    labels = _labels(ladder_figure(timeline, FORKED, findings))
    assert "200 OK · CSeq 1 INVITE · SDP" in labels          # Carol's desktop answers with a GRUU
    assert not any("≠" in label for label in labels)


def test_a_quiet_stretch_is_a_break_with_its_length():
    timeline, findings = _diagnosed("um-ack-retarget-bye.fe.log")
    text = ladder_text(timeline, UM_CALL, findings, width=150)
    gaps = [line for line in text.splitlines() if "⋯" in line and " s ⋯" in line and "time without" not in line]
    assert [re.search(r"⋯ ([\d.]+ s) ⋯", g).group(1) for g in gaps] == ["21.0 s", "9.1 s", "21.0 s"]
    assert all(":" in g and "|" not in g for g in gaps)       # the lifelines break there
    fig = ladder_figure(timeline, UM_CALL, findings)
    drawn = sorted(t.get_text() for t in fig.axes[0].texts if (t.get_gid() or "").startswith("gap-"))
    assert drawn == ["⋯ 21.0 s ⋯", "⋯ 21.0 s ⋯", "⋯ 9.1 s ⋯"]


def test_a_call_without_quiet_stretches_has_no_break():
    timeline, findings = _diagnosed("healthy-mixed.fe.log")
    call = "4c2da100f64cead3b7bca2f973db4d14"          # a sign-in: REGISTER, 401, REGISTER, 200 in 66 ms
    assert not [t for t in ladder_figure(timeline, call, findings).axes[0].texts
                if (t.get_gid() or "").startswith("gap-")]


def test_both_views_end_or_start_with_a_legend_of_the_marks():
    timeline, findings = _diagnosed("um-ack-retarget-bye.fe.log")
    text = ladder_text(timeline, UM_CALL, findings, width=100)
    tail = " ".join(text.rstrip().splitlines()[-4:])
    for words in ("*rule", "dashed: retransmission", "!: the server's diagnostic record", "≠ um01"):
        assert words in tail
    legend = next(t.get_text() for t in ladder_figure(timeline, UM_CALL, findings).axes[0].texts
                  if t.get_gid() == "legend")
    assert "red / orange / blue" in legend and "dashed: retransmission" in legend


@pytest.mark.parametrize("width", [40, 60])
def test_the_title_is_never_cut(width):
    timeline, findings = _diagnosed("session-refresh-481.mediation.log")
    call = "f6e1d0c2-3b4a-4f9e-8d7c-2a1b0c9d8e7f"
    lines = ladder_text(timeline, call, findings, width=width).splitlines()
    head = "".join(lines[:3])
    assert call in head.replace(" ", "") and "…" not in head
    assert max(len(line) for line in lines) <= width
    title = next(t.get_text() for t in ladder_figure(timeline, call, findings).axes[0].texts
                 if t.get_gid() == "title")
    assert call in title and "first message 2026-11-04 14:02:07" in title and "…" not in title


def test_a_tall_ladder_names_its_hosts_again(monkeypatch):
    from siptrace.views import ladder as view

    monkeypatch.setattr(view, "HEADER_EVERY", 10)        # the forked call's 27 arrows make a tall ladder
    timeline, findings = _diagnosed("forked-call.fe.log")
    text = ladder_text(timeline, FORKED, findings, width=220)
    assert text.count("edge01.contoso.com") == 1 + 2      # before rows 10 and 20
    fig = ladder_figure(timeline, FORKED, findings)
    again = [t for t in fig.axes[0].texts if (t.get_gid() or "").startswith("host-again-")]
    assert len(again) == 2 * len(fig.ladder.columns)
    assert {t.get_text() for t in again} == {t.get_text() for t in fig.axes[0].texts
                                             if re.fullmatch(r"host-\d+", t.get_gid() or "")}


def test_svg_keeps_its_text_as_text():
    timeline, findings = _diagnosed("um-ack-retarget-bye.fe.log")
    out = io.BytesIO()
    save(ladder_figure(timeline, UM_CALL, findings), out, "svg")
    svg = out.getvalue().decode()
    assert "ACK → mail.contoso.com ≠ um01 · CSeq 1" in svg and "um01.contoso.com" in svg
    assert "<text" in svg


def test_one_line_per_message_where_the_width_allows():
    timeline, findings = _diagnosed("forked-call.fe.log")
    wide = ladder_text(timeline, FORKED, findings, width=220).splitlines()
    arrows = [line for line in wide if re.match(r"\s*\+\d", line)]
    assert len(arrows) == 27 and all(re.search(r"[A-Z]{3,}|\d{3} ", line.split("|", 1)[1]) for line in arrows)
    narrow = ladder_text(timeline, FORKED, findings, width=70).splitlines()
    assert len(narrow) > len(wide)              # two lines a message where the label does not fit
