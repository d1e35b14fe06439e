"""The public entry points: `load`, `analyze`, and `run`, the batch loop the CLI drives.

A batch never stops for one bad document: ingest failures and analyser failures become
`Failure` records, and every other document is still analysed and stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from propscope import ingest, profiles
from propscope.config import IngestOptions
from propscope.document import Document, Result
from propscope.errors import PropscopeError, StoreError
from propscope.ingest import IngestFailure
from propscope.pipeline import DEFAULT_BATCH_SIZE, Pipeline
from propscope.store import Store

Source = str | Path | Document


def load(source: str | Path, options: IngestOptions | None = None) -> Document:
    """Read one article from a path, a URL or "-" (stdin).

    Args:
        source: a file path, an http(s) URL, or "-".
        options: limits, field mapping and URL policy; defaults are safe.

    Returns:
        The clean `Document` (boilerplate stripped, metadata detected).
    """
    return ingest.load(str(source), options or IngestOptions())


def analyze(
    source: Source,
    analyzers: Sequence[str] | None = None,
    profile: str | None = None,
    model: str | Path | None = None,
) -> Result:
    """Analyse one article.

    Args:
        source: a `Document`, or a path/URL/"-" that `load` reads. For raw text, pass
            `Document(text=...)`.
        analyzers: analyser names in order; `None` runs the default pipeline.
        profile: "accurate" or "fast" (default: accurate where installed, else fast). An
            unknown profile raises `UsageError` E411, one not installed E412.
        model: a folder made by `propscope train techniques`, instead of the profile's model.

    Returns:
        The `Result`: the document and every annotation layer; its analyser versions name the
        profile (`techniques-…+fast`).
    """
    folder = Path(model) if model is not None else None
    pipeline = Pipeline.from_names(analyzers, profile, folder, profiles.interactive_default())
    document = source if isinstance(source, Document) else load(source)
    return pipeline.analyze_batch([document])[0]


@dataclass(frozen=True)
class Failure:
    """One input that could not be processed, and why (written by `--errors-out`)."""

    source: str
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"source": self.source, "code": self.code, "message": self.message}


@dataclass
class RunReport:
    """What a batch did: counts for the summary line and failures for the error report."""

    analysed: int = 0
    stored: int = 0
    skipped_duplicates: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


def run(
    sources: Sequence[str],
    pipeline: Pipeline | None,
    store: Store | None,
    options: IngestOptions | None = None,
    on_result: Callable[[Result], None] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> RunReport:
    """Ingest `sources`, analyse them (unless `pipeline` is None), store and report each result.

    Documents are processed `batch_size` at a time; each batch is stored in one transaction.
    Duplicates (the same text again, e.g. from another outlet) are skipped but recorded in the
    store as sightings of the document, once the batch holding its first copy is stored.
    """
    report = RunReport()
    copies: list[Document] = []
    stream = _documents(sources, options or IngestOptions(), report, copies)
    batch = list(islice(stream, batch_size))
    while batch:
        read_with_batch = _take(copies)
        upcoming = list(islice(stream, batch_size))  # read ahead: its parse starts early
        results = _analyse(batch, pipeline, report, upcoming)
        if store is not None and results:
            _store(store, results, pipeline, report)
        _record_sightings(store, read_with_batch)
        for result in results:
            if on_result:
                on_result(result)
        batch = upcoming
    _record_sightings(store, copies)  # duplicates read after the last batch was stored
    if store is not None and report.failures:
        store.record_errors(report.failures)
    return report


def _take(copies: list[Document]) -> list[Document]:
    taken = list(copies)
    copies.clear()
    return taken


def _record_sightings(store: Store | None, copies: list[Document]) -> None:
    """Keep the outlet, url and date of skipped duplicates: an identical copy is still a publication."""
    if store is not None and copies:
        store.record_sightings(copies)
    copies.clear()


def _store(store: Store, results: list[Result], pipeline: Pipeline | None, report: RunReport) -> None:
    """Save a batch in one transaction; if it is refused, retry one by one to lose only the bad one."""
    produced = pipeline.produced if pipeline else None
    try:
        report.stored += store.save(results, produced=produced)
        return
    except StoreError:
        pass
    for result in results:
        try:
            store.save([result], produced=produced)
            report.stored += 1
        except StoreError as exc:
            report.failures.append(Failure(_name(result.document), exc.code, str(exc)))


def _documents(
    sources: Sequence[str], options: IngestOptions, report: RunReport, copies: list[Document]
) -> Iterator[Document]:
    for item in ingest.iter_documents(sources, options):
        if isinstance(item, IngestFailure) and item.duplicate:
            report.skipped_duplicates += 1  # already read in this run: skipped, not an error
            if item.document is not None:
                copies.append(item.document)
        elif isinstance(item, IngestFailure):
            report.failures.append(Failure(item.source, item.code, item.message))
        else:
            yield item


def _analyse(
    batch: list[Document], pipeline: Pipeline | None, report: RunReport, upcoming: list[Document]
) -> list[Result]:
    if pipeline is None:
        return [Result(doc) for doc in batch]
    try:
        results = pipeline.analyze_batch(batch, upcoming)
    except Exception:
        # One document broke the batch: retry one by one so only that document is lost.
        results = list(_analyse_each(batch, pipeline, report))
    report.analysed += len(results)
    return results


def _analyse_each(batch: Iterable[Document], pipeline: Pipeline, report: RunReport) -> Iterator[Result]:
    for doc in batch:
        try:
            yield pipeline.analyze_batch([doc])[0]
        except PropscopeError as exc:
            report.failures.append(Failure(_name(doc), exc.code, str(exc)))
        except Exception as exc:  # an analyser bug must not sink the other documents
            report.failures.append(
                Failure(_name(doc), "E299", f"E299 {_name(doc)}: analyser crashed: {exc!r}")
            )


def _name(doc: Document) -> str:
    return doc.source or doc.url or doc.id
