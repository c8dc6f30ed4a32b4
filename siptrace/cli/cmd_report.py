"""``siptrace report``: a diagnosis for a support ticket, as HTML, Markdown or JSON.

The command only parses options and writes files; `siptrace.views.report` builds
(on the streaming runners) and renders the report and `siptrace.read.redact`
replaces personal values.
"""

from __future__ import annotations

import json
import os

import click

from ..model.context import Context
from .callids import resolve_all
from .friendly import friendly
from .options import FILES, INPUT_FORMAT, QUIET, deployment
from ..model.words import plural
from ..model.errors import SiptraceError
from ..views.outfiles import write_atomically


def _options(output: str, um: tuple[str, ...], edge: tuple[str, ...], pool: tuple[str, ...],
             call_ids: tuple[str, ...], redact: bool, redact_domains: bool, redact_map: str | None,
             input_format: str | None) -> str:
    """The options of this run for the report's footer (not the input names, which may be personal;
    a redacted report sweeps the values shown)."""
    words = [f"{name} {value}" for name, values in (("--um-fqdn", um), ("--edge-fqdn", edge), ("--pool-fqdn", pool),
                                                     ("--call-id", call_ids)) for value in values]
    words += [flag for flag, on in (("--redact", redact), ("--redact-domains", redact_domains),
                                    ("--redact-map …", bool(redact_map))) if on]
    if input_format:
        words.append(f"--input-format {input_format}")
    words.append(f"-o {os.path.basename(output)}")
    return " ".join(words)


def _same_file(a: str, b: str) -> bool:
    return os.path.abspath(a) == os.path.abspath(b)


@click.command("report")
@FILES
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="The report file: .html (one self-contained page), .md (images in <name>_files/ next to "
                   "it), .json (the diagnose JSON plus tables of the dialogs and calls) or .txt (a ticket snippet "
                   "of at most 60 lines: verdict, root cause, commands, the worst call's ladder).")
@deployment
@click.option("--call-id", "call_ids", multiple=True,
              help="Only this call (repeatable; a unique start of the Call-ID will do).")
@click.option("--redact", is_flag=True,
              help="Replace user names, display names, phone numbers, IP addresses, tags, Call-IDs, EPIDs, "
                   "GRUUs and authentication values by consistent pseudonyms.")
@click.option("--redact-domains", is_flag=True, help="Also replace domains and host names (implies --redact).")
@click.option("--redact-map", type=click.Path(dir_okay=False),
              help="Write what became what (original → pseudonym) to this JSON file, for you only; never "
                   "part of the report (implies --redact).")
@INPUT_FORMAT
@QUIET
@friendly
def report_command(files: tuple[str, ...], output: str, um_fqdn: tuple[str, ...], edge_fqdn: tuple[str, ...],
                   pool_fqdn: tuple[str, ...], call_ids: tuple[str, ...], redact: bool, redact_domains: bool,
                   redact_map: str | None, input_format: str | None, quiet: bool) -> None:
    """Write a report of trace FILES for a support ticket: findings, call flows, charts.

    \b
    Examples:
        siptrace report fe.log edge.log --um-fqdn um01.contoso.com -o report.html --redact
        siptrace report fe.log --um-fqdn um01.contoso.com -o ticket.txt
    """
    from ..read.redact import Redactor
    from ..views.report import build_report, format_of, write_report

    if format_of(output) is None:
        raise click.BadParameter(f"{output!r} does not end in .html, .md or .json (or .txt, a ticket snippet)",
                                 param_hint="'-o'")
    if redact_map and _same_file(redact_map, output):
        raise click.BadParameter("the redaction map must not be the report itself", param_hint="'--redact-map'")
    redactor = Redactor(redact_domains) if (redact or redact_domains or redact_map) else None
    ctx = Context.of(um_fqdn, edge_fqdn, pool_fqdn)
    call_ids = resolve_all(call_ids, files, input_format)
    report = build_report(files, ctx, call_ids=call_ids, redactor=redactor, input_format=input_format,
                          progress=not quiet, tables=format_of(output) == "json",
                          command=_options(output, um_fqdn, edge_fqdn, pool_fqdn, call_ids, redact, redact_domains,
                                           redact_map, input_format))
    written = write_report(report, output)
    if redactor is not None and redact_map:
        write_atomically(redact_map, json.dumps(redactor.mapping(), indent=2, ensure_ascii=False) + "\n")
    if report.diagnosis.nothing_read:
        # the report says so too; the exit code must not say "healthy"
        raise SiptraceError(f"{report.diagnosis.verdict()} (the report {written[0]} says so)")
    images = len(written) - 1
    findings = len(report.findings)
    extra = f" and {plural(images, 'image')} in {written[1].parent}" if images else ""
    click.echo(f"wrote {written[0]}{extra}: {plural(findings, 'finding')}"
               f"{', redacted' if report.redacted else ''}", err=True)


__all__ = ["report_command"]
