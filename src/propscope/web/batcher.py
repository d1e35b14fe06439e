"""Micro-batching: articles posted at about the same time are analysed in one pipeline call.

The analysers batch across documents (one encoder pass over many sentences costs far less than
many passes), so under load the server answers more requests per second by letting each batch
wait `linger` seconds for company. One thread per batcher hands each batch to `run` (a worker
process, see workers.py); the queue is bounded, and a full queue is refused with E608 rather
than growing memory. A batch is also capped in characters, so company never turns a batch of
short articles into one as costly as a long document.

Every item carries its caller's deadline: an item whose caller has given up is dropped before it
runs, and `run` is told how long the longest-waiting caller still waits, so a batch that outlives
every caller can be killed (`Expired`) instead of occupying the worker.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from propscope.document import Document, Result
from propscope.errors import WebError

MAX_BATCH = 16  # the pipeline's DEFAULT_BATCH_SIZE: model batches stop paying off beyond it
LINGER_S = 0.01  # ~1% of a one-article analysis: adds nothing noticeable when idle
QUEUE_LIMIT = 1000
DEFAULT_TIMEOUT_S = 300.0

Run = Callable[[Sequence[Document], float], list[Result]]


class Expired(Exception):
    """Raised by `run` when it stopped a batch that outlived its deadline."""


@dataclass(frozen=True)
class Item:
    """One queued document, its caller's future, and how long that caller waits."""

    doc: Document
    future: Future[Result]
    timeout: float
    deadline: float


class Batcher:
    """Runs `run(docs, seconds_left) -> results` over batches of submitted documents on one thread."""

    def __init__(
        self, run: Run, max_batch: int = MAX_BATCH, linger: float = LINGER_S,
        limit: int = QUEUE_LIMIT, max_chars: int | None = None, name: str = "analyse",
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._max_chars = max_chars
        self._linger = linger
        self._name = name
        self._queue: queue.Queue[Item | None] = queue.Queue(maxsize=limit)
        self._carry: Item | None = None  # taken from the queue but over the character budget
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, doc: Document, timeout: float = DEFAULT_TIMEOUT_S) -> Future[Result]:
        """Queue one document; the future holds its result (or the error that document hit)."""
        if self._closed:
            raise WebError(WebError.E_SHUTDOWN, 503)
        self._start()
        future: Future[Result] = Future()
        try:
            self._queue.put_nowait(Item(doc, future, timeout, time.monotonic() + timeout))
        except queue.Full as exc:
            raise WebError(WebError.E_BUSY, 503) from exc
        return future

    def close(self) -> None:
        """Stop taking work; items still queued fail with E627 (their callers may retry)."""
        with self._lock:
            self._closed = True
            worker = self._worker
        if worker is None:
            return
        self._drain()
        with contextlib.suppress(queue.Full):  # full again: the loop sees `_closed` and ends
            self._queue.put_nowait(None)

    def _drain(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is not None:
                _fail(item, WebError(WebError.E_SHUTDOWN, 503))

    def _start(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._loop, name=f"propscope-{self._name}", daemon=True)
                self._worker.start()

    def _loop(self) -> None:
        while not self._closed:
            batch = self._collect()
            if batch is None:
                return
            self._process(batch)

    def _next(self, timeout: float | None) -> Item | None:
        """The carried-over item, else the next queued one (None: the stop sentinel)."""
        if self._carry is not None:
            item, self._carry = self._carry, None
            return item
        return self._queue.get(timeout=timeout)

    def _collect(self) -> list[Item] | None:
        """The next batch: the first waiting item plus whatever arrives within `linger`."""
        first = self._next(None)
        if first is None:
            return None
        batch, chars = [first], len(first.doc.text)
        deadline = time.monotonic() + self._linger
        while len(batch) < self._max_batch:
            try:
                item = self._next(max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if item is None:
                self._closed = True
                break
            if self._max_chars is not None and chars + len(item.doc.text) > self._max_chars:
                self._carry = item
                break
            batch.append(item)
            chars += len(item.doc.text)
        return batch

    def _process(self, batch: list[Item]) -> None:
        now = time.monotonic()
        live = []
        for item in batch:
            if item.deadline <= now:  # its caller has given up: don't spend the worker on it
                _fail(item, _timeout(item))
            elif item.future.running() or item.future.set_running_or_notify_cancel():
                live.append(item)  # running already: a retry after its batch failed
        if live:
            self._run_batch(live, max(item.deadline for item in live) - now)

    def _run_batch(self, batch: list[Item], seconds: float) -> None:
        try:
            results = self._run([item.doc for item in batch], seconds)
        except Expired:
            for item in batch:
                _fail(item, _timeout(item))
            return
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch[0], exc)
                return
            for item in batch:  # one bad article must not fail the others: retry one by one
                self._process([item])
            return
        for item, result in zip(batch, results, strict=True):
            if not item.future.done():
                item.future.set_result(result)


def _timeout(item: Item) -> WebError:
    return WebError(WebError.E_TIMEOUT.format(seconds=item.timeout), 504)


def _fail(item: Item, exc: BaseException) -> None:
    if not item.future.done():
        item.future.set_exception(exc)
