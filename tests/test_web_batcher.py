"""The micro-batcher: concurrent submissions share pipeline calls; one bad article fails alone."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from propscope.document import Document, Result
from propscope.errors import WebError
from propscope.web.batcher import Batcher, Expired


class Recorder:
    """A stand-in pipeline that remembers its batch sizes and refuses texts saying 'bad'."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.sizes: list[int] = []
        self.gate = gate

    def __call__(self, docs: Sequence[Document], seconds: float) -> list[Result]:
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


@pytest.mark.parametrize("max_chars", [25])
def test_batches_are_capped_in_characters(max_chars: int) -> None:
    run = Recorder()
    batcher = Batcher(run, max_batch=16, linger=0.3, max_chars=max_chars)
    futures = [batcher.submit(Document(text="ten chars!")) for _ in range(5)]  # 10 characters each
    for future in futures:
        future.result(timeout=5)
    assert run.sizes == [2, 2, 1]  # no batch over 25 characters, none lost


def test_an_item_whose_caller_gave_up_is_not_run() -> None:
    gate = threading.Event()
    run = Recorder(gate)
    batcher = Batcher(run, max_batch=1, linger=0)
    first = batcher.submit(Document(text="first"))  # holds the worker until the gate opens
    late = batcher.submit(Document(text="late"), timeout=0.01)
    threading.Event().wait(0.05)  # the late item's deadline passes while it waits in the queue
    gate.set()
    assert first.result(timeout=5).document.text == "first"
    with pytest.raises(WebError, match="E607"):
        late.result(timeout=5)
    assert run.sizes == [1]  # only the first was analysed


def test_run_told_the_longest_wait_and_expiry_fails_the_batch_with_e607() -> None:
    seen: list[float] = []

    def run(docs: Sequence[Document], seconds: float) -> list[Result]:
        seen.append(seconds)
        raise Expired("stopped")

    batcher = Batcher(run, max_batch=16, linger=0.3)
    futures = [batcher.submit(Document(text=f"a{n}"), timeout=t) for n, t in enumerate((5, 60))]
    for future in futures:
        with pytest.raises(WebError, match="E607"):
            future.result(timeout=5)
    assert len(seen) == 1 and 5 < seen[0] <= 60  # one batch, not retried one by one


def test_closing_fails_waiting_items_with_e627() -> None:
    gate = threading.Event()
    batcher = Batcher(Recorder(gate), max_batch=1, linger=0)
    first = batcher.submit(Document(text="first"))
    for _ in range(100):
        if batcher._queue.empty():
            break
        threading.Event().wait(0.01)
    waiting = batcher.submit(Document(text="waiting"))
    batcher.close()
    with pytest.raises(WebError, match="E627"):
        waiting.result(timeout=5)
    gate.set()
    assert first.result(timeout=5).document.text == "first"
    with pytest.raises(WebError, match="E627"):
        batcher.submit(Document(text="after"))
