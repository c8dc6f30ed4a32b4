"""Header values: URIs, name-addr, Via, lists, compact forms."""

from __future__ import annotations

import pytest

from siptrace import Headers, Origin, SipMessage, parse_message_text
from siptrace.model.values import parse_name_addrs, parse_uri, parse_vias, split_list


def test_uri_with_user_port_and_params():
    uri = parse_uri("sip:+14255550150@um01.contoso.com:5061;user=phone;transport=Tls")
    assert (uri.scheme, uri.user, uri.host, uri.port) == ("sip", "+14255550150", "um01.contoso.com", 5061)
    assert uri.param("USER") == "phone" and uri.transport == "tls"


def test_uri_without_user_and_flag_param():
    uri = parse_uri("sip:pool01.contoso.com:5061;transport=tls;lr")
    assert uri.user is None and uri.host == "pool01.contoso.com" and uri.param("lr") == ""


def test_tel_uri_puts_the_number_in_user():
    uri = parse_uri("tel:+14255550100;phone-context=contoso.com")
    assert uri.scheme == "tel" and uri.user == "+14255550100" and uri.host is None


def test_ipv6_uri_keeps_brackets_and_port():
    uri = parse_uri("sips:[2001:db8::10]:5061;transport=tls?Subject=x")
    assert uri.host == "[2001:db8::10]" and uri.port == 5061 and uri.headers == "Subject=x"


def test_not_a_uri_gives_none():
    assert parse_uri("<<nonsense") is None


def test_name_addr_with_quoted_display_glued_to_angle_and_epid():
    (addr,) = parse_name_addrs('"Steven Janssens"<sip:stejanss@skype.lab>;tag=280f2bf329;epid=c21eec507a')
    assert addr.display == "Steven Janssens" and addr.uri.user == "stejanss"
    assert addr.tag == "280f2bf329" and addr.epid == "c21eec507a"


def test_display_name_with_escaped_quote_and_comma():
    (addr,) = parse_name_addrs(r'"Example, \"Al\"" <sip:al@contoso.com>;tag=1')
    assert addr.display == 'Example, "Al"' and addr.tag == "1"


def test_addr_spec_params_belong_to_the_header():
    (addr,) = parse_name_addrs("sip:bob@contoso.com;tag=abc")
    assert addr.uri_text == "sip:bob@contoso.com" and addr.tag == "abc"


def test_contact_list_split_around_quotes_and_angles():
    addrs = parse_name_addrs('<sip:a@x;opaque=user:epid:Q;gruu>;+sip.instance="<urn:uuid:1,2>", "B, b" <sip:b@y>;expires=30')
    assert [a.uri.user for a in addrs] == ["a", "b"]
    assert addrs[0].param("+sip.instance") == "<urn:uuid:1,2>"
    assert addrs[1].display == "B, b" and addrs[1].param("expires") == "30"


def test_via_list_with_lync_params_and_ipv6():
    vias = parse_vias("SIP/2.0/TLS 10.0.2.21:5061;branch=z9hG4bK1;ms-received-port=5061;ms-received-cid=2A03, "
                      "SIP / 2.0 / udp [2001:db8::1]:5060;branch=z9hG4bK2;ms-internal-info=\"a,b\"")
    assert [(v.transport, v.host, v.port, v.branch) for v in vias] == [
        ("TLS", "10.0.2.21", 5061, "z9hG4bK1"), ("UDP", "[2001:db8::1]", 5060, "z9hG4bK2")]
    assert vias[1].param("ms-internal-info") == "a,b"


def test_comma_list_split_keeps_quoted_commas():
    assert split_list('INVITE, ACK,"a,b" , <sip:x,y>') == ("INVITE", "ACK", '"a,b"', "<sip:x,y>")


def test_headers_match_case_insensitively_and_by_compact_form():
    h = Headers((("i", "abc"), ("CONTENT-LENGTH", "0"), ("v", "SIP/2.0/UDP a;branch=1"),
                 ("Via", "SIP/2.0/UDP b;branch=2, SIP/2.0/UDP c;branch=3"), ("Supported", "x"), ("SUPPORTED", "y")))
    assert h.get("Call-ID") == "abc" and h.get("l") == "0"
    assert len(h.get_all("via")) == 3
    assert h.get_all("supported") == ("x", "y")
    assert "call-id" in h and "from" not in h


def test_authorization_value_is_not_split_on_commas():
    h = Headers((("Authentication-Info", 'TLS-DSK qop="auth", opaque="FA404B9C", version=4'),))
    assert len(h.get_all("authentication-info")) == 1


BARE = (
    "INVITE sip:bob@contoso.com SIP/2.0\r\n"
    "v: SIP/2.0/TLS 10.0.10.54:51000;branch=z9hG4bKabc\r\n"
    "Max-Forwards: 70\r\n"
    "f: \"Bob\" <sip:bob@contoso.com>;tag=11\r\n"
    "t: <sip:carol@contoso.com>\r\n"
    "i: 77aa@10.0.10.54\r\n"
    "CSeq: 3 INVITE\r\n"
    "m: <sip:bob@10.0.10.54:51000;transport=tls>\r\n"
    "k: timer\r\n"
    "c: application/sdp\r\n"
    "l: 13\r\n"
    "\r\n"
    "v=0\r\ns=call\r\n"
)


def test_bare_message_with_compact_headers():
    msg = parse_message_text(BARE, Origin("m.txt", 1))
    assert isinstance(msg, SipMessage)
    assert msg.call_id == "77aa@10.0.10.54" and str(msg.cseq) == "3 INVITE"
    assert msg.from_.display == "Bob" and msg.from_tag == "11" and msg.to_tag is None
    assert msg.contacts[0].uri.port == 51000 and msg.branch == "z9hG4bKabc"
    assert msg.content_length == 13 == len(msg.body.encode())
    assert msg.headers.get("Supported") == "timer"


@pytest.mark.parametrize("start", ["INVITE sip:x@y SIP/2.0 extra", "SIP/2.0 2OO OK", "INVITE  SIP/2.0"])
def test_bad_start_lines_are_skipped_with_a_reason(start):
    item = parse_message_text(start + "\r\nCall-ID: a\r\n\r\n", Origin("m.txt", 1))
    assert not isinstance(item, SipMessage)
    assert item.reason
