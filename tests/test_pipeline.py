"""The analyser protocol, registry and pipeline."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import propscope
from propscope import Analyzer, AnalyzerError, Annotations, Document, Pipeline, TechniqueSpan, registry
from propscope.analyzers.stats import StatsAnalyzer, count_syllables, text_stats


class UpperWords:
    """A toy third-party analyser: marks every all-caps word as Slogans."""

    name = "upper"
    version = "upper-1"
    produces = ("techniques",)
    requires: tuple[str, ...] = ()

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        found = []
        for doc in docs:
            spans = []
            offset = 0
            for word in doc.text.split(" "):
                if word.isupper() and len(word) > 1:
                    spans.append(TechniqueSpan(offset, offset + len(word), word, "Slogans", 1.0))
                offset += len(word) + 1
            found.append(Annotations(techniques=tuple(spans)))
        return found


class NeedsTechniques(UpperWords):
    name = "needs"
    produces = ("stats",)
    requires = ("techniques",)

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        assert prior is not None
        return [Annotations(stats={"seen": len(p.techniques)}) for p in prior]


class Broken(UpperWords):
    name = "broken"

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        return []


def test_public_api_is_complete() -> None:
    for name in propscope.__all__:
        assert hasattr(propscope, name), name
    exported = {n for n in dir(propscope) if not n.startswith("_") and n[0].isupper()}
    assert exported <= set(propscope.__all__)


def test_stats_is_registered_by_entry_point() -> None:
    assert "stats" in registry.available()
    assert isinstance(registry.create("stats"), Analyzer)


def test_unknown_analyzer_names_the_available_ones() -> None:
    with pytest.raises(AnalyzerError, match=r"E200.*stats"):
        registry.create("no-such-analyzer")


def test_third_party_analyzer_runs_in_pipeline() -> None:
    pipeline = Pipeline([UpperWords(), NeedsTechniques()])
    [result] = pipeline.analyze_batch([Document(text="we say NO to WAR now")])
    assert [s.text for s in result.techniques] == ["NO", "WAR"]
    assert result.stats == {"seen": 2}
    assert result.analyzers == {"upper": "upper-1", "needs": "upper-1"}


def test_register_makes_analyzer_available_by_name() -> None:
    registry.register("upper", UpperWords)
    assert "upper" in registry.available()
    [result] = Pipeline.from_names(["upper"]).analyze_batch([Document(text="VOTE now")])
    assert result.techniques[0].text == "VOTE"


def test_missing_requirement_is_refused_up_front() -> None:
    with pytest.raises(AnalyzerError, match="E201"):
        Pipeline([NeedsTechniques()])


def test_analyzer_returning_wrong_count_is_caught() -> None:
    with pytest.raises(AnalyzerError, match="E202"):
        Pipeline([Broken()]).analyze_batch([Document(text="x")])


def test_pipe_batches_a_stream() -> None:
    docs = (Document(text=f"doc number {i}") for i in range(7))
    results = list(Pipeline([StatsAnalyzer()]).pipe(docs, batch_size=3))
    assert [r.stats["words"] for r in results] == [2] * 7


@pytest.mark.parametrize(("word", "syllables"), [("cat", 1), ("table", 2), ("propaganda", 4), ("free", 1)])
def test_count_syllables(word: str, syllables: int) -> None:
    assert count_syllables(word) == syllables


def test_stats_flags_misspellings_not_names_or_british_spelling() -> None:
    stats = text_stats("Tokayev organised the continious recieving of aid. It was a colour revolution.")
    assert stats["words"] == 12
    assert stats["sentences"] == 2
    assert set(stats["misspellings"]) == {"continious", "recieving"}
    assert stats["misspelling_rate"] == pytest.approx(2 / 12, abs=1e-3)


@pytest.mark.parametrize("text", ["", "   ", "12 34"])
def test_stats_on_wordless_text(text: str) -> None:
    stats = text_stats(text)
    assert stats["words"] == 0
    assert stats["flesch_kincaid_grade"] is None


class Prepared(UpperWords):
    """Records when the pipeline asks it to prepare and when it analyses."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def prepare(self, docs: Sequence[Document]) -> None:
        self.log.append(f"prepare {self.name} {len(docs)}")

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        self.log.append(f"analyze {self.name}")
        return [Annotations() for _ in docs]


def test_every_prepare_runs_before_the_first_analyser() -> None:
    log: list[str] = []
    pipeline = Pipeline([StatsAnalyzer(), Prepared("a", log), Prepared("b", log)])
    pipeline.analyze_batch([Document("One text."), Document("Another text.")])
    assert log == ["prepare a 2", "prepare b 2", "analyze a", "analyze b"]


def test_pipe_prepares_the_next_batch_before_analysing_this_one() -> None:
    log: list[str] = []
    docs = [Document(f"Text number {i}.") for i in range(5)]
    list(Pipeline([Prepared("a", log)]).pipe(docs, batch_size=2))
    assert log == [
        "prepare a 2", "prepare a 2", "analyze a",  # batch 1, then batch 2 queued behind it
        "prepare a 2", "prepare a 1", "analyze a",  # batch 2 (a cached no-op for the parse), 3
        "prepare a 1", "analyze a",  # the last batch has none after it
    ]
