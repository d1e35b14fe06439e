"""Batch jobs live in the store (SQLite and PostgreSQL alike), so a restart loses none.

Before issue 13 they were kept in the server's memory: a restart forgot every job, finished or
not, and the articles not yet analysed were lost without a word.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import _workers
import pytest

from propscope.store import Store
from propscope.store.jobs import JobStore
from propscope.web.jobs import MAX_ATTEMPTS, JobRunner
from propscope.web.service import Workbench

WAIT_S = 120.0
ODD = [{"text": "a NUL \x00 inside"}, {"text": "a lone surrogate \ud800 inside"},
       {"url": "https://example.org/a", "outlet": "Ünïcode Times"}]


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Store:
    return request.getfixturevalue("store" if request.param == "sqlite" else "pg_store")  # type: ignore[no-any-return]


@pytest.mark.parametrize("items", [ODD])
def test_jobs_round_trip_on_each_backend(db: Store, items: list[dict[str, Any]]) -> None:
    jobs = JobStore(db.engine)
    jobs.create("j1", items)
    assert [item.payload for item in jobs.pending("j1")] == items  # inputs kept exactly
    jobs.begin("j1", [0, 1])
    assert [item.attempts for item in jobs.pending("j1")] == [1, 1, 0]
    jobs.finish("j1", 0, document_id="d0", title="A title")
    jobs.finish("j1", 1, code="E017", message="E017 no text")
    record = jobs.get("j1")
    assert record is not None and (record.status, record.total, record.done) == ("queued", 3, 2)
    assert record.documents == [{"index": 0, "id": "d0", "title": "A title"}]
    assert record.errors == [{"index": 1, "code": "E017", "message": "E017 no text"}]
    assert [item.position for item in jobs.pending("j1")] == [2]
    assert jobs.unfinished() == ["j1"]
    jobs.set_status("j1", "done")
    assert jobs.unfinished() == [] and jobs.get("nope") is None


def test_pruning_keeps_the_newest_and_every_unfinished_job(store: Store) -> None:
    jobs = JobStore(store.engine)
    for n in range(5):
        jobs.create(f"j{n}", [{"text": f"article {n}"}])
        if n != 0:
            jobs.set_status(f"j{n}", "done")
    assert jobs.prune(keep=2) == 2
    assert {f"j{n}" for n in range(5) if jobs.get(f"j{n}")} == {"j0", "j3", "j4"}


def _finished(runner: JobRunner, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        job = runner.get(job_id)
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {runner.get(job_id)}")


def test_an_unfinished_job_is_resumed_where_it_stopped(bench: Workbench) -> None:
    jobs = JobStore(bench.store.engine)
    jobs.create("left", [{"text": f"Article number {n}."} for n in range(3)])
    jobs.begin("left", [0, 1])
    jobs.finish("left", 0, document_id="a" * 20, title="Done before the restart")
    jobs.set_status("left", "running")  # as a server killed mid-job leaves it
    runner = JobRunner(bench)
    assert runner.resume() == ["left"]
    job = _finished(runner, "left")
    assert (job["status"], job["done"], job["restarts"]) == ("done", 3, 1)
    assert [d["index"] for d in job["documents"]] == [0, 1, 2] and job["errors"] == []
    assert bench.store.count() == 2  # the two articles left were analysed and stored


def test_an_article_in_progress_at_every_restart_is_reported_not_retried(bench: Workbench) -> None:
    jobs = JobStore(bench.store.engine)
    jobs.create("stuck", [{"text": "The article that kept stopping the server."}, {"text": "Fine."}])
    for _ in range(MAX_ATTEMPTS):
        jobs.begin("stuck", [0])
    runner = JobRunner(bench)
    runner.resume()
    job = _finished(runner, "stuck")
    assert [e["code"] for e in job["errors"]] == ["E626"] and job["errors"][0]["index"] == 0
    assert "stopped 3 times" in job["errors"][0]["message"]
    assert [d["index"] for d in job["documents"]] == [1] and job["status"] == "done"


def test_shutdown_leaves_the_rest_for_the_next_start(tmp_path: Path) -> None:
    gate = tmp_path / "release"
    first = _workers.workbench(tmp_path)
    runner = JobRunner(first)
    job_id = runner.submit([{"text": "A short one."}, {"text": _workers.gated(gate, words=60)}])["job"]
    deadline = time.monotonic() + WAIT_S
    while runner.get(job_id)["done"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    runner.shutdown()
    first.close()  # the held article is not run to the end: it stays queued (E627 inside)
    left = JobStore(first.store.engine).get(job_id)
    assert left is not None and left.status == "running" and left.done == 1
    gate.touch()
    second = _workers.workbench(tmp_path)
    try:
        again = JobRunner(second)
        assert again.resume() == [job_id]
        job = _finished(again, job_id)
        assert (job["status"], job["done"], job["restarts"], job["errors"]) == ("done", 2, 1, [])
    finally:
        second.close()
