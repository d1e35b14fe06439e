"""`run_batch`: ingest, skip what is done, analyse the rest on an engine, report."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

from propscope import ingest, profiles, registry
from propscope.api import Failure
from propscope.batch.worker import JobSpec, Outcome
from propscope.config import IngestOptions, default_db_url
from propscope.errors import UsageError
from propscope.ingest import IngestFailure
from propscope.store import Store

ENGINES = ("local", "ray")
CHUNK = 32  # documents per task: small enough that a crash loses little, big enough to batch models
INGEST_CHUNK = 500  # documents stored per transaction while ingesting
E_ENGINE = "E402 unknown engine {engine!r}: use --engine local or --engine ray."


@dataclass
class BatchReport:
    """What a batch did; `exit_code` follows the CLI convention (1 when anything failed)."""

    engine: str
    documents: int = 0
    skipped: int = 0
    analysed: int = 0
    duplicates: int = 0
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    ingest_seconds: float = 0.0  # reading inputs, storing documents, planning (in this process)
    job: str = ""

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "job": self.job,
            "documents": self.documents,
            "skipped": self.skipped,
            "analysed": self.analysed,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            "ingest_seconds": round(self.ingest_seconds, 3),
            "docs_per_second": round(self.analysed / self.seconds, 2) if self.seconds else None,
            "failures": [f.to_json() for f in self.failures],
        }


def run_batch(
    inputs: Sequence[str],
    engine: str = "local",
    address: str | None = None,
    db: str | None = None,
    analyzers: Sequence[str] | None = None,
    workers: int | None = None,
    options: IngestOptions | None = None,
    chunk: int = CHUNK,
    on_total: Callable[[int], None] | None = None,
    on_advance: Callable[[int], None] | None = None,
    profile: str | None = None,
) -> BatchReport:
    """Analyse a corpus into the store, resumably.

    Args:
        inputs: files, directories, URLs (what `propscope ingest` reads).
        engine: "local" (process pool) or "ray" (Ray Data with actors).
        address: the Ray cluster (`HOST:PORT`); None starts a local Ray for this run.
        db: store URL; None is `$PROPSCOPE_DB` or the SQLite file in the user data dir.
        analyzers: analyser names; None is the default pipeline.
        workers: processes or actors (default: CPU count; 0 with "local" runs in-process).
        options: ingest options (field mapping, limits).
        chunk: documents per task.
        on_total, on_advance: progress callbacks (documents to analyse, documents done).
        profile: the model profile (None: `fast`, the corpus default); E411 unknown, E412
            not installed, before anything is read.

    Returns:
        Counts, failures (ingest and analysis; also recorded in the store under `job`) and time.
    """
    if engine not in ENGINES:
        raise UsageError(E_ENGINE.format(engine=engine))
    folder = profiles.model_dir(profile)
    started = time.perf_counter()
    db_url = db or default_db_url()
    report = BatchReport(engine, job=f"batch-{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.getpid()}")
    names = list(analyzers) if analyzers else registry.default_names()
    with Store.open(db_url) as store:
        ids = _ingest(inputs, options or IngestOptions(), store, report)
        pending = _pending(store, ids, names, folder)
        report.documents, report.skipped = len(ids), len(ids) - len(pending)
        if on_total:
            on_total(len(pending))
        store.record_errors(report.failures, job=report.job)  # ingest failures; workers record theirs
    report.ingest_seconds = time.perf_counter() - started
    spec = JobSpec(db_url, tuple(names), report.job, chunk, str(folder))
    _analyse(pending, spec, report, (engine, address, workers), on_advance)
    report.seconds = time.perf_counter() - started
    return report


def _ingest(inputs: Sequence[str], options: IngestOptions, store: Store, report: BatchReport) -> list[str]:
    """Store every readable document (idempotent upsert) and return their ids in input order.

    A duplicate (same text again in this run) is not stored or analysed twice, but its outlet,
    url and date are recorded as a sighting, after the chunk that holds its first copy.
    """
    ids: list[str] = []
    stream = iter(ingest.iter_documents(inputs, options))
    while items := list(islice(stream, INGEST_CHUNK)):
        docs = [item for item in items if not isinstance(item, IngestFailure)]
        copies = [i.document for i in items if isinstance(i, IngestFailure) and i.document is not None]
        for item in items:
            if isinstance(item, IngestFailure):
                if item.duplicate:
                    report.duplicates += 1
                else:
                    report.failures.append(Failure(item.source, item.code, item.message))
        if docs:
            store.save_documents(docs)
            ids.extend(doc.id for doc in docs)
        if copies:
            store.record_sightings(copies)
    return ids


def _pending(store: Store, ids: list[str], names: Sequence[str], folder: Path) -> list[str]:
    """Ids that lack a result from at least one analyser at its current version (which names
    the profile: results of another profile do not count as done)."""
    done = set(ids)
    for name in names:
        done &= store.analysed_ids(name, registry.create(name, folder).version, ids)
    return [doc_id for doc_id in ids if doc_id not in done]


def _analyse(
    pending: list[str],
    spec: JobSpec,
    report: BatchReport,
    where: tuple[str, str | None, int | None],
    on_advance: Callable[[int], None] | None,
) -> None:
    """Hand `pending` to the engine named in `where` (engine, Ray address, workers)."""

    def done(outcomes: list[Outcome]) -> None:
        report.analysed += sum(o.ok for o in outcomes)
        report.failures.extend(o.failure() for o in outcomes if not o.ok)
        if on_advance:
            on_advance(len(outcomes))

    engine, address, workers = where
    count = (os.cpu_count() or 1) if workers is None else workers
    if not pending:
        return
    if engine == "ray":
        from propscope.batch.ray_engine import run_ray

        run_ray(pending, spec, max(count, 1), done, address)
    else:
        from propscope.batch.local import run_local

        run_local(pending, spec, count, done)
