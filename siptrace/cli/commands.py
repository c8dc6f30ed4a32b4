"""The ``siptrace`` command line (click): thin verbs over the library.

Exit codes: 0 healthy, 1 findings at or above ``--fail-on``, 2 could not
read the input (``diagnose`` and ``report``: no SIP message in any input) or
bad usage.  Errors are one line on stderr, no traceback
unless ``--traceback``.
"""

from __future__ import annotations

import csv
import difflib
import json
import os
import sys
import textwrap
from enum import IntEnum
from collections.abc import Sequence
from typing import Any

import click

from .. import __version__
from ..model.context import Context
from .callids import resolve_all
from .friendly import friendly, quiet_stdout
from .options import FILES, INPUT_FORMAT, QUIET, deployment
from ..model.errors import SiptraceError
from ..rules.findings import Severity
from ..views.export import MESSAGE_FIELDS, message_dict, message_row
from ..read.filters import MessageFilter, parse_time
from ..model.sip import SipMessage
from ..views.printable import PrintableStream
from ..read.reader import InputStats, Reader


class Exit(IntEnum):
    OK = 0
    FINDINGS = 1
    FAILURE = 2


def _time_option(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time (e.g. 2026-11-03T09:14:02)") from None


class Stopped(BaseException):
    """SIGTERM or SIGHUP arrived: unwinds like Ctrl-C, so workers stop and temporary files go."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_MAIN_PID: int | None = None


def _stop(signum: int, _frame: Any) -> None:
    import os
    import signal

    if os.getpid() != _MAIN_PID:        # a worker process (forked): the parent decides; end quietly
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    raise Stopped(signum)


def _catch_signals() -> None:
    import os
    import signal

    global _MAIN_PID
    _MAIN_PID = os.getpid()
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _stop)


class _Group(click.Group):
    """Usage errors as one line (what is wrong, where to look), exit 2.

    A signal ends the run with the shell's code for it (128 + the signal's
    number: Ctrl-C 130, SIGTERM 143, SIGHUP 129); an error nobody expected
    is still one line and exit 2 (``--traceback`` shows it whole).
    """

    def main(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs["standalone_mode"] = False
        if args or "args" in kwargs:
            given = list(args[0] if args else kwargs.pop("args") or [])
        else:
            given = sys.argv[1:]
        args = (_traceback_first(given),) + args[1:]
        _catch_signals()
        sys.stdout = PrintableStream(sys.stdout)    # trace text cannot drive the terminal
        sys.stderr = PrintableStream(sys.stderr)
        try:
            try:
                result = self._main(*args, **kwargs)
            finally:
                sys.stdout.flush()      # here, where a reader gone away (| head) is caught
        except BrokenPipeError:
            quiet_stdout()
            sys.exit(Exit.OK)
        except Stopped as stop:
            import signal

            click.echo(f"siptrace: stopped by {signal.Signals(stop.signum).name}", err=True)
            sys.exit(128 + stop.signum)
        except (Exception, RecursionError, MemoryError) as err:
            if "--traceback" in sys.argv[1:]:
                raise
            what = "out of memory" if isinstance(err, MemoryError) else f"{type(err).__name__}: {err}"
            click.echo(f"siptrace: internal error ({what}); run again with --traceback to see where, "
                       "and report it with the trace if you can", err=True)
            sys.exit(Exit.FAILURE)
        sys.exit(result if isinstance(result, int) else 0)

    def _main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = super().main(*args, **kwargs)
        except click.UsageError as err:
            where = "siptrace --help"
            if err.ctx and err.ctx.parent:
                where = f"siptrace {err.ctx.command_path.split(' ', 1)[-1]} --help"
            click.echo(f"siptrace: {err.format_message()} (see '{where}')", err=True)
            sys.exit(Exit.FAILURE)
        except click.ClickException as err:
            err.show()
            sys.exit(err.exit_code)
        except click.exceptions.Abort:
            click.echo("siptrace: aborted", err=True)
            sys.exit(130)       # Ctrl-C, as a shell reports SIGINT
        except click.exceptions.Exit as err:
            sys.exit(err.exit_code)
        return result


def _traceback_first(args: list[str]) -> list[str]:
    """``--traceback`` is an option of siptrace itself; given after the command it means the same."""
    end = args.index("--") if "--" in args else len(args)
    if "--traceback" not in args[:end]:
        return args
    return ["--traceback"] + [a for a in args[:end] if a != "--traceback"] + args[end:]


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="siptrace")
@click.option("--traceback", is_flag=True, help="Show the Python traceback of an error.")
@click.option("--sip-port", "sip_ports", type=click.IntRange(1, 65535), multiple=True,
              help="In captures, TLS on this TCP port is SIP (repeatable); 5060-5080 always are, "
                   "443 when the server speaks SIP in the capture.")
def main(traceback: bool, sip_ports: tuple[int, ...]) -> None:
    """Read Lync / Skype for Business SIP traces and say what went wrong.

    \b
    Examples (the traces in samples/ come with siptrace):
        siptrace diagnose samples/um-ack-retarget-bye.fe.log
        siptrace diagnose fe01.log edge01.log --um-fqdn um01.contoso.com --format json
        siptrace messages samples/um-ack-retarget-bye.fe.log --call-id 5a33 | head
        siptrace ladder samples/um-ack-retarget-bye.fe.log --call-id 5a33 -o flow.svg
        siptrace compare samples/um-edge-fails-internal-works.fe.log -o compare.png
        siptrace report samples/um-ack-retarget-bye.fe.log -o report.html --redact
        siptrace rules ack-retarget-bye

    A Call-ID may be given by a unique start of it (--call-id 5a33).
    Exit codes: 0 no finding at --fail-on, 1 findings, 2 the input could not
    be read or the command was wrong, 130 Ctrl-C.
    """
    if sip_ports:   # through the environment, so worker processes see it too
        os.environ["SIPTRACE_SIP_PORTS"] = ",".join(str(port) for port in sip_ports)




@main.command()
@FILES
@INPUT_FORMAT
@QUIET
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--call-id", help="Only messages of this Call-ID (a unique start of it will do).")
@click.option("--method", help="Only this method (responses by their CSeq method).")
@click.option("--status", help="Only responses with this status, e.g. 486 or 4xx.")
@click.option("--host", help="Only messages naming this host (Request-URI, From/To/Contact, Via, Route, Peer).")
@click.option("--since", help="Only messages at or after this UTC time (ISO 8601).")
@click.option("--until", help="Only messages at or before this UTC time (ISO 8601).")
@friendly
def messages(files: tuple[str, ...], input_format: str | None, quiet: bool, fmt: str, call_id: str | None, method: str | None,
             status: str | None, host: str | None, since: str | None, until: str | None) -> None:
    """List the SIP messages of trace FILES.

    \b
    Example:
        siptrace messages samples/um-ack-retarget-bye.fe.log --method INVITE
    """
    if call_id is not None:
        (call_id,) = resolve_all([call_id], files, input_format)
    wanted = MessageFilter(call_id=call_id, method=method, status=status, host=host,
                           since=_time_option(since), until=_time_option(until))
    reader = Reader(files, input_format, progress=not quiet)
    selected = (m for m in reader if isinstance(m, SipMessage) and wanted(m))
    out = sys.stdout
    if fmt == "json":
        out.write("[")
        for n, msg in enumerate(selected):
            out.write(("," if n else "") + "\n  " + json.dumps(message_dict(msg), ensure_ascii=False))
        out.write("\n]\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=MESSAGE_FIELDS)
        writer.writeheader()
        for msg in selected:
            writer.writerow(message_row(msg))
    else:
        _table(selected, out, files)
    _skip_note(reader)


def _table(msgs: Any, out: Any, files: Sequence[str] = ()) -> None:
    """One row per message; the file:line column is never cut (it is how a row is found again)."""
    wide = _where_width(files)
    header = f"{'time (UTC)':<23} {'where':<{wide}} {'dir':<3} {'peer':<26} {'message':<46} {'cseq':<14} call-id"
    out.write(header + "\n")
    for msg in msgs:
        when = msg.time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if msg.time else "-"
        where = f"{msg.origin.file.rsplit('/', 1)[-1]}:{msg.origin.line}"
        arrow = {"incoming": "<-", "outgoing": "->"}.get(
            msg.direction.direction.value if msg.direction and msg.direction.direction else "", "")
        label = msg.start_line if msg.is_request else msg.summary
        out.write(f"{when:<23} {where:<{wide}} {arrow:<3} {_clip(str(msg.peer or ''), 26):<26} "
                  f"{_clip(label, 46):<46} {_clip(str(msg.cseq or ''), 14):<14} {msg.call_id or ''}\n")


def _where_width(files: Sequence[str]) -> int:
    """Room for the longest input name and a six-digit line number (a longer one pushes its row)."""
    names = [os.path.basename(f.rstrip("/")) for f in files if f != "-" and not os.path.isdir(f)]
    return max([20, *(len(n) + 7 for n in names)])


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _skip_note(reader: Reader) -> None:
    total = reader.totals()
    if total.skipped or total.errors:
        click.echo(f"note: {total.skipped} skipped, {total.errors} errors in {total.records} records; "
                   f"'siptrace stats' lists them", err=True)


@main.command()
@FILES
@INPUT_FORMAT
@QUIET
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--show-skipped", default=5, show_default=True, help="How many skipped records to show per input.")
@friendly
def stats(files: tuple[str, ...], input_format: str | None, quiet: bool, fmt: str, show_skipped: int) -> None:
    """Count what trace FILES hold: records, SIP messages, diagnostics, skipped, errors.

    \b
    Example:
        siptrace stats samples/*.log --format json
    """
    reader = Reader(files, input_format, progress=not quiet)
    for _ in reader:
        pass
    total = reader.totals()
    if fmt == "json":
        doc = total.as_dict()
        doc.pop("path")
        doc["inputs"] = [s.as_dict() for s in reader.stats]
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    for s in reader.stats:
        _stats_text(s, show_skipped)
    if len(reader.stats) > 1:
        _stats_text(total, 0)


def _stats_text(s: InputStats, show: int) -> None:
    click.echo(f"{s.path} ({s.format})")
    click.echo(f"  records {s.records} = sip {s.sip} + diagnostic {s.diagnostic} + other {s.other}"
               f" + skipped {s.skipped} + errors {s.errors}")
    span = f"{s.first_time.isoformat()} .. {s.last_time.isoformat()}" if s.first_time and s.last_time else "-"
    click.echo(f"  {s.bytes} bytes, {s.lines} lines, time span {span}")
    if s.decode_replaced:
        click.echo(f"  {s.decode_replaced} records had bytes that are not UTF-8 (shown as \ufffd)")
    for reason, n in s.skip_reasons.most_common():
        click.echo(f"  skipped {n}: {reason}")
    for kind, n in s.other_kinds.most_common():
        click.echo(f"  other {n}: {kind}")
    for item in s.examples[:show]:
        click.echo(f"    {item.origin}: {item.reason}")
        if item.context:
            for line in item.context.rstrip().splitlines():
                click.echo(f"      {line}")
    if s.with_problems:
        click.echo(f"  read with problems {s.with_problems} (kept as SIP messages)")
    for msg in s.problem_examples[:show]:
        click.echo(f"    {msg.origin}: {msg.summary}: {'; '.join(msg.problems)}")


FAIL_ON = {"info": Severity.INFO, "warning": Severity.WARNING, "error": Severity.ERROR}


@main.command()
@FILES
@INPUT_FORMAT
@QUIET
@deployment
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--fail-on", type=click.Choice(list(FAIL_ON)), default="error", show_default=True,
              help="Exit 1 when a finding is at least this severe.")
@click.option("--min-severity", type=click.Choice(list(FAIL_ON)), default="info", show_default=True,
              help="Hide findings below this severity in the text output.")
@click.option("-v", "--verbose", is_flag=True, help="Show every piece of evidence and the ladder of each failing call.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for large server traces (default: one per core, at most 4).")
@click.option("--call-id", "call_ids", multiple=True,
              help="Only the findings of this call (repeatable; a unique start of the Call-ID will do).")
@friendly
def diagnose(files: tuple[str, ...], input_format: str | None, quiet: bool, um_fqdn: tuple[str, ...], edge_fqdn: tuple[str, ...],
             pool_fqdn: tuple[str, ...], fmt: str, fail_on: str, min_severity: str, verbose: bool,
             jobs: int | None, call_ids: tuple[str, ...]) -> None:
    """Say what went wrong in the calls of trace FILES, with evidence and a fix.

    \b
    Example:
        siptrace diagnose fe.log edge.log --um-fqdn um01.contoso.com
    """
    from ..run.diagnose import finding_json
    from ..run.job import Job, Selection
    from ..run.parallel import run_parallel
    from ..views.patterns import CallNotes, NotedCalls
    from ..views.render import NotedDiagnosis, diagnosis_lines, finding_text, finding_text_verbose

    ctx = Context.of(um_fqdn, edge_fqdn, pool_fqdn)
    wanted = resolve_all(call_ids, files, input_format)     # unique prefixes, each naming one call
    # each finding's output is made where the finding is (side by side in the workers), and so is
    # each call's note: its kind and headline (and its ladder with -v)
    render = finding_json if fmt == "json" else finding_text_verbose if verbose else finding_text
    notes = NotedCalls(CallNotes(ctx, ladder=verbose and fmt == "text"))
    job = Job.of(files, context=ctx, input_format=input_format, progress=not quiet, watcher=notes, render=render,
                 selection=Selection(frozenset(wanted)) if wanted else Selection())
    ran = run_parallel(job, jobs)
    ran.ladders = notes.ladders          # each call's note, by Call-ID (what NotedDiagnosis reads)
    result = NotedDiagnosis.of(ran)
    if fmt == "json":
        result.write_json(sys.stdout)
    else:
        for line in diagnosis_lines(result, verbose=verbose, min_severity=FAIL_ON[min_severity]):
            click.echo(line)
    if result.nothing_read:
        # no SIP message at all: "no problems" would be a lie
        if fmt == "json":
            click.echo(f"siptrace: {result.verdict()}", err=True)
        sys.exit(Exit.FAILURE)
    worst = result.worst()
    if worst is not None and worst.rank >= FAIL_ON[fail_on].rank:
        sys.exit(Exit.FINDINGS)


@main.command()
@click.argument("rule_id", required=False)
@friendly
def rules(rule_id: str | None) -> None:
    """List the rules, or explain one (siptrace rules ack-retarget-bye)."""
    from ..rules import RULES, by_id, sections

    if rule_id is None:
        for rule in RULES:
            click.echo(f"{rule.id:<20} {rule.severity.value:<8} {rule.title}")
        return
    rule = by_id(rule_id)
    if rule is None:
        close = difflib.get_close_matches(rule_id, [r.id for r in RULES], n=1)
        hint = f"Did you mean {close[0]}?" if close else "'siptrace rules' lists them"
        raise SiptraceError(f"unknown rule {rule_id!r}", hint=hint)
    click.echo(f"{rule.id} ({rule.severity.value}): {rule.title}\n")
    for name, text in sections(rule).items():
        click.echo(f"{name}:")
        click.echo(textwrap.fill(text, 96, initial_indent="    ", subsequent_indent="    ") + "\n")


def _register_views() -> None:
    """The view commands live in their own modules (they pull in matplotlib)."""
    from .cmd_compare import compare_command
    from .cmd_ladder import ladder_command

    main.add_command(ladder_command, "ladder")
    main.add_command(compare_command, "compare")
    try:
        from .cmd_report import report_command
    except ImportError:  # pragma: no cover - the report module is optional at run time
        return
    main.add_command(report_command, "report")


_register_views()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
