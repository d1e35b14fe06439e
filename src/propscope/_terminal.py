"""Printing untrusted text to a terminal: never as Rich markup, never with raw control characters.

Article text, titles, file names, URLs and error messages come from the input. Rich would read
`[/]` in them as markup (and crash, or drop `[fe80::1]`), and a terminal obeys the escape
sequences they may hold (ESC retitles the window, clears the screen, plants OSC-8 links; CR
overwrites a line; a lone surrogate cannot even be encoded). So every string from data is shown
with its control characters as visible escapes (`\\x1b`), and every console here has markup and
emoji codes off.
"""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console
from rich.text import Text

# C0 controls (but tab and newline, which lay out multi-line text), DEL, C1 controls, and lone
# surrogates (from non-UTF-8 file names via surrogateescape, or from the API): none prints.
_UNSAFE_BLOCK = "\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff"
# On one line, also tab and newline (a file name with "\n3 done, 0 failed" must not fake a line),
# and the bidi embeddings, overrides and isolates that can reverse how a name reads.
_UNSAFE_LINE = _UNSAFE_BLOCK + "\t\n\u202a-\u202e\u2066-\u2069"
_BLOCK = re.compile(f"[{_UNSAFE_BLOCK}]")
_LINE = re.compile(f"[{_UNSAFE_LINE}]")
ESCAPE_STYLE = "reverse"  # how the renderer marks an escape, so it differs from typed "\x1b"


def visible(char: str) -> str:
    """`\\x1b` for ESC, `\\u202e` for RIGHT-TO-LEFT OVERRIDE: a Python-style escape."""
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(value: object, *, multiline: bool = False) -> str:
    """`value` as text with every unsafe character escaped; `multiline` keeps tabs and newlines."""
    pattern = _BLOCK if multiline else _LINE
    return pattern.sub(lambda m: visible(m.group()), str(value))


def escaped_block(text: str) -> tuple[Text, list[int]]:
    """Multi-line `text` as a Rich Text, and where each original offset landed in it.

    The map has len(text) + 1 entries, so a span [start, end) of `text` is
    [offsets[start], offsets[end]) of the result. A CR right before LF is dropped (Rich would
    drop it anyway, shifting every later offset); other escapes are styled `ESCAPE_STYLE`.
    """
    result = Text()
    offsets: list[int] = []
    done = 0
    for match in _BLOCK.finditer(text):
        _append_plain(result, offsets, text[done : match.start()])
        offsets.append(len(result))
        char = match.group()
        if not (char == "\r" and text[match.end() : match.end() + 1] == "\n"):
            result.append(visible(char), style=ESCAPE_STYLE)
        done = match.end()
    _append_plain(result, offsets, text[done:])
    offsets.append(len(result))  # the end of the text
    return result, offsets


def _append_plain(result: Text, offsets: list[int], piece: str) -> None:
    base = len(result)
    offsets.extend(range(base, base + len(piece)))
    result.append(piece)


_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029]")


def json_safe(text: str) -> str:
    """JSON text (from `json.dumps(..., ensure_ascii=False)`) with DEL, the C1 controls and
    U+2028/U+2029 written as \\u escapes: json.dumps leaves them raw, where a terminal may obey
    them (0x9b is CSI). Only string contents can hold them, so the JSON means the same."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def line(value: object, style: str = "") -> Text:
    """One line of data as Text (never markup), unsafe characters escaped."""
    return Text(printable(value), style=style)


def labelled(label: str, message: object, style: str = "red") -> Text:
    """`failed <message>` / `error <message>`: a styled label, then the message as plain text."""
    text = Text(label, style=style)
    text.append(" ")
    text.append(printable(message))
    return text


def console(stderr: bool = False, **options: Any) -> Console:
    """A Console that never reads markup or emoji codes in what it prints."""
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False, **options)
