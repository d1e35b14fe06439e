"""Fit the `narrative_labels` head (SemEval-2025 Task 10 narratives) on the technique encoder.

    python -m propscope.training.narrative_taxonomy [--shared ../shared] [--profile fast]
        [--cache runs/narrtax/features.npz] [--cv-only] [--out benchmarks/results/narrative-taxonomy.json]

Data: the 399 English training articles (train/EN, subtask-2-annotations.txt) and the scorer's
class lists (scorers-data/). Each article is the unit mean, unit max and unit title vector of
its sentences' pooled encoder states (analyzers/narrative_taxonomy.article_features), one linear
layer over them with one sigmoid output per label (`Other`, 21 narratives, their subnarratives
with `X: Other`), L2-regularised binary cross-entropy, full-batch L-BFGS in torch.

Everything is chosen on out-of-fold predictions, never on the articles scored:
- calibration: one Platt map per group (`Other`, narratives, subnarratives) on 5-fold
  out-of-fold logits;
- the L2 strength, the two thresholds and the fallback under a narrative: the best samples-F1
  on subnarratives (the official ranking measure) of those out-of-fold probabilities.
`cross_validate` repeats all of that inside each training part of an outer 5-fold split
(grouped so duplicate texts share a fold) and scores the held-out part: the honest figures.
The shipped head repeats it once on all 399 articles.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from propscope.analyzers.narrative_taxonomy import (
    HEAD,
    OTHER,
    Decision,
    Taxonomy,
    article_features,
    decide,
)
from propscope.eval.narrative_taxonomy import read_gold, samples_f1
from propscope.eval.task10 import read_raw
from propscope.models.calibration import expected_calibration_error

# One thread each for torch and BLAS: the fits are small, and on a shared machine many BLAS
# threads made one 320x1152 SVD take 7 s instead of 0.3 s.
torch.set_num_threads(1)
threadpool_limits(1)

TASK10 = "data/semeval2025-task10"
L2_GRID = (1e-4, 3e-4, 1e-3)
NARRATIVE_THRESHOLDS = tuple(round(x, 2) for x in np.arange(0.10, 0.81, 0.05))
# Subnarratives are rare and count only under a chosen narrative, so their calibrated
# probabilities are small: the grid reaches down to 0.02.
SUBNARRATIVE_THRESHOLDS = (0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
FALLBACKS = ("other", "best")
FOLDS = 5
OOF_OUT: Path | None = Path("runs/narrtax/outer_test_probabilities.npz")  # git-ignored
SEED = 0
LBFGS_STEPS = 150


# ---------------------------------------------------------------- data

def load_split(shared: Path) -> tuple[list[str], list[str], list[tuple[set[str], set[str]]], Taxonomy]:
    """ids, raw texts, gold (narratives, subnarratives) and the taxonomy of EN train."""
    root = shared / TASK10
    lists = root / "scorers-data"
    taxonomy = Taxonomy(
        tuple(x for x in read_raw(lists / "subtask2_narratives.txt").split("\n") if x),
        tuple(x for x in read_raw(lists / "subtask2_subnarratives.txt").split("\n") if x),
    )
    gold = read_gold(root / "train/EN/subtask-2-annotations.txt")
    gold.sort(key=lambda g: g.article)
    ids = [g.article for g in gold]
    texts = [read_raw(root / "train/EN/raw-documents" / a) for a in ids]
    return ids, texts, [(set(g.narratives), set(g.subnarratives)) for g in gold], taxonomy


def encode(texts: list[str], profile: str | None) -> tuple[np.ndarray, str]:
    """Article features (n, 1152) from the profile's encoder, and the encoder's version."""
    from propscope import profiles
    from propscope.analyzers.narrative_taxonomy import sentences
    from propscope.analyzers.techniques import load_model

    model = load_model(str(profiles.model_dir(profile)))
    rows = []
    for k, text in enumerate(texts):
        states = model.sentence_features([text], [sentences(text)], keep=False)
        rows.append(article_features(states))
        if k % 50 == 0:
            print(f"encoded {k}/{len(texts)}", file=sys.stderr, flush=True)
    return np.stack(rows), str(model.config.get("version"))


def cached_features(
    texts: list[str], ids: list[str], cache: Path | None, profile: str | None
) -> tuple[np.ndarray, str]:
    """Features from `cache` when it holds these articles, else encoded (and cached)."""
    digest = hashlib.sha256("\0".join(texts).encode()).hexdigest()
    if cache is not None and cache.is_file():
        with np.load(cache) as data:
            if str(data["digest"]) == digest:
                return np.asarray(data["X"]), str(data["encoder"])
    X, version = encode(texts, profile)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, X=X, digest=digest, encoder=version, ids=np.array(ids))
    return X, version


def targets(gold: list[tuple[set[str], set[str]]], taxonomy: Taxonomy) -> np.ndarray:
    """(n, columns) 0/1; labels outside the class lists (four in EN train) are left out."""
    index = taxonomy.index
    Y = np.zeros((len(gold), len(taxonomy.columns)), dtype=np.float32)
    for i, (narratives, subs) in enumerate(gold):
        for label in narratives | subs:
            if label in index:
                Y[i, index[label]] = 1.0
    return Y


def fold_ids(texts: list[str], folds: int = FOLDS, seed: int = SEED) -> np.ndarray:
    """A fold per article, duplicate texts (whitespace aside) always in the same fold."""
    keys = [re.sub(r"\s+", " ", t).strip() for t in texts]
    groups = sorted(set(keys))
    random.Random(seed).shuffle(groups)
    of = {g: k % folds for k, g in enumerate(groups)}
    return np.array([of[k] for k in keys])


# ---------------------------------------------------------------- model

def fit_linear(X: np.ndarray, Y: np.ndarray, l2: float) -> dict[str, np.ndarray]:
    """Standardise, then one linear layer of independent sigmoids (BCE + l2 * |W|^2)."""
    mean, scale = X.mean(0), X.std(0) + 1e-6
    Xs = (X - mean) / scale
    # The L2 solution lies in the span of the training rows, so fitting in the coordinates of
    # that span (at most n dimensions instead of 1152) gives the same weights, several times faster.
    _, sv, Vt = np.linalg.svd(Xs, full_matrices=False)
    basis = Vt[sv > 1e-6 * sv[0]].T
    Xt = torch.tensor(Xs @ basis, dtype=torch.float32)
    Yt = torch.tensor(Y, dtype=torch.float32)
    W = torch.zeros((basis.shape[1], Y.shape[1]), requires_grad=True)
    prior = np.clip(Y.mean(0), 1e-3, 1 - 1e-3)
    b = torch.tensor(np.log(prior / (1 - prior)), dtype=torch.float32, requires_grad=True)
    opt = torch.optim.LBFGS(
        [W, b], max_iter=LBFGS_STEPS, tolerance_change=1e-7, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(Xt @ W + b, Yt) + l2 * (W**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    weights = basis @ W.detach().numpy().astype(np.float64)
    return {"mean": mean, "scale": scale, "weights": weights.astype(np.float32), "bias": b.detach().numpy()}


def logits(params: dict[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    return ((X - params["mean"]) / params["scale"]) @ params["weights"] + params["bias"]


def oof_logits(X: np.ndarray, Y: np.ndarray, folds: np.ndarray, l2: float) -> np.ndarray:
    out = np.zeros(Y.shape, dtype=np.float32)
    for k in np.unique(folds):
        train = folds != k
        out[~train] = logits(fit_linear(X[train], Y[train], l2), X[~train])
    return out


def groups(taxonomy: Taxonomy) -> list[np.ndarray]:
    """Column indices of the three calibration groups: Other, narratives, subnarratives."""
    n = len(taxonomy.narratives)
    return [np.array([0]), np.arange(1, 1 + n), np.arange(1 + n, len(taxonomy.columns))]


def fit_platt(z: np.ndarray, Y: np.ndarray, taxonomy: Taxonomy) -> np.ndarray:
    """(columns, 2) slope/intercept, one map per group, fitted on out-of-fold logits."""
    platt = np.zeros((Y.shape[1], 2), dtype=np.float32)
    for cols in groups(taxonomy):
        platt[cols] = _platt(z[:, cols].ravel(), Y[:, cols].ravel())
    return platt


def _platt(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Slope and intercept of one logistic map on logits (L-BFGS)."""
    zt, yt = torch.tensor(z, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    ab = torch.tensor([1.0, 0.0], requires_grad=True)
    opt = torch.optim.LBFGS([ab], max_iter=100, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(zt * ab[0] + ab[1], yt)
        loss.backward()
        return loss

    opt.step(closure)
    return ab.detach().numpy()


def calibrate(z: np.ndarray, platt: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z * platt[:, 0] + platt[:, 1], -30, 30)))


def ece(p: np.ndarray, y: np.ndarray) -> float:
    """Expected calibration error over every (article, label) pair (models/calibration's bins)."""
    return expected_calibration_error(p.ravel(), y.ravel())


# ---------------------------------------------------------------- decisions and scores

def predict_sets(P: np.ndarray, taxonomy: Taxonomy, rule: Decision) -> list[tuple[set[str], set[str]]]:
    out = []
    for p in P:
        found = decide(p, taxonomy, rule)
        out.append(({n for n, *_ in found}, {s for _, s, *_ in found}))
    return out


def score_sets(gold: list[tuple[set[str], set[str]]], pred: list[tuple[set[str], set[str]]],
               taxonomy: Taxonomy) -> tuple[float, float]:
    """Samples-F1 (coarse, fine), labels outside the class lists dropped on both sides."""
    coarse, fine = set(taxonomy.narrative_list), set(taxonomy.subnarrative_list)
    c = samples_f1([g[0] & coarse for g in gold], [p[0] & coarse for p in pred])[0]
    f = samples_f1([g[1] & fine for g in gold], [p[1] & fine for p in pred])[0]
    return c, f


def rule_masks(P: np.ndarray, taxonomy: Taxonomy, rule: Decision) -> tuple[np.ndarray, np.ndarray]:
    """`decide` over many articles at once, as 0/1 masks over the columns: (narratives incl.
    `Other`, subnarratives incl. `Other` in column 0). Columns outside the class lists do not
    exist, so the scorer's dropping of such labels is built in (an unlisted `X: Other` adds
    nothing). Checked against `decide` in `check_masks`."""
    n_narr = len(taxonomy.narratives)
    parent = np.array([taxonomy.narratives.index(taxonomy.parents[s]) for s in taxonomy.columns[1 + n_narr:]])
    narr = P[:, 1 : 1 + n_narr] >= rule.narrative
    other = ~narr.any(1)
    subs = P[:, 1 + n_narr :]
    chosen = (subs >= rule.subnarrative) & narr[:, parent]
    covered = np.zeros_like(narr)
    np.logical_or.at(covered.T, parent, chosen.T)
    need = narr & ~covered
    for j in range(n_narr):
        rows = np.flatnonzero(need[:, j])
        kids = np.flatnonzero(parent == j)
        if not len(rows) or not len(kids):
            continue
        if rule.fallback == "best":
            chosen[rows, kids[subs[np.ix_(rows, kids)].argmax(1)]] = True
        else:
            residual = f"{taxonomy.narratives[j]}: {OTHER}"
            if residual in taxonomy.index:
                chosen[rows, taxonomy.index[residual] - 1 - n_narr] = True
    coarse = np.concatenate([other[:, None], narr], axis=1)
    fine = np.concatenate([other[:, None], chosen], axis=1)
    return coarse, fine


def gold_masks(Y: np.ndarray, taxonomy: Taxonomy) -> tuple[np.ndarray, np.ndarray]:
    """Gold as the same masks (column 0 of the fine mask: subnarrative `Other`, which goes with
    narrative `Other`)."""
    n_narr = len(taxonomy.narratives)
    G = Y > 0.5
    return G[:, : 1 + n_narr], np.concatenate([G[:, :1], G[:, 1 + n_narr :]], axis=1)


def mask_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    """Samples-F1 of 0/1 masks."""
    inter, total = (gold & pred).sum(1), gold.sum(1) + pred.sum(1)
    return float(np.where(inter > 0, 2 * inter / np.maximum(total, 1), 0.0).mean())


def check_masks(
    P: np.ndarray, gold: list[tuple[set[str], set[str]]], taxonomy: Taxonomy, rule: Decision
) -> tuple[float, float]:
    """The figures of `decide` and of `rule_masks` must agree (and gold masks with the sets)."""
    by_sets = score_sets(gold, predict_sets(P, taxonomy, rule), taxonomy)
    Y = targets(gold, taxonomy)
    gc, gf = gold_masks(Y, taxonomy)
    pc, pf = rule_masks(P, taxonomy, rule)
    by_masks = (mask_f1(gc, pc), mask_f1(gf, pf))
    assert np.allclose(by_sets, by_masks), (by_sets, by_masks)
    return by_sets


def best_rule(P: np.ndarray, Y: np.ndarray, taxonomy: Taxonomy) -> tuple[Decision, float]:
    """The thresholds and fallback with the best out-of-fold F1@fine (ties: coarse)."""
    gc, gf = gold_masks(Y, taxonomy)
    best: tuple[float, float, Decision] | None = None
    for fallback in FALLBACKS:
        for tn in NARRATIVE_THRESHOLDS:
            for ts in SUBNARRATIVE_THRESHOLDS:
                rule = Decision(float(tn), float(ts), fallback)
                pc, pf = rule_masks(P, taxonomy, rule)
                f, c = mask_f1(gf, pf), mask_f1(gc, pc)
                if best is None or (f, c) > best[:2]:
                    best = (f, c, rule)
    assert best is not None
    return best[2], best[0]


def select(X: np.ndarray, Y: np.ndarray, gold: list[tuple[set[str], set[str]]], texts: list[str],
           taxonomy: Taxonomy) -> dict[str, Any]:
    """Everything chosen by inner cross-validation on these articles, then the head fitted on
    all of them: params, platt, rule, l2, and the inner out-of-fold figures."""
    folds = fold_ids(texts, seed=SEED + 1)
    best: dict[str, Any] | None = None
    for l2 in L2_GRID:
        z = oof_logits(X, Y, folds, l2)
        platt = fit_platt(z, Y, taxonomy)
        P = calibrate(z, platt)
        rule, f = best_rule(P, Y, taxonomy)
        check_masks(P, gold, taxonomy, rule)
        print(f"  l2 {l2:g}: inner F1@fine {f:.3f} with {rule}", file=sys.stderr, flush=True)
        if best is None or f > best["inner_f1_fine"]:
            best = {"l2": l2, "platt": platt, "rule": rule, "inner_f1_fine": f, "z": z}
    assert best is not None
    best["params"] = fit_linear(X, Y, best["l2"])
    return best


def baselines(gold: list[tuple[set[str], set[str]]], train: np.ndarray, test: np.ndarray,
              taxonomy: Taxonomy) -> dict[str, tuple[float, float]]:
    """`Other` everywhere; the most frequent label set of the training part; its most frequent
    real narrative with that narrative's most frequent subnarrative."""
    from collections import Counter

    tr = [gold[i] for i in np.flatnonzero(train)]
    te = [gold[i] for i in np.flatnonzero(test)]
    sets = Counter((frozenset(n), frozenset(s)) for n, s in tr).most_common(1)[0][0]
    narrative = Counter(n for ns, _ in tr for n in ns if n != OTHER).most_common(1)[0][0]
    sub = Counter(s for _, ss in tr for s in ss if taxonomy.parents.get(s) == narrative).most_common(1)[0][0]
    return {
        "other_everywhere": score_sets(te, [({OTHER}, {OTHER})] * len(te), taxonomy),
        "most_frequent_label_set": score_sets(te, [(set(sets[0]), set(sets[1]))] * len(te), taxonomy),
        "most_frequent_narrative": score_sets(te, [({narrative}, {sub})] * len(te), taxonomy),
    }


def calibration_report(P: np.ndarray, raw: np.ndarray, Y: np.ndarray, taxonomy: Taxonomy) -> dict[str, Any]:
    """ECE per group over every (article, label) pair, and over the pairs scored 0.05 or more
    (most pairs are near-zero negatives, which make the plain ECE look small), calibrated
    against the raw sigmoid; and the mean score against the share correct of the labels the
    scores clear 0.5 for."""
    out: dict[str, Any] = {}
    names = ("other", "narratives", "subnarratives")
    for name, cols in zip(names, groups(taxonomy), strict=True):
        p, r, y = P[:, cols], raw[:, cols], Y[:, cols]
        high = p >= 0.05
        sure = p >= 0.5
        out[name] = {
            "ece_all_pairs": {"calibrated": round(ece(p, y), 4), "raw_sigmoid": round(ece(r, y), 4)},
            "ece_pairs_scored_0.05_up": round(ece(p[high], y[high]), 4) if high.any() else None,
            "pairs_scored_0.05_up": int(high.sum()),
            "scored_0.5_up": {"n": int(sure.sum()),
                              "mean_score": round(float(p[sure].mean()), 4) if sure.any() else None,
                              "share_in_gold": round(float(y[sure].mean()), 4) if sure.any() else None},
        }
    return out


def _mean_sd(values: list[float]) -> dict[str, float]:
    return {"mean": round(float(np.mean(values)), 4), "sd": round(float(np.std(values, ddof=1)), 4),
            "folds": [round(v, 4) for v in values]}


def cross_validate(X: np.ndarray, Y: np.ndarray, gold: list[tuple[set[str], set[str]]], texts: list[str],
                   taxonomy: Taxonomy) -> dict[str, Any]:
    """Outer 5-fold split by article; everything chosen inside each training part (nested)."""
    folds = fold_ids(texts)
    figures: dict[str, list[float]] = {}
    P_all, raw_all = np.zeros(Y.shape), np.zeros(Y.shape)
    chosen = []
    for k in range(FOLDS):
        train, test = folds != k, folds == k
        print(f"outer fold {k}", file=sys.stderr, flush=True)
        tr_gold = [gold[i] for i in np.flatnonzero(train)]
        sel = select(X[train], Y[train], tr_gold, [texts[i] for i in np.flatnonzero(train)], taxonomy)
        z = logits(sel["params"], X[test])
        P_all[test], raw_all[test] = calibrate(z, sel["platt"]), 1 / (1 + np.exp(-z))
        te_gold = [gold[i] for i in np.flatnonzero(test)]
        c, f = score_sets(te_gold, predict_sets(P_all[test], taxonomy, sel["rule"]), taxonomy)
        for name, value in {"model_coarse": c, "model_fine": f}.items():
            figures.setdefault(name, []).append(value)
        for name, (bc, bf) in baselines(gold, train, test, taxonomy).items():
            figures.setdefault(f"{name}_coarse", []).append(bc)
            figures.setdefault(f"{name}_fine", []).append(bf)
        inner = round(sel["inner_f1_fine"], 4)
        chosen.append({"l2": sel["l2"], **asdict(sel["rule"]), "inner_f1_fine": inner})
    if OOF_OUT is not None:
        OOF_OUT.parent.mkdir(parents=True, exist_ok=True)
        np.savez(OOF_OUT, calibrated=P_all, raw=raw_all, Y=Y, folds=folds)
    return {
        "samples_f1": {name: _mean_sd(v) for name, v in figures.items()},
        "calibration_outer_test": calibration_report(P_all, raw_all, Y, taxonomy),
        "chosen_per_fold": chosen,
        "folds": FOLDS,
        "articles": len(texts),
    }


# ---------------------------------------------------------------- shipping

def ship(folder: Path, X: np.ndarray, Y: np.ndarray, gold: list[tuple[set[str], set[str]]], texts: list[str],
         taxonomy: Taxonomy, encoder: str) -> None:
    """Fit on all articles (choices by 5-fold OOF on them) and write the .npz and .json."""
    sel = select(X, Y, gold, texts, taxonomy)
    params = sel["params"]
    np.savez_compressed(
        folder / f"{HEAD}.npz",
        mean=params["mean"].astype(np.float32), scale=params["scale"].astype(np.float32),
        weights=params["weights"].astype(np.float16), bias=params["bias"].astype(np.float32),
        platt=sel["platt"],
    )
    config = {
        "encoder": encoder,
        "narratives": list(taxonomy.narrative_list),
        "subnarratives": list(taxonomy.subnarrative_list),
        "columns": list(taxonomy.columns),
        "decision": asdict(sel["rule"]),
        "l2": sel["l2"],
        "features": "unit mean, unit max, unit first sentence of plain_sentences' pooled states (1152)",
        "trained_on": "SemEval-2025 Task 10 train/EN, 399 articles, subtask-2-annotations.txt",
        "oof_f1_fine_on_train": round(sel["inner_f1_fine"], 4),
        "figures": "benchmarks/results/narrative-taxonomy.json (benchmarks/narrative_taxonomy.py)",
        "command": "python -m propscope.training.narrative_taxonomy " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (folder / f"{HEAD}.json").write_text(json.dumps(config, indent=1, ensure_ascii=False) + "\n", "utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path("../shared"))
    ap.add_argument("--profile", default=None)
    ap.add_argument("--cache", type=Path, default=Path("runs/narrtax/features.npz"))
    ap.add_argument("--out", type=Path, default=None, help="write the cross-validation figures here")
    ap.add_argument("--cv-only", action="store_true", help="cross-validate, do not write the head")
    ap.add_argument("--no-cv", action="store_true", help="fit and write the head only")
    args = ap.parse_args()
    if not (args.shared / TASK10).is_dir():
        print(f"skipping: {args.shared / TASK10} not found", file=sys.stderr)
        return 0
    from propscope import profiles

    ids, texts, gold, taxonomy = load_split(args.shared)
    X, encoder = cached_features(texts, ids, args.cache, args.profile)
    Y = targets(gold, taxonomy)
    cv = None if args.no_cv else cross_validate(X, Y, gold, texts, taxonomy)
    if cv is not None:
        print(json.dumps(cv["samples_f1"], indent=1))
        if args.out:
            args.out.write_text(json.dumps(cv, indent=1) + "\n", "utf-8")
    if not args.cv_only:
        ship(profiles.model_dir(args.profile), X, Y, gold, texts, taxonomy, encoder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
