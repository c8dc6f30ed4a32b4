"""The options several commands share, written once: the inputs, how to read them, and the
deployment's servers (which UM, Edge and pool the trace is about)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from ..read.detect import FORMATS

FILES = click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True, allow_dash=True))
QUIET = click.option("-q", "--quiet", is_flag=True, help="No progress line on stderr.")
INPUT_FORMAT = click.option("--input-format", type=click.Choice(list(FORMATS)),
                            help="Read every input with this reader instead of detecting it from the content.")
UM_FQDN = click.option("--um-fqdn", multiple=True, help="FQDN of an Exchange UM server (repeatable).")
EDGE_FQDN = click.option("--edge-fqdn", multiple=True, help="FQDN of an Edge server's internal side (repeatable).")
POOL_FQDN = click.option("--pool-fqdn", multiple=True, help="FQDN of a front-end pool (repeatable).")


def deployment(command: Callable[..., Any]) -> Callable[..., Any]:
    """--um-fqdn, --edge-fqdn and --pool-fqdn, in that order."""
    return UM_FQDN(EDGE_FQDN(POOL_FQDN(command)))


__all__ = ["FILES", "QUIET", "INPUT_FORMAT", "UM_FQDN", "EDGE_FQDN", "POOL_FQDN", "deployment"]
