"""The bundled technique model: exact offsets on any text, any length, sensible labels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from propscope.analyzers.techniques import MODEL_DIR, TechniqueAnalyzer, TechniqueModel
from propscope.document import Document
from propscope.errors import AnalyzerError
from propscope.models.calibration import calibration_inputs
from propscope.models.runtime import Tokens, line_windows, load_tokenizer, tokenize, window_cuts
from propscope.models.technique_head import decode_spans
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


def _words(text: str) -> Tokens:
    """One token per whitespace-separated word, with its character offsets."""
    offsets = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    return Tokens(np.arange(len(offsets), dtype=np.int64), np.asarray(offsets, dtype=np.int64).reshape(-1, 2))


LINES = "\n".join(" ".join(f"w{k}" for k in range(length)) for length in (3, 4, 2, 12, 1, 5))


@pytest.mark.parametrize("by_lines", [False, True])
@pytest.mark.parametrize(
    ("text", "size", "stride"), [("", 10, 5), ("a b c", 10, 5), (LINES, 10, 5), (LINES, 6, 4)]
)
def test_windows_answer_for_every_token_once(text: str, size: int, stride: int, by_lines: bool) -> None:
    tokens = _words(text)
    cuts = window_cuts(text, tokens, size, stride, by_lines)
    owned = [k for cut in cuts for k in range(cut.own_start, cut.own_end)]
    assert owned == list(range(len(tokens)))
    for cut in cuts:
        assert cut.start <= cut.own_start <= cut.own_end <= cut.end <= cut.start + size


@pytest.mark.parametrize(
    ("size", "expected"),
    [(10, [(0, 9), (9, 19), (19, 27)]), (6, [(0, 3), (3, 9), (9, 15), (15, 21), (21, 27)])],
)
def test_line_windows_pack_whole_lines(size: int, expected: list[tuple[int, int]]) -> None:
    """Lines of 3, 4, 2, 12, 1 and 5 words: packed while they fit; a line longer than a window
    is cut, and its rest packed with the lines after it."""
    assert line_windows(_words(LINES), LINES, size) == expected


def test_a_line_longer_than_a_window_gets_overlapping_windows() -> None:
    cuts = window_cuts(LINES, _words(LINES), 10, 5, by_lines=True)
    assert [(c.start, c.end, c.own_start, c.own_end) for c in cuts] == [
        (0, 9, 0, 9),  # three short lines packed
        (9, 19, 9, 15),  # the 12-word line: two windows, each answering for its own part
        (11, 21, 15, 21),
        (21, 27, 21, 27),  # the last two lines
    ]


def test_stride_windows_keep_each_token_where_it_is_most_central() -> None:
    text = " ".join(f"w{k}" for k in range(40))
    cuts = window_cuts(text, _words(text), 10, 4, by_lines=False)
    for cut in cuts[1:-1]:
        assert cut.own_start - cut.start >= 2 and cut.end - cut.own_end >= 2


@pytest.mark.parametrize("folder", ["missing-model"])
def test_missing_model_is_a_coded_error(tmp_path: Path, folder: str) -> None:
    with pytest.raises(AnalyzerError, match="E204"):
        TechniqueModel(tmp_path / folder)


@pytest.mark.parametrize(
    ("text", "word", "expected"),
    [
        ("Doesn\u2019t he know?", "doesn", "Doesn\u2019t"),
        ("It is Russia's fault.", "russia", "Russia's"),
        ("a 'quoted' word", "quoted", "quoted"),  # quotes around a word are not inside it
        ("where Russophobes gather", "russo", "Russophobes"),  # a word piece grows to its word
    ],
)
def test_spans_cover_whole_words(text: str, word: str, expected: str) -> None:
    tokens = tokenize(load_tokenizer(str(MODEL_DIR / "tokenizer.json")), text)
    probs = np.tile([1.0, 0.0, 0.0], (len(tokens), 1))
    first = next(k for k, (a, b) in enumerate(tokens.offsets.tolist()) if text[a:b].lower() == word)
    probs[first] = [0.0, 1.0, 0.0]
    ((start, end, _),) = decode_spans(text, tokens.offsets, probs, 0.5)
    assert text[start:end] == expected


def test_sentence_heads_of_another_encoder_are_refused(tmp_path: Path) -> None:
    for path in MODEL_DIR.iterdir():
        if path.name != "sentence_heads.json":
            (tmp_path / path.name).symlink_to(path)
    heads = json.loads((MODEL_DIR / "sentence_heads.json").read_text("utf-8"))
    (tmp_path / "sentence_heads.json").write_text(json.dumps({**heads, "encoder": "techniques-old"}), "utf-8")
    with pytest.raises(AnalyzerError, match=r"E203.*fitted on 'techniques-old'"):
        TechniqueModel(tmp_path).heads  # noqa: B018 - the property loads the heads


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


def test_scores_are_the_calibrated_probabilities(analyzer: TechniqueAnalyzer) -> None:
    """score and technique_score come from calibration.json's maps, not the raw product."""
    text = "The corrupt elites and their lying puppets betrayed the nation once again."
    enc = analyzer.model.encode([text], keep=False)[0]
    maps = analyzer.model.calibration
    assert maps is not None
    found = analyzer.model.find_spans(enc)
    spans = analyzer.model.technique_spans(enc)
    assert spans and len(spans) == len(found)
    for span, (start, end, raw) in zip(spans, found, strict=True):
        row = analyzer.model.classify(enc, [(start, end)])[0]
        features = calibration_inputs(raw, end - start, row)
        assert span.score == pytest.approx(maps[0].probability(features))
        assert span.technique_score == pytest.approx(maps[1].probability(features))
        assert span.to_json()["technique_score"] == round(span.technique_score, 4)
