"""Batch analysis jobs: `POST /api/analyze` with several articles answers at once with a job id.

Jobs are kept in the store (`propscope.store.jobs`), written before the 202 answer and updated
as each article finishes, so a restart loses none: the next server start resumes every
unfinished job where it stopped (`JobRunner.resume`). One thread works through the jobs in
order, handing up to `WINDOW` articles at a time to the workbench's lanes, so a job's short
articles share pipeline batches; the newest `KEEP` jobs are kept, finished or not.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, as_completed
from typing import Any

from propscope.document import Result
from propscope.errors import PropscopeError, WebError
from propscope.store.jobs import FAILED, JobItem, JobRecord, JobStore
from propscope.web.batcher import MAX_BATCH
from propscope.web.service import Workbench, links

log = logging.getLogger("propscope.web")

KEEP = 200
WINDOW = MAX_BATCH  # articles of one job in flight at once: enough to fill a pipeline batch
# An article in progress when the server stopped is retried; after this many attempts it is
# reported (E626) instead, so one article that brings the server down cannot do so for ever.
MAX_ATTEMPTS = 3
BUSY_RETRY_S = 1.0  # when the lanes are full (E608), a job waits rather than fail its articles


class _Stopping(Exception):
    """The server is shutting down: leave the rest of the job for the next start."""


def job_json(record: JobRecord) -> dict[str, Any]:
    """The answer of `GET /api/jobs/ID` (and of the 202 that queued it)."""
    documents = [{**d, "links": links(d["id"])} for d in record.documents]
    return {
        "job": record.id, "status": record.status, "total": record.total, "done": record.done,
        "documents": documents, "errors": record.errors, "restarts": record.restarts,
        "created": record.created_at.isoformat(timespec="seconds") + "+00:00",
        "updated": record.updated_at.isoformat(timespec="seconds") + "+00:00",
        "links": {"self": f"/api/jobs/{record.id}"},
    }


class JobRunner:
    """Records jobs in the store and works through them on one thread."""

    def __init__(self, bench: Workbench) -> None:
        self._bench = bench
        self._store = JobStore(bench.store.engine)
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def submit(self, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Store a new job (E315 if the store refuses), queue it and return its JSON."""
        job_id = secrets.token_hex(8)
        self._store.create(job_id, items)
        self._store.prune(KEEP)
        self._schedule(job_id)
        return self.get(job_id)

    def get(self, job_id: str) -> dict[str, Any]:
        record = self._store.get(job_id)
        if record is None:
            raise WebError(WebError.E_NO_JOB.format(id=job_id), 404)
        return job_json(record)

    def resume(self) -> list[str]:
        """Queue every job the store holds as unfinished (server start-up); their ids."""
        found = self._store.unfinished()
        for job_id in found:
            self._store.set_status(job_id, "queued", restarted=True)
            self._schedule(job_id)
        if found:
            log.info("resuming %d unfinished job(s): %s", len(found), ", ".join(found))
        return found

    def shutdown(self) -> None:
        """Stop after the articles in progress; what is left stays queued for the next start."""
        self._stopping.set()
        self._queue.put(None)

    def _schedule(self, job_id: str) -> None:
        with self._lock:
            if self._thread is None:  # made lazily: an app may be created and never served
                self._thread = threading.Thread(target=self._loop, name="propscope-jobs", daemon=True)
                self._thread.start()
        self._queue.put(job_id)

    def _loop(self) -> None:
        while (job_id := self._queue.get()) is not None and not self._stopping.is_set():
            try:
                self._run(job_id)
            except Exception:  # the store failed: the job stays unfinished, resumable
                log.exception("job %s stopped; it resumes when the server next starts", job_id)

    def _run(self, job_id: str) -> None:
        self._store.set_status(job_id, "running")
        pending = self._store.pending(job_id)
        for start in range(0, len(pending), WINDOW):
            if self._stopping.is_set() or not self._window(job_id, pending[start:start + WINDOW]):
                return  # interrupted: left as it is, for `resume`
        record = self._store.get(job_id)
        if record is not None:
            failed = bool(record.errors) and not record.documents
            self._store.set_status(job_id, FAILED if failed else "done")

    def _window(self, job_id: str, items: Sequence[JobItem]) -> bool:
        """Analyse a few articles together; False when the server began shutting down."""
        for item in items:
            if item.attempts >= MAX_ATTEMPTS:
                message = WebError.E_RESTARTS.format(count=item.attempts)
                self._store.finish(job_id, item.position, code="E626", message=message)
        tried = [item for item in items if item.attempts < MAX_ATTEMPTS]
        if not tried:
            return True
        self._store.begin(job_id, [item.position for item in tried])
        running: dict[Future[Result], JobItem] = {}
        stopped = False
        for item in tried:
            try:
                future = self._start(job_id, item)
            except _Stopping:  # what was queued is still recorded below; the rest stays queued
                stopped = True
                break
            if future is not None:
                running[future] = item
        recorded = [self._record(job_id, running[future], future) for future in as_completed(running)]
        return not stopped and all(recorded)  # each recorded as it finishes: none waits on a long one

    def _start(self, job_id: str, item: JobItem) -> Future[Result] | None:
        """The article queued on a lane, or None when it failed already (recorded)."""
        bench = self._bench
        while True:
            try:
                return bench.submit(bench.document_from(item.payload), bench.settings.job_timeout_s)
            except WebError as exc:
                if exc.code == "E627" or self._stopping.is_set():
                    raise _Stopping from exc
                if exc.code != "E608":
                    self._fail(job_id, item, exc)
                    return None
                time.sleep(BUSY_RETRY_S)
            except Exception as exc:  # one broken article must not end the batch
                self._fail(job_id, item, exc)
                return None

    def _record(self, job_id: str, item: JobItem, future: Future[Result]) -> bool:
        try:
            doc = future.result().document
        except WebError as exc:
            if exc.code == "E627":  # not run because the server is stopping: resume it later
                return False
            self._fail(job_id, item, exc)
            return True
        except Exception as exc:
            self._fail(job_id, item, exc)
            return True
        self._store.finish(job_id, item.position, document_id=doc.id, title=doc.title)
        return True

    def _fail(self, job_id: str, item: JobItem, exc: BaseException) -> None:
        if isinstance(exc, PropscopeError):
            code, message = exc.code, str(exc)
        else:
            code, message = "E299", f"E299 {exc!r}"
        if not message.startswith("E"):
            message = f"{code} {message}"
        self._store.finish(job_id, item.position, code=code, message=message)
