"""Every rule keeps the contract: id = module name, docstring sections, tests that fire and stay quiet."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from siptrace.rules import RULES, SECTIONS, sections

HERE = Path(__file__).parent


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_contract(rule):
    module = inspect.getmodule(rule).__name__.rsplit(".", 1)[-1]
    assert rule.id == module.replace("_", "-")
    assert rule.title and rule.severity
    found = sections(rule)
    assert list(found) == list(SECTIONS), f"{rule.id} docstring sections"
    assert all(found.values())
    tests = "".join(p.read_text() for p in HERE.glob("test_*.py"))
    assert rule.__name__ in tests, f"{rule.id} has no test"


def test_rule_ids_are_unique():
    assert len({r.id for r in RULES}) == len(RULES)
