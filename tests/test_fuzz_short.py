"""A short budget of the fuzz harness on every CI run (the long run is by hand)."""

from __future__ import annotations

import importlib.util

from conftest import ROOT


def test_fuzz_harness_short_budget_finds_no_crash():
    spec = importlib.util.spec_from_file_location("fuzz_reader", ROOT / "tests" / "fuzz" / "fuzz_reader.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.run_plain(400, seed=11) == 400


def test_report_renderers_fuzz_short_budget_keeps_every_format_inert():
    spec = importlib.util.spec_from_file_location("fuzz_report", ROOT / "tests" / "fuzz" / "fuzz_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.run_plain(8, seed=3) == 8
