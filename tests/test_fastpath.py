"""The fast path and the full Lark parser agree on every record, good or damaged."""

from __future__ import annotations

import random

import pytest
from lark.exceptions import LarkError

from siptrace.read.framing import RawRecord, frame
from siptrace.read.sipgrammar import record_parser
from siptrace.read.recordparse import _fast

from conftest import SAMPLES, SHARED
from records_text import ALL


def _records(data: bytes) -> list[str]:
    return [p.data.decode("utf-8", "replace") for p in frame(data.splitlines(keepends=True))
            if isinstance(p, RawRecord)]


def _agree(text: str) -> None:
    fast = _fast().parse(text)
    try:
        slow = record_parser().parse(text)
    except LarkError:
        assert fast is None, f"fast path accepted what the grammar rejects:\n{text[:300]}"
        return
    if fast is not None:
        assert fast == slow


def _corpus() -> list[str]:
    texts = _records(ALL.encode()) + _records(ALL.replace("\r\n", "\n").encode())
    for folder in (SAMPLES, SHARED):
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file():
                    texts += _records(path.read_bytes())
    return texts


def test_fast_path_and_grammar_agree_on_every_sample_record():
    corpus = _corpus()
    assert len(corpus) >= 4
    taken = 0
    for text in corpus:
        _agree(text)
        taken += _fast().parse(text) is not None
    assert taken >= len(corpus) // 2, "the fast path should take the common records"


@pytest.mark.parametrize("seed", range(20))
def test_fast_path_and_grammar_agree_on_damaged_records(seed):
    rng = random.Random(seed)
    for text in _corpus()[:60]:
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(chars))
            op = rng.random()
            if op < 0.3:
                chars[pos] = rng.choice([":", " ", "\n", "\t", "$", "[", "(", "x", "\r", "é"])
            elif op < 0.6:
                del chars[pos: pos + rng.randint(1, 10)]
            else:
                chars.insert(pos, rng.choice(["\n", " ", "Start-Line: ", "Message-Body: ", "\n$$end_record\n"]))
        _agree("".join(chars))


@pytest.mark.parametrize("space", [" ", "\t", "\x0b", "\x0c", "\x1c", "\x85", "\u00a0", "\u2003", "\u3000"])
def test_fast_path_strips_every_kind_of_white_space_around_values_as_the_grammar_does(space):
    text = next(t for t in _corpus() if "\nCSeq:" in t and "\nMessage-Body:" in t)
    for odd in (f"CSeq:{space}", f"CSeq: {space}1 INVITE{space}{space}", f"CSeq :{space}\t1{space}INVITE"):
        damaged = text.replace("\nCSeq: 1 INVITE\n", f"\n{odd}\n", 1) if "\nCSeq: 1 INVITE\n" in text \
            else text.replace("\nCSeq:", f"\n{odd}\nX-Was-CSeq:", 1)
        assert _fast().parse(damaged) is not None, repr(odd)
        _agree(damaged)
