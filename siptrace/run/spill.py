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

from ..rules.findings import Finding, Severity, group_keys

# (sort key, offset, size) of one finding in its data file, (offset, size) of
# its rendered text in the text file (-1, 0 when there is none), then its
# severity's rank and its Call-ID (the sort key places its group, not it)
_Entry = tuple[tuple[Any, ...], int, int, int, int, int, str | None]
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
        self.tally = Tally()

    def __len__(self) -> int:
        return sum(self._severities.values())

    def add(self, findings: Iterable[Finding]) -> None:
        """Findings of whole calls: a symptom is placed under its cause (`group_keys`),
        which must come in the same call to `add`."""
        findings = list(findings)
        self.tally.add(findings)
        for finding, key in zip(findings, group_keys(findings)):
            data = pickle.dumps(finding, protocol=pickle.HIGHEST_PROTOCOL)
            text_at, text_size = -1, 0
            if self._text is not None and self.render is not None:
                text = self.render(finding).encode("utf-8")
                text_at, text_size = self._text.tell(), len(text)
                self._text.write(text)
            self._entries.append((key, self._data.tell(), len(data), text_at, text_size,
                                  finding.severity.rank, finding.call_id))
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
            path = self._save(entry[:7] for entry in merged)
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
        return SpilledFindings(self._runs, self._severities, rendered_by=self.render, tally=self.tally)


class SpilledFindings(Sequence[Finding]):
    """Findings on disk, read back in `sort_findings` order one at a time.

    Holds only file names and counts, so it is cheap to send between processes.
    """

    def __init__(self, runs: list[tuple[str, str]], counts: Counter[Severity],
                 rendered_by: Callable[[Finding], str] | None = None, tally: Tally | None = None) -> None:
        self.runs = runs              # (sorted run of keys, data file it points into)
        self.counts = counts
        self.tally = tally if tally is not None else Tally()
        self.rendered_by = rendered_by    # each finding's text was kept too, made by this (see `texts`)

    @classmethod
    def merge(cls, parts: Sequence[SpilledFindings]) -> SpilledFindings:
        counts: Counter[Severity] = Counter()
        tally = Tally()
        for part in parts:
            counts.update(part.counts)
            tally.merge(part.tally)
        renderers = {part.rendered_by for part in parts}
        return cls([run for part in parts for run in part.runs], counts,
                   rendered_by=renderers.pop() if len(renderers) == 1 else None, tally=tally)

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
        for _, _, data in self._read(text=False):
            yield pickle.loads(data)

    def texts(self, render: Callable[[Finding], str]) -> Iterator[tuple[Severity, str | None, str]] | None:
        """(severity, Call-ID, ``render(finding)``) of each finding in order, read as it was
        kept, without rebuilding the finding; None when the texts were made otherwise."""
        if render is not self.rendered_by:
            return None
        return ((_SEVERITY_OF_RANK[rank], call_id, data.decode("utf-8"))
                for rank, call_id, data in self._read(text=True))

    def _read(self, text: bool) -> Iterator[tuple[int, str | None, bytes]]:
        """(severity rank, Call-ID, stored bytes) of each finding in order: its pickle, or its text."""
        files: dict[str, Any] = {}
        try:
            streams = [self._keys(run, data_path) for run, data_path in self.runs]
            for _, offset, size, text_at, text_size, rank, call_id, data_path in heapq.merge(
                    *streams, key=lambda e: e[0]):
                path = _text_path(data_path) if text else data_path
                f = files.get(path)
                if f is None:
                    f = files[path] = open(path, "rb")
                f.seek(text_at if text else offset)
                yield rank, call_id, f.read(text_size if text else size)
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


_SEVERITY_OF_RANK = {s.rank: s for s in Severity}


class Tally:
    """What the verdict line needs of all findings, counted as they are made (memory stays flat).

    Per kind of root cause (rule and code, see `kind_of`): the calls it hit
    (counted once per call of one `add`, and the rules run call by call) and
    how many findings are its symptoms; and the calls with a root cause at
    warning or above.
    """

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.symptoms: Counter[tuple[str, str]] = Counter()
        self.failed_calls = 0

    def add(self, findings: Sequence[Finding]) -> None:
        by_id = {f.id: f for f in findings if f.cause is None}
        hit: set[tuple[tuple[str, str], str | None]] = set()
        failed: set[str] = set()
        for f in findings:
            if f.cause is None:
                hit.add((kind_of(f), f.call_id))
                if f.call_id and f.severity.rank >= Severity.WARNING.rank:
                    failed.add(f.call_id)
            elif f.cause in by_id:
                self.symptoms[kind_of(by_id[f.cause])] += 1
        for kind, _ in hit:
            self.calls[kind] += 1
        self.failed_calls += len(failed)

    def merge(self, other: Tally) -> None:
        self.calls.update(other.calls)
        self.symptoms.update(other.symptoms)
        self.failed_calls += other.failed_calls


def kind_of(f: Finding) -> tuple[str, str]:
    """A finding's rule and what sets it apart from others of its rule (code, status, host)."""
    for name in ("code", "symbol", "status", "contact_host"):
        value = f.fact(name)
        if value is not None:
            return f.rule, f"{name}={value}"
    return f.rule, ""


def tally(findings: Sequence[Finding]) -> Tally:
    """The `Tally` of findings in memory (a spilled sequence has its own)."""
    if isinstance(findings, SpilledFindings):
        return findings.tally
    out = Tally()
    by_call: dict[str | None, list[Finding]] = {}
    for f in findings:
        by_call.setdefault(f.call_id, []).append(f)
    for group in by_call.values():
        out.add(group)
    return out


def severities(findings: Sequence[Finding]) -> Counter[Severity]:
    """Counts by severity of any sequence of findings (a spilled one is not read)."""
    if isinstance(findings, SpilledFindings):
        return findings.severities()
    return Counter(f.severity for f in findings)


__all__ = ["FindingWriter", "SpilledFindings", "Tally", "kind_of", "severities", "spill_directory", "tally"]
