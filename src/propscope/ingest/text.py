"""Plain-text articles: decode, normalise whitespace, strip scraped boilerplate, find metadata.

Decisions (documented in docs/ingest.md):
- `Document.text` is the clean article BODY. The title, byline ("By …") and source line
  ("Source: …") are moved into `title`, `author` and `outlet`/`url` and removed from the text.
- Line endings become LF, NBSP and other spaces become one ASCII space, runs of spaces collapse,
  lines are stripped and paragraphs are separated by exactly one blank line. All offsets that
  analysers report point into this clean text, so this normalisation happens once, here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest import _patterns as patterns
from propscope.ingest._common import Items, build_document, fail, read_capped, strip_control_chars
from propscope.ingest._decode import decode

_HORIZONTAL = re.compile(r"[^\S\n]+")  # any whitespace but LF, NBSP included
_BLANK_RUNS = re.compile(r"\n{3,}")
_NEWLINES = str.maketrans({"\r": "\n", "\u2028": "\n", "\u2029": "\n\n", "\x85": "\n"})
# Invisible characters scraped pages are full of. ZWJ/ZWNJ stay: emoji and Persian need them.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad"))


@dataclass(frozen=True)
class Article:
    """What the plain-text cleaner found: the body and the metadata lines it took out."""

    body: str
    title: str | None = None
    author: str | None = None
    outlet: str | None = None
    url: str | None = None


def normalise_whitespace(text: str) -> str:
    """LF line endings, single ASCII spaces, stripped lines; invisible characters dropped."""
    text = text.replace("\r\n", "\n").translate(_NEWLINES).translate(_INVISIBLE)
    return "\n".join(_HORIZONTAL.sub(" ", line).strip() for line in text.split("\n"))


def tidy(text: str) -> str:
    """Normalised whitespace with paragraphs separated by exactly one blank line."""
    return _BLANK_RUNS.sub("\n\n", normalise_whitespace(text)).strip()


def clean_article(raw: str) -> Article:
    """Split scraped text into body, title, byline and source line, dropping boilerplate.

    Args:
        raw: decoded text as scraped (any line endings, NBSPs, share buttons, comment forms).

    Returns:
        The Article; `body` is "" when nothing but boilerplate and metadata was there.
    """
    lines = _drop_boilerplate(_cut_tail(normalise_whitespace(raw).split("\n")))
    title, lines = _take_title(lines)
    found: dict[str, str] = {}
    lines = _take_meta_lines(lines, found)
    body = _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
    return Article(body, title, found.get("author"), found.get("outlet"), found.get("url"))


def _cut_tail(lines: list[str]) -> list[str]:
    """Everything from the first tail marker ("Similar Posts") on, once the article has begun."""
    seen = 0
    for index, line in enumerate(lines):
        if seen >= patterns.TAIL_MIN_CHARS_BEFORE and patterns.is_tail_marker(line):
            return lines[:index]
        seen += len(line)
    return lines


def _drop_boilerplate(lines: list[str]) -> list[str]:
    return [line for line in lines if not patterns.is_boilerplate_line(line)]


def _is_title(line: str) -> bool:
    return (
        len(line) <= patterns.TITLE_MAX_CHARS
        and len(line.split()) <= patterns.TITLE_MAX_WORDS
        and not line.endswith(patterns.TITLE_BAD_ENDINGS)
        and any(ch.isalpha() for ch in line)
        and _meta_of(line) is None
    )


def _take_title(lines: list[str]) -> tuple[str | None, list[str]]:
    """The first non-empty line, when it is title-shaped and some text follows it."""
    filled = [i for i, line in enumerate(lines) if line]
    if len(filled) < 2 or not _is_title(lines[filled[0]]):
        return None, lines
    return lines[filled[0]], lines[filled[0] + 1 :]


def _meta_of(line: str) -> tuple[str, str] | None:
    """("author", name), ("outlet", name) or ("url", address) for a byline or source line."""
    if (match := patterns.BYLINE.match(line)) and patterns.looks_like_name(
        value := match["value"].rstrip(",; ")
    ):
        return "author", value
    if match := patterns.SOURCE_LINE.match(line):
        value = match["value"].strip(" .\"'“”")
        return ("url" if patterns.URL_LIKE.match(value) else "outlet"), value
    return None


def _take_meta_lines(lines: list[str], found: dict[str, str]) -> list[str]:
    """Remove bylines and source lines near either end, recording the first of each kind."""
    filled = [i for i, line in enumerate(lines) if line]
    scan = patterns.META_SCAN_LINES
    taken = set()
    for index in dict.fromkeys(filled[:scan] + filled[-scan:]):
        if meta := _meta_of(lines[index]):
            found.setdefault(*meta)
            taken.add(index)
    return [line for i, line in enumerate(lines) if i not in taken]


def text_document(
    text: str, source: str, *, url: str | None = None, warnings: Sequence[str] = ()
) -> Document:
    """The Document for already-decoded article text (E016 when only boilerplate is left)."""
    article = clean_article(strip_control_chars(text))
    if not article.body:
        raise fail(IngestError.E_NO_TEXT, source, reason="only a title, bylines or boilerplate")
    return build_document(
        article.body,
        source=source,
        title=article.title,
        author=article.author,
        outlet=article.outlet,
        url=url or article.url,
        warnings=warnings,
    )


def parse_text(
    data: bytes,
    source: str,
    options: IngestOptions | None = None,
    *,
    url: str | None = None,
    charset: str | None = None,
) -> Document:
    """One Document from the bytes of a plain-text article.

    Args:
        data: the raw file content, in any encoding charset-normalizer recognises.
        source: the file name, URL or "<stdin>", used in `Document.source` and errors.
        options: --encoding is honoured; size limits are checked by the caller.
        url: where the text was fetched from, if anywhere.
        charset: the encoding a server declared, tried after UTF-8.

    Returns:
        The Document; raises IngestError (E010, E012, E014, E016) when there is none. Bytes
        replaced while decoding are an E047 warning in `meta["ingest_warnings"]`.
    """
    encoding = (options or IngestOptions()).encoding
    decoded = decode(data, source, encoding, hint=charset)
    return text_document(decoded.text, source, url=url, warnings=decoded.warnings)


def read_text(stream: BinaryIO, source: str, options: IngestOptions) -> Items:
    """Reader for .txt files: exactly one document, within --max-bytes."""
    yield parse_text(read_capped(stream, source, options.max_bytes), source, options)
