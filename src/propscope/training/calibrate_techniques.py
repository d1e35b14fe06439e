"""Fit the technique model's score calibration on PTC articles its weights never saw.

    python -m propscope.training.calibrate_techniques --ptc ../shared/data/ptc-semeval2020-task11 \
        [--model DIR] [--folds 5] [--out benchmarks/results/calibration-techniques.json]

Two small logistic maps over a found span's raw signals (models/calibration.py says which, and
why not isotonic or Platt):
- `span`: P(an annotator marked a technique that overlaps it), the span's `score`;
- `technique`: P(the named technique is among the gold techniques of the annotated spans it
  overlaps | it overlaps one), its `technique_score`.

The weights were trained on PTC train, so the maps are fitted on PTC dev. Dev also chose the SI
threshold and the TC head's epoch, so the figures are honest about the calibrator (its ECE is
measured out of fold: fitted on 4/5 of the dev articles, scored on the other 1/5, five times
over with different deals) but not a fresh measure of the model. The shipped maps are then
fitted on all of dev. Writes calibration.json and reliability.png into the model folder, and
the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from propscope.analyzers.techniques import BATCH_DOCS, MODEL_DIR, TechniqueModel
from propscope.eval.ptc import merge_spans, read_articles, read_si_labels, read_tc_labels
from propscope.models.calibration import (
    Calibration,
    calibration_inputs,
    expected_calibration_error,
    reliability,
)

SEED = 2020
REPEATS = 5  # deals of the articles into folds: one 5-fold ECE on ~130 spans a fold is noisy


REGULARISATION = 1.0  # sklearn's C; 0.1 and 10 measured alike out of fold on PTC dev (ECE within 0.01)


def fit_logistic(labels: list[str], features: np.ndarray, outcome: list[int]) -> Calibration:
    """Regularised logistic regression of 0/1 outcomes on span features."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=REGULARISATION, max_iter=1000)
    model.fit(features, np.asarray(outcome, dtype=np.int64))
    weights = tuple(float(w) for w in model.coef_[0])
    return Calibration(tuple(labels), weights, float(model.intercept_[0]))


@dataclass(frozen=True, slots=True)
class FoundSpan:
    """One span the model found in a dev article, with its raw scores and what gold says."""

    article: str
    features: np.ndarray
    marked: int  # overlaps an annotated span
    right_technique: int  # the named technique is a gold technique of an overlapping span


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return min(a[1], b[1]) > max(a[0], b[0])


def collect(model: TechniqueModel, ptc: Path) -> list[FoundSpan]:
    """Every span the model finds in PTC dev, scored against the dev gold."""
    texts = read_articles(ptc / "dev-articles")
    gold_si = read_si_labels(ptc / "dev-task-SI.labels")
    gold_tc: dict[str, list[tuple[int, int, str]]] = {}
    for row in read_tc_labels(ptc / "dev-task-TC.labels"):
        gold_tc.setdefault(row.article, []).append((row.start, row.end, row.technique))
    ids, found = sorted(texts), []
    for k in range(0, len(ids), BATCH_DOCS):
        chunk = ids[k : k + BATCH_DOCS]
        for article, enc in zip(chunk, model.encode([texts[a] for a in chunk], keep=False), strict=True):
            spans = model.find_spans(enc)
            probs = model.classify(enc, [(s, e) for s, e, _ in spans])
            gold = merge_spans(gold_si.get(article, []))
            for (start, end, raw), row in zip(spans, probs, strict=True):
                marked = any(_overlaps((start, end), g) for g in gold)
                named = model.labels[int(row.argmax())]
                right = any(
                    t == named and _overlaps((start, end), (s, e))
                    for s, e, t in gold_tc.get(article, [])
                )
                x = calibration_inputs(raw, end - start, row)
                found.append(FoundSpan(article, x, int(marked), int(right)))
    return found


def folds_by_article(found: list[FoundSpan], folds: int, seed: int) -> list[set[str]]:
    """Articles shuffled (seeded) and dealt into `folds` groups."""
    articles = sorted({f.article for f in found})
    random.Random(seed).shuffle(articles)
    return [set(articles[k::folds]) for k in range(folds)]


def _pairs(found: list[FoundSpan], which: str) -> tuple[np.ndarray, np.ndarray]:
    """Features and outcomes: all spans for `span`, the marked ones for `technique`."""
    rows = found if which == "span" else [f for f in found if f.marked]
    outcome = [f.marked if which == "span" else f.right_technique for f in rows]
    return np.array([f.features for f in rows]), np.array(outcome)


def cross_fitted(found: list[FoundSpan], labels: list[str], which: str, folds: int) -> dict[str, Any]:
    """Out-of-fold ECE and AUC of the map (per fold, and pooled over all repeats), and the
    ECE of the raw score it replaces."""
    from sklearn.metrics import roc_auc_score

    per_fold, pooled_p, pooled_o = [], [], []
    for repeat in range(REPEATS):
        for held in folds_by_article(found, folds, SEED + repeat):
            fit_x, fit_y = _pairs([f for f in found if f.article not in held], which)
            test_x, test_y = _pairs([f for f in found if f.article in held], which)
            calibration = fit_logistic(labels, fit_x, fit_y.tolist())
            predicted = [calibration.probability(x) for x in test_x]
            per_fold.append(expected_calibration_error(predicted, test_y))
            pooled_p.extend(predicted)
            pooled_o.extend(test_y.tolist())
    x, y = _pairs(found, which)
    raw = 1.0 / (1.0 + np.exp(-x[:, 0 if which == "span" else 2]))  # the score shown before
    return {
        "n": len(y),
        "base_rate": round(float(y.mean()), 4),
        "ece_raw": round(expected_calibration_error(raw, y), 4),
        "auc_raw": round(float(roc_auc_score(y, raw)), 4),
        "ece_out_of_fold": round(expected_calibration_error(pooled_p, pooled_o), 4),
        "auc_out_of_fold": round(float(roc_auc_score(pooled_o, pooled_p)), 4),
        "ece_fold_mean": round(float(np.mean(per_fold)), 4),
        "ece_fold_std": round(float(np.std(per_fold)), 4),
        "reliability_raw": reliability(raw, y),
        "reliability_out_of_fold": reliability(pooled_p, pooled_o),
    }


def plot(figures: dict[str, dict[str, Any]], path: Path) -> None:
    """The reliability diagram: raw and out-of-fold calibrated, for both maps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    for ax, (name, fig_data) in zip(axes, figures.items(), strict=True):
        curves = (("reliability_raw", "raw"), ("reliability_out_of_fold", "calibrated (out of fold)"))
        for key, label in curves:
            rows = [r for r in fig_data[key] if r["n"]]
            ax.plot([r["mean_predicted"] for r in rows], [r["observed"] for r in rows], "o-", label=label)
        ax.plot([0, 1], [0, 1], "k--", linewidth=0.8)
        ax.set_title(f"{name} (n={fig_data['n']}, ECE raw {fig_data['ece_raw']:.3f} -> "
                     f"{fig_data['ece_out_of_fold']:.3f})", fontsize=9)
        ax.set_xlabel("predicted probability")
        ax.set_ylabel("observed frequency")
        ax.legend(fontsize=8)
    fig.suptitle(f"Technique score calibration, PTC dev, {REPEATS} x 5-fold by article")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--ptc", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=MODEL_DIR)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/calibration-techniques.json"))
    args = parser.parse_args(argv)
    model = TechniqueModel(args.model)
    found = collect(model, args.ptc)
    figures = {which: cross_fitted(found, model.labels, which, args.folds) for which in ("span", "technique")}
    maps = {}
    for which in figures:
        x, y = _pairs(found, which)
        maps[which] = fit_logistic(model.labels, x, y.tolist())
    plot(figures, args.model / "reliability.png")
    articles = len({f.article for f in found})
    shipped = {
        "model": model.config.get("version"),
        "fitted_on": f"PTC dev, {articles} articles with found spans, {len(found)} spans",
        "span": maps["span"].to_json(),
        "technique": maps["technique"].to_json(),
    }
    (args.model / "calibration.json").write_text(json.dumps(shipped, indent=1) + "\n", "utf-8")
    command = "python -m propscope.training.calibrate_techniques " + shlex.join(sys.argv[1:])
    report = {
        "command": command, "model": shipped["model"], "folds": args.folds, "repeats": REPEATS,
        **figures,
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n", "utf-8")
    for which, f in figures.items():
        print(
            f"{which}: n {f['n']}  ECE raw {f['ece_raw']} -> out of fold {f['ece_out_of_fold']} "
            f"(per fold {f['ece_fold_mean']} ± {f['ece_fold_std']}), "
            f"AUC {f['auc_raw']} -> {f['auc_out_of_fold']}"
        )


if __name__ == "__main__":
    main()
