"""Fuzz harness for the record reader and the SIP parser.

With atheris installed (``pip install atheris``), coverage-guided, with the
samples as the seed corpus:

    mkdir -p /tmp/corpus && cp samples/*.log /tmp/corpus/
    python tests/fuzz/fuzz_reader.py /tmp/corpus -max_total_time=1200

Without it, the same target runs on random mutations of a seed corpus:

    python tests/fuzz/fuzz_reader.py --plain 20000

The invariant: no exception escapes but `InputError` (an input siptrace
refuses as a whole), and the counts add up.
"""

from __future__ import annotations

import io
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))


def _load() -> None:
    """Import the code under test (inside atheris' instrumentation when fuzzing)."""
    global InputError, Source, Origin, InputStats, read_any, parse_message_text
    from siptrace.model.errors import InputError
    from siptrace.read.inputs import Source
    from siptrace.model.sip import Origin
    from siptrace.read.reader import InputStats, read_any
    from siptrace.read.recordparse import parse_message_text


def corpus() -> list[bytes]:
    seeds = []
    for path in sorted((ROOT / "samples").glob("*")):
        if path.is_file() and path.suffix != ".md":
            data = path.read_bytes()
            seeds.append(data[:6000])
    seeds.append(b"INVITE sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n"
                  b"From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
                  b"Content-Length: 0\r\n\r\n")
    return seeds


def one_input(data: bytes) -> None:
    """Read ``data`` as a trace of every format, and as one SIP message."""
    for fmt in (None, "ocslogger", "sip", "uccapi", "pcap"):
        stats = InputStats("fuzz")
        source = Source("fuzz", io.BufferedReader(io.BytesIO(data)), len(data))  # type: ignore[arg-type]
        try:
            for _ in read_any(source, stats, fmt):
                pass
        except InputError:
            continue
        assert stats.balanced, stats
    parse_message_text(data.decode("utf-8", errors="replace"), Origin("fuzz", 1))


def mutate(data: bytes, rng: random.Random) -> bytes:
    for _ in range(rng.randint(1, 8)):
        if not data:
            return bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        i = rng.randrange(len(data))
        op = rng.randrange(5)
        if op == 0:
            data = data[:i] + bytes([rng.randrange(256)]) + data[i + 1:]
        elif op == 1:
            data = data[:i] + data[i + rng.randint(1, 64):]
        elif op == 2:
            j = rng.randrange(len(data))
            data = data[:i] + data[j:j + rng.randint(1, 200)] + data[i:]
        elif op == 3:
            data = data[:i] + rng.choice([b"\r\n", b"\n", b"$$end_record\n", b"TL_INFO(TF_DIAG) ",
                                          b"Start-Line: ", b"Message-Body: ", b"\x00", b'"', b"<", b";"]) + data[i:]
        else:
            data = data[:i]
    return data


def run_plain(iterations: int, seed: int = 1) -> int:
    _load()
    rng = random.Random(seed)
    seeds = corpus()
    for _ in range(iterations):
        one_input(mutate(rng.choice(seeds), rng))
    return iterations


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--plain":
        print(f"{run_plain(int(sys.argv[2]))} inputs, no crash")
        return
    import atheris  # type: ignore[import-not-found]

    with atheris.instrument_imports(include=["siptrace", "lark"]):
        _load()
    atheris.Setup(sys.argv, lambda data: one_input(bytes(data)))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
