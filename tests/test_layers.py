"""The package's folders are the pipeline's stages, and imports run one way: down.

Every module's imports are read with `ast`, those inside functions too (an import
hidden in a function still ties the modules together).  A module may import its own
stage or a lower one, never a higher one, and no modules may import each other in a
loop.  The package face (`siptrace/__init__.py`, `__main__.py`) sits above them all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "siptrace"

STAGES = ["model", "read", "correlate", "rules", "run", "views", "cli"]
FACE = len(STAGES)      # siptrace/__init__.py and __main__.py


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> int:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] == "__main__":
        return FACE
    return STAGES.index(parts[1])


def imports(path: Path, package: Path = PACKAGE) -> set[str]:
    """The package's modules that `path` imports, anywhere in it."""
    module = module_name(path, package)
    here = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "siptrace")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(here[: len(here) - node.level + 1] + ([node.module] if node.module else []))
            if base.split(".")[0] != "siptrace":
                continue
            for alias in node.names:
                # `from siptrace import __version__` takes the face's own constant, nothing above
                if base == "siptrace" and alias.name == "__version__":
                    continue
                sub = f"{base}.{alias.name}"
                found.add(sub if _exists(sub, package) else base)
    return found


def _exists(module: str, package: Path) -> bool:
    path = package.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    return {m: {i for i in imports(p, package) if i in modules and i != m} for m, p in modules.items()}


def upward(edges: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} -> {i}" for m, targets in edges.items() for i in targets if stage_of(i) > stage_of(m))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(m: str) -> None:
        index[m] = low[m] = len(index)
        stack.append(m)
        for n in edges.get(m, ()):
            if n not in index:
                visit(n)
                low[m] = min(low[m], low[n])
            elif n in stack:
                low[m] = min(low[m], index[n])
        if low[m] == index[m]:
            group = []
            while True:
                n = stack.pop()
                group.append(n)
                if n == m:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for m in sorted(edges):
        if m not in index:
            visit(m)
    return found


def test_every_module_lives_in_a_stage_folder():
    loose = [m for m in graph() if stage_of(m) == FACE and m not in ("siptrace", "siptrace.__main__")]
    assert loose == []


def test_no_import_runs_up_to_a_later_stage():
    assert upward(graph()) == []


def test_no_modules_import_each_other_in_a_loop():
    assert cycles(graph()) == []


@pytest.fixture
def house(tmp_path):
    """A small package laid out by stage, to show the checks catch what they should."""
    root = tmp_path / "siptrace"
    for folder in ("model", "read", "views"):
        (root / folder).mkdir(parents=True)
        (root / folder / "__init__.py").write_text("")
    (root / "__init__.py").write_text("from .views.text import show\n")
    (root / "model" / "sip.py").write_text("X = 1\n")
    (root / "read" / "reader.py").write_text("from ..model.sip import X\n")
    (root / "views" / "text.py").write_text("from siptrace.read import reader\n\ndef show(): pass\n")
    return root


def test_the_checks_pass_a_package_whose_imports_run_down(house):
    assert upward(graph(house)) == [] and cycles(graph(house)) == []


def test_an_import_inside_a_function_running_up_is_caught(house):
    (house / "model" / "sip.py").write_text("def f():\n    from ..read.reader import X\n    return X\n")
    assert upward(graph(house)) == ["siptrace.model.sip -> siptrace.read.reader"]
    assert cycles(graph(house)) == [["siptrace.model.sip", "siptrace.read.reader"]]


def test_a_loop_inside_one_stage_is_caught(house):
    (house / "read" / "other.py").write_text("from . import reader\n")
    (house / "read" / "reader.py").write_text("from .other import reader\n")
    assert upward(graph(house)) == []
    assert cycles(graph(house)) == [["siptrace.read.other", "siptrace.read.reader"]]
