"""Fuzz harness for the redactor.

With atheris installed, coverage-guided:

    python tests/fuzz/fuzz_redact.py -max_total_time=1200

Without it, on random mutations of the planted trace and the samples:

    python tests/fuzz/fuzz_redact.py --plain 5000

The invariants, for any text: no exception; redacting takes time linear in the text (a
bound per character); no value the redactor learned survives in its output as a whole
token; and redacting the output again changes nothing the redactor learned.
"""

from __future__ import annotations

import random
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

SECONDS_PER_MB = 20.0   # generous: the pass is about 1 s per MB on one core


def _load() -> None:
    global Redactor, Origin, parse_message_text, KEPT_WORDS
    from siptrace import Origin, parse_message_text
    from siptrace.read.redact import _PSEUDONYM_WORDS as KEPT_WORDS
    from siptrace.read.redact import Redactor


def corpus() -> list[str]:
    from planted import planted_trace

    seeds = [planted_trace()]
    for path in sorted((ROOT / "samples").glob("*.log"))[:12]:
        seeds.append(path.read_text(encoding="utf-8", errors="replace")[:6000])
    return seeds


PIECES = ["jdoe", "JDOE-PC", "jdoe-laptop.contoso.com", "+14255550100", "(425) 555-0142", "425.555.0188",
          "010.001.002.003", "10-1-2-3", "fd00::1", "CONTOSO\\jdoe", "UserName=jdoe", "sip%3Ajdoe%40contoso.com",
          ";gr=abc123", "app:conf:focus:id:7XK9P2QJ", '"John Doe" <sip:jdoe@contoso.com>', "tag=", "epid=", "@",
          ";", "a.", "+", "%40", "\\", "<sip:", "=", "\r\n", "Kim Wilson <sip:kw@contoso.com>", "a" * 300]


def mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(text) + 1)
        op = rng.randrange(4)
        if op == 0:
            text = text[:i] + rng.choice(PIECES) * rng.choice((1, 1, 2, 50)) + text[i:]
        elif op == 1:
            text = text[:i] + text[i + rng.randint(1, 64):]
        elif op == 2:
            j = rng.randrange(len(text) + 1)
            text = text[:i] + text[j:j + rng.randint(1, 200)] + text[i:]
        else:
            text = text[:i] + chr(rng.randrange(1, 0x3000)) + text[i:]
    return text


def _token(value: str) -> re.Pattern[str]:
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(value) + r"(?![A-Za-z0-9])", re.I)


def one_input(text: str, domains: bool = True) -> None:
    r = Redactor(redact_domains=domains)
    item = parse_message_text(text, Origin("fuzz", 1), strict=False)
    start = time.perf_counter()
    (out,) = r.redact_items([item])
    plain = r.text(text)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0 + SECONDS_PER_MB * len(text) / 1e6, elapsed
    shown = r.sweep(plain)
    assert r.sweep(shown) == shown
    for cat, table in r.mapping().items():
        for original, pseudo in table.items():
            if original.lower() == pseudo.lower() or len(original) < 4 or cat == "file":
                continue
            if original.lower() in KEPT_WORDS:
                continue     # words of the pseudonyms themselves ("user"), replaced only where they stand
            if not any(c.isalnum() for c in original[:1] + original[-1:]):
                continue     # a token boundary cannot be told at a non-alphanumeric end
            assert not _token(original).search(shown), (cat, original)


def run_plain(iterations: int, seed: int = 1) -> int:
    _load()
    rng = random.Random(seed)
    seeds = corpus()
    for _ in range(iterations):
        one_input(mutate(rng.choice(seeds), rng), domains=rng.random() < 0.5)
    return iterations


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--plain":
        print(f"{run_plain(int(sys.argv[2]))} inputs, no leak, no crash")
        return
    import atheris  # type: ignore[import-not-found]

    with atheris.instrument_imports(include=["siptrace"]):
        _load()

    def test(data: bytes) -> None:
        one_input(data.decode("utf-8", errors="replace"))

    atheris.Setup(sys.argv, test)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
