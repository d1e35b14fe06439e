"""The sentence heads that claims and narratives read off the technique encoder's pass."""

from __future__ import annotations

import numpy as np
import pytest

from propscope.analyzers.techniques import TechniqueAnalyzer
from propscope.models.sentence_heads import SentenceHeads, pool_sentences


def test_pool_sentences_averages_the_tokens_of_each_span() -> None:
    offsets = np.array([[0, 3], [4, 8], [8, 9], [10, 15]])  # "The port. Quiet"
    hidden = np.arange(8, dtype=np.float32).reshape(4, 2)
    pooled = pool_sentences(offsets, hidden, [(0, 9), (10, 15), (20, 30)])
    np.testing.assert_allclose(pooled[0], hidden[:3].mean(axis=0))
    np.testing.assert_allclose(pooled[1], hidden[3])
    np.testing.assert_allclose(pooled[2], [0.0, 0.0])  # no token there: a zero row, not an error


def test_bundled_heads_match_the_bundled_encoder() -> None:
    model = TechniqueAnalyzer().model
    heads = model.heads
    assert heads.config["encoder"] == model.config["version"]
    assert 0.0 < heads.claim_threshold < 1.0 and 0.0 < heads.narrative_threshold < 1.0
    sentence = "The minister said unemployment fell to 4 percent in 2021."
    pooled = model.sentence_features([sentence], [[(0, len(sentence))]])
    assert heads.checkworthiness(pooled).shape == (1,)
    np.testing.assert_allclose(np.linalg.norm(heads.embed(pooled), axis=1), 1.0, rtol=1e-5)


def test_a_model_folder_without_heads_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from propscope.errors import AnalyzerError

    with pytest.raises(AnalyzerError, match="sentence heads"):
        SentenceHeads.load(tmp_path)


def test_fitting_recovers_a_planted_signal() -> None:
    pytest.importorskip("sklearn", reason="the [train] extra fits the heads")
    from propscope.training.sentence_heads import fit_claims, fit_projection

    rng = np.random.default_rng(0)
    sizes = {"train": 600, "dev": 200, "dev-test": 200}
    x = {s: rng.normal(size=(n, 16)).astype(np.float32) for s, n in sizes.items()}
    y = {s: x[s][:, 0] > 0.5 for s in x}
    weights, report = fit_claims(x, y)
    assert report["f1"]["dev-test"]["f1"] > 0.85
    assert weights["claim_w1"].shape == (5, 16, 256)

    mixing = rng.normal(size=(16, 8)).astype(np.float32)
    target = x["train"] @ mixing
    target /= np.linalg.norm(target, axis=1, keepdims=True)
    held = x["dev"] @ mixing
    held /= np.linalg.norm(held, axis=1, keepdims=True)
    proj, figures = fit_projection(x["train"], target, x["dev"], held, x["train"])
    assert figures["held_out_cosine_to_minilm"]["median"] > 0.9
    assert proj["proj_w"].shape == (16, 8) and proj["proj_centre"].shape == (8,)


def test_loose_texts_do_not_push_out_the_batch_being_analysed() -> None:
    """Building the narrative catalogue (hundreds of loose examples) between the techniques
    and narratives analysers must not evict the article encodings narratives is about to read."""
    from propscope.analyzers.narratives import NarrativesAnalyzer
    from propscope.document import Document

    text = "The minister said the harbour strike would end on Monday, officials confirmed."
    techniques = TechniqueAnalyzer()
    techniques.model.forget()
    techniques.analyze([Document(text)])
    narratives = NarrativesAnalyzer()
    narratives.__dict__.pop("matcher", None)
    assert len(narratives.matcher.entries) > 0
    assert text in techniques.model._kept
