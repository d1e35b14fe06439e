"""Web archives (.warc, .warc.gz) via warcio: each HTML response record becomes a document."""

from __future__ import annotations

import zlib
from typing import Any, BinaryIO

from propscope.config import IngestOptions
from propscope.errors import IngestError
from propscope.ingest._common import IngestFailure, Item, Items, fail
from propscope.ingest.html import parse_html

HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_REASON_CHARS = 120  # warcio quotes whole garbage lines in its errors


def _check_magic(stream: BinaryIO, source: str) -> None:
    """Refuse (E015) a file that does not open with a WARC header, before warcio guesses."""
    head = stream.read(512)
    stream.seek(0)
    try:
        if head.startswith(b"\x1f\x8b"):
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head)
    except zlib.error as exc:
        raise fail(IngestError.E_MALFORMED, source, kind="WARC archive", reason=str(exc)) from exc
    if not head.lstrip().startswith(b"WARC/"):
        reason = "it does not start with a WARC/1.x record header"
        raise fail(IngestError.E_MALFORMED, source, kind="WARC archive", reason=reason)


def _html_response(record: Any) -> tuple[str, str | None] | None:
    """(target URI, declared charset) for a 2xx HTML response record, else None."""
    headers = record.http_headers
    if record.rec_type != "response" or headers is None:
        return None
    status = headers.get_statuscode() or ""
    content_type = (headers.get_header("Content-Type") or "").lower()
    if not status.startswith("2") or not content_type.startswith(HTML_TYPES):
        return None
    charset = content_type.partition("charset=")[2].strip(" \"'") or None
    return record.rec_headers.get_header("WARC-Target-URI") or "", charset


def _record_item(record: Any, source: str, options: IngestOptions) -> Item | None:
    found = _html_response(record)
    if found is None:
        return None
    uri, charset = found
    where = f"{source}#{uri}"
    body = record.content_stream().read(options.max_bytes + 1)
    try:
        if len(body) > options.max_bytes:
            raise fail(IngestError.E_TOO_LARGE, where, size=len(body), limit=options.max_bytes)
        return parse_html(body, where, options, url=uri or None, charset=charset)
    except IngestError as exc:
        return IngestFailure.of(exc, where)


def read_warc(stream: BinaryIO, source: str, options: IngestOptions) -> Items:
    """Reader for .warc/.warc.gz: one document per HTML response; other records are skipped.

    A damaged archive raises E015 at the point of damage; records before it are kept.
    """
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    _check_magic(stream, source)
    found = 0
    try:
        for record in ArchiveIterator(stream):
            if (item := _record_item(record, source, options)) is not None:
                found += 1
                yield item
    except (ArchiveLoadFailed, EOFError, OSError, ValueError, zlib.error) as exc:
        said = str(exc).strip() or type(exc).__name__
        reason = "".join(ch if ch.isprintable() else "?" for ch in said[:MAX_REASON_CHARS])
        raise fail(IngestError.E_MALFORMED, source, kind="WARC archive", reason=reason) from exc
    if not found:
        raise fail(IngestError.E_NO_TEXT, source, reason="no HTML response records in the archive")
