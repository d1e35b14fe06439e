"""Batch analysis jobs: `POST /api/analyze` with several articles answers at once with a job id.

Jobs run one at a time on a single worker thread (the pipeline already uses the cores) and are
kept in memory, the newest `KEEP` of them, so a restart forgets them but the stored results stay.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from propscope.errors import PropscopeError, WebError
from propscope.web.service import Workbench, links

KEEP = 200


@dataclass
class Job:
    """The progress of one batch: what is done, which documents it stored, what failed."""

    id: str
    total: int
    status: str = "queued"
    done: int = 0
    documents: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_json(self) -> dict[str, Any]:
        return {
            "job": self.id, "status": self.status, "total": self.total, "done": self.done,
            "documents": list(self.documents), "errors": list(self.errors),
            "created": self.created, "links": {"self": f"/api/jobs/{self.id}"},
        }


class JobRunner:
    """Queues batches onto one worker thread and remembers the newest jobs."""

    def __init__(self, bench: Workbench) -> None:
        self._bench = bench
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, items: Sequence[Mapping[str, Any]]) -> Job:
        job = Job(id=secrets.token_hex(8), total=len(items))
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP:
                self._jobs.popitem(last=False)
            if self._pool is None:  # made lazily: an app may be started and stopped several times
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="propscope-job")
            self._pool.submit(self._run, job, list(items))
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise WebError(WebError.E_NO_JOB.format(id=job_id), 404)
        return job

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job: Job, items: list[Mapping[str, Any]]) -> None:
        job.status = "running"
        for index, item in enumerate(items):
            self._one(job, index, item)
            job.done += 1
        job.status = "failed" if job.errors and not job.documents else "done"

    def _one(self, job: Job, index: int, item: Mapping[str, Any]) -> None:
        try:
            result = self._bench.analyse(self._bench.document_from(item))
        except PropscopeError as exc:
            job.errors.append({"index": index, "code": exc.code, "message": str(exc)})
            return
        except Exception as exc:  # one broken article must not end the batch
            job.errors.append({"index": index, "code": "E299", "message": f"E299 {exc!r}"})
            return
        doc = result.document
        job.documents.append({"index": index, "id": doc.id, "title": doc.title, "links": links(doc.id)})
