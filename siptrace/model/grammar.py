"""Loads the Lark grammars in ``grammars/``; each caller keeps its own parser.

The grammars are data shipped with the package: inside an installed wheel they
sit in ``siptrace/grammars``; in a source checkout they are the top-level
``grammars/`` folder.  `lark-cython` is used when it imports, since it parses
the same grammar several times faster; otherwise pure-Python Lark.
"""

from __future__ import annotations

import os
import sys
import zlib
from pathlib import Path
from typing import Any

import lark
from lark import Lark

from .errors import SiptraceError

_HERE = Path(__file__).resolve().parent.parent
_CANDIDATES = (_HERE / "grammars", _HERE.parent / "grammars")

try:  # optional accelerator, same grammar and results
    import lark_cython  # type: ignore[import-not-found]

    _PLUGINS: dict[str, Any] | None = lark_cython.plugins
except Exception:  # pragma: no cover - depends on the environment
    _PLUGINS = None


def grammar_dir() -> Path:
    """Folder holding the .lark files, installed or in a checkout."""
    for folder in _CANDIDATES:
        if (folder / "sip.lark").is_file():
            return folder
    raise SiptraceError(
        "the grammar files (sip.lark, ocslogger.lark) are missing",
        hint="Reinstall siptrace (pip install .) so that its grammars/ folder is included",
    )


def cache_file(name: str, start: str | list[str] = "") -> str | None:
    """Where the analysed grammar ``name`` is kept between runs, or None if nowhere.

    Building the LALR tables takes longer than a small trace's whole diagnosis.
    Lark keeps them in a file stamped with the grammar's hash (a changed
    grammar is analysed again); the file goes in the user's own cache folder,
    not in the shared temporary folder, since it is loaded with pickle.
    """
    if os.environ.get("SIPTRACE_NO_CACHE"):
        return None
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(home, "siptrace")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK):
        return None
    tag = f"py{sys.version_info[0]}{sys.version_info[1]}-lark{lark.__version__}{'-cython' if _PLUGINS else ''}"
    starts = zlib.crc32(repr(start).encode())
    return os.path.join(folder, f"{Path(name).stem}-{starts:08x}-{tag}.lark-cache")


def load_grammar(name: str, start: str | list[str], transformer: Any = None) -> Lark:
    """The LALR parser of grammar file ``name``; the caller brings its own transformer."""
    options: dict[str, Any] = dict(
        start=start,
        parser="lalr",
        lexer="contextual",
        propagate_positions=False,
        maybe_placeholders=False,
    )
    if transformer is not None:
        options["transformer"] = transformer
    cached = cache_file(name, start)
    if cached is not None:
        options["cache"] = cached
    if _PLUGINS is not None:
        try:
            return Lark.open(str(grammar_dir() / name), _plugins=_PLUGINS, **options)
        except Exception:  # pragma: no cover - fall back to the pure-Python parser
            pass
    return Lark.open(str(grammar_dir() / name), **options)


def terminal_pattern(parser: Lark, name: str) -> str:
    """The regular expression Lark built for one terminal of a grammar."""
    for term in parser.terminals:
        if term.name == name:
            return term.pattern.to_regexp()
    raise KeyError(name)
