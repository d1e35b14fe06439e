"""WARC ingestion: each HTML response becomes a document; a damaged archive is E015."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest import IngestFailure, iter_documents
from propscope.ingest.warc import read_warc


def page(topic: str) -> bytes:
    return (
        f"<html><head><title>News about {topic}</title></head><body><article><p>The regional "
        f"council debated the {topic} plan for three hours on Wednesday before voting to send it "
        "back to committee for further study.</p><p>Residents who packed the public gallery "
        "applauded the decision.</p></article></body></html>"
    ).encode()


@pytest.fixture
def archive(warc_bytes: Any) -> list[tuple[str, str, bytes]]:
    return [
        ("https://a.example/roads", "text/html; charset=utf-8", page("roads")),
        ("https://a.example/logo.png", "image/png", b"\x89PNG\r\n\x1a\n\x00\x00"),
        ("https://a.example/empty", "text/html", b"<html><body><nav>Home</nav></body></html>"),
        ("https://a.example/schools", "application/xhtml+xml", page("schools")),
    ]


@pytest.mark.parametrize(("gzip", "name"), [(True, "crawl.warc.gz"), (False, "crawl.warc")])
def test_html_responses_become_documents(
    tmp_path: Path, warc_bytes: Any, archive: Any, gzip: bool, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(warc_bytes(archive, gzip=gzip))
    items = list(iter_documents([path]))
    docs = [i for i in items if isinstance(i, Document)]
    failures = [i for i in items if isinstance(i, IngestFailure)]
    assert [d.url for d in docs] == ["https://a.example/roads", "https://a.example/schools"]
    assert docs[0].title == "News about roads" and docs[0].source == f"{path}#{docs[0].url}"
    assert [f.code for f in failures] == ["E016"]  # the page without an article
    assert failures[0].source == f"{path}#https://a.example/empty"


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"this is not a web archive\n" * 5, r"^E015 x.warc: malformed WARC archive"),
        (b"\x1f\x8b\x08\x00garbage" * 10, r"^E015 x.warc: malformed WARC archive"),
    ],
)
def test_malformed_archives(data: bytes, pattern: str) -> None:
    with pytest.raises(IngestError, match=pattern):
        list(read_warc(io.BytesIO(data), "x.warc", IngestOptions()))


def test_damage_mid_archive_keeps_earlier_records(warc_bytes: Any, archive: Any) -> None:
    good = warc_bytes(archive[:1], gzip=False)
    damaged = good + b"garbage line that is not a record header\r\n" * 3 + good
    items: list[Any] = []
    with pytest.raises(IngestError, match=r"^E015"):
        for item in read_warc(io.BytesIO(damaged), "x.warc", IngestOptions()):
            items.append(item)
    assert [type(i).__name__ for i in items] == ["Document"]


def test_archive_without_html_is_e016(warc_bytes: Any) -> None:
    data = warc_bytes([("https://a.example/x.png", "image/png", b"\x89PNG")])
    with pytest.raises(IngestError, match=r"^E016 x.warc.gz: .*no HTML response"):
        list(read_warc(io.BytesIO(data), "x.warc.gz", IngestOptions()))


def test_record_over_max_bytes_fails_alone(warc_bytes: Any, archive: Any) -> None:
    big = ("https://a.example/big", "text/html", page("budget") * 50)
    data = warc_bytes([big, archive[0]])
    items = list(read_warc(io.BytesIO(data), "x.warc.gz", IngestOptions(max_bytes=5_000)))
    assert isinstance(items[0], IngestFailure) and items[0].code == "E013"
    assert isinstance(items[1], Document)


def six_records(warc_bytes: Any, gzip: bool) -> bytes:
    topics = ["roads", "schools", "parks", "water", "taxes", "police"]
    return warc_bytes([(f"https://a.example/{t}", "text/html", page(t)) for t in topics], gzip=gzip)


@pytest.mark.parametrize(
    ("gzip", "name", "percent"),
    [(True, "cut.warc.gz", 60), (False, "cut.warc", 60), (True, "cut.warc.gz", 52), (False, "cut.warc", 55)],
    ids=["gzip-body", "plain-body", "gzip-header", "plain-header"],
)
def test_truncated_archive_is_e045_for_the_cut_record(
    tmp_path: Path, warc_bytes: Any, gzip: bool, name: str, percent: int
) -> None:
    data = six_records(warc_bytes, gzip)
    path = tmp_path / name
    path.write_bytes(data[: len(data) * percent // 100])  # as `head -c`
    items = list(iter_documents([path]))
    assert [type(i).__name__ for i in items] == ["Document"] * 3 + ["IngestFailure"]
    assert all(i.text.endswith("applauded the decision.") for i in items[:3] if isinstance(i, Document))
    failure = items[3]
    assert isinstance(failure, IngestFailure) and failure.code == "E045"
    assert failure.message.startswith(f"E045 {path}: the archive is cut short in record 4 (")


@pytest.mark.parametrize(
    "header",
    [b"WARC/1.0\r\ngarbage\r\n\r\nstuff\r\n\r\n", b"WARC/1.0\r\nWARC-Type: response\r\n\r\n"],
    ids=["no-fields", "no-target"],
)
def test_garbage_header_is_e015_not_e030(tmp_path: Path, header: bytes) -> None:
    path = tmp_path / "bad.warc"
    path.write_bytes(header)
    [failure] = list(iter_documents([path]))
    assert isinstance(failure, IngestFailure)
    assert failure.message.startswith(
        f"E015 {path}: malformed WARC archive (record 1 at byte 0: its header is incomplete or garbled"
    )


def test_record_over_max_bytes_says_over_the_limit_not_a_size(warc_bytes: Any) -> None:
    data = warc_bytes([("https://a.example/bomb", "text/html", b"<p>" + b"a" * 20_000)])
    [failure] = list(read_warc(io.BytesIO(data), "x.warc.gz", IngestOptions(max_bytes=5_000)))
    assert isinstance(failure, IngestFailure)
    assert failure.message.startswith("E013 x.warc.gz#https://a.example/bomb: over the 5,000-byte limit")
    assert "5,001" not in failure.message
