"""What every reader shares: the failure record, the capped read, and the document builder."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest.language import detect_language

DUPLICATE = "E019"


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


def _size_of(stream: BinaryIO) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, AttributeError, io.UnsupportedOperation):
        return None


def read_capped(stream: BinaryIO, source: str, limit: int) -> bytes:
    """All bytes of a single-document input, refusing (E013) more than `limit` of them.

    Reads at most limit + 1 bytes, so a huge stdin or file is never held in memory.
    """
    size = _size_of(stream)
    if size is not None and size > limit:
        raise fail(IngestError.E_TOO_LARGE, source, size=size, limit=limit)
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise fail(IngestError.E_TOO_LARGE, source, size=len(data), limit=limit)
    return data


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
) -> Document:
    """A Document with its language identified, so every reader's output looks alike."""
    return Document(
        text=text,
        title=title or None,
        author=author or None,
        outlet=outlet or None,
        url=url or None,
        published=published or None,
        language=detect_language(text),
        source=source,
        meta=dict(meta or {}),
    )
