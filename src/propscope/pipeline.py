"""Runs analysers in order over batches of documents (like spaCy's `Language.pipe`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path

from propscope import profiles, registry
from propscope.document import Annotations, Document, Result
from propscope.errors import AnalyzerError
from propscope.registry import Analyzer

DEFAULT_BATCH_SIZE = 16


class Pipeline:
    """An ordered set of analysers whose `requires` are checked once, when it is built."""

    def __init__(self, analyzers: Sequence[Analyzer], model_dir: Path | None = None) -> None:
        self.analyzers = list(analyzers)
        self.model_dir = model_dir  # the technique model folder its analysers read, if known
        _check_requirements(self.analyzers)

    @classmethod
    def from_names(
        cls,
        names: Sequence[str] | None = None,
        profile: str | None = None,
        model: Path | None = None,
        default_profile: str = profiles.DEFAULT_PROFILE,
    ) -> Pipeline:
        """A pipeline of registered analysers; `None` means the default set.

        Args:
            names: analyser names in order (None: the default pipeline).
            profile: `fast` or `accurate` (None: the default profile); E411 unknown, E412 not
                installed, never a silent fall back.
            model: a retrained model folder that replaces the profile's (`--model DIR`).
            default_profile: the profile when none is given (`analyze` and `serve` pass
                `profiles.interactive_default()`).
        """
        chosen = registry.default_names() if names is None else list(names)
        folder = profiles.model_dir(profile, model, default_profile)
        return cls([registry.create(name, folder) for name in chosen], folder)

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.analyzers]

    @property
    def produced(self) -> dict[str, tuple[str, ...]]:
        """Which layers each analyser fills: the store files each layer under its analyser."""
        return {a.name: a.produces for a in self.analyzers}

    @property
    def versions(self) -> dict[str, str]:
        return {a.name: a.version for a in self.analyzers}

    def analyze_batch(
        self, docs: Sequence[Document], upcoming: Sequence[Document] = ()
    ) -> list[Result]:
        """Every analyser over the whole batch, so model calls batch across documents.

        `upcoming` is the batch that follows: its background work (the spaCy parse) is queued
        behind this batch's, so the second core stays busy while this batch's rules run on the
        first instead of idling until the next batch starts. Once the batch is done, even by an
        error, each analyser's `finish` lets go of what it kept for the batch.
        """
        layers = [Annotations() for _ in docs]
        self._prepare(docs)
        if upcoming:
            self._prepare(upcoming)
        try:
            for analyzer in self.analyzers:
                layers = self._run(analyzer, docs, layers)
        finally:
            self._hook("finish", docs)
        return [Result(doc, ann, self.versions) for doc, ann in zip(docs, layers, strict=True)]

    def _run(
        self, analyzer: Analyzer, docs: Sequence[Document], layers: list[Annotations]
    ) -> list[Annotations]:
        """One analyser over the batch, its output checked and merged into `layers`."""
        found = analyzer.analyze(docs, layers)
        if len(found) != len(docs):
            message = AnalyzerError.E_OUTPUT.format(name=analyzer.name, got=len(found), want=len(docs))
            raise AnalyzerError(message)
        for doc, made in zip(docs, found, strict=True):
            made.check(doc.text)
        return [old.merge(new) for old, new in zip(layers, found, strict=True)]

    def _prepare(self, docs: Sequence[Document]) -> None:
        """Start background work before the first analyser runs."""
        self._hook("prepare", docs)

    def _hook(self, name: str, docs: Sequence[Document]) -> None:
        """Call the optional hook `name` (`prepare`: start background work; `finish`: the batch
        is done, let go of what was kept for it) of every analyser that has one."""
        for analyzer in self.analyzers:
            hook = getattr(analyzer, name, None)
            if hook is not None:
                hook(docs)

    def pipe(self, docs: Iterable[Document], batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator[Result]:
        """Analyse a stream lazily, `batch_size` documents at a time, reading one batch ahead."""
        stream = iter(docs)
        batch = list(islice(stream, batch_size))
        while batch:
            upcoming = list(islice(stream, batch_size))
            yield from self.analyze_batch(batch, upcoming)
            batch = upcoming


def _check_requirements(analyzers: Sequence[Analyzer]) -> None:
    produced: set[str] = set()
    for analyzer in analyzers:
        missing = [layer for layer in analyzer.requires if layer not in produced]
        if missing:
            message = AnalyzerError.E_REQUIRES.format(name=analyzer.name, missing=", ".join(missing))
            raise AnalyzerError(message)
        produced.update(analyzer.produces)
