"""One JSONL or CSV record made storable: JSON parsed without losing the record to one odd value,
and the characters and numbers no store can hold mended or left out, each with a coded warning.

Decisions (documented in docs/ingest.md), so one bad value costs as little of a corpus as possible
without anything changing silently:
- a lone surrogate (`"\\ud800"`, half of an emoji cut in two) becomes U+FFFD, one character for
  one, so every offset stays where it was (warning E038);
- a NUL character is removed, as every reader removes control characters (warning E039);
- NaN, Infinity, 1e999 and integers longer than Python converts leave their field out (warning
  E036); in the text field they make the record fail, as any non-string text does (E015).
The warnings travel with the document (`meta["ingest_warnings"]`) and are logged.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping
from typing import Any

from propscope._storable import shown
from propscope.errors import IngestError

_NUL = "\x00"
_SURROGATES = re.compile("[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class Unstorable:
    """A JSON number that parsed but that valid JSON cannot hold, as the input spelled it."""

    __slots__ = ("spelled",)

    def __init__(self, spelled: str) -> None:
        self.spelled = spelled


def _constant(name: str) -> Unstorable:
    return Unstorable(name)  # NaN, Infinity, -Infinity


def _float(literal: str) -> float | Unstorable:
    value = float(literal)
    return value if math.isfinite(value) else Unstorable(literal)  # 1e999 overflows to inf


def _int(literal: str) -> int | Unstorable:
    """The int, unless it is longer than int() converts (sys.set_int_max_str_digits): a
    5,000-digit number would otherwise raise ValueError for the whole line."""
    limit = sys.get_int_max_str_digits()
    digits = len(literal) - literal.startswith("-")
    if limit and digits > limit:
        return Unstorable(f"a {digits:,}-digit integer")
    return int(literal)


def loads(line: str) -> Any:
    """json.loads, with unstorable numbers parsed as `Unstorable` instead of raising or passing."""
    return json.loads(line, parse_constant=_constant, parse_float=_float, parse_int=_int)


def describe(value: Any) -> str:
    """What a value is, for a message: "NaN" for an Unstorable, else its type name."""
    return value.spelled if isinstance(value, Unstorable) else type(value).__name__


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def mend(value: str, source: str, field: str, warnings: list[str]) -> str:
    """`value` with NUL removed and lone surrogates replaced by U+FFFD, noting each in `warnings`."""
    if _UNSTORABLE.search(value) is None:
        return value
    source = shown(source)
    if count := value.count(_NUL):
        warnings.append(
            IngestError.E_NUL_REMOVED.format(
                source=source, field=field, count=count, s=_plural(count), at=value.index(_NUL)
            )
        )
    if found := _SURROGATES.search(value):
        count = len(_SURROGATES.findall(value))
        warnings.append(
            IngestError.E_SURROGATE_REPLACED.format(
                source=source, field=field, count=count, s=_plural(count), at=found.start()
            )
        )
    return _SURROGATES.sub("\ufffd", value.replace(_NUL, ""))


def storable(record: Mapping[Any, Any], source: str, text_field: str) -> tuple[dict[Any, Any], list[str]]:
    """The record with its names and string values mended and unstorable numbers left out.

    Args:
        record: one parsed JSONL object or CSV row.
        source: "file:line", for the warnings.
        text_field: the text field's name; an unstorable number there is kept, so the record
            fails as text that is not a string (E015) instead of as text that is missing.

    Returns:
        The mended record and the coded warnings (E036, E038, E039) saying what changed.
    """
    kept: dict[Any, Any] = {}
    warnings: list[str] = []
    source = shown(source)
    for key, value in record.items():
        name = repr(key)  # escapes NUL and surrogates, so the message itself prints
        if isinstance(key, str):
            key = mend(key, source, f"field name {name}", warnings)
        if isinstance(value, str):
            value = mend(value, source, f"field {name}", warnings)
        elif isinstance(value, Unstorable) and key != text_field:
            outcome = "; the field was left out"
            warnings.append(
                IngestError.E_NUMBER.format(
                    source=source, field=f"field {name}", value=value.spelled, outcome=outcome
                )
            )
            continue
        kept[key] = value
    return kept, warnings
