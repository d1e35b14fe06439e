"""The workbench behind the web app: one store, and analyses in bounded worker processes.

Analysis is CPU-bound, so the server never runs it on its event loop or in its own threads:
requests queue their documents on one of two lanes, each a `Batcher` feeding one worker process
(see batcher.py and workers.py). Ordinary articles share the small lane, micro-batched; a long
document goes to the large lane, whose process runs at a lower priority and is replaced after
each document, so it neither delays the small requests behind it nor keeps its memory.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from propscope.config import IngestOptions
from propscope.document import Document, Result
from propscope.errors import IngestError, PropscopeError, StoreError, WebError
from propscope.store import Store
from propscope.web.batcher import MAX_BATCH, QUEUE_LIMIT, Batcher
from propscope.web.workers import STOP_GRACE_S, Worker, WorkerSpec

log = logging.getLogger("propscope.web")

API_SOURCE = "<api>"
# The API body limit: a batch of ordinary articles (up to BATCH_LIMIT) plus JSON escaping. Each
# article in it is held to the CLI's per-document limit (config.DEFAULT_MAX_BYTES, E013), and the
# large lane reads big ones one at a time, so a full body never runs as one analysis.
MAX_BODY_BYTES = 6_000_000
# The full pipeline takes ~2-8 s for a long article on 2 cores; 50 clients posting at once wait
# for up to 50 of them (batched), so the limit is generous.
ANALYZE_TIMEOUT_S = 300.0
# One article of a batch job: nobody waits on the line for it, so a long document gets the time
# it needs (a 1.5 MB article took 685 s before the analysers were made linear).
JOB_TIMEOUT_S = 1800.0
BATCH_LIMIT = 100
META_FIELDS = ("title", "author", "outlet", "published")
# Longer texts take the large lane: ~3,500 words, longer than nearly every news article, and ~3 s
# of the full pipeline on 2 cores, so a small request never waits long behind one.
SMALL_MAX_CHARS = 20_000
# A small-lane batch holds at most this many characters: 16 ordinary articles (~4,000 characters
# each) fit, and company never makes a batch as costly as one long document.
SMALL_BATCH_CHARS = 100_000
LARGE_QUEUE_LIMIT = 10  # long documents waiting; each costs minutes, so more would only time out
LARGE_NICE = 10  # the large lane yields the CPU to the small one on a small machine
# The small lane's process is replaced once it holds more than this (the default pipeline loaded
# takes ~0.5 GB; the memory target for the largest document is 1.5 GB).
SMALL_RSS_LIMIT = 1_500_000_000


@dataclass(frozen=True)
class Settings:
    """How the app is served; tests shrink the limits and pick cheap analysers."""

    db_url: str | None = None
    require_tokens: bool = False
    analyzers: Sequence[str] | None = None
    model_dir: str | None = None  # the served profile's model folder (None: the default profile)
    allowed_hosts: Sequence[str] | None = ("127.0.0.1", "localhost", "::1", "[::1]")
    max_body_bytes: int = MAX_BODY_BYTES
    analyze_timeout_s: float = ANALYZE_TIMEOUT_S
    job_timeout_s: float = JOB_TIMEOUT_S
    max_batch: int = MAX_BATCH
    queue_limit: int = QUEUE_LIMIT
    batch_limit: int = BATCH_LIMIT
    small_max_chars: int = SMALL_MAX_CHARS
    small_batch_chars: int = SMALL_BATCH_CHARS
    small_rss_limit: int | None = SMALL_RSS_LIMIT
    large_queue_limit: int = LARGE_QUEUE_LIMIT
    ingest: IngestOptions = field(default_factory=IngestOptions)


class Workbench:
    """Opens the store once; analyses in two worker processes started on first use."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or Store.open(settings.db_url)
        url = _shared_url(self.store)
        self.small = Worker(WorkerSpec.of(settings.analyzers, url, model_dir=settings.model_dir), "small",
                            rss_limit=settings.small_rss_limit)
        self.large = Worker(WorkerSpec.of(settings.analyzers, url, LARGE_NICE, settings.model_dir), "large",
                            recycle_each=True)
        self._lanes = (
            Batcher(self._counting(self.small), settings.max_batch, limit=settings.queue_limit,
                    max_chars=settings.small_batch_chars, name="small"),
            Batcher(self._counting(self.large), 1, limit=settings.large_queue_limit, name="large"),
        )
        self.generation = 0  # bumped on every save, so corpus caches know to recompute

    def document_from(self, payload: Mapping[str, Any]) -> Document:
        """The Document for one request item: {"text"} | {"html"} | {"url"}, plus metadata."""
        given = [key for key in ("text", "html", "url") if payload.get(key)]
        if len(given) != 1:
            raise WebError(WebError.E_ONE_SOURCE.format(got=", ".join(given) or "none"), 422)
        doc = _read(given[0], str(payload[given[0]]), self.settings.ingest)
        overrides = {k: str(payload[k]) for k in META_FIELDS if payload.get(k)}
        return doc.with_(**overrides) if overrides else doc

    def submit(self, doc: Document, timeout: float | None = None) -> Future[Result]:
        """Queue one document on its lane; the future holds its stored result (or its error)."""
        seconds = self.settings.analyze_timeout_s if timeout is None else timeout
        small, large = self._lanes
        lane = large if len(doc.text) > self.settings.small_max_chars else small
        return lane.submit(doc, seconds)

    def analyse(self, doc: Document, timeout: float | None = None) -> Result:
        """Analyse and store one document, batched with others posted meanwhile (E607, E608)."""
        seconds = self.settings.analyze_timeout_s if timeout is None else timeout
        future = self.submit(doc, seconds)
        try:  # the lane answers E607 itself once it has stopped the batch; this is a backstop
            return future.result(timeout=seconds + STOP_GRACE_S)
        except TimeoutError as exc:
            raise WebError(WebError.E_TIMEOUT.format(seconds=seconds), 504) from exc

    def warm(self) -> None:
        """Start the small lane's process and load its models (server start-up, not tests)."""
        try:
            self.small.warm()
        except PropscopeError as exc:  # the first request will report it the same way
            log.warning("could not start the analysis worker: %s", exc)

    def _counting(self, worker: Worker) -> Callable[[Sequence[Document], float], list[Result]]:
        """The worker, bumping `generation` once a batch is stored and before anyone is answered."""

        def run(docs: Sequence[Document], seconds: float) -> list[Result]:
            results = worker(docs, seconds)
            self.generation += 1
            return results

        return run

    def close(self) -> None:
        """Stop the lanes and their processes, then the store."""
        for lane in self._lanes:
            lane.close()
        self.small.close()
        self.large.close()
        self.store.close()


def _shared_url(store: Store) -> str:
    """The store's full URL, for the worker processes to open (E316 if they cannot)."""
    url = store.engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        raise StoreError(StoreError.E_MEMORY_STORE.format(url=store.url))
    return url.render_as_string(hide_password=False)


PROBE = Document(text="Officials said on Monday that the council approved the new budget.")


def usable_analyzers(names: Sequence[str], model_dir: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The analysers that run here (in order), and why each other one does not.

    A workbench with one model missing (not trained or not installed yet) should still serve
    the rest, so `propscope serve` tries each analyser once, after those it already kept. The
    probe runs in a throwaway process: the server itself never loads a model.
    """
    context = multiprocessing.get_context("spawn")
    spec = WorkerSpec.of(names, "", model_dir=model_dir)
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(probe, spec).result()


def probe(spec: WorkerSpec) -> tuple[list[str], dict[str, str]]:
    """`usable_analyzers` in this process (the probe process)."""
    from dataclasses import replace

    from propscope import registry

    for name, factory in spec.registered.items():
        registry.register(name, factory)
    kept: list[str] = []
    dropped: dict[str, str] = {}
    for name in spec.analyzers or ():
        try:
            replace(spec, analyzers=(*kept, name)).pipeline().analyze_batch([PROBE])
        except PropscopeError as exc:
            dropped[name] = str(exc)
            continue
        kept.append(name)
    return kept, dropped


def _read(kind: str, value: str, options: IngestOptions) -> Document:
    """Turn request text, HTML or a URL into a Document exactly as the CLI would (and with
    its per-document size limit: a body may carry a batch, not one article that big)."""
    if kind != "url" and (size := len(value.encode("utf-8", "surrogatepass"))) > options.max_bytes:
        raise IngestError(
            IngestError.E_TOO_LARGE.format(source=API_SOURCE, size=size, limit=options.max_bytes),
            API_SOURCE,
        )
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
