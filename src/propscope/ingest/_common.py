"""What every reader shares: the failure record, the capped read, and the document builder."""

from __future__ import annotations

import io
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest.language import detect_language

DUPLICATE = "E019"
WARNINGS_KEY = "ingest_warnings"  # Document.meta key: the coded warnings its input gave
# How far a one-way stream (stdin, a gzip member) can be rewound: readers sniff up to 8 KiB and
# start over, and gzip's own read-ahead on top of that stays well under this.
REWIND_BYTES = 1 << 20
log = logging.getLogger("propscope.ingest")

# C0 controls but tab, LF and CR, then DEL and the C1 controls: nothing a reader should keep in
# stored text (ESC retitles terminals and plants links). VT, FF and NEL break lines, so they
# become LF. A control between spaces leaves one space, so "a \x1b b" reads "a b". NUL is not
# removed: Document refuses it (E034) as a client data error, so it is never dropped silently.
_CONTROLS = re.compile("( ?)[\x01-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]+( ?)")
_LINE_BREAKS = str.maketrans({"\x0b": "\n", "\x0c": "\n", "\x85": "\n"})
_ESCAPED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class IngestFailure:
    """One input (or one record of it) that did not become a Document; the batch went on.

    `code` is the catalogue code (E010…E033); duplicates within a run carry E019 and set
    `duplicate`, so callers can report them without counting them as errors. A duplicate keeps
    the `document` it was read as: the same text from another outlet is the same document id,
    but still a sighting the store must record (`Store.record_sightings`).
    """

    source: str
    code: str
    message: str
    error: IngestError | None = field(default=None, compare=False, repr=False)
    document: Document | None = field(default=None, compare=False, repr=False)

    @property
    def duplicate(self) -> bool:
        return self.code == DUPLICATE

    @classmethod
    def of(cls, error: IngestError, source: str = "") -> IngestFailure:
        """The failure for a caught error; the source falls back to the error's own."""
        return cls(error.source or source, error.code, str(error), error)

    def to_json(self) -> dict[str, str]:
        """The line written by `--errors-out`."""
        return {"source": self.source, "code": self.code, "message": self.message}


Item = Document | IngestFailure
Items = Iterator[Item]


def fail(template: str, source: str, **values: Any) -> IngestError:
    """An IngestError from a catalogue template, remembering which input it is about."""
    return IngestError(template.format(source=source, **values), source)


def strip_control_chars(text: str) -> str:
    """`text` without C0/C1 control characters (tab, LF and CR kept; VT, FF and NEL become LF).

    NUL stays, for Document to refuse with E034 (see propscope._storable).

    Every reader applies it (build_document does, as the last step), so `Document.text` and its
    metadata never carry terminal escapes, whichever input they came from.
    """
    if text.isprintable():  # the common case: no control at all, not even a newline
        return text
    text = text.translate(_LINE_BREAKS)
    return _CONTROLS.sub(lambda m: " " if m.group(1) or m.group(2) else "", text)


def shown(text: str) -> str:
    """`text` with control characters as visible escapes, for a message about untrusted names."""
    return _ESCAPED.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _size_of(stream: BinaryIO) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None


def read_capped(stream: BinaryIO, source: str, limit: int) -> bytes:
    """All bytes of a single-document input, refusing (E013) more than `limit` of them.

    Reads at most limit + 1 bytes, so a huge stdin or file is never held in memory. A file says
    its size; a pipe or a decompressed stream only shows it goes past the limit (E013 then says
    "over the limit", not a size it never read).
    """
    size = _size_of(stream)
    if size is not None and size > limit:
        raise fail(IngestError.E_TOO_LARGE, source, size=size, limit=limit)
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise fail(IngestError.E_OVER_LIMIT, source, limit=limit)
    return data


class Rewindable(io.RawIOBase):
    """A one-way stream (a pipe, a decompressor) that can seek back within its first bytes.

    Readers sniff a head and seek(0) to start over, which a pipe cannot do, so the first
    `keep` bytes read are kept. It has no fileno: a size is never taken from what lies beneath.
    """

    def __init__(self, stream: IO[bytes] | io.RawIOBase, keep: int = REWIND_BYTES) -> None:
        super().__init__()
        self._stream = stream
        self._kept = bytearray()
        self._keep = keep
        self._pos = 0
        self._forgot = False  # bytes past `keep` were read: no seeking back any more

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset + (self._pos if whence == io.SEEK_CUR else 0)
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < 0:
            raise io.UnsupportedOperation("a one-way stream only seeks back within its start")
        if target != self._pos and (self._forgot or target > len(self._kept)):
            raise io.UnsupportedOperation("a one-way stream only seeks back within its start")
        self._pos = target
        return target

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._pos < len(self._kept):
            data = bytes(self._kept[self._pos : self._pos + len(view)])
        else:
            data = self._stream.read(len(view)) or b""
            self._remember(data)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _remember(self, data: bytes) -> None:
        if self._forgot or len(self._kept) + len(data) > self._keep:
            self._forgot, self._kept = True, bytearray()
        else:
            self._kept += data


def rewindable(stream: IO[bytes] | io.RawIOBase) -> BinaryIO:
    """`stream` buffered, and seekable back to its start while no more than REWIND_BYTES were read."""
    return io.BufferedReader(Rewindable(stream))


def build_document(
    text: str,
    *,
    source: str,
    title: str | None = None,
    author: str | None = None,
    outlet: str | None = None,
    url: str | None = None,
    published: str | None = None,
    meta: Mapping[str, Any] | None = None,
    warnings: Sequence[str] = (),
) -> Document:
    """A Document with its language identified, so every reader's output looks alike.

    Control characters are stripped from the text, the metadata and string meta values here,
    whatever the reader. `warnings` (coded messages about how the input was read, such as
    replaced bytes) are logged on the "propscope.ingest" logger and kept in
    `meta["ingest_warnings"]`, so the stored document still says how its text was obtained.
    """
    text = strip_control_chars(text)
    kept = {k: strip_control_chars(v) if isinstance(v, str) else v for k, v in (meta or {}).items()}
    if warnings:
        kept[WARNINGS_KEY] = list(warnings)
        for warning in warnings:
            log.warning("warning %s", shown(warning))
    return Document(
        text=text,
        title=_clean(title),
        author=_clean(author),
        outlet=_clean(outlet),
        url=_clean(url),
        published=_clean(published),
        language=detect_language(text),
        source=source,
        meta=kept,
    )


def _clean(value: str | None) -> str | None:
    return strip_control_chars(value) or None if value else None
