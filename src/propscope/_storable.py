"""What a Document's strings and metadata must be so every store and every JSON writer takes them.

A NUL character (PostgreSQL refuses it in text and JSON), a lone surrogate (it has no UTF-8 form,
so the store, JSON output and language detection all fail on it) and NaN or Infinity (not JSON:
readers of the output and PostgreSQL refuse it) would each fail late, differently per backend, or
leave a stored document that cannot be read back. So they are refused when a Document is built,
with a code naming the input and the field (E034, E035, E036): the same on SQLite and PostgreSQL,
in the CLI, the web API and the Python API. Nothing is replaced silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from propscope.errors import IngestError

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def shown(source: str) -> str:
    """A source name safe to print: quoted with escapes when it holds such characters itself."""
    return ascii(source) if _UNSTORABLE.search(source) else source


def check_string(value: str, source: str, field: str) -> None:
    """Refuse (E034, E035) a string holding a NUL or a lone surrogate; `field` names it."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return
    name = shown(source)
    where = {"source": name, "field": field, "at": found.start()}
    if found.group() == "\x00":
        raise IngestError(IngestError.E_NUL.format(**where), name)
    char = ascii(found.group())[1:-1]  # "\ud800", as it would be written in JSON
    raise IngestError(IngestError.E_SURROGATE.format(char=char, **where), name)


def check_number(value: float, source: str, field: str) -> None:
    """Refuse (E036) NaN and the infinities, which json.dumps would write as invalid JSON."""
    if not math.isfinite(value):
        spelled = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        refuse_number(source, field, spelled)


def refuse_number(source: str, field: str, value: str) -> None:
    """Raise E036 for a number JSON cannot hold, spelled as the input wrote it."""
    name = shown(source)
    message = IngestError.E_NUMBER.format(source=name, field=field, value=value, outcome="")
    raise IngestError(message, name)


def check_value(value: Any, source: str, field: str) -> None:
    """Check every string and float in a JSON-like value, nested lists and mappings included.

    Iterative, so a deeply nested value cannot exhaust the stack; a container met twice (a
    cycle) is not walked again (the store refuses it later, E309).
    """
    pending, seen = [value], set()
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            check_string(item, source, field)
        elif isinstance(item, float):
            check_number(item, source, field)
        elif isinstance(item, (Mapping, list, tuple)) and id(item) not in seen:
            seen.add(id(item))
            if isinstance(item, Mapping):
                pending.extend(key for key in item if isinstance(key, str))
                pending.extend(item.values())
            else:
                pending.extend(item)


def check_meta(meta: Mapping[str, Any], source: str) -> None:
    """Refuse metadata whose keys or values hold what cannot be stored (E034, E035, E036)."""
    for key, value in meta.items():
        if isinstance(key, str):
            check_string(key, source, f"meta key {key!r}")
        check_value(value, source, f"meta field {key!r}")
