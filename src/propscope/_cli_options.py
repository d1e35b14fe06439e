"""Checks for command-line option values, shared by every command: nonsense is a usage error.

Click's own `min=`/`max=` let NaN through (every comparison with NaN is false) and say nothing
about why a bound exists, so numeric options use these callbacks instead; each refusal is a
`typer.BadParameter` (exit code 2) carrying a catalogue code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import typer

from propscope._terminal import printable
from propscope.errors import UsageError
from propscope.ingest import check_glob

E_RANGE = UsageError.E_RANGE
E_OUTPUT = UsageError.E_OUTPUT

IntCheck = Callable[[typer.CallbackParam, int | None], int | None]

# `--profile` of analyze, serve, batch and eval (issue 14); profiles.py checks the name (E411)
# and that it is installed (E412), both exit code 2.
PROFILE_HELP = "Model profile: accurate | fast (default: {default})."
INTERACTIVE_DEFAULT_HELP = "accurate where installed, else fast"
MODEL_HELP = (
    "A model folder made by `propscope train techniques`, instead of the profile's bundled model "
    "(default: $PROPSCOPE_TECHNIQUES_MODEL, else the profile's)."
)


def _option(param: typer.CallbackParam) -> str:
    return param.opts[0] if param.opts else str(param.name)


def int_range(low: int, high: int | None = None) -> IntCheck:
    """A callback refusing integers below `low` or above `high` (None and the default pass)."""
    bound = f"at least {low:,}" if high is None else f"from {low:,} to {high:,}"

    def check(param: typer.CallbackParam, value: int | None) -> int | None:
        if value is not None and (value < low or (high is not None and value > high)):
            raise typer.BadParameter(E_RANGE.format(option=_option(param), bound=bound, value=value))
        return value

    return check


def fraction(param: typer.CallbackParam, value: float | None) -> float | None:
    """A callback for thresholds: a finite number above 0 and at most 1."""
    if value is not None and not (math.isfinite(value) and 0 < value <= 1):
        bound = "a number above 0 and at most 1"
        raise typer.BadParameter(E_RANGE.format(option=_option(param), bound=bound, value=value))
    return value


def relative_glob(value: str) -> str:
    """A callback for --glob: the ingest rule (E410: pathlib refuses absolute and empty patterns,
    and `..` would walk out of the folder), reported as a usage error before anything runs."""
    try:
        check_glob(value)
    except UsageError as exc:
        raise typer.BadParameter(printable(exc)) from exc
    return value


def writable_file(param: typer.CallbackParam, value: Path | None) -> Path | None:
    """A callback for report and output files: created (empty) now, so a run does not end with
    its report lost to a missing folder; the command overwrites it at the end."""
    if value is not None:
        try:
            with value.open("a", encoding="utf-8"):
                pass
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            message = E_OUTPUT.format(option=_option(param), path=printable(value), reason=reason)
            raise typer.BadParameter(message) from exc
    return value
