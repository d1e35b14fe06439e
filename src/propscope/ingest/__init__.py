"""Ingestion: files, directories, URLs and stdin become `Document`s, or `IngestFailure`s.

    >>> from propscope.ingest import iter_documents, load
    >>> doc = load("article.txt")
    >>> for item in iter_documents(["corpus/", "https://example.org/a"]): ...

One bad input never stops a batch: every error an input raises becomes an `IngestFailure`
(source, code, message) in the stream, after the documents it did yield. Within one run a
document whose id (hash of its normalised text) was already seen is not yielded again: it is
reported as an `IngestFailure` with code E019 and `duplicate == True`, naming the first source;
its `document` holds the copy as read (its outlet, url and publication are a sighting to keep).
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import BinaryIO

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest._common import DUPLICATE, IngestFailure, Item, Items, fail, read_capped
from propscope.ingest.feeds import read_feed
from propscope.ingest.formats import (
    EXTENSIONS,
    SNIFF_BYTES,
    Format,
    detect_format,
    extension,
    sniff,
)
from propscope.ingest.html import parse_html, read_html
from propscope.ingest.language import detect_language
from propscope.ingest.tables import read_csv, read_jsonl
from propscope.ingest.text import clean_article, parse_text, read_text
from propscope.ingest.urls import Fetched, Fetcher
from propscope.ingest.warc import read_warc

__all__ = [
    "Fetcher",
    "Format",
    "IngestFailure",
    "clean_article",
    "detect_format",
    "detect_language",
    "iter_documents",
    "load",
    "parse_html",
    "parse_text",
]

Reader = Callable[[BinaryIO, str, IngestOptions], Items]
STDIN = "<stdin>"
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def _hidden(path: Path) -> bool:
    return any(part.startswith(".") for part in path.parts)


def walk(root: Path, pattern: str = "*") -> list[Path]:
    """Files under `root` matching `pattern` at any depth, sorted; hidden ones (.git) skipped."""
    files = (p for p in root.rglob(pattern) if p.is_file())
    return sorted(p for p in files if not _hidden(p.relative_to(root)))


class _Run:
    """One call of iter_documents: the options, a lazily made fetcher, and the ids seen."""

    def __init__(self, options: IngestOptions, fetcher: Fetcher | None, stdin: BinaryIO | None):
        self.options = options
        self._fetcher = fetcher
        self._owns_fetcher = fetcher is None
        self._stdin = stdin
        self._seen: dict[str, str] = {}

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            self._fetcher = Fetcher(self.options)
        return self._fetcher

    def close(self) -> None:
        if self._owns_fetcher and self._fetcher is not None:
            self._fetcher.close()

    def dedupe(self, item: Item) -> Item:
        """The item, or an E019 failure when a document with its id was already yielded."""
        if isinstance(item, IngestFailure):
            return item
        source = item.source or item.url or item.id
        first = self._seen.get(item.id)
        if first is None:
            self._seen[item.id] = source
            return item
        message = IngestError.E_DUPLICATE.format(source=source, first=first, id=item.id)
        return IngestFailure(source, DUPLICATE, message, IngestError(message, source), document=item)

    def read(self, source: str) -> Items:
        """Items from one source; whatever it raises becomes a failure, and the run goes on."""
        try:
            yield from self._dispatch(source)
        except IngestError as exc:
            yield IngestFailure.of(exc, source)
        except Exception as exc:  # a reader bug on one odd input must not sink the batch
            yield IngestFailure.of(fail(IngestError.E_UNEXPECTED, source, reason=repr(exc)))

    def _dispatch(self, source: str) -> Items:
        if source == "-":
            return self._stdin_items()
        if _URL.match(source):
            return self.url_items(source)
        path = Path(source)
        if path.is_dir():
            return self._directory_items(path)
        if not path.exists():
            raise fail(IngestError.E_NOT_FOUND, source)
        return self._file_items(path)

    def _reader(self, fmt: Format) -> Reader:
        readers: dict[Format, Reader] = {
            Format.TEXT: read_text,
            Format.HTML: read_html,
            Format.JSONL: read_jsonl,
            Format.CSV: read_csv,
            Format.WARC: read_warc,
            Format.FEED: partial(read_feed, follow=self.url_items),
        }
        return readers[fmt]

    def _directory_items(self, root: Path) -> Items:
        files = walk(root, self.options.glob)
        if not files:
            raise fail(IngestError.E_NO_FILES, str(root), glob=self.options.glob)
        for path in files:
            yield from self.read(str(path))

    def _file_items(self, path: Path) -> Items:
        name = str(path)
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise fail(IngestError.E_READ, name, reason=exc.strerror or str(exc)) from exc
        with stream:
            head = stream.read(SNIFF_BYTES)
            stream.seek(0)
            if not head.strip() and len(head) < SNIFF_BYTES:
                raise fail(IngestError.E_EMPTY, name)
            yield from self._reader(detect_format(name, head))(stream, name, self.options)

    def _stdin_items(self) -> Items:
        """stdin is read whole (it cannot be re-read) and its format sniffed from the content."""
        data = (self._stdin or sys.stdin.buffer).read()
        if not data.strip():
            raise fail(IngestError.E_EMPTY, STDIN)
        yield from self._reader(sniff(data[:SNIFF_BYTES]))(io.BytesIO(data), STDIN, self.options)

    def url_items(self, url: str) -> Items:
        """Documents from a URL: fetched safely, then read by what the server says it sent."""
        fetched = self.fetcher.fetch(url)
        fmt = _url_format(fetched)
        if fmt in (Format.HTML, Format.TEXT):
            body = read_capped(io.BytesIO(fetched.body), url, self.options.max_bytes)
            parse = parse_html if fmt is Format.HTML else parse_text
            yield parse(body, url, self.options, url=fetched.url, charset=fetched.charset)
        else:
            yield from self._reader(fmt)(io.BytesIO(fetched.body), url, self.options)


def _url_format(fetched: Fetched) -> Format:
    """HTML when the server says so; for feeds, text or no type, the name and content decide."""
    if fetched.content_type in _HTML_TYPES:
        return Format.HTML
    path = fetched.url.split("?", 1)[0].split("#", 1)[0]
    return EXTENSIONS.get(extension(path)) or sniff(fetched.body[:SNIFF_BYTES])


def iter_documents(
    sources: Sequence[str | os.PathLike[str]],
    options: IngestOptions | None = None,
    *,
    fetcher: Fetcher | None = None,
    stdin: BinaryIO | None = None,
) -> Iterator[Document | IngestFailure]:
    """Every document in the sources, and a failure for every input or record that has none.

    Args:
        sources: file paths, directories (walked recursively with `options.glob`), http(s)
            URLs, and "-" for stdin (format sniffed from the content).
        options: limits, --encoding, the JSONL/CSV field map, the URL policy.
        fetcher: fetches URLs; pass `Fetcher(options, client=httpx.Client(transport=…))` to
            stub the network. Made (and closed) on demand otherwise.
        stdin: replaces `sys.stdin.buffer` for "-".

    Yields:
        Documents and IngestFailures in input order; a repeated document (same id in this run)
        comes as an IngestFailure with code E019, `duplicate == True` and the copy as `document`.
    """
    run = _Run(options or IngestOptions(), fetcher, stdin)
    try:
        for source in sources:
            for item in run.read(os.fspath(source)):
                yield run.dedupe(item)
    finally:
        run.close()


def load(
    source: str | os.PathLike[str],
    options: IngestOptions | None = None,
    *,
    fetcher: Fetcher | None = None,
    stdin: BinaryIO | None = None,
) -> Document:
    """Exactly one document from a file, URL or "-".

    Args:
        source: a path, an http(s) URL, or "-" for stdin.
        options: as for `iter_documents`.
        fetcher: as for `iter_documents`.
        stdin: as for `iter_documents`.

    Returns:
        The Document. Raises the input's IngestError (or FetchError) when anything in it
        failed, and E031 when it holds more or fewer than one document.
    """
    items = list(iter_documents([source], options, fetcher=fetcher, stdin=stdin))
    failures = [item for item in items if isinstance(item, IngestFailure)]
    if failures:
        first = failures[0]
        raise first.error or IngestError(first.message, first.source)
    if len(items) != 1:
        raise fail(IngestError.E_NOT_ONE, os.fspath(source), count=len(items))
    document = items[0]
    assert isinstance(document, Document)
    return document
