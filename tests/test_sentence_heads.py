"""The sentence heads that claims and narratives read off the technique encoder's pass."""

from __future__ import annotations

import numpy as np
import pytest

from propscope.analyzers.techniques import TechniqueAnalyzer
from propscope.models.sentence_heads import (
    TEXT_FEATURES,
    SentenceHeads,
    pool_mean_max,
    pool_sentences,
    text_features,
)


def test_pool_sentences_averages_the_tokens_of_each_span() -> None:
    offsets = np.array([[0, 3], [4, 8], [8, 9], [10, 15]])  # "The port. Quiet"
    hidden = np.arange(8, dtype=np.float32).reshape(4, 2)
    pooled = pool_sentences(offsets, hidden, [(0, 9), (10, 15), (20, 30)])
    np.testing.assert_allclose(pooled[0], hidden[:3].mean(axis=0))
    np.testing.assert_allclose(pooled[1], hidden[3])
    np.testing.assert_allclose(pooled[2], [0.0, 0.0])  # no token there: a zero row, not an error


def test_bundled_heads_match_the_bundled_encoder() -> None:
    from propscope.analyzers.claims import claim_inputs

    model = TechniqueAnalyzer().model
    heads = model.heads
    assert heads.config["encoder"] == model.config["version"]
    assert 0.0 < heads.claim_threshold < 1.0 and 0.0 < heads.narrative_threshold < 1.0
    sentence = "The minister said unemployment fell to 4 percent in 2021."
    pooled, sentences = claim_inputs(model, [sentence], [[(0, len(sentence))]])
    assert pooled.shape == (1, 2 * model.config.get("hidden_size", 384)) and sentences == [sentence]
    assert heads.weights["claim_w"].shape == (pooled.shape[1] + len(TEXT_FEATURES),)
    assert heads.checkworthiness(pooled, sentences).shape == (1,)
    mean = model.sentence_features([sentence], [[(0, len(sentence))]])
    np.testing.assert_allclose(pooled[:, : mean.shape[1]], mean, atol=1e-6)  # same pass, same mean
    np.testing.assert_allclose(np.linalg.norm(heads.embed(mean), axis=1), 1.0, rtol=1e-5)


def test_pool_mean_max_gives_mean_then_maximum() -> None:
    offsets = np.array([[0, 3], [4, 8], [8, 9], [10, 15]])
    hidden = np.array([[1, -4], [3, 2], [2, 0], [5, 5]], dtype=np.float16)  # long texts keep float16
    pooled = pool_mean_max(offsets, hidden, [(0, 9), (20, 30)])
    assert pooled.dtype == np.float32
    np.testing.assert_allclose(pooled[0], [2.0, -2 / 3, 3.0, 2.0], rtol=1e-3)
    np.testing.assert_allclose(pooled[1], 0.0)  # no token there: a zero row


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Taxes rose 5% to $3 billion under Smith?", [np.log1p(8), 1, 1, 1, 1, 1 / 8]),
        ("thank you", [np.log1p(2), 0, 0, 0, 0, 0]),
        ("", [0, 0, 0, 0, 0, 0]),
    ],
)
def test_text_features(sentence: str, expected: list[float]) -> None:
    features = text_features([sentence])
    assert features.shape == (1, len(TEXT_FEATURES)) and features.dtype == np.float32
    np.testing.assert_allclose(features[0], expected, rtol=1e-6)


def test_checkworthiness_is_a_probability_even_for_extreme_inputs() -> None:
    dim = 4
    weights = {
        "claim_w": np.full(2 * dim + len(TEXT_FEATURES), 50.0, np.float32),
        "claim_b": np.zeros(1, np.float32),
    }
    heads = SentenceHeads({"claims": {"threshold": 0.4}}, weights)
    pooled = np.vstack([np.full(2 * dim, 1e3), np.full(2 * dim, -1e3), np.zeros(2 * dim)]).astype(np.float32)
    with np.errstate(over="raise"):
        p = heads.checkworthiness(pooled, ["a", "b", ""])
    assert p.dtype == np.float32 and np.all((p >= 0.0) & (p <= 1.0))
    assert p[0] == pytest.approx(1.0) and p[1] == pytest.approx(0.0) and p[2] == pytest.approx(0.5)
    assert heads.claim_threshold == 0.4


def test_a_model_folder_without_heads_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from propscope.errors import AnalyzerError

    with pytest.raises(AnalyzerError, match="sentence heads"):
        SentenceHeads.load(tmp_path)


def test_fitting_recovers_a_planted_signal() -> None:
    pytest.importorskip("sklearn", reason="the [train] extra fits the heads")
    from propscope.training.sentence_heads import fit_claims, fit_projection

    rng = np.random.default_rng(0)
    n = 1200
    x = rng.normal(size=(n, 16)).astype(np.float32)
    y = x[:, 0] > 0.5
    ids = rng.permutation(n)
    is_dev = rng.random(n) < 0.3
    weights, report = fit_claims(x, y, ids, is_dev)
    assert report["cv"]["dev_rows_f1"]["f1"] > 0.85 and report["cv"]["dev_rows_reliability"]["ece"] < 0.1
    assert weights["claim_w"].shape == (16,) and weights["claim_b"].shape == (1,)
    assert 0.05 <= report["threshold"] <= 0.95
    p = 1.0 / (1.0 + np.exp(-(x @ weights["claim_w"] + weights["claim_b"])))
    assert ((p >= report["threshold"]) == y).mean() > 0.9

    mixing = rng.normal(size=(16, 8)).astype(np.float32)
    target = x[:600] @ mixing
    target /= np.linalg.norm(target, axis=1, keepdims=True)
    held = x[600:] @ mixing
    held /= np.linalg.norm(held, axis=1, keepdims=True)
    proj, figures = fit_projection(x[:600], target, x[600:], held, x[:600])
    assert figures["held_out_cosine_to_minilm"]["median"] > 0.9
    assert proj["proj_w"].shape == (16, 8) and proj["proj_centre"].shape == (8,)


def test_id_blocks_are_contiguous_runs_of_ids() -> None:
    from propscope.training.sentence_heads import id_blocks

    ids = np.array([50, 10, 40, 20, 60, 30])
    blocks = id_blocks(ids, k=3)
    assert blocks.tolist() == [2, 0, 1, 0, 2, 1]  # 10,20 | 30,40 | 50,60


def test_reliability_table_and_ece() -> None:
    from propscope.training.sentence_heads import reliability

    p = np.array([0.05, 0.05, 0.95, 0.95])
    assert reliability(p, np.array([False, False, True, True]))["ece"] == pytest.approx(0.05)
    table = reliability(p, np.array([True, False, True, True]))
    assert [row["n"] for row in table["bins"]] == [2, 2]
    assert table["ece"] == pytest.approx((2 * 0.45 + 2 * 0.05) / 4)


def test_claims_only_refit_keeps_the_projection_and_narratives(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("sklearn", reason="the [train] extra fits the heads")
    import argparse
    import json

    from propscope.models.sentence_heads import CONFIG, WEIGHTS
    from propscope.training.sentence_heads import refit_claims

    rng = np.random.default_rng(1)
    old = {"claim_w1": np.ones((2, 3, 4), np.float32), "proj_w": rng.normal(size=(6, 5)).astype(np.float32)}
    np.savez(tmp_path / WEIGHTS, **old)
    config = {
        "encoder": "e",
        "claims": {"threshold": 0.3},
        "projection": {"a": 1},
        "narratives": {"threshold": 0.43},
    }
    (tmp_path / CONFIG).write_text(json.dumps(config), encoding="utf-8")
    x = rng.normal(size=(400, 6)).astype(np.float32)
    features = {"x": x, "y": x[:, 1] > 0, "ids": np.arange(400), "is_dev": np.arange(400) % 4 == 0}
    np.savez(tmp_path / "features.npz", **features)
    args = argparse.Namespace(model=tmp_path, claim_features=tmp_path / "features.npz", ct24=None, limit=None)
    assert refit_claims(None, args, 0.0) == 0  # type: ignore[arg-type]  # cached: no encoder needed
    with np.load(tmp_path / WEIGHTS) as npz:
        assert sorted(npz.files) == ["claim_b", "claim_w", "proj_w"]
        np.testing.assert_array_equal(npz["proj_w"], old["proj_w"])
    written = json.loads((tmp_path / CONFIG).read_text("utf-8"))
    assert {k: written[k] for k in ("encoder", "projection", "narratives")} == {
        k: config[k] for k in ("encoder", "projection", "narratives")
    }
    assert written["claims"]["threshold"] != 0.3 and "cv" in written["claims"]


@pytest.mark.parametrize("version", ["techniques-new-1"])
def test_claims_only_on_a_folder_without_heads_writes_the_claims_head_alone(tmp_path, version) -> None:  # type: ignore[no-untyped-def]
    """A new profile's folder (the accurate one): the claims head, its encoder, no projection."""
    pytest.importorskip("sklearn", reason="the [train] extra fits the heads")
    import argparse
    import json
    from types import SimpleNamespace

    from propscope.models.sentence_heads import CONFIG, WEIGHTS
    from propscope.training.sentence_heads import refit_claims

    rng = np.random.default_rng(2)
    x = rng.normal(size=(400, 6)).astype(np.float32)
    features = {"x": x, "y": x[:, 2] > 0, "ids": np.arange(400), "is_dev": np.arange(400) % 4 == 0}
    np.savez(tmp_path / "features.npz", **features)
    args = argparse.Namespace(model=tmp_path, claim_features=tmp_path / "features.npz", ct24=None, limit=None)
    model = SimpleNamespace(config={"version": version})
    assert refit_claims(model, args, 0.0) == 0  # type: ignore[arg-type]
    with np.load(tmp_path / WEIGHTS) as npz:
        assert sorted(npz.files) == ["claim_b", "claim_w"]
    written = json.loads((tmp_path / CONFIG).read_text("utf-8"))
    assert written["encoder"] == version and "projection" not in written and "cv" in written["claims"]


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
