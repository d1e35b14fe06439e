"""The micro-batcher: concurrent submissions share pipeline calls; one bad article fails alone."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from propscope.document import Document, Result
from propscope.errors import WebError
from propscope.web.batcher import Batcher


class Recorder:
    """A stand-in pipeline that remembers its batch sizes and refuses texts saying 'bad'."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.sizes: list[int] = []
        self.gate = gate

    def __call__(self, docs: Sequence[Document]) -> list[Result]:
        if self.gate is not None:
            self.gate.wait(5)
        self.sizes.append(len(docs))
        if any("bad" in d.text for d in docs):
            raise ValueError("bad article")
        return [Result(d) for d in docs]


@pytest.mark.parametrize("count", [6])
def test_concurrent_documents_share_a_batch(count: int) -> None:
    run = Recorder()
    batcher = Batcher(run, max_batch=16, linger=0.3)
    futures = [batcher.submit(Document(text=f"article {i}")) for i in range(count)]
    assert [f.result(timeout=5).document.text for f in futures] == [f"article {i}" for i in range(count)]
    assert run.sizes == [count]


@pytest.mark.parametrize("max_batch", [2])
def test_batches_are_capped(max_batch: int) -> None:
    run = Recorder()
    batcher = Batcher(run, max_batch=max_batch, linger=0.2)
    futures = [batcher.submit(Document(text=f"article {i}")) for i in range(5)]
    for future in futures:
        future.result(timeout=5)
    assert max(run.sizes) <= max_batch and sum(run.sizes) == 5


def test_one_bad_article_fails_alone() -> None:
    batcher = Batcher(Recorder(), linger=0.3)
    good, bad = batcher.submit(Document(text="good one")), batcher.submit(Document(text="bad one"))
    assert good.result(timeout=5).document.text == "good one"
    with pytest.raises(ValueError, match="bad article"):
        bad.result(timeout=5)


def test_full_queue_is_refused_with_e608() -> None:
    gate = threading.Event()
    batcher = Batcher(Recorder(gate), max_batch=1, linger=0, limit=1)
    first = batcher.submit(Document(text="first"))  # taken by the worker, which waits on the gate
    for _ in range(100):
        if batcher._queue.empty():
            break
        threading.Event().wait(0.01)
    batcher.submit(Document(text="second"))  # fills the queue
    with pytest.raises(WebError, match="E608"):
        batcher.submit(Document(text="third"))
    gate.set()
    assert first.result(timeout=5).document.text == "first"
