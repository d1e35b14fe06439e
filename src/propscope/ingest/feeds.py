"""RSS and Atom feeds via feedparser: each entry becomes a document.

An entry's own content (or summary) is used; with `fetch_feed_links` its link is fetched
instead, through the same safe fetcher as any URL.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest._common import (
    IngestFailure,
    Items,
    build_document,
    fail,
    read_capped,
)
from propscope.ingest.html import fragment_text

Follow = Callable[[str], Items]
# RSS <author> is "email (Name)"; feedparser's own split of it is unreliable.
_RSS_AUTHOR = re.compile(r"^\S+@\S+\s+\((?P<name>[^)]+)\)$")


def _published(entry: Mapping[str, Any]) -> str | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC).isoformat()


def _author(entry: Mapping[str, Any]) -> str | None:
    author = entry.get("author")
    if not author:
        return None
    match = _RSS_AUTHOR.match(author.strip())
    return match["name"].strip() if match else str(author)


def _content(entry: Mapping[str, Any]) -> str:
    contents = entry.get("content") or []
    html = max((c.get("value", "") for c in contents), key=len, default="")
    return fragment_text(html or entry.get("summary", ""))


def entry_document(entry: Mapping[str, Any], source: str, outlet: str | None) -> Document:
    """The Document for one parsed feed entry (E016 when it carries no text)."""
    text = _content(entry)
    if not text:
        reason = "the entry has no content; pass --fetch-feed-links to fetch its page"
        raise fail(IngestError.E_NO_TEXT, source, reason=reason)
    return build_document(
        text,
        source=source,
        title=entry.get("title"),
        author=_author(entry),
        outlet=outlet,
        url=entry.get("link"),
        published=_published(entry),
    )


def _parse(data: bytes, source: str) -> Any:
    import feedparser

    parsed = feedparser.parse(data)  # bytes, never a URL: feedparser must not fetch anything
    if not parsed.entries:
        if parsed.get("bozo"):
            reason = str(parsed.get("bozo_exception") or "not XML")
            raise fail(IngestError.E_MALFORMED, source, kind="feed", reason=reason)
        raise fail(IngestError.E_NO_TEXT, source, reason="the feed has no entries")
    return parsed


def _followed(follow: Follow, link: str, where: str) -> Items:
    try:
        yield from follow(link)
    except IngestError as exc:
        yield IngestFailure.of(exc, where)


def read_feed(stream: BinaryIO, source: str, options: IngestOptions, follow: Follow | None = None) -> Items:
    """Reader for RSS/Atom: one document per entry; a bad entry fails alone.

    Args:
        stream: the feed's bytes.
        source: the file name or URL of the feed.
        options: --max-bytes for the feed; `fetch_feed_links` to fetch each entry's link.
        follow: how to read a link (the package's URL reader), needed for `fetch_feed_links`.

    Yields:
        Documents and IngestFailures, in feed order.
    """
    parsed = _parse(read_capped(stream, source, options.max_bytes), source)
    outlet = parsed.feed.get("title")
    for index, entry in enumerate(parsed.entries, 1):
        where = f"{source}#{index}"
        link = entry.get("link")
        if options.fetch_feed_links and follow is not None and link:
            yield from _followed(follow, link, where)
            continue
        try:
            yield entry_document(entry, where, outlet)
        except IngestError as exc:
            yield IngestFailure.of(exc, where)
