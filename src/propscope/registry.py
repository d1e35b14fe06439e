"""The analyser protocol and registry.

Built-in analysers and third-party ones arrive the same way: through the entry-point group
`propscope.analyzers` (like datasette's plugins), so a package can add an analyser without
touching propscope. Each analyser has a `name`, a `version` (stored with its results, so a newer
model adds results and never overwrites an older one) and a batched `analyze`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from propscope.document import Annotations, Document
from propscope.errors import AnalyzerError

ENTRY_POINT_GROUP = "propscope.analyzers"

DEFAULT_ANALYZERS = ("stats", "techniques", "claims", "entities", "narratives", "narrative_labels")


@runtime_checkable
class Analyzer(Protocol):
    """A pipeline component: documents in, one `Annotations` per document out, in order.

    `produces` names the layers it fills (see `document.LAYERS`); `requires` the layers it reads
    from `prior`, the annotations earlier analysers made for the same documents.

    An analyser may also define `prepare(docs)`: the pipeline calls it on every analyser before
    any of them runs, so slow shared work (the spaCy parse) can start in the background and
    overlap with the analysers ahead of it. It must not block.
    """

    name: str
    version: str
    produces: tuple[str, ...]
    requires: tuple[str, ...]

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]: ...


# Called with no arguments, or with `model_dir=` when it (or the class it loads) takes one:
# the analysers that read the technique encoder get the profile's model folder that way.
AnalyzerFactory = Callable[..., Analyzer]

_registered: dict[str, AnalyzerFactory] = {}


def register(name: str, factory: AnalyzerFactory) -> None:
    """Register an analyser factory in this process (tests, notebooks, plugins without packaging)."""
    _registered[name] = factory
    _factories.cache_clear()


@cache
def _factories() -> dict[str, AnalyzerFactory]:
    found: dict[str, AnalyzerFactory] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found[entry.name] = _lazy(entry.name, entry.load)
    found.update(_registered)
    return found


def _lazy(name: str, load: Callable[[], object]) -> AnalyzerFactory:
    def factory(model_dir: Path | None = None) -> Analyzer:
        try:
            cls = load()
        except Exception as exc:  # a broken plugin must not take the others down
            raise AnalyzerError(AnalyzerError.E_LOAD.format(name=name, reason=exc)) from exc
        analyzer = _construct(cls, model_dir) if callable(cls) else cls
        if not isinstance(analyzer, Analyzer):
            reason = "it does not implement the Analyzer protocol"
            raise AnalyzerError(AnalyzerError.E_LOAD.format(name=name, reason=reason))
        return analyzer

    return factory


def available() -> list[str]:
    """Names of every analyser this installation can run."""
    return sorted(_factories())


def default_names() -> list[str]:
    """The default pipeline: the built-in analysers that are installed, in dependency order."""
    names = _factories()
    return [name for name in DEFAULT_ANALYZERS if name in names]


def _construct(factory: Callable[..., Any], model_dir: Path | None) -> Any:
    """`factory(model_dir=...)` when a folder is given and the factory takes one, else
    `factory()`: analysers that read no technique encoder know nothing of profiles."""
    if model_dir is not None and _takes_model_dir(factory):
        return factory(model_dir=model_dir)
    return factory()


def _takes_model_dir(factory: Callable[..., Any]) -> bool:
    try:
        return "model_dir" in inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin or C callable without a signature
        return False


@cache
def create(name: str, model_dir: Path | None = None) -> Analyzer:
    """The analyser called `name`, created once per process and model folder (models load once).

    Args:
        name: a registered analyser name.
        model_dir: the technique model folder (`profiles.model_dir`), handed to analysers that
            read the technique encoder; None leaves them on their default (the default profile).
    """
    factories = _factories()
    if name not in factories:
        available_names = ", ".join(sorted(factories)) or "none"
        raise AnalyzerError(AnalyzerError.E_UNKNOWN.format(name=name, available=available_names))
    analyzer: Analyzer = _construct(factories[name], model_dir)
    return analyzer
