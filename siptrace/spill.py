"""Findings kept on disk while a big trace is diagnosed, so memory stays flat.

A day of traces on a busy pool gives tens of thousands of findings, each a
kilobyte or two of text; held in memory they would make memory grow with the
trace.  `FindingWriter` appends each finding to a temporary file as it is
made, and its sort key to sorted runs (an external sort); `SpilledFindings`
is the finished sequence, the runs merged as it is read, one finding at a
time.  Workers of a parallel run each write their own files and send back
only their names.  A writer given a ``render`` function also keeps each
finding's output text (its JSON or its lines for the terminal), so the
workers do that work side by side and the parent only copies text.
"""

from __future__ import annotations

import heapq
import os
import pickle
import shutil
import tempfile
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, overload

from .findings import Finding, Severity, finding_order

# (sort key, offset, size) of one finding in its data file, then (offset, size)
# of its rendered text in the text file (-1, 0 when there is none)
_Entry = tuple[tuple[Any, ...], int, int, int, int]
RUN = 4096     # sort keys kept in memory before they are written out as a sorted run
MAX_RUNS = 64  # runs of one writer before they are merged into one


def _text_path(data_path: str) -> str:
    return data_path + ".txt"


def spill_directory() -> str:
    """A new private temporary folder for one run's findings."""
    return tempfile.mkdtemp(prefix="siptrace-findings-")


class FindingWriter:
    """Appends findings to a data file, and their keys, sorted in runs, to run files.

    An external sort: at most `RUN` keys are in memory at once, so memory does
    not grow with the number of findings; `finish` gives them back sorted.
    """

    def __init__(self, directory: str, name: str = "findings",
                 render: Callable[[Finding], str] | None = None) -> None:
        """``render``, when given, is a module-level function (it goes to the parent by name)."""
        self.directory = directory
        self.name = name
        self.data_path = os.path.join(directory, f"{name}.bin")
        self._data = open(self.data_path, "wb")
        self.render = render
        self._text = open(_text_path(self.data_path), "wb") if render is not None else None
        self._entries: list[_Entry] = []
        self._runs: list[tuple[str, str]] = []
        self._saved = 0
        self._severities: Counter[Severity] = Counter()

    def __len__(self) -> int:
        return sum(self._severities.values())

    def add(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            data = pickle.dumps(finding, protocol=pickle.HIGHEST_PROTOCOL)
            text_at, text_size = -1, 0
            if self._text is not None and self.render is not None:
                text = self.render(finding).encode("utf-8")
                text_at, text_size = self._text.tell(), len(text)
                self._text.write(text)
            self._entries.append((finding_order(finding), self._data.tell(), len(data), text_at, text_size))
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
            path = self._save(entry[:5] for entry in merged)
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
        if self._text is not None:
            self._text.close()
        return SpilledFindings(self._runs, self._severities, rendered_by=self.render)


class SpilledFindings(Sequence[Finding]):
    """Findings on disk, read back in `sort_findings` order one at a time.

    Holds only file names and counts, so it is cheap to send between processes.
    """

    def __init__(self, runs: list[tuple[str, str]], counts: Counter[Severity],
                 rendered_by: Callable[[Finding], str] | None = None) -> None:
        self.runs = runs              # (sorted run of keys, data file it points into)
        self.counts = counts
        self.rendered_by = rendered_by    # each finding's text was kept too, made by this (see `texts`)

    @classmethod
    def merge(cls, parts: Sequence[SpilledFindings]) -> SpilledFindings:
        counts: Counter[Severity] = Counter()
        for part in parts:
            counts.update(part.counts)
        renderers = {part.rendered_by for part in parts}
        return cls([run for part in parts for run in part.runs], counts,
                   rendered_by=renderers.pop() if len(renderers) == 1 else None)

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
        for _, data in self._read(text=False):
            yield pickle.loads(data)

    def texts(self, render: Callable[[Finding], str]) -> Iterator[tuple[Severity, str | None, str]] | None:
        """(severity, Call-ID, ``render(finding)``) of each finding in order, read as it was
        kept, without rebuilding the finding; None when the texts were made otherwise."""
        if render is not self.rendered_by:
            return None
        return ((_SEVERITY_OF_RANK[-key[0]], key[-1] or None, data.decode("utf-8"))
                for key, data in self._read(text=True))

    def _read(self, text: bool) -> Iterator[tuple[tuple[Any, ...], bytes]]:
        """(sort key, stored bytes) of each finding in order: its pickle, or its text."""
        files: dict[str, Any] = {}
        try:
            streams = [self._keys(run, data_path) for run, data_path in self.runs]
            for key, offset, size, text_at, text_size, data_path in heapq.merge(*streams, key=lambda e: e[0]):
                path = _text_path(data_path) if text else data_path
                f = files.get(path)
                if f is None:
                    f = files[path] = open(path, "rb")
                f.seek(text_at if text else offset)
                yield key, f.read(text_size if text else size)
        finally:
            for f in files.values():
                f.close()

    @staticmethod
    def _keys(run: str, data_path: str) -> Iterator[tuple[Any, ...]]:
        with open(run, "rb") as f:
            while True:
                try:
                    entry = pickle.load(f)
                except EOFError:
                    return
                yield (*entry, data_path)

    def severities(self) -> Counter[Severity]:
        """How many findings of each severity, without reading them."""
        return Counter(self.counts)


_SEVERITY_OF_RANK = {s.rank: s for s in Severity}   # the sort key holds minus the rank


def severities(findings: Sequence[Finding]) -> Counter[Severity]:
    """Counts by severity of any sequence of findings (a spilled one is not read)."""
    if isinstance(findings, SpilledFindings):
        return findings.severities()
    return Counter(f.severity for f in findings)


__all__ = ["FindingWriter", "SpilledFindings", "severities", "spill_directory"]
