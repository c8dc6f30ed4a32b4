"""Reads a rule's docstring sections, so the text a user sees has one source."""

from __future__ import annotations

import functools
import inspect

SECTIONS = ("What it sees", "Why it matters", "Fix", "Not flagged", "References")


@functools.lru_cache(maxsize=None)
def _sections(rule: type) -> tuple[tuple[str, str], ...]:
    # read once per rule: findings quote these texts by the thousand
    return tuple(_read(rule).items())


def sections(rule: type) -> dict[str, str]:
    """Docstring sections of a rule, each as one paragraph of plain text."""
    return dict(_sections(rule))


def _read(rule: type) -> dict[str, str]:
    doc = inspect.getdoc(rule) or ""
    out: dict[str, str] = {}
    current = None
    lines: list[str] = []
    for line in doc.splitlines():
        head = line.strip().rstrip(":")
        if line.strip().endswith(":") and head in SECTIONS:
            if current:
                out[current] = " ".join(" ".join(lines).split())
            current, lines = head, []
        elif current:
            lines.append(line.strip())
    if current:
        out[current] = " ".join(" ".join(lines).split())
    return out


def section(rule: type, name: str) -> str:
    return next((text for head, text in _sections(rule) if head == name), "")
