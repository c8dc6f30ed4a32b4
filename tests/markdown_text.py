"""What a Markdown renderer could read as markup: the text outside fenced blocks and code spans."""

from __future__ import annotations

import re


def outside_code(markdown: str) -> str:
    """The Markdown with its fenced blocks and code spans blanked (a backslash-escaped backtick opens none)."""
    unfenced = re.sub(r"^(`{3,})[^\n`]*\n.*?^\1$", " ", markdown, flags=re.S | re.M)
    return re.sub(r"(?<![\\`])(`+)(?!`)(?:(?!\1).)+?(?<!`)\1(?!`)", " ", unfenced)
