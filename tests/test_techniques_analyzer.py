"""The bundled technique model: exact offsets on any text, any length, sensible labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from propscope.analyzers.techniques import MODEL_DIR, TechniqueAnalyzer, TechniqueModel
from propscope.document import Document
from propscope.errors import AnalyzerError
from propscope.models.runtime import window_owner, window_starts
from propscope.techniques import NAMES, TECHNIQUES, technique

SPECIMEN = Path(__file__).resolve().parents[2] / "shared" / "examples" / "neo-kazakhstan-2022.txt"

needs_model = pytest.mark.skipif(
    not (MODEL_DIR / "model.onnx").is_file(), reason="bundled technique model not present"
)

LOADED = (
    "These traitors and criminals have shamelessly betrayed our great nation!\r\n"
    "The corrupt, lying elites 😡 want to destroy everything we love. 東京 café naïve —\r\n"
    "They lie, they lie, they lie. Wake up, patriots, before it is too late!"
)


@pytest.fixture(scope="module")
def analyzer() -> TechniqueAnalyzer:
    return TechniqueAnalyzer()


@pytest.mark.parametrize("count", [14])
def test_technique_table(count: int) -> None:
    assert len(TECHNIQUES) == len(NAMES) == count
    assert all(t.colour.startswith("#") and len(t.colour) == 7 for t in TECHNIQUES)
    assert technique("Doubt").label == "Doubt"
    with pytest.raises(KeyError, match="unknown technique"):
        technique("Nope")


@pytest.mark.parametrize(("n", "size", "stride"), [(0, 10, 5), (7, 10, 5), (23, 10, 5), (40, 10, 4)])
def test_windows_cover_every_token(n: int, size: int, stride: int) -> None:
    starts = window_starts(n, size, stride)
    covered = set().union(*(range(s, min(s + size, n)) for s in starts))
    assert covered == set(range(n))
    owner = window_owner(n, size, starts)
    for k, w in enumerate(owner.tolist()):
        assert starts[w] <= k < starts[w] + size


@pytest.mark.parametrize("folder", ["missing-model"])
def test_missing_model_is_a_coded_error(tmp_path: Path, folder: str) -> None:
    with pytest.raises(AnalyzerError, match="E204"):
        TechniqueModel(tmp_path / folder)


def _check(doc: Document, analyzer: TechniqueAnalyzer) -> list:
    (result,) = analyzer.analyze([doc])
    result.check(doc.text)  # raises unless text[start:end] == span.text for every span
    for span in result.techniques:
        assert span.technique in NAMES
        assert 0.0 <= span.score <= 1.0
        assert span.text == span.text.strip()
    return list(result.techniques)


@needs_model
@pytest.mark.parametrize("text", [LOADED, "", "   \n ", "😡" * 50, "東京は大きい都市です。" * 20])
def test_offsets_exact_on_unicode(analyzer: TechniqueAnalyzer, text: str) -> None:
    _check(Document(text), analyzer)


@needs_model
@pytest.mark.parametrize("text", [LOADED])
def test_finds_loaded_language(analyzer: TechniqueAnalyzer, text: str) -> None:
    found = {s.technique for s in _check(Document(text), analyzer)}
    assert found & {"Loaded_Language", "Name_Calling,Labeling"}


@needs_model
@pytest.mark.parametrize("repeat", [40])
def test_long_article_is_windowed_not_truncated(analyzer: TechniqueAnalyzer, repeat: int) -> None:
    text = "\n".join([LOADED] * repeat)  # ~3,000 word pieces: a dozen windows
    spans = _check(Document(text), analyzer)
    assert max(s.end for s in spans) > len(text) * 0.9


@needs_model
@pytest.mark.parametrize("batch", [3])
def test_batch_equals_single(analyzer: TechniqueAnalyzer, batch: int) -> None:
    docs = [Document(LOADED), Document("Short."), Document(LOADED * 5)]
    together = analyzer.analyze(docs)
    alone = [analyzer.analyze([d])[0] for d in docs]
    for a, b in zip(together, alone, strict=True):
        assert [(s.start, s.end, s.technique) for s in a.techniques] == [
            (s.start, s.end, s.technique) for s in b.techniques
        ]
        # dynamic int8 quantises activations per batch, so scores move a little with the batch
        # (0.051 on this test with techniques-minilm-3)
        scores_a, scores_b = [s.score for s in a.techniques], [s.score for s in b.techniques]
        assert np.allclose(scores_a, scores_b, atol=0.08)


@needs_model
@pytest.mark.skipif(not SPECIMEN.is_file(), reason=f"specimen article absent: {SPECIMEN}")
@pytest.mark.parametrize("wanted", [{"Loaded_Language", "Name_Calling,Labeling"}])
def test_specimen(analyzer: TechniqueAnalyzer, wanted: set[str]) -> None:
    doc = Document(SPECIMEN.read_text(encoding="utf-8"))
    found = {s.technique for s in _check(doc, analyzer)}
    assert wanted <= found
