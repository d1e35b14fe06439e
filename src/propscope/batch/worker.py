"""What runs inside a batch worker (a pool process or a Ray actor): read, analyse, store.

A worker builds its pipeline and opens the store once, when it starts, so models load once per
worker, then handles chunks of document ids. Each chunk's results are saved in one transaction
(the store's `save`), so a worker killed mid-chunk leaves nothing half-written, and a rerun redoes
only that chunk. A document whose analysis fails is recorded in the store's error table and the
chunk goes on without it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from propscope.api import Failure
from propscope.document import Document, Result
from propscope.errors import PropscopeError
from propscope.pipeline import Pipeline
from propscope.store import Store
from propscope.store._rows import document_from_row
from propscope.store.schema import documents

E_CRASH = "E299"  # same code `propscope.api` uses for an analyser that raised a non-propscope error
_CODE = re.compile(r"E\d{3} ")


@dataclass(frozen=True)
class JobSpec:
    """What every worker of one batch needs to know; small and picklable, sent to each worker."""

    db_url: str
    analyzers: tuple[str, ...]
    job: str
    chunk: int
    model_dir: str | None = None  # the profile's technique model folder (profiles.model_dir)


@dataclass(frozen=True)
class Outcome:
    """How one document of a chunk ended; a failure carries what was recorded in the store."""

    id: str
    ok: bool
    source: str = ""
    code: str = ""
    message: str = ""

    def failure(self) -> Failure:
        return Failure(self.source or self.id, self.code, self.message)


class Worker:
    """A pipeline and a store connection, made once per worker process or actor."""

    def __init__(self, spec: JobSpec) -> None:
        model = Path(spec.model_dir) if spec.model_dir else None
        self.pipeline = Pipeline.from_names(spec.analyzers, model=model)
        self.store = Store.open(spec.db_url)
        self.job = spec.job
        self.produced = {a.name: a.produces for a in self.pipeline.analyzers}

    def process(self, ids: Sequence[str]) -> list[Outcome]:
        """Analyse and store the documents `ids`; failures are recorded, not raised."""
        docs = self._load(ids)
        results, failures = self._analyse(docs)
        if results:
            self.store.save(results, self.produced, sighted=False)  # read back, not seen anew
        if failures:
            self.store.record_errors(failures.values(), job=self.job)
        outcomes = [Outcome(r.document.id, True) for r in results]
        outcomes += [Outcome(i, False, f.source, f.code, f.message) for i, f in failures.items()]
        missing = set(ids) - {d.id for d in docs}  # deleted from the store since it was planned
        outcomes += [
            Outcome(i, False, i, "E301", f"E301 document {i} is no longer in the store.") for i in missing
        ]
        return outcomes

    def _load(self, ids: Sequence[str]) -> list[Document]:
        query = select(documents).where(documents.c.id.in_(list(ids)))
        with self.store.engine.connect() as conn:
            found = {row.id: document_from_row(row) for row in conn.execute(query)}
        return [found[i] for i in ids if i in found]

    def _analyse(self, docs: list[Document]) -> tuple[list[Result], dict[str, Failure]]:
        """Results by document id order, and failures by document id."""
        try:
            return self.pipeline.analyze_batch(docs), {}
        except Exception:  # one document broke the batch: find it, keep the others
            pass
        results: list[Result] = []
        failures: dict[str, Failure] = {}
        for doc in docs:
            try:
                results.extend(self.pipeline.analyze_batch([doc]))
            except Exception as exc:  # an analyser bug must not sink the job
                failures[doc.id] = _failure(doc, exc)
        return results, failures

    def close(self) -> None:
        self.store.close()


def _failure(doc: Document, exc: Exception) -> Failure:
    source = doc.source or doc.url or doc.id
    if isinstance(exc, PropscopeError):
        message = str(exc)  # the catalogue code leads the message (E204), the class has its family's
        code = message.split(" ", 1)[0] if _CODE.match(message) else exc.code
        return Failure(source, code, message)
    return Failure(source, E_CRASH, f"{E_CRASH} {source}: analyser crashed: {exc!r}")
