"""Fit the fast check-worthiness head: logistic regression on frozen MiniLM sentence embeddings.

    python src/propscope/training/train_claims_head.py --data ../shared/data/checkworthiness-ct24-en

Uses the bundled int8 sentence encoder (models/minilm), so the `claims_fast` analyser needs no
encoder pass of its own when `narratives` runs too (embeddings are cached by sentence). C is
chosen on dev, then the threshold on dev; dev-test is only reported. Writes
models/claims/linear_head.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from propscope.models import encoder

FILES = {
    "train": "CT24_checkworthy_english_train.tsv",
    "dev": "CT24_checkworthy_english_dev.tsv",
    "dev-test": "CT24_checkworthy_english_dev-test.tsv",
}
GRID = np.arange(0.05, 0.96, 0.01)


def read(path: Path) -> tuple[list[str], np.ndarray]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))[1:]
    return [r[1] for r in rows], np.array([r[2].strip() == "Yes" for r in rows])


def f1(gold: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    tp = float((gold & predicted).sum())
    p, r = tp / max(predicted.sum(), 1), tp / max(gold.sum(), 1)
    return {"f1": round(2 * p * r / max(p + r, 1e-9), 4), "precision": round(p, 4), "recall": round(r, 4)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--rows", type=int, default=8000)
    ap.add_argument("--out", type=Path, default=encoder.MODELS_DIR / "claims" / "linear_head.json")
    args = ap.parse_args()
    texts, gold = {}, {}
    for split, name in FILES.items():
        texts[split], gold[split] = read(args.data / name)
    keep = random.Random(13).sample(range(len(texts["train"])), min(args.rows, len(texts["train"])))
    x = {s: encoder.embed([texts[s][i] for i in keep] if s == "train" else texts[s]) for s in FILES}
    y_train = gold["train"][keep]
    fits = {}
    for c in (0.3, 1.0, 3.0, 10.0):
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000).fit(x["train"], y_train)
        p_dev = model.predict_proba(x["dev"])[:, 1]
        threshold = float(max(GRID, key=lambda t: f1(gold["dev"], p_dev >= t)["f1"]))
        fits[c] = (f1(gold["dev"], p_dev >= threshold)["f1"], threshold, model)
    c, (_dev_f1, threshold, model) = max(fits.items(), key=lambda kv: kv[1][0])
    p_test = model.predict_proba(x["dev-test"])[:, 1]
    head = {
        "version": "claims-minilm-linear-ct24-1",
        "weights": [round(float(w), 6) for w in model.coef_[0]],
        "bias": float(model.intercept_[0]),
        "threshold": round(threshold, 2),
        "C": c,
        "train_rows": len(keep),
        "dev": f1(gold["dev"], model.predict_proba(x["dev"])[:, 1] >= threshold),
        "dev-test": f1(gold["dev-test"], p_test >= threshold),
    }
    args.out.write_text(json.dumps(head) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in head.items() if k != "weights"}, indent=1))


if __name__ == "__main__":
    main()
