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

import gzip
import io
import os
import re
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path, PurePath
from typing import IO, Any, BinaryIO

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.errors import IngestError, UsageError
from propscope.ingest._common import (
    DUPLICATE,
    IngestFailure,
    Item,
    Items,
    fail,
    read_capped,
    rewindable,
    shown,
    strip_control_chars,
)
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
    "strip_control_chars",
]

Reader = Callable[[BinaryIO, str, IngestOptions], Items]
STDIN = "<stdin>"
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


GZIP_MAGIC = b"\x1f\x8b"


def check_glob(pattern: str) -> None:
    """Refuse (UsageError E410) a --glob that is empty, absolute or climbs out with '..'."""
    parts = PurePath(pattern).parts
    if not pattern or PurePath(pattern).is_absolute() or ".." in parts:
        raise UsageError(UsageError.E_GLOB.format(glob=pattern))


def _matches(relative: PurePath, pattern: str) -> bool:
    """rglob's rule: the pattern matches the end of the path ('**/' adds nothing to that)."""
    while pattern.startswith("**/"):
        pattern = pattern[3:]
    return relative.match(pattern or "*")


def _link_target(path: Path) -> Path | None:
    """Where the link `path` finally leads; None for a broken or looping link."""
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None


def _within(path: Path, top: Path) -> bool:
    return path == top or top in path.parents


def walk_tree(root: Path, pattern: str = "*") -> tuple[list[Path], list[tuple[Path, Path]]]:
    """Files under `root` matching `pattern` at any depth, and the links that lead out of it.

    Hidden files and folders (.git) are skipped. Symbolic links are followed while they stay
    inside `root`; a link that leaves it (to /etc/passwd, say) is not read but returned with its
    target, so it can be named. A folder reached twice (a link loop) is walked once.

    Returns:
        (matching files, sorted; (link, target) for each link leading outside, sorted).
    """
    check_glob(pattern)
    top = root.resolve()
    files: list[Path] = []
    outside: list[tuple[Path, Path]] = []
    seen: set[Path] = set()
    folders = [root]
    while folders:
        folder = folders.pop()
        if (real := folder.resolve()) in seen:
            continue
        seen.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue  # an unreadable subfolder: as rglob, skipped
        for entry in entries:
            path = folder / entry.name
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                if (target := _link_target(path)) is None:
                    continue  # broken or looping: nothing to read
                if not _within(target, top):
                    if target.is_dir() or _matches(path.relative_to(root), pattern):
                        outside.append((path, target))
                    continue
            if entry.is_dir():
                folders.append(path)
            elif entry.is_file() and _matches(path.relative_to(root), pattern):
                files.append(path)
    return sorted(files), sorted(outside)


def walk(root: Path, pattern: str = "*") -> list[Path]:
    """Files under `root` matching `pattern` at any depth, sorted (see `walk_tree`)."""
    return walk_tree(root, pattern)[0]


def _gunzipped_head(stream: BinaryIO) -> bytes:
    """The first decompressed bytes of a gzip stream, whatever damage lies further on."""
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(stream.read(SNIFF_BYTES), SNIFF_BYTES)
    except zlib.error:
        return b""  # not gzip after all: the reader chosen by content says what it is


class _Gunzip(io.RawIOBase):
    """A gzip member's content, with gzip's errors (truncated, bad CRC) as E015 for `source`."""

    def __init__(self, stream: IO[bytes], source: str) -> None:
        super().__init__()
        self._gzip = gzip.GzipFile(fileobj=stream, mode="rb")
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._gzip.read(len(memoryview(buffer)))
        except (EOFError, OSError, zlib.error) as exc:
            reason = str(exc) or type(exc).__name__
            raise fail(IngestError.E_MALFORMED, self._source, kind="gzip data", reason=reason) from exc
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)


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
        """The files under `root`, in order, and an E046 failure for each link leading out."""
        files, outside = walk_tree(root, self.options.glob)
        if not files and not outside:
            raise fail(IngestError.E_NO_FILES, str(root), glob=self.options.glob)
        skipped = {link: target for link, target in outside}
        for path in sorted([*files, *skipped]):
            if path in skipped:
                target, top = shown(str(skipped[path])), shown(str(root))
                yield IngestFailure.of(fail(IngestError.E_LINK_OUTSIDE, str(path), target=target, root=top))
            else:
                yield from self.read(str(path))

    def _file_items(self, path: Path) -> Items:
        name = str(path)
        try:
            stream = path.open("rb")
        except OSError as exc:
            raise fail(IngestError.E_READ, name, reason=exc.strerror or str(exc)) from exc
        with stream:
            yield from self._stream_items(stream, name)

    def _stdin_items(self) -> Items:
        """stdin, streamed: sniffed from its head, then read by its reader within --max-bytes.

        Never read whole: a single-document reader stops at --max-bytes + 1 bytes (E013), so
        `yes | propscope analyze -` ends; JSONL and WARC stream record by record as from a file.
        """
        yield from self._stream_items(rewindable(self._stdin or sys.stdin.buffer), STDIN)

    def _stream_items(self, stream: BinaryIO, name: str) -> Items:
        """Items of an open input: empty refused, gzip opened, the format found from name and head."""
        head = stream.read(SNIFF_BYTES)
        stream.seek(0)
        if not head.strip() and len(head) < SNIFF_BYTES:
            raise fail(IngestError.E_EMPTY, name)
        if head.startswith(GZIP_MAGIC) and extension(name) != ".warc.gz":
            yield from self._gzip_items(stream, name)
            return
        yield from self._reader(detect_format(name, head))(stream, name, self.options)

    def _gzip_items(self, stream: BinaryIO, name: str) -> Items:
        """A gzipped input: a WARC is left to warcio; any other content is read decompressed.

        The format comes from the name without .gz (notes.txt.gz is text) or the content's head.
        Decompression is streamed, so a gzip bomb is stopped at --max-bytes like any input.
        """
        head = _gunzipped_head(stream)
        stream.seek(0)
        if head.lstrip().startswith(b"WARC/"):
            yield from read_warc(stream, name, self.options)
            return
        inner = rewindable(_Gunzip(stream, name))
        if not inner.read(SNIFF_BYTES).strip():
            raise fail(IngestError.E_EMPTY, name)
        inner.seek(0)
        plain = name[: -len(".gz")] if name.lower().endswith(".gz") else ""
        fmt = detect_format(plain, head) if plain else sniff(head)
        if fmt is Format.WARC:  # gzip in gzip: not unpacked twice
            raise fail(IngestError.E_MALFORMED, name, kind="gzip data", reason="it holds gzip data again")
        yield from self._reader(fmt)(inner, name, self.options)

    def url_items(self, url: str) -> Items:
        """Documents from a URL: fetched safely, then read by what the server says it sent."""
        fetched = self.fetcher.fetch(url)
        fmt = _url_format(fetched)
        if fmt in (Format.HTML, Format.TEXT):
            body = read_capped(io.BytesIO(fetched.body), url, self.options.max_bytes)
            parse = parse_html if fmt is Format.HTML else parse_text
            yield parse(body, url, self.options, url=fetched.url, charset=fetched.charset)
        elif fetched.body.startswith(GZIP_MAGIC) and extension(url) != ".warc.gz":
            yield from self._gzip_items(io.BytesIO(fetched.body), url)
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
        sources: file paths, directories (walked recursively with `options.glob`; links out
            of a directory are E046 failures), http(s) URLs, and "-" for stdin (streamed, its
            format sniffed from the content). Gzipped inputs are read decompressed.
        options: limits, --encoding, the JSONL/CSV field map, the URL policy.
        fetcher: fetches URLs; pass `Fetcher(options, client=httpx.Client(transport=…))` to
            stub the network. Made (and closed) on demand otherwise.
        stdin: replaces `sys.stdin.buffer` for "-".

    Yields:
        Documents and IngestFailures in input order; a repeated document (same id in this run)
        comes as an IngestFailure with code E019, `duplicate == True` and the copy as `document`.
        Raises UsageError (E410) for a --glob that is absolute or leaves the folder.
    """
    run = _Run(options or IngestOptions(), fetcher, stdin)
    check_glob(run.options.glob)  # a usage error (exit 2), before any input is read
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
