"""stdin is streamed (issue 13, D10): an endless or huge stdin stops at --max-bytes with an E013
that names the limit, not a size it never read; record formats still stream from stdin."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from typing import Any

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.ingest import IngestFailure, iter_documents


class Huge(io.RawIOBase):
    """A stdin of 32 MB of "y" lines (as `yes`, but ending, so a regression fails, not hangs)."""

    SIZE = 32_000_000

    def __init__(self) -> None:
        super().__init__()
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        size = min(len(view), self.SIZE - self.taken)
        view[:size] = b"y" * size
        self.taken += size
        return size


def test_huge_stdin_stops_at_the_limit() -> None:
    stdin = Huge()
    [failure] = list(iter_documents(["-"], IngestOptions(max_bytes=100_000), stdin=io.BufferedReader(stdin)))
    assert isinstance(failure, IngestFailure) and failure.code == "E013"
    assert failure.message == (
        "E013 <stdin>: over the 100,000-byte limit (reading stopped there). Split the input or "
        "raise --max-bytes."
    )
    assert stdin.taken < 1_000_000  # read up to the limit (and a buffer), never whole


def test_jsonl_on_stdin_still_streams_record_by_record() -> None:
    lines = [json.dumps({"text": f"Article number {n} says the council met again today."}) for n in range(3)]
    stdin = io.BytesIO(("\n".join(lines) + "\n").encode())
    items = list(iter_documents(["-"], IngestOptions(max_bytes=200), stdin=stdin))
    assert [type(i).__name__ for i in items] == ["Document"] * 3
    assert all(isinstance(i, Document) and i.source.startswith("<stdin>:") for i in items)


def test_cli_with_an_endless_pipe_exits_with_e013() -> None:
    endless = "import sys\nwhile True: sys.stdout.write('the elites lie ' * 1000)"
    cli = "from propscope.cli import app; app()"
    script = (
        f'{sys.executable} -c "{endless}" 2>/dev/null | {sys.executable} -c "{cli}" analyze - '
        "--no-store --analyzers stats --max-bytes 1000000"
    )
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "E013 <stdin>: over the 1,000,000-byte limit" in done.stderr
    assert "1,000,001" not in done.stderr


def _page(n: int) -> bytes:
    return (
        "<html><head><title>Roads</title></head><body><article><p>The regional council debated "
        f"road plan number {n} for three hours on Wednesday before voting to send it back.</p>"
        "</article></body></html>"
    ).encode()


def _warc(warc_bytes: Any) -> bytes:
    return bytes(warc_bytes([(f"https://a.example/{n}", "text/html", _page(n)) for n in range(4)]))


def test_cut_gzipped_warc_on_stdin_keeps_the_whole_records(warc_bytes: Any) -> None:
    data = _warc(warc_bytes)
    items = list(iter_documents(["-"], stdin=io.BytesIO(data[: len(data) * 60 // 100])))
    assert [type(i).__name__ for i in items] == ["Document", "Document", "IngestFailure"]
    assert isinstance(items[-1], IngestFailure) and items[-1].code == "E045"


def test_gzipped_jsonl_on_stdin_is_read_as_records() -> None:
    lines = [json.dumps({"text": f"Article number {n} says the council met again today."}) for n in range(2)]
    stdin = io.BytesIO(gzip.compress(("\n".join(lines) + "\n").encode()))
    assert [type(i).__name__ for i in iter_documents(["-"], stdin=stdin)] == ["Document", "Document"]
