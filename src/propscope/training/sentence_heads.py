"""Fit the sentence heads that let claims and narratives read the technique encoder's pass.

    python -m propscope.training.sentence_heads --ct24 ../shared/data/checkworthiness-ct24-en \
        --ptc ../shared/data/ptc-semeval2020-task11 [--model DIR]
    python -m propscope.training.sentence_heads --ct24 ../shared/data/checkworthiness-ct24-en \
        --claims-only [--claim-features runs/claim_features.npz]

Features are the technique encoder's hidden states pooled over each sentence, in context:
CheckThat! rows are read in runs of 8 consecutive sentence ids (the debate they come from),
PTC articles whole. Two heads are fitted on them:
- check-worthiness: a calibrated logistic regression on mean+max pooled states and six text
  features, fitted on CT24 train+dev; threshold and Platt calibration from grouped
  cross-validation (held-out id blocks, dev rows); dev-test is not read here
  (`--claims-only` refits this head alone and keeps the rest of the folder's heads);
- a linear projection (ridge) onto all-MiniLM-L6-v2's sentence embeddings of the same sentences
  (PTC train + CT24 train), so narratives are matched in MiniLM's space without running MiniLM;
  its threshold is swept on tests/data/narratives_labelled.yaml like NARRATIVE_THRESHOLD was.
Writes sentence_heads.npz and sentence_heads.json into the model folder (the bundled one by
default). Needs the [train] extra (scikit-learn).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from propscope.analyzers.claims import claim_inputs, in_runs  # CT24 rows read as `claims` reads them
from propscope.analyzers.techniques import MODEL_DIR, TechniqueModel
from propscope.eval.checkworthy import Row, f1_scores, read_tsv
from propscope.models import encoder
from propscope.models.sentence_heads import CONFIG, TEXT_FEATURES, WEIGHTS, SentenceHeads, text_features, unit
from propscope.narratives import load_catalogue

CV_BLOCKS = 6  # folds of contiguous sentence ids (held-out debates)
CLAIM_C = 0.01  # 0.003-0.03 measured alike (dev-row CV F1 0.876-0.885); claims-protocol.json
CLAIMS_COMMAND = (
    "python -m propscope.training.sentence_heads --ct24 ../shared/data/checkworthiness-ct24-en "
    "--claims-only --claim-features runs/claim_features.npz"
)
RIDGE_ALPHA = 10.0  # 0.1-10 measured alike on held-out cosine (0.75 median); 10 is the safest
LABELLED = Path(__file__).resolve().parents[3] / "tests" / "data" / "narratives_labelled.yaml"
GRID = [round(t, 2) for t in np.arange(0.05, 0.96, 0.01)]


def ct24_split(folder: Path, split: str) -> list[Row]:
    rows = read_tsv(folder / f"CT24_checkworthy_english_{split}.tsv")
    return sorted(rows, key=lambda r: int(r.id) if r.id.isdigit() else 0)


def ptc_sentences(ptc: Path) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """PTC train articles and their candidate sentences, as the narratives analyser splits them."""
    from propscope.analyzers.narratives import candidate_sentences

    texts = [p.read_text("utf-8") for p in sorted((ptc / "train-articles").glob("article*.txt"))]
    return texts, [candidate_sentences(t) for t in texts]


def id_blocks(ids: np.ndarray, k: int = CV_BLOCKS) -> np.ndarray:
    """Fold of each row: `k` contiguous runs of sentence ids. Ids run through each debate in
    order, so a block holds whole debates (but for the debates cut at its two ends)."""
    order = np.argsort(ids, kind="stable")
    blocks = np.empty(len(ids), dtype=np.int64)
    blocks[order] = np.arange(len(ids)) * k // max(len(ids), 1)
    return blocks


def _logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Standardised L2 logistic regression, returned as raw-input weights and bias."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    lr = LogisticRegression(C=CLAIM_C, max_iter=2000).fit((x - mean) / scale, y)
    w = lr.coef_[0] / scale
    return w, float(lr.intercept_[0] - mean @ w)


def _platt(logits: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt scaling: P = sigmoid(a * logit + b), fitted (almost unregularised) on held-out logits."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=1e6, max_iter=1000).fit(logits.reshape(-1, 1), y)
    return float(fit.coef_[0, 0]), float(fit.intercept_[0])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(np.exp(-np.logaddexp(0.0, -z)))


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Expected calibration error over equal-width bins and the (non-empty) bins it is made of,
    as models/calibration.py measures the technique scores."""
    from propscope.models.calibration import expected_calibration_error
    from propscope.models.calibration import reliability as table

    rows = [
        {
            "bin": f"{row['low']:.1f}-{row['high']:.1f}",
            "n": row["n"],
            "mean_p": round(row["mean_predicted"], 3),
            "yes_rate": round(row["observed"], 3),
        }
        for row in table(p, y, bins)
        if row["n"]
    ]
    return {"ece": round(expected_calibration_error(p, y, bins), 4), "bins": rows}


def _best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    return max(GRID, key=lambda t: (f1_scores(list(y), list(p >= t))["f1"], -t))


def fit_claims(
    x: np.ndarray, y: np.ndarray, ids: np.ndarray, is_dev: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Calibrated logistic regression on train+dev; threshold and calibration out of fold.

    Rows are `claim_inputs` (pooled states) with `text_features` appended. Out-of-fold logits
    come from CV_BLOCKS contiguous id blocks (held-out debates); Platt scaling and the threshold
    are fitted on the dev rows among them (dev labels agree with a model far more than train's
    own: SENTENCE_HEADS.md). The final fit uses every row; scaling and Platt are folded into
    one weight vector. Chosen in benchmarks/results/claims-protocol.json (`lr-C0.01-mmx`).
    """
    blocks = id_blocks(ids)
    oof = np.zeros(len(y))
    for k in range(CV_BLOCKS):
        held = blocks == k
        w, b = _logistic(x[~held], y[~held])
        oof[held] = x[held] @ w + b
    a, c = _platt(oof[is_dev], y[is_dev])
    p_oof = _sigmoid(a * oof + c)
    threshold = _best_threshold(y[is_dev], p_oof[is_dev])
    w, b = _logistic(x, y)
    weights = {"claim_w": a * w, "claim_b": np.array([a * b + c])}
    return weights, {
        "threshold": threshold,
        "head": f"logistic regression (C {CLAIM_C}, standardised) on mean+max pooled states and "
        f"{len(TEXT_FEATURES)} text features, Platt-calibrated; one linear layer at inference",
        "text_features": list(TEXT_FEATURES),
        "platt": {"a": round(a, 4), "b": round(c, 4), "fitted_on": "out-of-fold dev rows"},
        "cv": {
            "folds": f"{CV_BLOCKS} contiguous sentence-id blocks of train+dev",
            "dev_rows_f1": f1_scores(list(y[is_dev]), list(p_oof[is_dev] >= threshold)),
            "train_rows_f1": f1_scores(list(y[~is_dev]), list(p_oof[~is_dev] >= threshold)),
            "dev_rows_reliability": reliability(p_oof[is_dev], y[is_dev]),
        },
        "trained_on": f"CT24 train + dev ({len(y)} sentences)",
        "selected_on": "grouped CV (dev rows out of fold); dev-test read once, SENTENCE_HEADS.md",
    }


def fit_projection(
    x: np.ndarray, target: np.ndarray, x_held: np.ndarray, target_held: np.ndarray, x_news: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Ridge onto MiniLM's embeddings, plus the mean projected news sentence (`proj_centre`).

    A ridge fit shrinks towards the mean, so raw projections share a large common direction
    and every pair looks similar (20% of PTC sentences passed the labelled-set threshold, 13%
    with MiniLM itself). Subtracting the news mean before normalising brings that to about 5%
    for about 2 points of labelled-set F1.
    """
    from sklearn.linear_model import Ridge

    ridge = Ridge(alpha=RIDGE_ALPHA).fit(x, target)
    weights = {"proj_w": ridge.coef_.T.astype(np.float32), "proj_b": ridge.intercept_.astype(np.float32)}
    weights["proj_centre"] = (x_news @ weights["proj_w"] + weights["proj_b"]).mean(axis=0)
    predicted = x_held @ weights["proj_w"] + weights["proj_b"]
    predicted = unit(predicted)
    cosine = (predicted * target_held).sum(axis=1)
    return weights, {
        "ridge_alpha": RIDGE_ALPHA,
        "training_sentences": len(x),
        "centred_on": "PTC train sentences",
        "held_out_cosine_to_minilm": {
            "median": round(float(np.median(cosine)), 4),
            "mean": round(float(cosine.mean()), 4),
            "held_out": "CT24 dev",
        },
    }


def narrative_threshold(model: TechniqueModel, heads: SentenceHeads) -> dict[str, Any]:
    """Best micro-F1 threshold on our labelled sentences, with the catalogue also projected."""
    from propscope.analyzers.narratives import Matcher

    def embed(texts: list[str]) -> np.ndarray:
        return heads.embed(model.sentence_features(texts, [[(0, len(t))] for t in texts], keep=False))

    matcher = Matcher.build(load_catalogue(), embed)
    rows = yaml.safe_load(LABELLED.read_text("utf-8"))["sentences"]
    best = matcher.scores(embed([r["text"] for r in rows]))
    ids = [e.id for e in matcher.entries]

    def f1(t: float) -> float:
        predicted = [ids[j] if best[i, j] >= t else "none" for i, j in enumerate(best.argmax(axis=1))]
        tp = sum(p != "none" and p == r["narrative"] for p, r in zip(predicted, rows, strict=True))
        fp = sum(p != "none" and p != r["narrative"] for p, r in zip(predicted, rows, strict=True))
        fn = sum(
            r["narrative"] != "none" and p != r["narrative"] for p, r in zip(predicted, rows, strict=True)
        )
        return 2 * tp / max(2 * tp + fp + fn, 1)

    threshold = max(GRID, key=lambda t: (round(f1(t), 4), t))
    return {
        "threshold": threshold,
        "labelled_f1_in_sample": round(f1(threshold), 4),
        "matching": "best example cosine, both sides projected and centred",
        "selected_on": str(LABELLED.relative_to(LABELLED.parents[2])),
    }


def _features(model: TechniqueModel, ct24: Path, ptc: Path, limit: int | None, began: float) -> tuple:
    """Pooled features (and MiniLM targets) of CT24 train/dev/dev-test and PTC train sentences."""
    x, y, minilm = {}, {}, {}
    for split in ("train", "dev", "dev-test"):
        rows = ct24_split(ct24, split)[:limit]
        x[split] = model.sentence_features(*in_runs([r.text for r in rows]), keep=False)
        y[split] = np.array([bool(r.label) for r in rows])
        minilm[split] = encoder.embed([r.text for r in rows])
        print(f"CT24 {split}: {len(rows)} sentences ({time.time() - began:.0f} s)", flush=True)
    texts, spans = ptc_sentences(ptc)
    texts, spans = texts[:limit], spans[:limit]
    x_ptc = model.sentence_features(texts, spans, keep=False)
    minilm_ptc = encoder.embed([t[s:e] for t, doc in zip(texts, spans, strict=True) for s, e in doc])
    print(f"PTC train: {len(x_ptc)} sentences ({time.time() - began:.0f} s)", flush=True)
    return x, y, minilm, x_ptc, minilm_ptc


def _save_features(
    path: Path, x: dict, y: dict, minilm: dict, x_ptc: np.ndarray, minilm_ptc: np.ndarray
) -> None:
    arrays = {
        f"{kind}_{split}": table[split]
        for kind, table in (("x", x), ("y", y), ("m", minilm))
        for split in table
    }
    np.savez(path, x_ptc=x_ptc, m_ptc=minilm_ptc, **arrays)


def _load_features(path: Path) -> tuple:
    with np.load(path) as npz:
        tables: dict[str, dict[str, np.ndarray]] = {"x": {}, "y": {}, "m": {}}
        for name in npz.files:
            kind, split = name.split("_", 1)
            if split != "ptc":
                tables[kind][split] = npz[name]
        return tables["x"], tables["y"], tables["m"], npz["x_ptc"], npz["m_ptc"]


def claim_features(model: TechniqueModel, ct24: Path, limit: int | None = None) -> dict[str, np.ndarray]:
    """What fit_claims reads, for CT24 train (sorted by id) then dev, each read in runs of 8 as
    `propscope eval checkworthy` reads a file: `x` (claim_inputs + text_features), `y`, `ids`,
    `is_dev`. Dev-test is not read."""
    parts: dict[str, list[np.ndarray]] = {"x": [], "y": [], "ids": [], "is_dev": []}
    for split in ("train", "dev"):
        rows = ct24_split(ct24, split)[:limit]
        pooled, sentences = claim_inputs(model, *in_runs([r.text for r in rows]), keep=False)
        parts["x"].append(np.hstack([pooled, text_features(sentences)]))
        parts["y"].append(np.array([bool(r.label) for r in rows]))
        parts["ids"].append(np.array([int(r.id) for r in rows]))
        parts["is_dev"].append(np.full(len(rows), split == "dev"))
    return {name: np.concatenate(arrays) for name, arrays in parts.items()}


def _claims_cached(model: TechniqueModel, args: argparse.Namespace) -> tuple[dict[str, np.ndarray], bool]:
    cache: Path | None = args.claim_features
    if cache and cache.is_file():
        with np.load(cache) as npz:
            return {name: npz[name] for name in npz.files}, True
    features = claim_features(model, args.ct24, args.limit)
    if cache:
        np.savez(cache, **features)
    return features, False


def refit_claims(model: TechniqueModel, args: argparse.Namespace, began: float) -> int:
    """--claims-only: refit the check-worthiness head into the folder's existing heads, leaving
    the projection, its arrays and the narratives section as they are. A folder without heads
    (the accurate profile's) gets the claims head alone: `narratives` matches in MiniLM's own
    space by default, so the projection only serves the opt-in `narratives_shared`."""
    if (args.model / CONFIG).is_file():
        heads = SentenceHeads.load(args.model)
    else:  # a new profile's folder: the claims head alone
        heads = SentenceHeads({"encoder": model.config.get("version")}, {})
    features, cached = _claims_cached(model, args)
    claim_weights, claims = fit_claims(features["x"], features["y"], features["ids"], features["is_dev"])
    claims["built"] = {
        "command": CLAIMS_COMMAND,
        "seconds": round(time.time() - began),
        "features": "read from the --claim-features cache" if cached else "encoded in this run",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    kept = {k: v for k, v in heads.weights.items() if not k.startswith("claim_")}
    np.savez(args.model / WEIGHTS, **kept, **{k: np.asarray(v, np.float32) for k, v in claim_weights.items()})
    config = {**heads.config, "claims": claims}
    (args.model / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(claims, indent=2))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ct24", type=Path, required=True)
    ap.add_argument("--ptc", type=Path, help="PTC folder (for the projection; not needed with --claims-only)")
    ap.add_argument("--model", type=Path, default=MODEL_DIR, help="technique model folder")
    ap.add_argument("--limit", type=int, help="rows/articles per split (smoke runs)")
    ap.add_argument("--features", type=Path, help="cache of the pooled features (.npz): refits skip encoding")
    ap.add_argument("--claim-features", type=Path, help="cache of the check-worthiness inputs (.npz)")
    ap.add_argument("--claims-only", action="store_true", help="refit the check-worthiness head only")
    args = ap.parse_args()
    began = time.time()
    model = TechniqueModel(args.model)
    if args.claims_only:
        return refit_claims(model, args, began)
    if args.ptc is None:
        ap.error("--ptc is needed unless --claims-only")
    cache = args.features
    cached = bool(cache and cache.is_file())
    if cache and cached:
        x, y, minilm, x_ptc, minilm_ptc = _load_features(cache)
    else:
        x, y, minilm, x_ptc, minilm_ptc = _features(model, args.ct24, args.ptc, args.limit, began)
        if cache:
            _save_features(cache, x, y, minilm, x_ptc, minilm_ptc)
    features, _ = _claims_cached(model, args)
    claim_weights, claims = fit_claims(features["x"], features["y"], features["ids"], features["is_dev"])
    proj_weights, projection = fit_projection(
        np.vstack([x_ptc, x["train"]]),
        np.vstack([minilm_ptc, minilm["train"]]),
        x["dev"],
        minilm["dev"],
        x_ptc,
    )
    weights = {k: np.asarray(v, dtype=np.float32) for k, v in {**claim_weights, **proj_weights}.items()}
    config: dict[str, Any] = {
        "encoder": model.config.get("version"),
        "claims": claims,
        "projection": projection,
    }
    config["narratives"] = narrative_threshold(model, SentenceHeads(config, weights))
    config["built"] = {
        "command": "python -m propscope.training.sentence_heads --ct24 "
        "../shared/data/checkworthiness-ct24-en --ptc ../shared/data/ptc-semeval2020-task11 "
        "--features runs/sentence_features.npz --claim-features runs/claim_features.npz",
        "seconds": round(time.time() - began),
        "features": "read from the --features cache" if cached else "encoded in this run (about 11 min)",
        "machine": platform.machine(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    np.savez(args.model / WEIGHTS, **weights)
    (args.model / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(config, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
