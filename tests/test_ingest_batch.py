"""Batches: directories, globs, stdin, format detection, duplicates, and load()'s contract."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.errors import IngestError
from propscope.ingest import Format, IngestFailure, detect_format, iter_documents, load

GOOD = ("article.txt", "second.txt", "third.txt")


@pytest.fixture
def mixed_dir(tmp_path: Path, ingest_data: Path) -> Path:
    """Three good articles (one in a subfolder), one binary file, one empty file."""
    (tmp_path / "sub").mkdir()
    shutil.copy(ingest_data / GOOD[0], tmp_path / GOOD[0])
    shutil.copy(ingest_data / GOOD[1], tmp_path / GOOD[1])
    shutil.copy(ingest_data / GOOD[2], tmp_path / "sub" / GOOD[2])
    (tmp_path / "image.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    (tmp_path / "empty.txt").write_bytes(b"")
    return tmp_path


def split(items: list[Any]) -> tuple[list[Document], list[IngestFailure]]:
    docs = [i for i in items if isinstance(i, Document)]
    return docs, [i for i in items if isinstance(i, IngestFailure)]


def test_directory_with_binary_and_empty_files(mixed_dir: Path) -> None:
    docs, failures = split(list(iter_documents([mixed_dir])))
    assert sorted(Path(d.source or "").name for d in docs) == sorted(GOOD)
    assert {(Path(f.source).name, f.code) for f in failures} == {
        ("image.bin", "E012"),
        ("empty.txt", "E010"),
    }
    assert all(f.message.startswith(f"{f.code} {f.source}: ") for f in failures)


@pytest.mark.parametrize(("glob", "count"), [("*.txt", 4), ("second.*", 1), ("*.bin", 1)])
def test_glob_filters_recursively(mixed_dir: Path, glob: str, count: int) -> None:
    assert len(list(iter_documents([mixed_dir], IngestOptions(glob=glob)))) == count


def test_hidden_files_are_skipped(mixed_dir: Path) -> None:
    (mixed_dir / ".git").mkdir()
    (mixed_dir / ".git" / "config.txt").write_text("Hidden Title\n\nsome hidden text here.")
    assert not any(".git" in str(i.source) for i in iter_documents([mixed_dir]))


def test_directory_without_matching_files(tmp_path: Path) -> None:
    (failure,) = list(iter_documents([tmp_path], IngestOptions(glob="*.html")))
    assert isinstance(failure, IngestFailure) and failure.code == "E032"
    assert "--glob" in failure.message


def test_duplicates_within_a_run_are_reported(ingest_data: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.txt"
    text = (ingest_data / "second.txt").read_text().replace("\n", "\r\n").replace(" ", "\u00a0", 3)
    copy.write_bytes(text.encode("utf-16"))  # same article, other encoding and whitespace
    items = list(iter_documents([ingest_data / "second.txt", copy, ingest_data / "second.txt"]))
    docs, failures = split(items)
    assert len(docs) == 1
    assert [f.code for f in failures] == ["E019", "E019"]
    assert all(f.duplicate for f in failures)
    assert all(f.document is not None and f.document.id == docs[0].id for f in failures)  # a sighting
    assert f"same text as {ingest_data / 'second.txt'}" in failures[0].message


def test_missing_path_fails_and_batch_goes_on(ingest_data: Path) -> None:
    first, second = iter_documents(["/no/such/file.txt", ingest_data / "third.txt"])
    assert isinstance(first, IngestFailure) and first.code == "E011"
    assert first.message == "E011 /no/such/file.txt: no such file or directory. Check the path."
    assert isinstance(second, Document)


def test_unsupported_extension(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.7\n...")
    with pytest.raises(IngestError, match=r"^E018 .*report.pdf: unknown input format"):
        load(path)


def test_reader_bug_becomes_failure(monkeypatch: pytest.MonkeyPatch, ingest_data: Path) -> None:
    def explode(*args: Any, **kwargs: Any) -> Document:
        raise RuntimeError("boom")

    monkeypatch.setattr("propscope.ingest.text.text_document", explode)
    first, second = iter_documents([ingest_data / "second.txt", ingest_data / "article.html"])
    assert isinstance(first, IngestFailure) and first.code == "E030"
    assert "RuntimeError('boom')" in first.message
    assert isinstance(second, Document)


@pytest.mark.parametrize(
    ("name", "count"),
    [("article.txt", 1), ("article.html", 1), ("feed.rss", 2), ("feed.atom", 1)],
)
def test_stdin_format_is_sniffed(ingest_data: Path, name: str, count: int) -> None:
    stdin = io.BytesIO((ingest_data / name).read_bytes())
    docs, _ = split(list(iter_documents(["-"], stdin=stdin)))
    assert len(docs) == count
    assert all((d.source or "").startswith("<stdin>") for d in docs)


def test_stdin_jsonl() -> None:
    stdin = io.BytesIO(b'{"text": "One record read from standard input, with a few words."}\n')
    assert load("-", stdin=stdin).source == "<stdin>:1"


def test_stdin_warc(warc_bytes: Any, ingest_data: Path) -> None:
    data = warc_bytes([("https://x.example/a", "text/html", (ingest_data / "article.html").read_bytes())])
    doc = load("-", stdin=io.BytesIO(data))
    assert doc.title == "River Ferry Fares Rise Again"


@pytest.mark.parametrize(("data", "code"), [(b"", "E010"), (b"\x00\x01\x02\x03", "E012")])
def test_bad_stdin(data: bytes, code: str) -> None:
    with pytest.raises(IngestError, match=f"^{code} <stdin>"):
        load("-", stdin=io.BytesIO(data))


def test_load_needs_exactly_one_document(tmp_path: Path) -> None:
    path = tmp_path / "two.jsonl"
    path.write_text('{"text": "The first record of two."}\n{"text": "The second record."}\n')
    with pytest.raises(IngestError, match=r"^E031 .*two.jsonl: holds 2 documents"):
        load(path)


def test_load_raises_the_first_failure(ingest_data: Path) -> None:
    with pytest.raises(IngestError, match=r"^E016 .*feed.rss#3"):
        load(ingest_data / "feed.rss")


@pytest.mark.parametrize(
    ("name", "head", "fmt"),
    [
        ("a.txt", b"<html>", Format.TEXT),
        ("a.HTML", b"", Format.HTML),
        ("a.warc.gz", b"", Format.WARC),
        ("a.ndjson", b"", Format.JSONL),
        ("-", b"\x1f\x8b\x08", Format.WARC),
        ("-", b"WARC/1.1\r\n", Format.WARC),
        ("-", b"\xef\xbb\xbf  <!DOCTYPE html><html>", Format.HTML),
        ("-", b"<div><p>fragment</p></div>", Format.HTML),
        ("-", b'<?xml version="1.0"?>\n<rss version="2.0">', Format.FEED),
        ("-", b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">', Format.FEED),
        ("-", b'{"text": "x"}\n', Format.JSONL),
        ("-", "<html><body>".encode("utf-16"), Format.HTML),
        ("-", b"Plain title\n\nBody <b>with</b> a tag.", Format.TEXT),
        ("notes", b"Just text", Format.TEXT),
    ],
)
def test_detect_format(name: str, head: bytes, fmt: Format) -> None:
    assert detect_format(name, head) is fmt
