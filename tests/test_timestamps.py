"""Trace timestamps: the ISO shortcut and the field-by-field reading agree, errors included."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from siptrace.read.recordparse import _parse_timestamp, parse_timestamp


def test_a_server_timestamp_is_utc_with_its_counter():
    when, counter = parse_timestamp("11/03/2026-13:32:10.412.0004D26E")
    assert when == datetime(2026, 11, 3, 13, 32, 10, 412000, tzinfo=timezone.utc)
    assert counter == 0x4D26E
    assert parse_timestamp("01/02/2026-00:00:00.5") == (datetime(2026, 1, 2, 0, 0, 0, 500000, tzinfo=timezone.utc), None)


@pytest.mark.parametrize("seed", range(3))
def test_both_readings_agree_on_every_stamp_of_the_grammars_shape(seed):
    rng = random.Random(seed)
    for _ in range(20000):
        stamp = (f"{rng.randint(0, 13):02d}/{rng.randint(0, 32):02d}/{rng.randint(1, 9999):04d}-"
                 f"{rng.randint(0, 25):02d}:{rng.randint(0, 61):02d}:{rng.randint(0, 61):02d}."
                 + "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 6)))
                 + rng.choice(["", ".0004d26E", ".1"]))
        results = []
        for read in (parse_timestamp, _parse_timestamp):
            try:
                results.append(read(stamp))
            except ValueError as err:       # an impossible date: the same error either way
                results.append(str(err))
        assert results[0] == results[1], stamp
