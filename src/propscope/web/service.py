"""The workbench behind the web app: one store, one pipeline, bounded analysis concurrency.

Analysis is CPU-bound, so requests do not each run the pipeline: they queue their documents on
a `Batcher`, whose one worker analyses and stores them a batch at a time (see batcher.py).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from propscope.config import IngestOptions
from propscope.document import Document, Result
from propscope.errors import PropscopeError, WebError
from propscope.pipeline import Pipeline
from propscope.store import Store
from propscope.web.batcher import MAX_BATCH, QUEUE_LIMIT, Batcher

API_SOURCE = "<api>"
MAX_BODY_BYTES = 6_000_000  # the 5 MB text limit of the CLI plus JSON escaping overhead
# The full pipeline takes ~2-8 s for a long article on 2 cores; 50 clients posting at once wait
# for up to 50 of them (batched), so the limit is generous.
ANALYZE_TIMEOUT_S = 300.0
BATCH_LIMIT = 100
META_FIELDS = ("title", "author", "outlet", "published")


@dataclass(frozen=True)
class Settings:
    """How the app is served; tests shrink the limits and pick cheap analysers."""

    db_url: str | None = None
    require_tokens: bool = False
    analyzers: Sequence[str] | None = None
    allowed_hosts: Sequence[str] | None = ("127.0.0.1", "localhost", "::1", "[::1]")
    max_body_bytes: int = MAX_BODY_BYTES
    analyze_timeout_s: float = ANALYZE_TIMEOUT_S
    max_batch: int = MAX_BATCH
    queue_limit: int = QUEUE_LIMIT
    batch_limit: int = BATCH_LIMIT
    ingest: IngestOptions = field(default_factory=IngestOptions)


class Workbench:
    """Opens the store once; builds the pipeline on first use (models load once per process)."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or Store.open(settings.db_url)
        self._pipeline: Pipeline | None = None
        self._pipeline_lock = threading.Lock()
        self._batcher = Batcher(self._analyse_and_save, settings.max_batch, limit=settings.queue_limit)
        self.generation = 0  # bumped on every save, so corpus caches know to recompute

    @property
    def pipeline(self) -> Pipeline:
        with self._pipeline_lock:
            if self._pipeline is None:
                self._pipeline = Pipeline.from_names(self.settings.analyzers)
            return self._pipeline

    def document_from(self, payload: Mapping[str, Any]) -> Document:
        """The Document for one request item: {"text"} | {"html"} | {"url"}, plus metadata."""
        given = [key for key in ("text", "html", "url") if payload.get(key)]
        if len(given) != 1:
            raise WebError(WebError.E_ONE_SOURCE.format(got=", ".join(given) or "none"), 422)
        doc = _read(given[0], str(payload[given[0]]), self.settings.ingest)
        overrides = {k: str(payload[k]) for k in META_FIELDS if payload.get(k)}
        return doc.with_(**overrides) if overrides else doc

    def analyse(self, doc: Document) -> Result:
        """Analyse and store one document, batched with others posted meanwhile (E607, E608)."""
        future = self._batcher.submit(doc)
        try:
            return future.result(timeout=self.settings.analyze_timeout_s)
        except TimeoutError as exc:
            raise WebError(WebError.E_TIMEOUT.format(seconds=self.settings.analyze_timeout_s), 504) from exc

    def _analyse_and_save(self, docs: Sequence[Document]) -> list[Result]:
        results = self.pipeline.analyze_batch(docs)
        self.save(results)
        return results

    def save(self, results: Sequence[Result]) -> None:
        """Store results, filing each layer under the analyser that produced it."""
        produced = {a.name: a.produces for a in self.pipeline.analyzers}
        self.store.save(results, produced)
        self.generation += 1

    def close(self) -> None:
        self.store.close()


PROBE = Document(text="Officials said on Monday that the council approved the new budget.")


def usable_analyzers(names: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The analysers that run here (in order), and why each other one does not.

    A workbench with one model missing (not trained or not installed yet) should still serve
    the rest, so `propscope serve` tries each analyser once, after those it already kept.
    """
    kept: list[str] = []
    dropped: dict[str, str] = {}
    for name in names:
        try:
            Pipeline.from_names([*kept, name]).analyze_batch([PROBE])
        except PropscopeError as exc:
            dropped[name] = str(exc)
            continue
        kept.append(name)
    return kept, dropped


def _read(kind: str, value: str, options: IngestOptions) -> Document:
    """Turn request text, HTML or a URL into a Document exactly as the CLI would."""
    if kind == "text":
        from propscope.ingest.text import text_document

        return text_document(value, API_SOURCE)
    if kind == "html":
        from propscope.ingest.html import html_document

        return html_document(value, API_SOURCE)
    from propscope import ingest

    return ingest.load(value, options)  # the safe fetcher: private addresses refused (E021)


def links(doc_id: str) -> dict[str, str]:
    """Where a stored document can be read, as HTML and as JSON."""
    return {"html": f"/documents/{doc_id}", "json": f"/documents/{doc_id}.json"}


def result_json(result: Result) -> dict[str, Any]:
    """The `propscope analyze --format json` object plus links to the stored document."""
    return {**result.to_json(), "links": links(result.document.id)}
