"""The settings search behind the `claims` check-worthiness head (SENTENCE_HEADS.md, "Protocol").

Grouped cross-validation over train+dev of CheckThat! 2024 English: 6 folds of contiguous
sentence ids (ids run through each debate in order; dev ids interleave with train's, so dev is
a sample of the same debates and joins the folds). Primary figure: F1 of the dev rows'
out-of-fold scores, threshold picked on them; also the all-rows out-of-fold F1 and the old
protocol's figure (fit on train, threshold tuned on dev). Never reads dev-test or test.

    nice -n 10 python benchmarks/claims_protocol.py features        # one encoder pass, ~12 min
    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/claims_protocol.py lr-C0.01-mmx [NAME ...]

`features` caches, per split, the analyser's mean pool, the max pool of the same tokens, the
mean SI probabilities and token counts under runs/claims-protocol/. Each NAME (CONFIGS) adds
its figures to benchmarks/results/claims-protocol.json; names already there are skipped.
Needs the [train] extra (scikit-learn).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from propscope.analyzers.claims import in_runs
from propscope.analyzers.techniques import BATCH_DOCS, MODEL_DIR, TechniqueModel
from propscope.eval.checkworthy import Row, read_tsv
from propscope.models.sentence_heads import text_features
from propscope.models.technique_head import token_ranges
from propscope.training.sentence_heads import ct24_split

ROOT = Path(__file__).resolve().parents[1]
CT24 = ROOT.parent / "shared" / "data" / "checkworthiness-ct24-en"
CACHE = ROOT / "runs" / "claims-protocol"
LOG = ROOT / "benchmarks" / "results" / "claims-protocol.json"
K = 6
GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)
FEATURES = {
    "mean": ("mean",),
    "meanmax": ("mean", "max"),
    "mean+x": ("mean", "x"),
    "mean+si+x": ("mean", "si", "x"),
    "meanmax+x": ("mean", "max", "x"),
}
CONFIGS: dict[str, dict[str, Any]] = {
    "lr-C0.01": {"model": "lr", "C": 0.01},
    "lr-C0.1": {"model": "lr", "C": 0.1},
    "lr-C0.01-bal": {"model": "lr", "C": 0.01, "cw": "balanced"},
    "lr-C0.01-meanmax": {"model": "lr", "C": 0.01, "feat": "meanmax"},
    "lr-C0.01-x": {"model": "lr", "C": 0.01, "feat": "mean+x"},
    "lr-C0.01-six": {"model": "lr", "C": 0.01, "feat": "mean+si+x"},
    "lr-C0.01-mmx": {"model": "lr", "C": 0.01, "feat": "meanmax+x"},
    "lr-C0.003-mmx": {"model": "lr", "C": 0.003, "feat": "meanmax+x"},
    "lr-C0.03-mmx": {"model": "lr", "C": 0.03, "feat": "meanmax+x"},
    "lr-C0.01-mmx-clean0.1": {"model": "lr", "C": 0.01, "feat": "meanmax+x", "clean": 0.1},
    "mlp-a1e-3": {"model": "mlp", "alpha": 1e-3},
    "mlp-a1-mmx": {"model": "mlp", "alpha": 1.0, "feat": "meanmax+x"},
}


def f1(y: np.ndarray, p: np.ndarray) -> float:
    tp = int((y & p).sum())
    precision, recall = tp / max(int(p.sum()), 1), tp / max(int(y.sum()), 1)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    return float(max(GRID, key=lambda t: (round(f1(y, p >= t), 4), -t)))


def split_rows(split: str) -> list[Row]:
    """Train sorted by id (as the training script reads it); dev and dev-test in file order."""
    if split == "train":
        return ct24_split(CT24, split)
    return read_tsv(CT24 / f"CT24_checkworthy_english_{split}.tsv")


def pooled(model: TechniqueModel, rows: list[Row]) -> dict[str, np.ndarray]:
    """Mean (as the analyser pools), max, mean SI probabilities and token count per sentence."""
    texts, spans = in_runs([r.text for r in rows])
    out: dict[str, list[np.ndarray]] = {"mean": [], "max": [], "si": [], "ntok": []}
    for k in range(0, len(texts), BATCH_DOCS):
        encoded = model.encode(texts[k : k + BATCH_DOCS], keep=False)
        for enc, doc_spans in zip(encoded, spans[k : k + BATCH_DOCS], strict=True):
            hidden = np.asarray(enc.hidden, dtype=np.float32)
            for i, j in token_ranges(enc.tokens.offsets, list(doc_spans)):
                empty = j <= i
                out["mean"].append(np.zeros(hidden.shape[1]) if empty else hidden[i:j].mean(axis=0))
                out["max"].append(np.zeros(hidden.shape[1]) if empty else hidden[i:j].max(axis=0))
                out["si"].append(np.zeros(enc.probs.shape[1]) if empty else enc.probs[i:j].mean(axis=0))
                out["ntok"].append(np.array(j - i))
    return {name: np.asarray(rows_, dtype=np.float32) for name, rows_ in out.items()}


def build_features() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    model, began = TechniqueModel(MODEL_DIR), time.time()
    for split in ("dev-test", "dev", "train"):
        rows = split_rows(split)
        arrays = pooled(model, rows)
        ids, labels = np.array([r.id for r in rows]), np.array([bool(r.label) for r in rows])
        np.savez(CACHE / f"features_{split}.npz", ids=ids, y=labels, **arrays)
        print(f"{split}: {len(rows)} sentences ({time.time() - began:.0f} s)", flush=True)


def load(split: str) -> dict[str, Any]:
    with np.load(CACHE / f"features_{split}.npz") as npz:
        data: dict[str, Any] = {name: npz[name] for name in npz.files}
    rows = split_rows(split)
    if [r.id for r in rows] != list(data["ids"]):
        raise SystemExit(f"{split}: cached features do not match the TSV; rerun `features`")
    data["x"] = text_features([r.text for r in rows])
    return data


def features(data: dict[str, Any], kind: str) -> np.ndarray:
    return np.hstack([data[part] for part in FEATURES[kind]]).astype(np.float32)


def classifier(cfg: dict[str, Any], seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    if cfg["model"] == "lr":
        return LogisticRegression(C=cfg["C"], class_weight=cfg.get("cw"), max_iter=2000)
    return MLPClassifier(
        hidden_layer_sizes=(cfg.get("h", 256),),
        alpha=cfg["alpha"],
        max_iter=200,
        early_stopping=True,
        random_state=seed,
    )


def clean_mask(cfg: dict[str, Any], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Keep rows an inner 3-fold LR does not contradict at P < cfg["clean"] (confident learning)."""
    oof = np.zeros(len(y))
    for fold in np.array_split(np.arange(len(y)), 3):
        rest = np.ones(len(y), bool)
        rest[fold] = False
        inner = classifier({"model": "lr", "C": 0.01}, 0).fit(x[rest], y[rest])
        oof[fold] = inner.predict_proba(x[fold])[:, 1]
    contradicted = (y & (oof < cfg["clean"])) | (~y & (oof > 1 - cfg["clean"]))
    return np.asarray(~contradicted)


def fit_predict(cfg: dict[str, Any], xa: np.ndarray, ya: np.ndarray, xb: np.ndarray) -> np.ndarray:
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(xa)
    xa, xb = scaler.transform(xa), scaler.transform(xb)
    if cfg.get("clean"):
        keep = clean_mask(cfg, xa, ya)
        xa, ya = xa[keep], ya[keep]
    seeds = range(13, 13 + cfg.get("seeds", 1))
    return np.mean([classifier(cfg, s).fit(xa, ya).predict_proba(xb)[:, 1] for s in seeds], axis=0)


def run(cfg: dict[str, Any], train: dict[str, Any], dev: dict[str, Any]) -> dict[str, Any]:
    """Grouped-CV figures of one setting, and the old train -> dev figure."""
    started, kind = time.process_time(), cfg.get("feat", "mean")
    ids = np.concatenate([train["ids"].astype(int), dev["ids"].astype(int)])
    x = np.vstack([features(train, kind), features(dev, kind)])
    y = np.concatenate([train["y"], dev["y"]]).astype(bool)
    is_dev = np.arange(len(y)) >= len(train["y"])
    blocks = np.empty(len(ids), int)
    blocks[np.argsort(ids, kind="stable")] = np.arange(len(ids)) * K // len(ids)
    oof = np.zeros(len(y))
    for k in range(K):
        oof[blocks == k] = fit_predict(cfg, x[blocks != k], y[blocks != k], x[blocks == k])
    t, t_dev = best_threshold(y, oof), best_threshold(y[is_dev], oof[is_dev])
    p_dev = fit_predict(cfg, features(train, kind), train["y"].astype(bool), features(dev, kind))
    y_dev = dev["y"].astype(bool)
    return {
        "config": cfg,
        "cv_devrows_f1": round(f1(y[is_dev], oof[is_dev] >= t_dev), 4),
        "cv_devrows_threshold": t_dev,
        "cv_devrows_f1_at_cv_threshold": round(f1(y[is_dev], oof[is_dev] >= t), 4),
        "cv_trainrows_f1_at_cv_threshold": round(f1(y[~is_dev], oof[~is_dev] >= t), 4),
        "cv_oof_f1": round(f1(y, oof >= t), 4),
        "cv_threshold": t,
        "cv_fold_f1": [round(f1(y[blocks == k], oof[blocks == k] >= t), 4) for k in range(K)],
        "block_id_ranges": [[int(ids[blocks == k].min()), int(ids[blocks == k].max())] for k in range(K)],
        "dev_f1_threshold_tuned_on_dev": round(f1(y_dev, p_dev >= best_threshold(y_dev, p_dev)), 4),
        "dev_threshold": best_threshold(y_dev, p_dev),
        "dev_f1_at_cv_threshold": round(f1(y_dev, p_dev >= t), 4),
        "cpu_s": round(time.process_time() - started, 1),
    }


def main(names: list[str]) -> int:
    if not CT24.is_dir():
        print(f"skipping: {CT24} not found")
        return 0
    if names == ["features"]:
        build_features()
        return 0
    log = json.loads(LOG.read_text("utf-8")) if LOG.is_file() else {"protocol": __doc__, "settings": {}}
    train, dev = load("train"), load("dev")
    for name in names:
        if name not in log["settings"]:
            log["settings"][name] = run(CONFIGS[name], train, dev)
            print(name, json.dumps(log["settings"][name]), flush=True)
            LOG.write_text(json.dumps(log, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
