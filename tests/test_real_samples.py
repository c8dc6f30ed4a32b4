"""Every real server-trace sample written by others reads with the right counts."""

from __future__ import annotations

from siptrace import DiagRecord, Reader, SipMessage, Skipped

from conftest import shared_sample


def _read(name):
    reader = Reader([str(shared_sample(name))])
    items = list(reader)
    (stats,) = reader.stats
    assert stats.balanced
    return items, stats


def test_ocs2007r2_edge_sipstack_log():
    items, s = _read("ms-supportarticles_test-csfederatedpart-fail_ocs2007r2-edge-sipstack.log")
    assert (s.records, s.sip, s.diagnostic, s.other, s.skipped, s.errors) == (2, 1, 1, 0, 0, 0)
    msg, diag = items
    assert isinstance(msg, SipMessage) and msg.method == "OPTIONS"
    assert msg.headers.get("max-forwards") == "70" and msg.headers.get("user-agent") == "RTCC/4.0.0.0"
    assert msg.from_ is None  # as published: this record has no From header
    assert msg.direction.source == "internal edge" and msg.peer.port == 61182
    assert msg.top_via.branch == "z9hG4bK6de49c9a"
    assert msg.routes[0].uri.host == "accessedge.fabrikam.com" and msg.routes[0].param("ms-edge-route") == ""
    assert isinstance(diag, DiagRecord) and diag.record.flag == "TF_COMPONENT"
    assert diag.result_code.hex == "0xC3E93C5E" and diag.cseq.method == "OPTIONS"
    assert diag.call_id == "c00bc6180f284b948be61febf274d05e" and diag.origin.line == 19


def test_sfb2015_edge_tfdiag_records_and_the_sip_pasted_around_them():
    items, s = _read("cisco-212383_sfb2015-edge-tfdiag_expressway_504-ms-diagnostics.log")
    assert (s.records, s.sip, s.diagnostic, s.other, s.skipped, s.errors) == (6, 3, 2, 0, 1, 0)
    junk, expressway, first, second, *tail = items
    # the Expressway log line before its SIPMSG: block is the only text that is not read
    assert isinstance(junk, Skipped) and junk.origin.line == 1 and "text outside any SIP message" in junk.reason
    assert expressway.status == 504 and expressway.call_id == "f1b3ad5d-183b-4632-b210-c2f9bec71960"
    assert first.record.sequence == 156659184 and first.record.machine == "sfvedge\\sfvedge"
    assert first.result_code.symbol == "SIPPROXY_E_EPROUTING_MSG_ALLOWED_DOMAIN_NO_SRV_MATCH"
    assert first.text == "The domain of the message resolved by DNS SRV but none of the FQDNs is in the same domain"
    assert dict(first.data) == {"domain": "acano.steven.lab", "fqdn1": "vcse.steven.lab :5061"}
    assert str(first.peer) == "vcse.steven.lab:25002"
    assert second.severity == "error" and second.result_code.value == 0xC3E93D67
    assert dict(second.data)["certName"] == "vcse.steven.lab"
    # the two 504s the page took from the client log, pasted after the records: read, not skipped
    assert [(m.status, m.origin.line) for m in tail] == [(504, 32), (504, 41)]
    assert [m.diagnostics[0].code for m in tail] == [1009, 1010]


def test_avaya_records_without_end_markers_are_skipped_not_lost():
    items, s = _read("avaya-cc-sgm-sipmessages_quoted-in-drgyl-sip-traceCC-comments.txt")
    assert (s.records, s.skipped) == (2, 2) and s.sip == 0
    assert all("no $$end_record" in i.reason for i in items)
