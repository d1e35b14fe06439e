"""Batch jobs in the store (tables `jobs` and `job_items`, migration 0006), on both backends.

`POST /api/analyze` with several articles answers at once with a job id; the job is written
here before that answer, each article's outcome as soon as it is known, so a restarted server
finds every unfinished job and the articles still to do. An article's input is kept only until
it is finished: after that, the stored document (or the error) is what the job reports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from propscope.errors import StoreError
from propscope.store import _engine, _rows
from propscope.store.schema import job_items, jobs

UNFINISHED = ("queued", "running")
QUEUED, DONE, FAILED = "queued", "done", "failed"


@dataclass(frozen=True, slots=True)
class JobItem:
    """An article of a job still to be analysed: its position, request item and attempts so far."""

    position: int
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job as stored: what `GET /api/jobs/ID` answers."""

    id: str
    status: str
    total: int
    done: int
    restarts: int
    documents: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


class JobStore:
    """Reads and writes jobs through the store's engine; write failures are StoreError E315."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = _engine.writer(engine)

    def create(self, job_id: str, items: Sequence[Mapping[str, Any]]) -> None:
        """Record a new queued job and its articles, in one transaction."""
        now = _rows.utcnow()
        rows = [{"job_id": job_id, "position": n, "state": QUEUED, "payload": _dump(item),
                 "attempts": 0} for n, item in enumerate(items)]
        with self._write(job_id) as conn:
            conn.execute(jobs.insert(), {"id": job_id, "status": QUEUED, "total": len(items),
                                         "restarts": 0, "created_at": now, "updated_at": now})
            conn.execute(job_items.insert(), rows)

    def get(self, job_id: str) -> JobRecord | None:
        """The job with its finished articles, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
            if row is None:
                return None
            query = select(job_items).where(job_items.c.job_id == job_id, job_items.c.state != QUEUED)
            finished = conn.execute(query.order_by(job_items.c.position)).all()
        documents = [{"index": r.position, "id": r.document_id, "title": r.title}
                     for r in finished if r.state == DONE]
        errors = [{"index": r.position, "code": r.error_code, "message": r.error_message}
                  for r in finished if r.state == FAILED]
        return JobRecord(row.id, row.status, row.total, len(finished), row.restarts, documents,
                         errors, row.created_at, row.updated_at)

    def unfinished(self) -> list[str]:
        """Ids of the jobs that are queued or running, oldest first."""
        query = select(jobs.c.id).where(jobs.c.status.in_(UNFINISHED)).order_by(jobs.c.created_at)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def pending(self, job_id: str) -> list[JobItem]:
        """The job's articles not finished yet, in order."""
        query = (select(job_items.c.position, job_items.c.payload, job_items.c.attempts)
                 .where(job_items.c.job_id == job_id, job_items.c.state == QUEUED)
                 .order_by(job_items.c.position))
        with self.engine.connect() as conn:
            return [JobItem(r.position, json.loads(r.payload or "{}"), r.attempts)
                    for r in conn.execute(query)]

    def set_status(self, job_id: str, status: str, *, restarted: bool = False) -> None:
        values: dict[str, Any] = {"status": status, "updated_at": _rows.utcnow()}
        if restarted:
            values["restarts"] = jobs.c.restarts + 1
        with self._write(job_id) as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**values))

    def begin(self, job_id: str, positions: Sequence[int]) -> None:
        """Count one more attempt for these articles, before their analysis starts."""
        where = (job_items.c.job_id == job_id, job_items.c.position.in_(list(positions)))
        with self._write(job_id) as conn:
            conn.execute(update(job_items).where(*where).values(attempts=job_items.c.attempts + 1))

    def finish(self, job_id: str, position: int, *, document_id: str | None = None,
               title: str | None = None, code: str | None = None, message: str | None = None) -> None:
        """Record an article's outcome (a stored document, or an error code and message)."""
        state = FAILED if code else DONE
        values = {"state": state, "payload": None, "document_id": document_id, "title": title,
                  "error_code": code, "error_message": message}
        where = (job_items.c.job_id == job_id, job_items.c.position == position)
        with self._write(job_id) as conn:
            conn.execute(update(job_items).where(*where).values(**values))
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(updated_at=_rows.utcnow()))

    def prune(self, keep: int) -> int:
        """Forget finished jobs beyond the newest `keep` jobs; unfinished ones are always kept."""
        newest = select(jobs.c.id).order_by(jobs.c.created_at.desc(), jobs.c.id).limit(keep)
        with self.engine.connect() as conn:
            kept = set(conn.execute(newest).scalars())
            finished = conn.execute(select(jobs.c.id).where(jobs.c.status.not_in(UNFINISHED))).scalars()
            old = [job_id for job_id in finished if job_id not in kept]
        if old:
            with self._write(old[0]) as conn:
                conn.execute(delete(job_items).where(job_items.c.job_id.in_(old)))
                conn.execute(delete(jobs).where(jobs.c.id.in_(old)))
        return len(old)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(jobs)).scalar_one())

    @contextmanager
    def _write(self, job_id: str) -> Iterator[Connection]:
        try:
            with self._writer.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            url = _engine.redact(str(self.engine.url))
            raise StoreError(StoreError.E_JOB_WRITE.format(
                id=job_id, url=url, reason=_engine.reason(exc))) from exc


def _dump(item: Mapping[str, Any]) -> str:
    """ASCII-only JSON: NULs and lone surrogates become escapes either backend can hold."""
    return json.dumps(dict(item), ensure_ascii=True, separators=(",", ":"))
