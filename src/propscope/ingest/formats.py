"""Which reader an input needs: by file extension first, else by sniffing its first bytes."""

from __future__ import annotations

import codecs
import re
from enum import StrEnum

from propscope.errors import IngestError
from propscope.ingest._common import fail
from propscope.ingest._decode import bom_encoding


class Format(StrEnum):
    TEXT = "text"
    HTML = "html"
    JSONL = "jsonl"
    CSV = "csv"
    WARC = "warc"
    FEED = "feed"


EXTENSIONS = {
    ".txt": Format.TEXT,
    ".text": Format.TEXT,
    ".md": Format.TEXT,
    ".html": Format.HTML,
    ".htm": Format.HTML,
    ".xhtml": Format.HTML,
    ".jsonl": Format.JSONL,
    ".ndjson": Format.JSONL,
    ".csv": Format.CSV,
    ".warc": Format.WARC,
    ".warc.gz": Format.WARC,
    ".rss": Format.FEED,
    ".atom": Format.FEED,
    ".xml": Format.FEED,
}
# Formats people try and that we do not read: say so, rather than "looks binary".
UNSUPPORTED = frozenset(
    {".pdf", ".doc", ".docx", ".odt", ".rtf", ".epub", ".zip", ".7z", ".tar"}
    | {".png", ".jpg", ".jpeg", ".gif", ".webp", ".mp3", ".mp4", ".exe"}
)
SNIFF_BYTES = 2048
_FEED_ROOT = re.compile(r"<(rss|feed|rdf:rdf)[\s>]")
_HTML_START = ("<!doctype html", "<html", "<head", "<body")
_HTML_TAG = re.compile(r"<(p|div|article|body|title|meta|br|h1|h2)[\s>/]")


def extension(name: str) -> str:
    """The lower-case extension, double for .warc.gz."""
    lower = name.lower()
    if lower.endswith(".warc.gz"):
        return ".warc.gz"
    dot = lower.rfind(".")
    return lower[dot:] if dot > lower.rfind("/") else ""


def _head_text(head: bytes) -> str:
    encoding = bom_encoding(head) or "utf-8"
    return codecs.decode(head[:SNIFF_BYTES], encoding, "ignore").lstrip("\ufeff \t\r\n").lower()


def sniff(head: bytes) -> Format:
    """The format of content with no telling name (stdin, extension-less files, URLs)."""
    if head.startswith((b"\x1f\x8b", b"WARC/")):
        return Format.WARC
    text = _head_text(head)
    if _FEED_ROOT.search(text) and "<html" not in text:
        return Format.FEED
    if text.startswith(_HTML_START) or (text.startswith("<") and _HTML_TAG.search(text)):
        return Format.HTML
    if text.startswith("<?xml"):
        return Format.FEED
    if text.startswith("{"):
        return Format.JSONL
    return Format.TEXT


def detect_format(name: str, head: bytes) -> Format:
    """The format for an input called `name` starting with `head` (E018 for known others).

    Args:
        name: file name or URL path; its extension decides when it is one we know.
        head: the first bytes, sniffed when the extension says nothing.

    Returns:
        The Format whose reader should open it.
    """
    ext = extension(name)
    if ext in UNSUPPORTED:
        raise fail(IngestError.E_FORMAT, name)
    return EXTENSIONS.get(ext) or sniff(head)
