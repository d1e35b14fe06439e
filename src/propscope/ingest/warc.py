"""Web archives (.warc, .warc.gz) via warcio: each HTML response record becomes a document.

warcio reads a cut archive as if it ended early (the cut record short, the rest gone) and
raises odd exception types on garbled headers, so each record is checked here: a record with
fewer bytes than its Content-Length is E045, a garbled one E015, both naming record and offset.
"""

from __future__ import annotations

import zlib
from typing import Any, BinaryIO

from propscope.config import IngestOptions
from propscope.errors import IngestError
from propscope.ingest._common import IngestFailure, Item, Items, fail
from propscope.ingest.html import parse_html

HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_REASON_CHARS = 120  # warcio quotes whole garbage lines in its errors
DRAIN_BYTES = 1 << 16
# What warcio raises for a header missing a field it relies on (WARC-Target-URI, WARC-Type):
# its message says nothing to a user. Then what it raises on other damage (with its own
# ArchiveLoadFailed and StatusAndHeadersParserException, added when warcio is imported).
_GARBLED: tuple[type[Exception], ...] = (AttributeError, TypeError, KeyError, IndexError)
_DAMAGE: tuple[type[Exception], ...] = (*_GARBLED, EOFError, OSError, ValueError, zlib.error)


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


def _missing_bytes(record: Any) -> int:
    """Read the record to its end; how many of its Content-Length bytes the archive lacks."""
    raw = record.raw_stream
    while raw.read(DRAIN_BYTES):
        pass
    return max(int(getattr(raw, "limit", 0) or 0), 0)


def _damaged(exc: Exception, source: str, number: int, offset: int) -> IngestError:
    """E015 for a record warcio could not read, naming it by number and byte offset."""
    said = "" if isinstance(exc, _GARBLED) else str(exc).strip()
    said = said or "its header is incomplete or garbled (no WARC-Type or WARC-Target-URI)"
    said = "".join(ch if ch.isprintable() else "?" for ch in said[:MAX_REASON_CHARS])
    reason = f"record {number} at byte {offset:,}: {said}"
    return fail(IngestError.E_MALFORMED, source, kind="WARC archive", reason=reason)


class _Records:
    """The archive's records in order, each read to its end and checked for damage."""

    def __init__(self, stream: BinaryIO, source: str, limit: int) -> None:
        from warcio.archiveiterator import ArchiveIterator
        from warcio.exceptions import ArchiveLoadFailed
        from warcio.statusandheaders import StatusAndHeadersParserException

        self._records = ArchiveIterator(stream)
        self._damage = (*_DAMAGE, ArchiveLoadFailed, StatusAndHeadersParserException)
        self.source = source
        self.limit = limit
        self.number = 0
        self._cut = False
        close = self._records.close

        def closing() -> None:  # warcio drops its decompressor on close: look at it first
            self._cut = self._member_cut() or self._tail_left(stream)
            close()

        self._records.close = closing

    def _tail_left(self, stream: BinaryIO) -> bool:
        """True when bytes were read past the end of the last whole record (a cut header)."""
        try:
            return bool(stream.tell() > self._records.offset)
        except (OSError, ValueError):
            return False

    def _member_cut(self) -> bool:
        """True when the gzip member being read ends early (warcio takes that for the end)."""
        reader = self._records.reader
        decompressor = reader.decompressor if reader is not None else None
        return decompressor is not None and not bool(decompressor.eof)

    def next(self) -> tuple[Any, tuple[str, str | None] | None, bytes] | None:
        """(record, its HTML response info or None, up to limit + 1 body bytes); None at the end.

        Raises E015 where the archive is damaged and E045 where a record is cut short.
        """
        self.number += 1
        offset = self._records.offset
        try:
            record = next(self._records, None)
            offset = self._records.offset
            if record is None:
                if self._cut:
                    raise fail(IngestError.E_CUT, self.source, number=self.number, offset=offset)
                return None
            if not record.rec_type:
                raise KeyError("WARC-Type")  # a header block with no record type: garbage
            found = _html_response(record)
            body = record.content_stream().read(self.limit + 1) if found else b""
            missing = _missing_bytes(record)
        except Exception as exc:
            if isinstance(exc, IngestError) or not isinstance(exc, self._damage):
                raise
            if self._member_cut():
                raise fail(IngestError.E_CUT, self.source, number=self.number, offset=offset) from exc
            raise _damaged(exc, self.source, self.number, offset) from exc
        if missing:
            raise self._truncated(record, offset, missing)
        return record, found, body

    def _truncated(self, record: Any, offset: int, missing: int) -> IngestError:
        target = record.rec_headers.get_header("WARC-Target-URI") or f"a {record.rec_type} record"
        return fail(
            IngestError.E_TRUNCATED,
            self.source,
            number=self.number,
            target=target,
            offset=offset,
            missing=missing,
            length=int(record.length or 0),
        )


def _record_item(found: tuple[str, str | None], body: bytes, source: str, options: IngestOptions) -> Item:
    uri, charset = found
    where = f"{source}#{uri}"
    try:
        if len(body) > options.max_bytes:
            raise fail(IngestError.E_OVER_LIMIT, where, limit=options.max_bytes)
        return parse_html(body, where, options, url=uri or None, charset=charset)
    except IngestError as exc:
        return IngestFailure.of(exc, where)


def read_warc(stream: BinaryIO, source: str, options: IngestOptions) -> Items:
    """Reader for .warc/.warc.gz: one document per HTML response; other records are skipped.

    A damaged archive raises E015 at the point of damage, a cut one E045 for the cut record;
    the complete records before it are kept.
    """
    _check_magic(stream, source)
    records = _Records(stream, source, options.max_bytes)
    found = 0
    while (entry := records.next()) is not None:
        _, response, body = entry
        if response is not None:
            found += 1
            yield _record_item(response, body, source, options)
    if not found:
        raise fail(IngestError.E_NO_TEXT, source, reason="no HTML response records in the archive")
