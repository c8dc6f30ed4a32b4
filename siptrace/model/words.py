"""Counts in words: "1 dialog", "2 dialogs", so no output says "finding(s)"."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` and the word, in the plural unless n is 1 (``many`` when the plural is not word + "s")."""
    return f"{n} {word if n == 1 else many or word + 's'}"
