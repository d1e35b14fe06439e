"""Micro-batching: articles posted at about the same time are analysed in one pipeline call.

The analysers batch across documents (one encoder pass over many sentences costs far less than
many passes), so under load the server answers more requests per second by letting each batch
wait `linger` seconds for company. One worker thread runs the pipeline, which already uses every
core; the queue is bounded, and a full queue is refused with E608 rather than growing memory.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from propscope.document import Document, Result
from propscope.errors import WebError

MAX_BATCH = 16  # the pipeline's DEFAULT_BATCH_SIZE: model batches stop paying off beyond it
LINGER_S = 0.01  # ~1% of a one-article analysis: adds nothing noticeable when idle
QUEUE_LIMIT = 1000

Item = tuple[Document, "Future[Result]"]


class Batcher:
    """Runs `run(docs) -> results` over batches of submitted documents on one worker thread."""

    def __init__(
        self, run: Callable[[Sequence[Document]], list[Result]], max_batch: int = MAX_BATCH,
        linger: float = LINGER_S, limit: int = QUEUE_LIMIT,
    ) -> None:
        self._run = run
        self._max_batch = max_batch
        self._linger = linger
        self._queue: queue.Queue[Item] = queue.Queue(maxsize=limit)
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, doc: Document) -> Future[Result]:
        """Queue one document; the future holds its result (or the error that document hit)."""
        self._start()
        future: Future[Result] = Future()
        try:
            self._queue.put_nowait((doc, future))
        except queue.Full as exc:
            raise WebError(WebError.E_BUSY, 503) from exc
        return future

    def _start(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._loop, name="propscope-analyse", daemon=True)
                self._worker.start()

    def _loop(self) -> None:
        while True:
            self._process(self._collect())

    def _collect(self) -> list[Item]:
        """The next batch: the first waiting item plus whatever arrives within `linger`."""
        batch = [self._queue.get()]
        deadline = time.monotonic() + self._linger
        while len(batch) < self._max_batch:
            try:
                batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _process(self, batch: list[Item]) -> None:
        try:
            results = self._run([doc for doc, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            for item in batch:  # one bad article must not fail the others: retry one by one
                self._process([item])
            return
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)
