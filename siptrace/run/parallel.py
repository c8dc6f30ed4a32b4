"""``diagnose`` on several cores: one process per core, each judging its share of the calls.

Why processes: parsing is pure Python, so threads would take turns on one
core.  Why shares by Call-ID rather than byte ranges: a call's messages are
spread over the whole trace (and over several files), and the rules need a
call whole; with shares by Call-ID (`siptrace.read.partition`) each worker
runs the ordinary streaming diagnosis on its calls and nothing has to be
sent between workers but the results.  The reader knows nothing of workers:
a worker's `WorkerShare` is the reader's `Part`, the records it keeps.
Finding the records (framing) is shared too: each worker frames one byte
range of a plain file and writes an index the others read
(`siptrace.read.ranges`); a compressed or re-encoded input is framed whole
by every worker.

The parent only opens the inputs to check them, starts the workers, draws
the progress line from counters they share, and merges their results: the
findings, the counts (which add up as in one process), the clock offsets
(from the clock differences of all workers together) and the ladders.  An
error or an interrupt in any process stops them all at once; a worker that
vanishes (killed for memory, say) makes the parent do the job again alone.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import shutil
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..model.context import Context
from ..correlate.calls import OffsetEstimator
from ..read.detect import detect
from .diagnose import Diagnosis, Summary
from ..read.inputs import Source, open_sources, read_once
from ..read.partition import Share
from ..read.progress import Progress
from ..read.framing import Piece
from ..read.ranges import cut_points, index_path, read_pieces, write_index
from ..read.reader import KEEP_SKIPPED, InputStats
from .spill import SpilledFindings, spill_directory
from .job import Job, job_of
from .stream import run_streamed

# Below this much input, starting workers costs more than it saves.
MIN_PARALLEL_BYTES = 8 * 1024 * 1024
_COUNTERS = 4          # bytes, records, SIP messages, findings


def default_jobs() -> int:
    """The cores this process may run on, at most 4 (memory grows with each worker)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:   # pragma: no cover - not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def _server_traces(paths: Sequence[str], input_format: str | None) -> tuple[bool, int, list[str]]:
    """Whether every input is a server trace that workers can read, their total size,
    and which of them are plain files the workers can frame in parts (`siptrace.read.ranges`).

    Standard input and pipes can be read only once, by one process, so they are not opened here.
    A file named twice is read twice, so it is framed whole by every worker.
    """
    total = 0
    plain = not any(read_once(path) for path in paths)
    files = []
    for path in paths:
        if not plain:
            break
        for source in open_sources(path):
            try:
                total += source.size or 0
                fmt = input_format or detect(source.head(), source.name)
                plain = plain and fmt == "ocslogger"
                if source.file is not None and paths.count(path) == 1:
                    files.append(path)
            finally:
                source.close()
    return plain, total, files


@dataclass(frozen=True)
class WorkerShare:
    """Worker ``index`` of ``count``: the records it reads, as the reader's `Part`.

    ``ranges`` names the plain files that the workers frame in parts (each
    with its cut points, `siptrace.read.ranges`), and ``folder`` where the
    indexes of those parts are written.  Worker 0 keeps what has no Call-ID.
    """

    index: int
    count: int
    ranges: tuple[tuple[str, tuple[int, ...]], ...] = ()
    folder: str | None = None
    part: Share = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "part", Share(self.index, self.count))

    def keeps_record(self, data: bytes, start: int, end: int) -> bool:
        return self.part.owns_record(data, start, end)

    def keeps_call(self, call_id: str | None) -> bool:
        return self.part.owns_call(call_id)

    @property
    def keeps_rest(self) -> bool:
        return self.index == 0

    def framed(self, source: Source, stats: InputStats) -> Iterator[Piece] | None:
        """This worker's pieces of ``source`` from the indexes of all the workers, when it is
        one of the files framed in parts."""
        if source.file is None or self.folder is None:
            return None
        for input_no, (path, points) in enumerate(self.ranges):
            if path == source.name:
                return read_pieces(source.file, points, self.folder, input_no, self.part, stats, source.damage)
        return None


class _SharedMeter(Progress):
    """A worker's counters in memory the parent reads (no pipe, no lock: one writer each)."""

    def __init__(self, counters: Any, index: int) -> None:
        super().__init__(None, enabled=False)
        self.counters = counters
        self.base = index * _COUNTERS

    def update(self, done: int, records: int, sip: int, findings: int | None = None) -> None:
        # every time: the parent draws, not the worker
        base, counters = self.base, self.counters
        counters[base], counters[base + 1], counters[base + 2] = done, records, sip
        if findings is not None:
            counters[base + 3] = findings

    def close(self) -> None:
        pass


_counters: Any = None   # set in each worker by `_worker`

# What a worker hands back: its share's diagnosis, its clock differences, and its watcher
Outcome = tuple[Diagnosis, OffsetEstimator, Any]


def _work(job: Job, share: WorkerShare, spill_to: str) -> Outcome:
    estimator = OffsetEstimator()
    meter = _SharedMeter(_counters, share.index) if _counters is not None else None
    for input_no, (path, points) in enumerate(share.ranges):
        if share.index < len(points) - 1 and share.folder is not None:
            write_index(path, points, share.index, share.count, index_path(share.folder, input_no, share.index))
    result = run_streamed(job, part=share, meter=meter, estimator=estimator, spill_to=spill_to,
                          findings_name=f"findings-{share.index}")
    return result, estimator, job.watcher   # the findings travel as their index; they stay in spill_to


def run_parallel(job: Job, jobs: int | None = None, min_bytes: int = MIN_PARALLEL_BYTES) -> Diagnosis:
    """Same result as `run_streamed`, with ``jobs`` worker processes.

    Runs in this process instead when there is one job, when any input is not
    a server trace (a client log or a capture is read whole by one reader),
    when a redactor must see the whole trace to give consistent pseudonyms,
    or, with ``jobs`` left to the default, when the inputs are smaller than
    ``min_bytes``.  The job's watcher gathers in each worker; the parent's
    takes in what theirs gathered.
    """
    if jobs is None:
        jobs = default_jobs()
    else:
        jobs, min_bytes = max(1, jobs), 0
    plain, total, files = _server_traces(job.paths, job.input_format)
    if jobs < 2 or not plain or total < min_bytes or job.redactor is not None:
        return run_streamed(job)
    try:
        return _run(job, jobs, total, files)
    except _WorkerLost:
        # a worker was killed (out of memory, a signal): one process can still do the job
        print("siptrace: a worker process ended without a result; diagnosing again in one process",
              file=sys.stderr)
        return run_streamed(job)


def diagnose_parallel(paths: str | Sequence[str], ctx: Context | None = None, jobs: int | None = None,
                      min_bytes: int = MIN_PARALLEL_BYTES, **options: Any) -> Diagnosis:
    """`run_parallel` of the job these options make (`siptrace.run.job.job_of`)."""
    job = job_of(paths, ctx, **options)
    result = run_parallel(job, jobs, min_bytes)
    result.ladders = getattr(job.watcher, "ladders", {})
    return result


def _context() -> multiprocessing.context.BaseContext:
    # fork shares the built grammars with the workers; elsewhere each builds its own
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _run(job: Job, jobs: int, total: int, files: list[str]) -> Diagnosis:
    from ..read.recordparse import warm_up

    warm_up()   # build the parsers once, before the workers fork
    mp = _context()
    counters = mp.Array("q", jobs * _COUNTERS, lock=False)
    bar = Progress(total) if job.progress else None
    spill_to = spill_directory()
    try:
        ranges = _ranges(files, jobs)
        shares = [WorkerShare(i, jobs, ranges, spill_to) for i in range(jobs)]
        parts = _start(job, shares, mp, counters, bar, spill_to)
    except BaseException:
        shutil.rmtree(spill_to, ignore_errors=True)
        raise
    merged = _merge(job, parts)
    merged.findings.remove_when_done(spill_to)   # type: ignore[attr-defined]
    return merged


def _ranges(files: list[str], jobs: int) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The plain files that can be cut, with their cut points (`siptrace.read.ranges`)."""
    out = []
    for path in files:
        points = cut_points(path, jobs)
        if points is not None:
            out.append((path, points))
    return tuple(out)


class _WorkerLost(Exception):
    """A worker ended without a result (killed: out of memory, a signal)."""


def _worker(index: int, results: Any, counters: Any, args: tuple[Any, ...]) -> None:
    """A worker process: its share's diagnosis, or the error that stopped it, to the parent."""
    global _counters
    _counters = counters
    try:
        results.put((index, True, _work(*args)))
    except BaseException as err:      # an interrupt too: the parent decides what to do
        results.put((index, False, err))


def _start(job: Job, shares: list[WorkerShare], mp: Any, counters: Any, bar: Progress | None,
           spill_to: str) -> list[Outcome]:
    """Run the workers; on any error or interrupt, stop them all at once."""
    results = mp.Queue()
    jobs = len(shares)
    procs = [mp.Process(target=_worker, daemon=True, args=(share.index, results, counters, (job, share, spill_to)))
             for share in shares]
    for proc in procs:
        proc.start()
    done: dict[int, Outcome] = {}
    try:
        while len(done) < jobs:
            try:
                index, ok, payload = results.get(timeout=0.25)
            except queue.Empty:
                if bar is not None:
                    rows = [counters[i * _COUNTERS:(i + 1) * _COUNTERS] for i in range(jobs)]
                    bar.update(min(r[0] for r in rows), sum(r[1] for r in rows), sum(r[2] for r in rows),
                               sum(r[3] for r in rows))
                if any(i not in done and not p.is_alive() for i, p in enumerate(procs)) and results.empty():
                    raise _WorkerLost() from None
                continue
            if not ok:
                raise payload
            done[index] = payload
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join()
        if bar is not None:
            bar.close()
    return [done[i] for i in range(jobs)]


def _merge(job: Job, results: list[Outcome]) -> Diagnosis:
    first = results[0][0].summary
    assert first is not None
    inputs = [InputStats(s.path, s.format) for s in first.inputs]
    summary = Summary(inputs=inputs)
    estimator = OffsetEstimator()
    parts: list[SpilledFindings] = []
    for worker, (result, part, watcher) in enumerate(results):
        done = result.summary
        assert done is not None
        for total, stats in zip(inputs, done.inputs):
            total.add(stats)
            total.examples.extend(stats.examples)
            if worker == 0:        # every worker reads all of an input
                total.bytes, total.lines = stats.bytes, stats.lines
        for name in ("messages", "sightings", "dialogs", "calls", "sessions"):
            setattr(summary, name, getattr(summary, name) + getattr(done, name))
        assert isinstance(result.findings, SpilledFindings)
        parts.append(result.findings)
        if job.watcher is not None and watcher is not None:
            job.watcher.merge(watcher)
        for name, count in part.counts.items():
            estimator.counts[name] += count
        for pair, deltas in part.pairs.items():
            kept = estimator.pairs[pair]
            kept.extend(deltas[: max(0, estimator.keep - len(kept))])
    for stats in inputs:
        stats.examples.sort(key=lambda s: s.origin.line)
        del stats.examples[KEEP_SKIPPED:]
    clocks = estimator.clocks([s.path for s in inputs])
    summary.offsets, summary.references = clocks.offsets, clocks.references
    return Diagnosis(None, job.context, SpilledFindings.merge(parts), summary)


__all__ = ["WorkerShare", "diagnose_parallel", "run_parallel", "default_jobs", "MIN_PARALLEL_BYTES"]
