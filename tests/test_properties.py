"""Property tests: build valid records and messages, damage them, and the reader's invariants hold.

records = sip + diagnostic + other + skipped + errors, no exception escapes,
and an undamaged record always reads back to what was built.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings, strategies as st

from siptrace import InputError, Origin, Reader, SipMessage, Skipped, parse_message_text

TOKEN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~", min_size=1, max_size=12)
VALUE = st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\r\n"), max_size=40)
METHOD = st.sampled_from(["INVITE", "ACK", "BYE", "OPTIONS", "REGISTER", "SUBSCRIBE", "NOTIFY", "INFO", "SERVICE"])


@st.composite
def sip_message(draw):
    method = draw(METHOD)
    call_id = draw(TOKEN) + "@" + draw(TOKEN)
    cseq = draw(st.integers(0, 2**31 - 1))
    headers = [("Via", f"SIP/2.0/TLS 192.0.2.{draw(st.integers(1, 254))}:5061;branch=z9hG4bK{draw(TOKEN)}"),
               ("Max-Forwards", str(draw(st.integers(0, 70)))),
               ("From", f"<sip:{draw(TOKEN)}@example.com>;tag={draw(TOKEN)}"),
               ("To", f"<sip:{draw(TOKEN)}@example.com>"), ("Call-ID", call_id), ("CSeq", f"{cseq} {method}")]
    extra = draw(st.lists(st.tuples(TOKEN, VALUE), max_size=6))
    headers += [("X-" + n, v.strip()) for n, v in extra]
    body = draw(st.sampled_from(["", "v=0\r\no=- 0 0 IN IP4 192.0.2.1\r\ns=-\r\n"]))
    headers.append(("Content-Length", str(len(body.encode()))))
    start = f"{method} sip:{draw(TOKEN)}@example.com SIP/2.0"
    return start, headers, body, call_id, cseq, method


def as_record(start, headers, body, n=0):
    lines = [f"TL_INFO(TF_PROTOCOL) [fe01\\fe01]0A1C.0F2C::11/03/2026-09:14:0{n % 10}.117.0001A3F2 "
             "(SIPStack,SIPAdminLog::TraceProtocolRecord:SIPAdminLog.cpp(125))$$begin_record",
             "Direction: incoming", "Peer: 192.0.2.9:5061", "Message-Type: request", f"Start-Line: {start}"]
    lines += [f"{k}: {v}" for k, v in headers]
    lines.append(f"Message-Body: {body}" if body else "Message-Body: -")
    lines.append("$$end_record")
    return "\r\n".join(lines) + "\r\n"


@given(sip_message())
def test_built_message_reads_back_as_built(parts):
    start, headers, body, call_id, cseq, method = parts
    text = start + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n" + body
    msg = parse_message_text(text, Origin("p", 1))
    assert isinstance(msg, SipMessage), msg
    assert (msg.method, msg.call_id, msg.cseq.number, msg.body) == (method, call_id, cseq, body)
    for k, v in headers:
        assert v in msg.headers.lines(k)


def _damage(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    for _ in range(rng.randint(1, 6)):
        op = rng.randrange(7)
        if op == 0 and len(data) > 1:                      # cut anywhere
            data = data[: rng.randrange(len(data))]
        elif op == 1 and lines:                            # duplicate a line
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            data = b"\n".join(lines)
        elif op == 2 and lines:                            # drop a line
            del lines[rng.randrange(len(lines))]
            data = b"\n".join(lines)
        elif op == 3 and data:                             # flip a byte
            i = rng.randrange(len(data))
            data = data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]
        elif op == 4:                                      # insert binary
            i = rng.randrange(len(data) + 1)
            data = data[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 30))) + data[i:]
        elif op == 5:                                      # mix encodings
            data = data.replace(b"example", "exämple".encode("latin-1"), 1)
        else:
            data = data.replace(b"\r\n", b"\n", rng.randint(0, 20))
        lines = data.split(b"\n")
    return data


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(sip_message(), min_size=1, max_size=5), st.integers(0, 2**32 - 1))
def test_damaged_records_never_raise_and_counts_add_up(tmp_path, messages, seed):
    data = "".join(as_record(s, h, b, i) for i, (s, h, b, *_rest) in enumerate(messages)).encode()
    damaged = _damage(data, random.Random(seed))
    path = tmp_path / "d.log"
    path.write_bytes(damaged or b"x")
    reader = Reader([str(path)])
    try:
        items = list(reader)
    except InputError:
        return   # damaged beyond recognition: one clear error is the right answer
    s = reader.stats[0]
    assert s.balanced and len(items) == s.records
    assert all(isinstance(i, Skipped) or i.origin.line >= 1 for i in items)


@given(st.lists(sip_message(), min_size=1, max_size=4))
def test_undamaged_records_all_read(tmp_path_factory, messages):
    path = tmp_path_factory.mktemp("p") / "ok.log"
    path.write_text("".join(as_record(s, h, b, i) for i, (s, h, b, *_r) in enumerate(messages)))
    reader = Reader([str(path)])
    items = list(reader)
    assert [m.call_id for m in items] == [m[3] for m in messages]
    assert reader.stats[0].sip == len(messages)
