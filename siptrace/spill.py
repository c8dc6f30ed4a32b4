"""Findings kept on disk while a big trace is diagnosed, so memory stays flat.

A day of traces on a busy pool gives tens of thousands of findings, each a
kilobyte or two of text; held in memory they would make memory grow with the
trace.  `FindingWriter` appends each finding to a temporary file as it is
made, and its sort key to sorted runs (an external sort); `SpilledFindings`
is the finished sequence, the runs merged as it is read, one finding at a
time.  Workers of a parallel run each write their own files and send back
only their names.
"""

from __future__ import annotations

import heapq
import os
import pickle
import shutil
import tempfile
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, overload

from .findings import Finding, Severity, finding_order

# (sort key, offset, size) of one finding in its data file
_Entry = tuple[tuple[Any, ...], int, int]
RUN = 4096     # sort keys kept in memory before they are written out as a sorted run
MAX_RUNS = 64  # runs of one writer before they are merged into one


def spill_directory() -> str:
    """A new private temporary folder for one run's findings."""
    return tempfile.mkdtemp(prefix="siptrace-findings-")


class FindingWriter:
    """Appends findings to a data file, and their keys, sorted in runs, to run files.

    An external sort: at most `RUN` keys are in memory at once, so memory does
    not grow with the number of findings; `finish` gives them back sorted.
    """

    def __init__(self, directory: str, name: str = "findings") -> None:
        self.directory = directory
        self.name = name
        self.data_path = os.path.join(directory, f"{name}.bin")
        self._data = open(self.data_path, "wb")
        self._entries: list[_Entry] = []
        self._runs: list[tuple[str, str]] = []
        self._saved = 0
        self._severities: Counter[Severity] = Counter()

    def __len__(self) -> int:
        return sum(self._severities.values())

    def add(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            data = pickle.dumps(finding, protocol=pickle.HIGHEST_PROTOCOL)
            self._entries.append((finding_order(finding), self._data.tell(), len(data)))
            self._data.write(data)
            self._severities[finding.severity] += 1
            if len(self._entries) >= RUN:
                self._write_run()

    def _write_run(self) -> None:
        self._runs.append((self._save(sorted(self._entries, key=lambda e: e[0])), self.data_path))
        self._entries = []
        if len(self._runs) >= MAX_RUNS:
            # merged into one, so a run never holds more files open than this at once
            merged = heapq.merge(*(SpilledFindings._keys(run, data) for run, data in self._runs),
                                 key=lambda e: e[0])
            path = self._save(entry[:3] for entry in merged)
            for run, _ in self._runs:
                os.remove(run)
            self._runs = [(path, self.data_path)]

    def _save(self, entries: Iterable[tuple[Any, ...]]) -> str:
        self._saved += 1
        path = os.path.join(self.directory, f"{self.name}.run{self._saved}")
        with open(path, "wb") as out:
            for entry in entries:
                pickle.dump(entry, out, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    def finish(self) -> SpilledFindings:
        if self._entries:
            self._write_run()
        self._data.close()
        return SpilledFindings(self._runs, self._severities)


class SpilledFindings(Sequence[Finding]):
    """Findings on disk, read back in `sort_findings` order one at a time.

    Holds only file names and counts, so it is cheap to send between processes.
    """

    def __init__(self, runs: list[tuple[str, str]], counts: Counter[Severity]) -> None:
        self.runs = runs              # (sorted run of keys, data file it points into)
        self.counts = counts

    @classmethod
    def merge(cls, parts: Sequence[SpilledFindings]) -> SpilledFindings:
        counts: Counter[Severity] = Counter()
        for part in parts:
            counts.update(part.counts)
        return cls([run for part in parts for run in part.runs], counts)

    def remove_when_done(self, directory: str) -> None:
        """Delete ``directory`` once this object is no longer used (or at exit)."""
        weakref.finalize(self, shutil.rmtree, directory, True)

    def __len__(self) -> int:
        return sum(self.counts.values())

    @overload
    def __getitem__(self, i: int) -> Finding: ...

    @overload
    def __getitem__(self, i: slice) -> list[Finding]: ...

    def __getitem__(self, i: int | slice) -> Finding | list[Finding]:
        if isinstance(i, slice):
            return list(self)[i]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(i)
        return next(islice(iter(self), i % n, None))

    def __iter__(self) -> Iterator[Finding]:
        data: dict[str, Any] = {}
        try:
            streams = [self._keys(run, data_path) for run, data_path in self.runs]
            for _, offset, size, data_path in heapq.merge(*streams, key=lambda e: e[0]):
                f = data.get(data_path)
                if f is None:
                    f = data[data_path] = open(data_path, "rb")
                f.seek(offset)
                yield pickle.loads(f.read(size))
        finally:
            for f in data.values():
                f.close()

    @staticmethod
    def _keys(run: str, data_path: str) -> Iterator[tuple[Any, ...]]:
        with open(run, "rb") as f:
            while True:
                try:
                    key, offset, size = pickle.load(f)
                except EOFError:
                    return
                yield key, offset, size, data_path

    def severities(self) -> Counter[Severity]:
        """How many findings of each severity, without reading them."""
        return Counter(self.counts)


def severities(findings: Sequence[Finding]) -> Counter[Severity]:
    """Counts by severity of any sequence of findings (a spilled one is not read)."""
    if isinstance(findings, SpilledFindings):
        return findings.severities()
    return Counter(f.severity for f in findings)


__all__ = ["FindingWriter", "SpilledFindings", "severities", "spill_directory"]
