"""Heuristics as data: boilerplate markers (data/boilerplate.txt) and metadata-line patterns."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

# Longer lines are article prose, whatever words they start with.
MAX_BOILERPLATE_LINE = 300
# A tail marker only cuts when at least this much article text stands before it, so a
# "Related posts" link above the article is dropped as a line instead of cutting everything.
TAIL_MIN_CHARS_BEFORE = 200

# A title is one short line without a sentence's closing punctuation.
TITLE_MAX_CHARS = 200
TITLE_MAX_WORDS = 30
TITLE_BAD_ENDINGS = (".", ",", ";", ":")
# Bylines and source lines are looked for this many non-empty lines from either end.
META_SCAN_LINES = 4

BYLINE = re.compile(r"^(?:(?:By|BY|Written by)\s+|Authors?\s*:\s*)(?P<value>\S.{1,79})$")
SOURCE_LINE = re.compile(
    r"^(?:(?:Source|SOURCE)\s*:\s*|(?:Originally|First) published (?:by|in|on|at)\s*:?\s+"
    r"|Published by\s*:?\s+)(?P<value>\S.{1,119})$"
)
NAME_PARTICLES = frozenset(
    {"and", "de", "del", "der", "den", "di", "da", "du", "van", "von", "la", "le", "al", "bin"}
)
NAME_MAX_WORDS = 8
URL_LIKE = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)


def _compile(lines: list[str]) -> re.Pattern[str] | None:
    if not lines:
        return None
    return re.compile("|".join(f"(?:{line})" for line in lines), re.IGNORECASE)


@cache
def boilerplate() -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """(tail, line) patterns from the packaged data file, compiled once."""
    sections: dict[str, list[str]] = {"tail": [], "line": []}
    current = "line"
    text = resources.files("propscope").joinpath("data/boilerplate.txt").read_text("utf-8")
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            continue
        sections[current].append(line)
    tail = sections["tail"]
    return _compile(tail), _compile(tail + sections["line"])


def _matches(pattern: re.Pattern[str] | None, line: str) -> bool:
    stripped = line.strip()
    if pattern is None or not stripped or len(stripped) > MAX_BOILERPLATE_LINE:
        return False
    return pattern.fullmatch(stripped) is not None


def is_tail_marker(line: str) -> bool:
    """Does this line open the junk after an article ("Similar Posts", "Leave a Reply")?"""
    return _matches(boilerplate()[0], line)


def is_boilerplate_line(line: str) -> bool:
    """Is this whole line page furniture (a share button, a cookie notice)?"""
    return _matches(boilerplate()[1], line)


def looks_like_name(value: str) -> bool:
    """A person's name (or several joined by "and"): a few capitalised words, not a sentence."""
    words = value.replace(",", " ").split()
    if not words or len(words) > NAME_MAX_WORDS or value.endswith(("!", "?", ":")):
        return False
    if value.endswith(".") and len(words[-1]) > 2:  # "John Q." is a name, "… said." is not
        return False
    return _capitalised(words)


def _capitalised(words: list[str]) -> bool:
    return words[0][0].isupper() and all(w[0].isupper() or w.lower() in NAME_PARTICLES for w in words)
