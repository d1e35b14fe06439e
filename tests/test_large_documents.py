"""Bounded work for big inputs (issue 13, D6): long texts are parsed in pieces, every per-span
and per-mention lookup is a binary search, the encoder stitches in place and keeps a long
text's pass for its batch only; ordinary articles come out exactly as before."""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from propscope import Annotations, Document, Pipeline, TechniqueSpan
from propscope.analyzers import _roles, _spacy
from propscope.analyzers import techniques as techniques_module
from propscope.analyzers.techniques import default_model_dir, load_model
from propscope.models import runtime
from propscope.models.technique_head import span_features, token_range, token_ranges

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden" / "harbour-unrest-annotations.json"
EXAMPLE = ROOT / "examples" / "harbour-unrest.txt"

PARAGRAPHS = [
    "The minister said on Monday that the harbour would reopen. Dockers did not believe him.",
    "According to the union, wages have not risen in six years. The port authority denied it.",
    "Foreign agents are behind the unrest, the mayor claimed.\nHe gave no evidence at all.",
    "Russia and the United States both called for calm. Nobody listened, as usual.",
]


def _long_text(paragraphs: int) -> str:
    return "\n\n".join(PARAGRAPHS[k % len(PARAGRAPHS)] + f" Day {k}." for k in range(paragraphs))


def _strip_technique_scores(found: dict[str, Any]) -> dict[str, Any]:
    """Technique scores come from the calibration maps, refitted on their own schedule."""
    for span in found["techniques"]:
        span.pop("score", None)
        span.pop("technique_score", None)
    return found


def test_the_bundled_example_comes_out_as_before_the_change() -> None:
    """Recorded on the code before the D6 change (spans, claims, actors, narratives), and
    re-recorded when the analysers themselves changed (release 2: claims head, attribution,
    framing, catalogue abstention, Task 10 labels, assessment)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    result = next(Pipeline.from_names().pipe([Document(text=text, language="en")]))
    found = _strip_technique_scores(json.loads(json.dumps(result.annotations.to_json())))
    found.pop("stats")  # another analyser, with fixes of its own
    assert found == json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.mark.parametrize("size", [40, 120, 333])
def test_pieces_join_back_and_cut_at_breaks(size: int) -> None:
    text = _long_text(30) + " " + "word " * 200  # a long paragraph, then a line without breaks
    parts = _spacy.pieces(text, size)
    assert "".join(parts) == text
    assert all(0 < len(p) <= size for p in parts)
    assert all(not p[0].isspace() for p in parts[1:])  # a break's whitespace stays behind


def test_a_piece_ends_at_a_blank_line_when_one_is_in_reach() -> None:
    text = _long_text(12)
    assert all(p.endswith("\n\n") for p in _spacy.pieces(text, 300)[:-1])


def test_a_long_text_parses_in_pieces_into_the_same_sentences(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _long_text(16)  # about 1,400 characters: several pieces of at most 200
    _spacy.clear_cache()
    whole = _spacy.parse([text])[0]
    expected = [(s, e) for s, e, _ in _spacy.sentence_spans(text, whole)]
    seen: list[int] = []
    real = _spacy.nlp()

    class Spy:
        def pipe(self, texts: Sequence[str], batch_size: int) -> Any:
            seen.extend(len(t) for t in texts)
            return real.pipe(texts, batch_size=batch_size)

    monkeypatch.setattr(_spacy, "WHOLE_CHARS", 300)
    monkeypatch.setattr(_spacy, "PIECE_CHARS", 200)
    monkeypatch.setattr(_spacy, "nlp", lambda: Spy())
    _spacy.clear_cache()
    doc = _spacy.parse([text])[0]
    assert len(seen) > 5 and max(seen) <= 200  # no piece longer than PIECE_CHARS reached spaCy
    assert doc.text == text
    assert [(t.idx, t.text) for t in doc] == [(t.idx, t.text) for t in whole]
    assert [(s, e) for s, e, _ in _spacy.sentence_spans(text, doc)] == expected
    assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == [
        (e.start_char, e.end_char, e.label_) for e in whole.ents
    ]
    assert [(t.dep_, t.head.i) for t in doc] == [(t.dep_, t.head.i) for t in whole]
    _spacy.clear_cache()


def test_parsed_docs_keep_no_tensor() -> None:
    _spacy.clear_cache()
    assert _spacy.parse(["A text whose tok2vec output nobody reads, number 5512."])[0].tensor.size == 0


def _brute_owner(n: int, ranges: list[tuple[int, int]]) -> np.ndarray:
    positions = np.arange(n)[:, None]
    begin = np.asarray([a for a, _ in ranges])[None, :]
    end = np.asarray([b for _, b in ranges])[None, :]
    inside = (positions >= begin) & (positions < end)
    margin = np.where(inside, np.minimum(positions - begin, end - 1 - positions), -1)
    return np.asarray(margin.argmax(axis=1))


@pytest.mark.parametrize(("size", "stride"), [(254, 128), (10, 3), (8, 8), (7, 2), (6, 1)])
def test_window_owner_is_the_most_central_window(size: int, stride: int) -> None:
    for n in [*range(1, 40), 255, 1000, 1777]:
        ranges = [(s, min(s + size, n)) for s in runtime.window_starts(n, size, stride)]
        assert runtime.window_owner(n, ranges).tolist() == _brute_owner(n, ranges).tolist()


def test_window_owner_of_a_long_line_needs_no_token_by_window_matrix() -> None:
    n = 40_000  # one line of 40k tokens: 312 windows; the matrix would be 100 MB an array
    ranges = [(s, min(s + 254, n)) for s in runtime.window_starts(n, 254, 128)]
    tracemalloc.start()
    runtime._overlapping(0, n, 254, 128)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20_000_000
    assert len(ranges) == 312


def test_token_ranges_match_token_range_one_by_one() -> None:
    rng = random.Random(7)
    starts = np.cumsum([rng.randint(0, 3) for _ in range(300)])
    offsets = np.stack([starts, starts + np.asarray([rng.randint(0, 4) for _ in range(300)])], axis=1)
    offsets[:, 1] = np.maximum.accumulate(offsets[:, 1])  # word pieces: starts and ends rise
    spans = [(a, a + rng.randint(0, 30)) for a in (rng.randint(-5, 800) for _ in range(400))]
    assert token_ranges(offsets, spans) == [token_range(offsets, s, e) for s, e in spans]
    jumbled = offsets[::-1].copy()  # not rising: the one-by-one scan still answers
    assert token_ranges(jumbled, spans) == [token_range(jumbled, s, e) for s, e in spans]
    assert token_ranges(np.zeros((0, 2), dtype=np.int64), [(0, 3)]) == [(0, 0)]


def test_span_features_from_a_lowered_text_are_the_same() -> None:
    text = "Title here\n\nThe elites lie. THE ELITES LIE again, and the elites lie."
    lowered = text.lower()
    for start, end in [(12, 27), (29, 44), (0, 5), (50, 66)]:
        assert span_features(text, start, end, lowered).tolist() == span_features(text, start, end).tolist()


def _spans(rng: random.Random, n: int) -> list[TechniqueSpan]:
    out = []
    for _ in range(n):
        a = rng.randint(0, 5000)
        b = a + rng.randint(1, rng.choice([20, 400]))
        out.append(TechniqueSpan(a, b, "x" * (b - a), rng.choice(["Doubt", "Slogans"]), 0.5))
    return out


def test_technique_index_finds_what_a_scan_finds() -> None:
    rng = random.Random(11)
    spans = _spans(rng, 300)
    index = _roles.TechniqueIndex(spans)
    for _ in range(500):
        lo = rng.randint(-50, 5500)
        hi = lo + rng.randint(0, 300)
        found = [k for k, t in enumerate(spans) if t.start < hi and t.end > lo]
        assert sorted(index.touching(lo, hi)) == found
    assert _roles.TechniqueIndex([]).touching(0, 10) == []


class Finished:
    """A toy analyser that records the pipeline's hooks."""

    name = "finished"
    version = "finished-1"
    produces = ("stats",)
    requires: tuple[str, ...] = ()

    def __init__(self, log: list[str]) -> None:
        self.log = log

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        self.log.append(f"analyze {len(docs)}")
        return [Annotations() for _ in docs]

    def finish(self, docs: Sequence[Document]) -> None:
        self.log.append(f"finish {len(docs)}")


def test_finish_runs_after_every_analyser_of_the_batch() -> None:
    log: list[str] = []
    list(Pipeline([Finished(log)]).pipe([Document(f"Text {i}.") for i in range(3)], batch_size=2))
    assert log == ["analyze 2", "finish 2", "analyze 1", "finish 1"]


def test_a_long_text_is_encoded_once_per_batch_and_let_go_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over KEEP_MAX_TOKENS, claims and narratives used to encode the text again each."""
    text = _long_text(6)
    model = load_model(str(default_model_dir()))
    model.forget()
    monkeypatch.setattr(techniques_module, "KEEP_MAX_TOKENS", 20)  # this text counts as long
    encoded: list[int] = []
    real = model.encoder.encode

    def counting(texts: Sequence[str], outputs: Sequence[str], **options: Any) -> Any:
        encoded.extend(1 for t in texts if t == text)
        return real(texts, outputs, **options)

    monkeypatch.setattr(model.encoder, "encode", counting)
    result = next(Pipeline.from_names(["techniques", "claims", "narratives"]).pipe([Document(text=text)]))
    assert encoded == [1] and result.claims
    assert text not in model._kept  # let go once the batch was done


def test_a_long_text_keeps_its_hidden_states_in_half_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _long_text(6)
    model = load_model(str(default_model_dir()))
    model.forget()
    full = model.encode([text], keep=False)[0]
    monkeypatch.setattr(techniques_module, "KEEP_MAX_TOKENS", 20)
    half = model.encode([text], keep=False)[0]
    assert full.hidden.dtype == np.float32 and half.hidden.dtype == np.float16
    assert half.hidden.shape == full.hidden.shape
    assert np.allclose(half.hidden.astype(np.float32), full.hidden, atol=2e-2, rtol=1e-2)
    assert np.array_equal(half.probs, full.probs)  # SI reads float32 either way
    spans = [(0, 40), (100, 180)]
    pooled = model.sentence_features([text], [spans], keep=False)
    assert pooled.dtype == np.float32 and pooled.shape == (2, full.hidden.shape[1])
