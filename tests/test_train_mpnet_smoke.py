"""The accurate profile's architecture (MPNet) through the same training script as MiniLM, CI
sized: a tiny randomly initialised MPNet (2 layers, 32 wide), a few steps on 2 PTC articles,
cut short and resumed, tuned on held-out train articles, exported sharded, loaded by the
analyser. The real run (≈ 25 min an epoch on 2 cores) is in models/techniques-mpnet/MODEL_CARD.md."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from propscope.document import Document

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ptc-semeval2020-task11"
BUNDLED = Path(__file__).resolve().parents[1] / "src" / "propscope" / "models" / "techniques"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None,
        reason="training needs the [train] extra (torch, transformers)",
    ),
    pytest.mark.skipif(not DATA.is_dir(), reason=f"PTC data absent: {DATA}"),
    pytest.mark.filterwarnings("ignore"),  # torch's tracer and onnxruntime's quantiser warn
]


@pytest.fixture()
def tiny_mpnet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tiny random MPNet with MPNet's special ids (<s>=0, <pad>=1, </s>=2) on a BERT vocabulary."""
    import torch
    from tokenizers import Tokenizer
    from transformers import MPNetConfig, MPNetModel

    from propscope.training import techniques as tt

    folder = tmp_path / "mpnet"
    torch.manual_seed(0)
    config = MPNetConfig(vocab_size=30527, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64)
    MPNetModel(config).save_pretrained(folder)
    tokenizer = json.loads((BUNDLED / "tokenizer.json").read_text("utf-8"))
    vocab = tokenizer["model"]["vocab"]
    for name, new in (("<s>", 0), ("<pad>", 1), ("</s>", 2)):  # MPNet's, where BERT has [PAD]/[unused*]
        for old, i in list(vocab.items()):
            if i == new:
                del vocab[old]
        vocab[name] = new
    tokenizer["added_tokens"] = []
    Tokenizer.from_str(json.dumps(tokenizer)).save(str(folder / "tokenizer.json"))
    monkeypatch.setattr(tt, "PROFILE", "accurate")
    monkeypatch.setattr(tt, "base_model_path", lambda: folder)
    monkeypatch.setattr(tt, "SHARD_BYTES", 200_000)  # the tiny graph is split like the real one
    return folder


def test_special_ids_follow_the_vocabulary(tiny_mpnet: Path) -> None:
    from propscope.models.runtime import load_tokenizer, special_ids

    mpnet = special_ids(load_tokenizer(str(tiny_mpnet / "tokenizer.json")))
    assert (mpnet.cls, mpnet.sep, mpnet.pad) == (0, 2, 1)
    bert = special_ids(load_tokenizer(str(BUNDLED / "tokenizer.json")))
    assert (bert.cls, bert.sep, bert.pad) == (101, 102, 0)


def test_mpnet_run_resumes_and_writes_a_loadable_sharded_model(tiny_mpnet: Path, tmp_path: Path) -> None:
    from propscope.analyzers.techniques import TechniqueAnalyzer
    from propscope.training.techniques import train

    out = tmp_path / "run"
    common = {"epochs": 1, "max_articles": 4, "seed": 3, "batch_size": 4, "tune_holdout": 0.5,
              "freeze_bottom": 1, "checkpoint_every": 1}
    train(DATA, out, max_steps=1, **common)  # a run cut short after its first step
    assert json.loads((out / "history.jsonl").read_text("utf-8").splitlines()[-1])["epoch"] == 1
    config = train(DATA, out, max_steps=3, resume=True, **common)
    assert config["training"]["resumed_from_step"] == 1
    assert config["profile"] == "accurate"
    assert config["training"]["onnx_max_abs_diff"] < 1e-3
    assert "PTC dev untouched" in config["training"]["tuned_on"]
    shards = sorted(out.glob("model.onnx.data*"))
    assert len(shards) >= 2  # a tensor over the limit gets a shard of its own
    served = tmp_path / "served"
    served.mkdir()
    for name in ("model.onnx", *(s.name for s in shards), "tokenizer.json", "config.json", "tc_head.npz"):
        shutil.copy(out / name, served / name)
    doc = Document("The corrupt elites lied again and again.\nThey lied.")
    (result,) = TechniqueAnalyzer(served).analyze([doc])
    result.check(doc.text)
