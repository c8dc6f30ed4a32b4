"""ms-diagnostics, -public and ms-client-diagnostics with every quirk real messages show."""

from __future__ import annotations

from siptrace.model.values import parse_diagnostic

from conftest import shared_sample


def _header_line(path):
    name, _, value = path.read_text(encoding="utf-8").splitlines()[0].partition(":")
    return name.strip().lower(), value


def test_spaces_around_equals_and_source_last():
    d = parse_diagnostic("ms-diagnostics", ' 1009; reason ="No match for domain in DNS SRV results"; '
                         'domain =" cms.steven.lab "; fqdn1 =" vcse.sub.cms.steven.lab :5061";source="sip.skype.lab"')
    assert d.code == 1009 and d.reason == "No match for domain in DNS SRV results"
    assert d.source == "sip.skype.lab" and d.param("domain").strip() == "cms.steven.lab"


def test_capitalised_names_and_unquoted_source_with_space():
    d = parse_diagnostic("ms-diagnostics", '24081;Component="RTCC/4.0.0.0_ContosoApplication";'
                         'Reason="Endpoint termination";Source= applicationserver.contoso.com')
    assert d.code == 24081 and d.reason == "Endpoint termination"
    assert d.source == "applicationserver.contoso.com"


def test_sub_code_and_hresult():
    d = parse_diagnostic("ms-diagnostics", '1010.2;reason="Certificate trust";HRESULT="0x80090322(SEC_E_WRONG_PRINCIPAL)"')
    assert (d.code, d.sub_code) == (1010, 2) and d.param("hresult") == "0x80090322(SEC_E_WRONG_PRINCIPAL)"


def test_unterminated_quote_still_gives_the_code():
    d = parse_diagnostic("ms-diagnostics", '1008;reason="Unable to resolve DNS SRV record')
    assert d.code == 1008


def test_real_client_diagnostics_22_with_blob_and_trailing_semicolon():
    name, value = _header_line(shared_sample("blog-sfb-to-exchange-online-um_ms-client-diagnostics-22.txt"))
    d = parse_diagnostic(name, value)
    assert name == "ms-client-diagnostics" and d.code == 22
    assert d.param("UserType") == "Callee" and d.param("MediaType") == "audio"
    blob = dict(d.blob("MediaChanBlob"))
    assert blob["NetworkErr"] == "no error" and blob["BlobVer"] == "1"


def test_real_client_diagnostics_23_nested_debug_blob():
    name, value = _header_line(shared_sample("ms-supportarticles_sharing-cannot-connect_ms-client-diagnostics-23.txt"))
    d = parse_diagnostic(name, value)
    assert d.code == 23 and d.reason.startswith("Call failed to establish")
    blob = dict(d.blob("CallerMediaDebug"))
    assert blob["application-sharing:ICEWarn"] == "0x4000320"
    assert blob["RemoteMRTCPPort"] == "51184"


def test_real_header_name_in_mixed_case_with_trailing_junk():
    name, value = _header_line(shared_sample("blog-codesalot_ms-client-diagnostics-23_in-bye.txt"))
    assert name == "ms-client-diagnostics"
    d = parse_diagnostic(name, value)
    assert d.code == 23 and d.reason.startswith("Call failed to establish due to a media connectivity")


def test_real_public_header_and_split_domain_one():
    name, value = _header_line(shared_sample("cisco-cms-sfb_ms-diagnostics-public-21002.txt"))
    d = parse_diagnostic(name, value)
    assert name == "ms-diagnostics-public" and d.code == 21002 and d.param("component") == "ASMCU"
    name, value = _header_line(shared_sample("ms-supportarticles_split-domain_ms-diagnostics-1017.txt"))
    d = parse_diagnostic(name, value)
    assert d.code == 1017 and d.param("summary").startswith("Domain type analysis")


def test_typographic_quotes_from_a_copied_document():
    text = shared_sample("ms-communitydocs-es_snooper-view_ms-diagnostics-1027.txt").read_text(encoding="utf-8")
    start = text.index("ms-diagnostics:")
    value = " ".join(text[start + len("ms-diagnostics:"):].split("Server:")[0].replace("\\", "").split())
    d = parse_diagnostic("ms-diagnostics", value)
    assert d.code == 1027 and d.source == "nxac.pdiaz.com"
    assert d.reason == "Cannot route this type of SIP request to or from federated partners"
