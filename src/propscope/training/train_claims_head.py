"""Fit the fast check-worthiness head: a small MLP on frozen MiniLM sentence embeddings.

    python src/propscope/training/train_claims_head.py --data ../shared/data/checkworthiness-ct24-en

The head reads the bundled int8 sentence embeddings (models/minilm) that the narratives analyser
computes anyway (cached by sentence), so the `claims_fast` analyser costs no encoder pass of its
own. Architecture and L2 penalty
are chosen on dev, then the threshold on dev; dev-test is only reported. Writes
models/claims/head.npz (weights) and models/claims/head.json (threshold, choices, figures).
Needs scikit-learn at training time only; inference is numpy.
"""

from __future__ import annotations

import argparse
import csv
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from propscope.models import encoder

FILES = {
    "train": "CT24_checkworthy_english_train.tsv",
    "dev": "CT24_checkworthy_english_dev.tsv",
    "dev-test": "CT24_checkworthy_english_dev-test.tsv",
}
GRID = np.arange(0.05, 0.96, 0.01)
CHOICES = [(256, 1e-3), (256, 1e-2), (512, 1e-3), (512, 1e-2)]  # (hidden units, L2 alpha)
SEED = 13
VERSION = "claims-minilm-mlp-ct24-2"


def read(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))[1:]
    return [r[1] for r in rows], np.array([r[2].strip() == "Yes" for r in rows])


def f1(gold: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    tp = float((gold & predicted).sum())
    p, r = tp / max(predicted.sum(), 1), tp / max(gold.sum(), 1)
    return {"f1": round(2 * p * r / max(p + r, 1e-9), 4), "precision": round(p, 4), "recall": round(r, 4)}


def fit(x: np.ndarray, y: np.ndarray, hidden: int, alpha: float) -> MLPClassifier:
    """One ReLU layer, Adam, early stopping on a 10% slice of train (fixed seed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = MLPClassifier(
            hidden_layer_sizes=(hidden,),
            alpha=alpha,
            max_iter=200,
            early_stopping=True,
            random_state=SEED,
        )
        return model.fit(x, y)


def best_threshold(gold: np.ndarray, probs: np.ndarray) -> float:
    return float(max(GRID, key=lambda t: f1(gold, probs >= t)["f1"]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=encoder.MODELS_DIR / "claims")
    args = ap.parse_args()
    texts, gold = {}, {}
    for split, name in FILES.items():
        texts[split], gold[split] = read(args.data / name)
    x = {s: encoder.embed(texts[s]) for s in FILES}
    fits: list[tuple[float, float, tuple[int, float], MLPClassifier]] = []
    for hidden, alpha in CHOICES:
        model = fit(x["train"], gold["train"], hidden, alpha)
        p_dev = model.predict_proba(x["dev"])[:, 1]
        threshold = best_threshold(gold["dev"], p_dev)
        fits.append((f1(gold["dev"], p_dev >= threshold)["f1"], threshold, (hidden, alpha), model))
        print(f"hidden {hidden} alpha {alpha}: dev F1 {fits[-1][0]} at {threshold:.2f}", flush=True)
    _dev_f1, threshold, (hidden, alpha), model = max(fits, key=lambda f: f[0])
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.out / "head.npz",
        w1=model.coefs_[0].astype(np.float32),
        b1=model.intercepts_[0].astype(np.float32),
        w2=model.coefs_[1][:, 0].astype(np.float32),
        b2=model.intercepts_[1].astype(np.float32),
    )
    card: dict[str, Any] = {
        "version": VERSION,
        "threshold": round(threshold, 2),
        "hidden": hidden,
        "alpha": alpha,
        "seed": SEED,
        "train_rows": len(texts["train"]),
        "choices": [{"hidden": h, "alpha": a, "dev_f1": s} for s, _, (h, a), _ in fits],
        "dev": f1(gold["dev"], model.predict_proba(x["dev"])[:, 1] >= threshold),
        "dev-test": f1(gold["dev-test"], model.predict_proba(x["dev-test"])[:, 1] >= threshold),
    }
    (args.out / "head.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(card, indent=1))


if __name__ == "__main__":
    main()
