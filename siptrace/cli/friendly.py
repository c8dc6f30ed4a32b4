"""How every command turns an error it expects into one line on stderr and exit 2.

One place for all commands (cli.py and the view commands in their own
modules): `friendly` wraps a command; ``--traceback`` on the root re-raises.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from ..model.errors import SiptraceError

FAILURE = 2


class Failure(click.ClickException):
    """Could not read an input, write an output, or run as asked: one line, exit 2."""

    exit_code = FAILURE

    def show(self, file: Any = None) -> None:
        click.echo(f"siptrace: {self.format_message()}", err=True)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Expected errors (`SiptraceError`, `OSError`) as one line and exit 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BrokenPipeError:
            # the reader of our output went away (| head): end quietly, as a finished command
            quiet_stdout()
            raise click.exceptions.Exit(0) from None
        except (SiptraceError, OSError) as err:
            if click.get_current_context().find_root().params.get("traceback"):
                raise
            if isinstance(err, SiptraceError):
                raise Failure(str(err)) from None
            name = getattr(err, "filename", None) or ""
            raise Failure(f"{name}: {err.strerror or err}" if name else str(err)) from None

    return wrapper


def quiet_stdout() -> None:
    """The reader of stdout went away (``| head``): send what is left to /dev/null, so that
    Python's own flush at exit does not complain of a broken pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.__stdout__.fileno() if sys.__stdout__ is not None else 1)
    except (OSError, ValueError):
        pass
