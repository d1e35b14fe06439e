"""Fit the narrative matcher's scoring layer, calibration and threshold on EUvsDisinfo's training part.

    python -m propscope.training.narrative_matcher --data ../shared/data/euvsdisinfo \
        [--embedding minilm|shared] [--features-cache runs/narratives/features-minilm.npz]

Only the training part of the fixed split (propscope.eval.euvsdisinfo) is read for fitting;
the held-out part is left for `propscope eval narratives`. Steps:

1. every case summary is cut into the analyser's candidate sentences and embedded the way the
   analyser embeds articles; each sentence carries its case's gold narratives (noisy: not every
   sentence of a case states the claim) and the catalogue's own examples join as positives;
2. a joint one-vs-rest logistic regression (scipy L-BFGS) over [vector, best cosine to each
   narrative's examples]; its L2 strength is chosen by 5-fold cross-validation by case on the
   training part (top-1 F1 at each fold's best threshold);
3. one Platt map fitted on the out-of-fold case-level logits (the best sentence's), all
   (case, narrative) pairs together, so the score is a probability that the case carries it;
   Sentences of ordinary news articles (`--background`, by default the first 120 PTC train
   articles, text only) join every fit as negatives for every narrative: case summaries alone
   never show the layer a byline or a patriotic flourish, and without them it scored such
   sentences in articles as narratives;
4. the threshold is the calibrated probability that maximises out-of-fold top-1 F1, with a case
   that has no catalogue narrative counting as a false positive whenever something is shown;
5. the final layer is refitted on the whole training part and written with these figures to
   propscope/narratives/matcher-<embedding>.{npz,json}.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize  # type: ignore[import-untyped,unused-ignore]

from propscope.analyzers.narratives import (
    ANALYZERS,
    CatalogueMatching,
    Matcher,
    candidate_sentences,
)
from propscope.eval.euvsdisinfo import Case, part_of, read_cases
from propscope.narratives import load_catalogue
from propscope.narratives.layer import ScoringLayer, sigmoid

L2_GRID = (0.03, 0.1, 0.3, 1.0, 3.0)
THRESHOLDS = np.round(np.arange(0.05, 0.96, 0.01), 2)
FOLDS = 5
BACKGROUND = Path("../shared/data/ptc-semeval2020-task11/train-articles")
BACKGROUND_ARTICLES = 120  # about 4,000 sentences, as many as the training part's cases give


def case_fold(case: Case) -> int:
    """Cross-validation fold of a case: from digits of its hash the split does not use."""
    return int(hashlib.sha256(case.key.encode("utf-8")).hexdigest()[8:16], 16) % FOLDS


def sentence_table(analyzer: CatalogueMatching, cases: Sequence[Case]) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, owner): one row per candidate sentence of every case, and its case index."""
    spans = [candidate_sentences(c.summary) for c in cases]
    owner = np.array([i for i, s in enumerate(spans) for _ in s], dtype=np.int64)
    vectors = analyzer.vectors([c.summary for c in cases], spans, keep=False)
    return vectors, owner


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights (features, narratives) and biases of one-vs-rest logistic regressions, fitted
    jointly (one L-BFGS problem: the narratives share nothing but the solver's calls)."""
    d, k = x.shape[1], y.shape[1]

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[: d * k].reshape(d, k), theta[d * k :]
        z = x @ w + b
        g = sigmoid(z).astype(np.float64) - y
        value = float(np.logaddexp(0.0, z).sum() - (y * z).sum() + 0.5 * l2 * (w * w).sum())
        return value, np.concatenate([(x.T @ g + l2 * w).ravel(), g.sum(axis=0)])

    found = minimize(loss, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": 400})
    return found.x[: d * k].reshape(d, k).astype(np.float32), found.x[d * k :].astype(np.float32)


def fit_platt(z: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of sigmoid(slope * z + intercept) fitted to labels y."""

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        s = theta[0] * z + theta[1]
        g = sigmoid(s).astype(np.float64) - y
        return float(np.logaddexp(0.0, s).sum() - (y * s).sum()), np.array([(g * z).sum(), g.sum()])

    found = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(found.x[0]), float(found.x[1])


def top1_f1(scores: np.ndarray, gold: np.ndarray, threshold: float, strict: bool) -> float:
    """Top-1 F1 at `threshold`; `strict` counts anything shown on a case without gold as a
    false positive (the selection objective), otherwise those cases are left out."""
    first = scores.argmax(axis=1)
    rows = np.arange(len(scores))
    shown = scores[rows, first] >= threshold
    has_gold = gold.any(axis=1)
    right = shown & gold[rows, first]
    tp = int(right.sum())
    fp = int((shown & ~right & (has_gold | strict)).sum())
    fn = int((has_gold & ~right).sum())
    return 2 * tp / max(2 * tp + fp + fn, 1)


class Fitting:
    """The training part's sentence features and labels, and the fits made on them."""

    def __init__(
        self,
        matcher: Matcher,
        vectors: np.ndarray,
        owner: np.ndarray,
        cases: Sequence[Case],
        background: np.ndarray,
    ) -> None:
        ids = matcher.ids
        self.background = np.hstack([background, matcher.cosines(background)])
        self.gold = np.array([[n in c.gold for n in ids] for c in cases], dtype=bool)
        self.features = np.hstack([vectors, matcher.cosines(vectors)])
        self.example_features = np.hstack([matcher.vectors, matcher.cosines(matcher.vectors)])
        self.example_labels = np.eye(len(ids))[matcher.owner]
        self.owner, self.folds = owner, np.array([case_fold(c) for c in cases])

    def fit(self, case_mask: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
        """A layer fitted on the sentences of the masked cases plus the catalogue examples."""
        rows = case_mask[self.owner]
        x = np.vstack([self.features[rows], self.example_features, self.background])
        y = np.vstack(
            [
                self.gold[self.owner[rows]].astype(np.float64),
                self.example_labels,
                np.zeros((len(self.background), self.gold.shape[1])),
            ]
        )
        return fit_logistic(x, y, l2)

    def case_logits(self, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(cases, narratives): each case's best sentence logit (-inf for a case without one)."""
        out = np.full(self.gold.shape, -np.inf, dtype=np.float64)
        np.maximum.at(out, self.owner, self.features @ w + b)
        return out

    def out_of_fold(self, l2: float) -> np.ndarray:
        """Case-level logits, each case scored by a layer fitted on the other folds."""
        out = np.full(self.gold.shape, -np.inf, dtype=np.float64)
        for k in range(FOLDS):
            w, b = self.fit(self.folds != k, l2)
            held = self.folds == k
            out[held] = self.case_logits(w, b)[held]
        return out


def best_threshold(p: np.ndarray, gold: np.ndarray) -> tuple[float, float]:
    """(threshold, strict top-1 F1) maximising the selection objective on probabilities p."""
    sweep = [(top1_f1(p, gold, float(t), strict=True), float(t)) for t in THRESHOLDS]
    f1, threshold = max(sweep)
    return threshold, f1


def select(fitting: Fitting) -> dict[str, Any]:
    """L2, calibration and threshold chosen out of fold on the training part."""
    trials: dict[float, Any] = {}
    for l2 in L2_GRID:
        z = fitting.out_of_fold(l2)
        slope, intercept = fit_platt(_finite(z).ravel(), fitting.gold.ravel().astype(np.float64))
        p = sigmoid(slope * _finite(z) + intercept)
        threshold, f1 = best_threshold(p, fitting.gold)
        trials[l2] = {"slope": slope, "intercept": intercept, "threshold": threshold, "strict_f1": f1,
                      "top1_f1": top1_f1(p, fitting.gold, threshold, strict=False)}  # fmt: skip
        print(f"l2 {l2}: {trials[l2]}", flush=True)
    chosen = max(trials, key=lambda k: trials[k]["strict_f1"])
    return {"l2": chosen, **trials[chosen], "trials": {str(k): v for k, v in trials.items()}}


def _finite(z: np.ndarray) -> np.ndarray:
    """Logits with -inf (cases without a candidate sentence) set to a very low value."""
    return np.where(np.isfinite(z), z, -30.0)


def run(data: Path, embedding: str, cache: Path | None, background: Path = BACKGROUND) -> dict[str, Any]:
    """Fit, select and write the layer for `embedding`; returns its config."""
    started = time.perf_counter()
    analyzer = next(a for a in ANALYZERS.values() if a.embedding == embedding)()
    cases = [c for c in part_of(read_cases(data), "train")]
    matcher = Matcher.build(load_catalogue(), analyzer.embed)
    vectors, owner = _features(analyzer, cases, cache)
    negatives = _background(analyzer, background, cache)
    fitting = Fitting(matcher, vectors, owner, cases, negatives)
    chosen = select(fitting)
    w, b = fitting.fit(np.ones(len(cases), dtype=bool), chosen["l2"])
    config = _config(matcher, cases, chosen, embedding, time.perf_counter() - started)
    ScoringLayer(matcher.ids, w, b, chosen["slope"], chosen["intercept"], chosen["threshold"], config).save(
        embedding
    )
    return config


def _features(
    analyzer: CatalogueMatching, cases: Sequence[Case], cache: Path | None
) -> tuple[np.ndarray, np.ndarray]:
    """Sentence features, read from / written to `cache` (an npz under runs/) when given."""
    if cache is not None and cache.is_file():
        with np.load(cache) as npz:
            return np.asarray(npz["vectors"]), np.asarray(npz["owner"])
    vectors, owner = sentence_table(analyzer, cases)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cache, vectors=vectors, owner=owner)
    return vectors, owner


def _background(analyzer: CatalogueMatching, folder: Path, cache: Path | None) -> np.ndarray:
    """Vectors of the candidate sentences of the first BACKGROUND_ARTICLES articles in `folder`."""
    stored = cache.with_name(cache.stem + "-background.npz") if cache is not None else None
    if stored is not None and stored.is_file():
        with np.load(stored) as npz:
            return np.asarray(npz["vectors"])
    texts = [p.read_text("utf-8") for p in sorted(folder.glob("*.txt"))[:BACKGROUND_ARTICLES]]
    vectors = analyzer.vectors(texts, [candidate_sentences(t) for t in texts], keep=False)
    if stored is not None:
        np.savez_compressed(stored, vectors=vectors)
    return vectors


def _config(
    matcher: Matcher, cases: Sequence[Case], chosen: dict[str, Any], embedding: str, seconds: float
) -> dict[str, Any]:
    return {
        "embedding": embedding,
        "ids": list(matcher.ids),
        "features": "sentence vector + best cosine to each narrative's examples",
        "layer": f"one-vs-rest logistic regression, L2 {chosen['l2']} "
        f"(chosen from {list(L2_GRID)} by {FOLDS}-fold CV)",
        "trained_on": {
            "data": "EUvsDisinfo 2015-2017 cases, training part only (propscope.eval.euvsdisinfo)",
            "cases": len(cases),
            "cases_with_gold": sum(bool(c.gold) for c in cases),
            "plus": "the catalogue's own example claims as positives",
            "background": f"sentences of the first {BACKGROUND_ARTICLES} PTC train articles, as negatives",
        },
        "calibration": {
            "kind": "Platt map on out-of-fold case-level logits",
            "slope": round(chosen["slope"], 6),
            "intercept": round(chosen["intercept"], 6),
        },
        "threshold": {
            "value": chosen["threshold"],
            "chosen_by": "out-of-fold top-1 F1 on the training part, anything shown on a case "
            "without gold counted as a false positive",
            "out_of_fold_strict_f1": round(chosen["strict_f1"], 4),
            "out_of_fold_top1_f1": round(chosen["top1_f1"], 4),
        },
        "selection_trials": chosen["trials"],
        "built": {
            "command": "python -m propscope.training.narrative_matcher --data "
            f"../shared/data/euvsdisinfo --embedding {embedding}",
            "seconds": round(seconds),
            "date": datetime.now(UTC).date().isoformat(),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/euvsdisinfo"))
    ap.add_argument("--embedding", choices=("minilm", "shared"), default="minilm")
    ap.add_argument("--background", type=Path, default=BACKGROUND)
    ap.add_argument("--features-cache", type=Path, default=None)
    args = ap.parse_args(argv)
    config = run(args.data, args.embedding, args.features_cache, args.background)
    print(config["threshold"], config["calibration"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
