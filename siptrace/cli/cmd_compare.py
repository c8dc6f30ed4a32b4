"""``siptrace compare``: a failing call beside a healthy one of the same kind, message by message.

A thin command over `siptrace.views.compare`: it reads the whole trace (the
healthy call may be anywhere in it), runs the rules, picks or resolves the two
calls and prints the comparison, or draws both ladders side by side.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import click

from ..model.context import Context
from ..model.errors import SiptraceError
from .callids import resolve
from .cmd_ladder import OUTPUTS
from .friendly import friendly
from .options import FILES, INPUT_FORMAT, QUIET, deployment


@click.command("compare")
@FILES
@click.option("--call-id", "call_ids", multiple=True,
              help="A call to compare (a unique start of its Call-ID will do); give two to compare them, one to "
                   "compare it with the best healthy call of its kind, none for the worst failing call.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Draw both ladders side by side, the first difference marked, to this .png, .svg or .pdf.")
@click.option("--width", type=click.IntRange(min=60), help="Width of the text (default: the terminal's).")
@deployment
@INPUT_FORMAT
@QUIET
@friendly
def compare_command(files: tuple[str, ...], call_ids: tuple[str, ...], output: str | None, width: int | None,
                    um_fqdn: tuple[str, ...], edge_fqdn: tuple[str, ...], pool_fqdn: tuple[str, ...],
                    input_format: str | None, quiet: bool) -> None:
    """Compare two calls of trace FILES step by step and name where they first differ.

    Without two --call-id, the worst failing call is compared with the best
    healthy call of the same kind (same UM or gateway, the same way in if
    there is one); when the trace holds none, it says so.

    \b
    Example:
        siptrace compare samples/um-edge-fails-internal-works.fe.log
        siptrace compare fe01.log --call-id 5a33 --call-id 34b5 -o compare.png
    """
    from ..views.compare import compare, comparison_figure, comparison_text, pick

    if len(call_ids) > 2:
        raise click.BadParameter("give at most two calls", param_hint="'--call-id'")
    fmt = None
    if output is not None:
        fmt = OUTPUTS.get(Path(output).suffix.lower())
        if fmt is None:
            raise SiptraceError(f"cannot write {Path(output).suffix or 'a file without a suffix'}",
                                path=output, hint="Name the output .png, .svg or .pdf")
    ctx = Context.of(um_fqdn, edge_fqdn, pool_fqdn)
    from ..run.diagnose import run_in_memory
    from ..run.job import Job

    ran = run_in_memory(Job.of(files, context=ctx, input_format=input_format, progress=not quiet))
    timeline, findings = ran.timeline, list(ran.findings)
    assert timeline is not None
    wanted = [resolve(c, [call.call_id for call in timeline.calls]) for c in call_ids]
    if len(wanted) == 2:
        a, b = wanted
    else:
        chosen = pick(timeline, findings, ctx, wanted[0] if wanted else None)
        if chosen.healthy is None or chosen.failing is None:
            click.echo(chosen.note)
            return
        if chosen.note:
            click.echo(chosen.note)
        a, b = chosen.healthy, chosen.failing           # good on the left, bad on the right
    result = compare(timeline, a, b, findings, ctx)
    if output is None:
        click.echo(comparison_text(result, width or max(100, shutil.get_terminal_size((120, 24)).columns)))
        return
    from ..views.ladder import save
    from ..views.outfiles import write_atomically

    fig = comparison_figure(timeline, result)
    drawing = io.BytesIO()
    save(fig, drawing, fmt or "png")
    write_atomically(output, drawing.getvalue())
    first = result.first.text(result.names()) if result.first else "no difference in the compared steps"
    click.echo(f"wrote {output}: {a} beside {b}; first difference: {first}")


__all__ = ["compare_command"]
