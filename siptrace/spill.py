"""Findings kept on disk while a big trace is diagnosed, so memory stays flat.

A day of traces on a busy pool gives tens of thousands of findings, each a
kilobyte or two of text; held in memory they would make memory grow with the
trace.  `FindingWriter` appends each finding to a temporary file as it is
made and keeps only its sort key and place in memory; `SpilledFindings` is
the finished, sorted sequence, read back one finding at a time.  Workers of
a parallel run each write their own file and send back only the index.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

from .findings import Finding, Severity, finding_order

# (sort key, file number, offset, size)
_Entry = tuple[tuple[Any, ...], int, int, int]
_BY_RANK = {s.rank: s for s in Severity}


def spill_directory() -> str:
    """A new private temporary folder for one run's findings."""
    return tempfile.mkdtemp(prefix="siptrace-findings-")


class FindingWriter:
    """Appends findings to one file; `finish` gives them back sorted."""

    def __init__(self, directory: str, name: str = "findings.bin") -> None:
        self.path = os.path.join(directory, name)
        self._file = open(self.path, "wb")
        self._index: list[_Entry] = []

    def __len__(self) -> int:
        return len(self._index)

    def add(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            data = pickle.dumps(finding, protocol=pickle.HIGHEST_PROTOCOL)
            self._index.append((finding_order(finding), 0, self._file.tell(), len(data)))
            self._file.write(data)

    def finish(self) -> SpilledFindings:
        self._file.close()
        return SpilledFindings([self.path], self._index)


class SpilledFindings(Sequence[Finding]):
    """Findings on disk in `sort_findings` order; only their keys are in memory."""

    def __init__(self, paths: list[str], index: list[_Entry]) -> None:
        self.paths = paths
        self.index = sorted(index, key=lambda e: e[0])

    @classmethod
    def merge(cls, parts: Sequence[SpilledFindings]) -> SpilledFindings:
        paths: list[str] = []
        index: list[_Entry] = []
        for part in parts:
            base = len(paths)
            paths.extend(part.paths)
            index.extend((key, base + n, offset, size) for key, n, offset, size in part.index)
        return cls(paths, index)

    def remove_when_done(self, directory: str) -> None:
        """Delete ``directory`` once this object is no longer used (or at exit)."""
        weakref.finalize(self, shutil.rmtree, directory, True)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (SpilledFindings, (self.paths, self.index))   # the index, never the findings

    def __len__(self) -> int:
        return len(self.index)

    @overload
    def __getitem__(self, i: int) -> Finding: ...

    @overload
    def __getitem__(self, i: slice) -> list[Finding]: ...

    def __getitem__(self, i: int | slice) -> Finding | list[Finding]:
        if isinstance(i, slice):
            return list(self._read(self.index[i]))
        return next(self._read([self.index[i]]))

    def __iter__(self) -> Iterator[Finding]:
        return self._read(self.index)

    def _read(self, entries: Iterable[_Entry]) -> Iterator[Finding]:
        files: dict[int, Any] = {}
        try:
            for _, n, offset, size in entries:
                f = files.get(n)
                if f is None:
                    f = files[n] = open(self.paths[n], "rb")
                f.seek(offset)
                yield pickle.loads(f.read(size))
        finally:
            for f in files.values():
                f.close()

    def severities(self) -> Counter[Severity]:
        """How many findings of each severity, without reading them."""
        return Counter(_BY_RANK[-entry[0][0]] for entry in self.index)


def severities(findings: Sequence[Finding]) -> Counter[Severity]:
    """Counts by severity of any sequence of findings (a spilled one is not read)."""
    if isinstance(findings, SpilledFindings):
        return findings.severities()
    return Counter(f.severity for f in findings)


__all__ = ["FindingWriter", "SpilledFindings", "severities", "spill_directory"]
