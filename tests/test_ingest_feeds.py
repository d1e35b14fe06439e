"""RSS/Atom ingestion: entries become documents; with fetch_feed_links their pages do."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest import IngestFailure, iter_documents
from propscope.ingest.feeds import read_feed


def test_rss_entries(ingest_data: Path) -> None:
    items = list(iter_documents([ingest_data / "feed.rss"]))
    first, second, third = items
    assert isinstance(first, Document) and isinstance(second, Document)
    assert first.title == "Bridge Repairs to Finish Early"
    assert first.author == "Tomas Reyes"
    assert first.outlet == "The Ormond Gazette"
    assert first.url == "https://gazette.example/bridge"
    assert first.published == "2024-03-05T08:00:00+00:00"
    assert first.text.endswith("lanes on Friday.") and "FEED-SCRIPT" not in first.text
    assert "\n\nTraffic will return" in first.text
    assert isinstance(third, IngestFailure) and third.code == "E016"
    assert third.source == f"{ingest_data / 'feed.rss'}#3"
    assert "--fetch-feed-links" in third.message


def test_atom_entry(ingest_data: Path) -> None:
    (doc,) = list(iter_documents([ingest_data / "feed.atom"]))
    assert isinstance(doc, Document)
    assert (doc.title, doc.author, doc.outlet) == (
        "Storm Warning for the Coast",
        "Ingrid Solberg",
        "Valley Weather Desk",
    )
    assert doc.url == "https://weather.example/storm"
    assert doc.text.startswith("Forecasters warned")


def test_fetch_feed_links_reads_each_page(ingest_data: Path, mock_fetcher: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/empty":
            return httpx.Response(404)
        slug = request.url.path.strip("/")
        body = (
            f"<html><head><title>Full story: {slug}</title></head><body><article><p>This is the "
            f"complete article about the {slug}, fetched from the page the feed entry links to, "
            "with several sentences of reporting.</p></article></body></html>"
        )
        return httpx.Response(200, text=body, headers={"content-type": "text/html"})

    options = IngestOptions(fetch_feed_links=True)
    items = list(iter_documents([ingest_data / "feed.rss"], options, fetcher=mock_fetcher(handler, options)))
    docs = [i for i in items if isinstance(i, Document)]
    assert [d.title for d in docs] == ["Full story: bridge", "Full story: market"]
    assert docs[0].url == "https://gazette.example/bridge"
    (failure,) = [i for i in items if isinstance(i, IngestFailure)]
    assert failure.code == "E023" and failure.source == "https://gazette.example/empty"


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"<rss><channel><title>x</title><lin", r"^E015 f.rss: malformed feed"),
        (b"not xml at all {", r"^E015 f.rss: malformed feed"),
        (
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>Empty</title></channel></rss>',
            r"^E016 f.rss: .*the feed has no entries",
        ),
    ],
)
def test_bad_feeds(data: bytes, pattern: str) -> None:
    with pytest.raises(IngestError, match=pattern):
        list(read_feed(io.BytesIO(data), "f.rss", IngestOptions()))


def test_feed_never_fetches_external_entities(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<rss version="2.0"><channel><title>T</title><item><title>A</title>'
        "<description>Before &x; after, with enough words to count as an entry.</description>"
        "</item></channel></rss>"
    ).encode()
    items = list(read_feed(io.BytesIO(data), "f.rss", IngestOptions()))
    assert all("TOP-SECRET-VALUE" not in getattr(i, "text", "") for i in items)
