"""``siptrace ladder``: one call's ladder as a PNG / SVG / PDF file, or as text on the terminal.

A thin command over `siptrace.ladder`; it reads, correlates and runs the rules
so the arrows that findings cite are marked.  Expected failures are
`SiptraceError`s, shown as one line with exit code 2.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from ..model.context import Context
from .callids import resolve
from .friendly import friendly
from .options import FILES, INPUT_FORMAT, QUIET, deployment
from ..model.errors import SiptraceError
from ..model.words import plural
from ..rules.findings import Finding, Severity
from ..model.sip import DiagRecord, SipMessage
from ..read.reader import Reader
from ..run.diagnose import run_in_memory
from ..run.job import Job, Selection
from ..correlate.timeline import Timeline

OUTPUTS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def _seen(files: tuple[str, ...], input_format: str | None) -> set[str]:
    """Every Call-ID of the input (read again only to say which call was meant)."""
    return {item.call_id for item in Reader(list(files), input_format)
            if isinstance(item, (SipMessage, DiagRecord)) and item.call_id}


def pick_call(timeline: Timeline, findings: list[Finding]) -> str:
    """The first call with an error finding, else the first call with an INVITE, else the first call."""
    if not timeline.calls:
        raise SiptraceError("no SIP calls in the input", hint="'siptrace stats FILE' shows what was read")
    failing = {f.call_id for f in findings if f.severity is Severity.ERROR and f.call_id}
    for call in timeline.calls:
        if call.call_id in failing:
            return call.call_id
    for call in timeline.calls:
        if any(d.method == "INVITE" for d in call.dialogs):
            return call.call_id
    return timeline.calls[0].call_id


@click.command("ladder")
@FILES
@click.option("--call-id", help="The call to draw, or a unique start of its Call-ID (default: the first call "
                                "with an error finding, else the first call with an INVITE, else the first call).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write the ladder to this .png, .svg or .pdf file (default: print it as text).")
@click.option("--width", type=click.IntRange(min=40), help="Width of the text ladder (default: the terminal's).")
@deployment
@INPUT_FORMAT
@QUIET
@friendly
def ladder_command(files: tuple[str, ...], call_id: str | None, output: str | None, width: int | None,
                   um_fqdn: tuple[str, ...], edge_fqdn: tuple[str, ...], pool_fqdn: tuple[str, ...],
                   input_format: str | None, quiet: bool) -> None:
    """Draw the ladder (sequence diagram) of one call in trace FILES.

    Hosts are columns, each hop of each message an arrow; retransmissions are
    dashed and the arrows that findings cite are marked with the rule id.

    \b
    Example:
        siptrace ladder fe01.log edge01.log --um-fqdn um01.contoso.com -o flow.png
        siptrace ladder fe01.log --call-id 5a3306c8d206a94ff659cf5a15769d51
    """
    from ..views.ladder import ladder_text

    fmt = None
    if output is not None:
        fmt = OUTPUTS.get(Path(output).suffix.lower())
        if fmt is None:
            raise SiptraceError(f"cannot write {Path(output).suffix or 'a file without a suffix'}",
                                path=output, hint="Name the output .png, .svg or .pdf")
    if call_id is not None:
        call_id = resolve(call_id, sorted(_seen(files, input_format)))   # a unique prefix names one call
    selection = Selection(frozenset({call_id})) if call_id is not None else Selection()
    job = Job.of(files, context=Context.of(um_fqdn, edge_fqdn, pool_fqdn), input_format=input_format,
                 progress=not quiet, selection=selection)
    result = run_in_memory(job)
    timeline, findings = result.timeline, list(result.findings)
    assert timeline is not None
    if call_id is None:
        call_id = pick_call(timeline, findings)
    if output is None:
        columns = width or shutil.get_terminal_size((100, 24)).columns
        click.echo(ladder_text(timeline, call_id, findings, width=columns), nl=False)
        return
    from ..views.ladder import ladder_figure, save

    fig = ladder_figure(timeline, call_id, findings)
    import io

    from ..views.outfiles import write_atomically

    drawing = io.BytesIO()
    save(fig, drawing, fmt or "png")
    write_atomically(output, drawing.getvalue())
    drawn = fig.ladder  # type: ignore[attr-defined]
    click.echo(f"wrote {output}: call {call_id}, {plural(len(drawn.hops), 'arrow')} between "
               f"{plural(len(drawn.columns), 'host')}")
