"""Durations as people type them (`90m`, `72h`, `3d`, `1h30m`) and as reports print them."""

from __future__ import annotations

import math
import re
from datetime import timedelta

from propscope.errors import UsageError

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
E_DURATION = (
    "E401 {value!r} is not a duration: write a number and a unit, e.g. 90m, 72h, 3d "
    "(s, m, h, d, w; parts may be combined: 1h30m)."
)


def parse_duration(value: str) -> timedelta:
    """`90m` -> 90 minutes. Raises UsageError (E401) for anything else, including zero."""
    text = value.strip().lower().replace(" ", "")
    parts = _PART.findall(text)
    if not parts or "".join(f"{n}{u}" for n, u in parts) != text:
        raise UsageError(E_DURATION.format(value=value))
    seconds = sum(float(number) * _UNITS[unit] for number, unit in parts)
    try:
        duration = timedelta(seconds=seconds)
    except OverflowError:  # beyond timedelta's ~2.7 million years: not a window anyone means
        duration = timedelta(0)
    if duration <= timedelta(0):  # zero, or under the microsecond timedelta rounds to
        raise UsageError(E_DURATION.format(value=value))
    return duration


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling in one or two units: `3d`, `72h` stays `3d`, `1h30m`."""
    seconds = round(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            whole, rest = divmod(seconds, size)
            return f"{whole}{unit}{format_duration(timedelta(seconds=rest)) if rest else ''}"
    return f"{seconds}s"


def round_up(value: timedelta) -> timedelta:
    """Up to a whole minute under an hour, a whole hour under two days, else a whole day."""
    seconds = max(value.total_seconds(), 60.0)
    for limit, step in ((3600, 60), (2 * 86400, 3600)):
        if seconds < limit:
            return timedelta(seconds=math.ceil(seconds / step) * step)
    return timedelta(seconds=math.ceil(seconds / 86400) * 86400)
