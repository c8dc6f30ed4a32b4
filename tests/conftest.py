"""Shared fixtures: paths to bundled samples and to the real samples in ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared" / "formats" / "samples"


def sample(name: str) -> Path:
    path = SAMPLES / name
    assert path.is_file(), f"missing bundled sample {name}"
    return path


def shared_sample(name: str) -> Path:
    """A real sample written by others; the test is skipped when ../shared is absent."""
    path = SHARED / name
    if not path.is_file():
        pytest.skip(f"real sample {name} not available (../shared/formats/samples absent)")
    return path


@pytest.fixture
def write(tmp_path: Path):
    """Write bytes or text to a file in tmp_path and return its path."""

    def _write(name: str, data: bytes | str) -> Path:
        path = tmp_path / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        return path

    return _write
