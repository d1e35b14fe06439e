"""Fit the entity framing head (models/framing.py) on SemEval-2025 Task 10 English train, and
measure it honestly: 5-fold cross-validation split by article, with every choice (feature parts,
regularisation, calibration, decision offsets) made inside each fold by an inner 4-fold CV.

    python -m propscope.training.framing --data ../shared/data/semeval2025-task10/train/EN \\
        --cache runs/framing/features.npz --results benchmarks/results/framing.json \\
        --out src/propscope/models/techniques

The features are the pooled encoder states of `models.framing.mention_features`, computed once
and cached (`--cache`): the same function the `entities` analyser and `propscope eval framing`
run, so training and inference read identical inputs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from propscope.analyzers import _spacy
from propscope.analyzers.techniques import load_model
from propscope.eval.task10 import (
    FINE_ROLES,
    MAIN_ROLES,
    Mention,
    document,
    framing_scores,
    locate,
    read_documents,
    read_mentions,
)
from propscope.models.framing import (
    BLOCKS,
    CONFIG,
    WEIGHTS,
    FramingHead,
    fine_logit,
    mention_features,
    softmax,
)
from propscope.profiles import model_dir

FINE = list(FINE_ROLES)
PARENTS = [FINE_ROLES[r] for r in FINE]
# leading 384-wide blocks of the feature row kept (models/framing.py: mention, sentence, left,
# right, same name, article)
PARTS = {"mention+sentence": 2, "+context": 4, "all": 6}
DIMS = (32, 64, 128)  # whitened principal components the layers read (fitted per training part)
C_MAIN = (0.03, 0.1, 0.3, 1.0)
C_FINE = (0.03, 0.1, 0.3, 1.0)
ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)  # main offsets = -alpha * log(prior)
SECOND = (1.01, 0.5, 0.35)  # 1.01: never a second fine role
SEED = 0


def load(data: Path) -> tuple[dict[str, str], list[Mention]]:
    """Articles and gold mentions of one Task 10 training language folder."""
    return read_documents(data / "raw-documents"), read_mentions(data / "subtask-1-annotations.txt", True)


def extract(docs: dict[str, str], mentions: list[Mention], folder: Path) -> np.ndarray:
    """Features of every mention, in order: one encoder pass and one parse per article."""
    model = load_model(str(folder))
    rows: dict[int, np.ndarray] = {}
    by_article: dict[str, list[int]] = {}
    for k, m in enumerate(mentions):
        by_article.setdefault(m.article, []).append(k)
    for n, (article, ks) in enumerate(sorted(by_article.items())):
        text = document(docs, article) or ""
        spans = [locate(text, mentions[k]) or (mentions[k].start, mentions[k].end + 1) for k in ks]
        feats = mention_features(model, text, _spacy.plain_sentences(text), spans, keep=False)
        rows.update(zip(ks, feats, strict=True))
        if n % 25 == 0:
            print(f"features: {n}/{len(by_article)} articles", flush=True)
    return np.stack([rows[k] for k in range(len(mentions))])


def cached_features(cache: Path, docs: dict[str, str], mentions: list[Mention], folder: Path) -> np.ndarray:
    """`extract`, read back from `cache` when it holds a row per mention of BLOCKS blocks."""
    if cache.is_file():
        with np.load(cache) as npz:
            if "blocks" in npz.files and int(npz["blocks"]) == BLOCKS and len(npz["X"]) == len(mentions):
                return np.asarray(npz["X"])
    features = extract(docs, mentions, folder)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, X=features, blocks=BLOCKS)
    return features


# --- fitting -------------------------------------------------------------------------------


def _columns(parts: str, width: int) -> slice:
    return slice(0, PARTS[parts] * width)


def _fit_lr(
    x: np.ndarray, y: list[int], classes: int, c: float, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression as (W, b) over all `classes` (absent ones get -30)."""
    lr = LogisticRegression(C=c, max_iter=1000).fit(x, y, sample_weight=weights)
    w = np.zeros((x.shape[1], classes))
    b = np.full(classes, -30.0)
    w[:, lr.classes_] = lr.coef_.T if len(lr.classes_) > 2 else np.c_[-lr.coef_[0], lr.coef_[0]] / 2
    b[lr.classes_] = lr.intercept_ if len(lr.classes_) > 2 else np.r_[-lr.intercept_, lr.intercept_] / 2
    return w, b


def _fine_rows(mentions: list[Mention], idx: list[int]) -> tuple[list[int], list[int], np.ndarray]:
    """One training row per (mention, fine role), weighted 1/len(fine roles)."""
    rows, labels, weights = [], [], []
    for k in idx:
        for role in mentions[k].fine_roles:
            rows.append(k)
            labels.append(FINE.index(role))
            weights.append(1.0 / len(mentions[k].fine_roles))
    return rows, labels, np.asarray(weights)


def projection(x: np.ndarray, idx: list[int], dims: int) -> dict[str, np.ndarray]:
    """Standardisation of rows `idx` and their first `dims` whitened principal components:
    with 1,536 features and about 550 mentions a layer on the raw features overfits and its
    solver crawls; on the components it fits in a fraction of a second."""
    mean, scale = x[idx].mean(axis=0), x[idx].std(axis=0) + 1e-6
    _, sv, vt = np.linalg.svd((x[idx] - mean) / scale, full_matrices=False)
    proj = vt[:dims].T / sv[:dims] * np.sqrt(len(idx))
    return {"mean": mean, "scale": scale, "proj": proj}


def project(x: np.ndarray, scaler: dict[str, np.ndarray], dims: int | None = None) -> np.ndarray:
    """Rows in the (first `dims`) components of `projection`."""
    proj = scaler["proj"] if dims is None else scaler["proj"][:, :dims]
    return np.asarray(((x - scaler["mean"]) / scaler["scale"]) @ proj)


def fit_main(z: np.ndarray, mentions: list[Mention], idx: list[int], c: float) -> dict[str, np.ndarray]:
    """The raw main-role softmax layer on projected rows `idx`."""
    w, b = _fit_lr(z[idx], [MAIN_ROLES.index(mentions[k].main_role) for k in idx], 3, c)
    return {"main_w": w, "main_b": b}


def fit_fine(z: np.ndarray, mentions: list[Mention], idx: list[int], c: float) -> dict[str, np.ndarray]:
    """The raw fine-role softmax layer on projected rows `idx`."""
    rows, labels, weights = _fine_rows(mentions, idx)
    w, b = _fit_lr(z[rows], labels, len(FINE), c, weights)
    return {"fine_w": w, "fine_b": b}


def fit_layers(
    x: np.ndarray, mentions: list[Mention], idx: list[int], dims: int, c_main: float, c_fine: float
) -> dict[str, np.ndarray]:
    """Both softmax layers fitted on rows `idx`, folded back onto the standardised features
    (W = projection @ W'), so inference is two matrix products on the features."""
    scaler = projection(x, idx, dims)
    z = project(x, scaler)
    main, fine = fit_main(z, mentions, idx, c_main), fit_fine(z, mentions, idx, c_fine)
    return {
        "mean": scaler["mean"],
        "scale": scaler["scale"],
        "main_w": scaler["proj"] @ main["main_w"],
        "main_b": main["main_b"],
        "fine_w": scaler["proj"] @ fine["fine_w"],
        "fine_b": fine["fine_b"],
    }


def raw_probabilities(layers: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Uncalibrated main and fine softmax probabilities."""
    z = (x - layers["mean"]) / layers["scale"]
    return softmax(z @ layers["main_w"] + layers["main_b"]), softmax(z @ layers["fine_w"] + layers["fine_b"])


def fit_calibration(
    main: np.ndarray, fine: np.ndarray, mentions: list[Mention], idx: list[int]
) -> dict[str, Any]:
    """Maps fitted on out-of-fold raw probabilities: matrix scaling for the main role (a
    multinomial regression on its log probabilities), one Platt map for all fine roles, on the
    logit of the softmax probability (on its log, the map could never pass sigmoid(b), about
    0.52, however sure the head was)."""
    y = [MAIN_ROLES.index(mentions[k].main_role) for k in idx]
    lr = LogisticRegression(C=100.0, max_iter=3000).fit(np.log(main + 1e-12), y)
    target = np.array([[role in mentions[k].fine_roles for role in FINE] for k in idx]).ravel()
    platt = LogisticRegression(C=100.0, max_iter=3000).fit(fine_logit(fine).reshape(-1, 1), target)
    return {
        "main_cal_w": lr.coef_.T,
        "main_cal_b": lr.intercept_,
        "fine_calibration": [float(platt.coef_[0, 0]), float(platt.intercept_[0])],
    }


def make_head(
    layers: dict[str, np.ndarray],
    cal: dict[str, Any],
    offsets: np.ndarray,
    second: float,
    extra: dict[str, Any] | None = None,
) -> FramingHead:
    """A FramingHead from fitted parts (the shipped one and the one each fold scores)."""
    weights = {
        **layers,
        "main_cal_w": np.asarray(cal["main_cal_w"]),
        "main_cal_b": np.asarray(cal["main_cal_b"]),
    }
    config = {
        "fine_roles": FINE,
        "parents": PARENTS,
        "main_roles": list(MAIN_ROLES),
        "fine_calibration": cal["fine_calibration"],
        "main_offsets": [float(o) for o in offsets],
        "second_threshold": float(second),
        **(extra or {}),
    }
    return FramingHead(config, weights)


def _predicted(
    mentions: list[Mention], idx: list[int], head: FramingHead, main: np.ndarray, fine: np.ndarray
) -> list[tuple[Mention, Mention]]:
    frames = head.decide(main, fine)
    return [
        (
            mentions[k],
            Mention(
                mentions[k].article,
                mentions[k].text,
                mentions[k].start,
                mentions[k].end,
                f.main_role,
                f.fine_roles,
            ),
        )
        for k, f in zip(idx, frames, strict=True)
    ]


# --- selection by inner cross-validation ---------------------------------------------------


def folds_by_article(mentions: list[Mention], idx: list[int], k: int, seed: int) -> list[list[int]]:
    """`k` folds of `idx`, every article's mentions in one fold."""
    articles = sorted({mentions[i].article for i in idx})
    random.Random(seed).shuffle(articles)
    fold_of = {a: n % k for n, a in enumerate(articles)}
    return [[i for i in idx if fold_of[mentions[i].article] == f] for f in range(k)]


Grid = dict[tuple[int, float], np.ndarray]


def oof_raw(
    x: np.ndarray, mentions: list[Mention], idx: list[int], parts: str, width: int, seed: int
) -> tuple[Grid, Grid]:
    """Out-of-fold raw probabilities on `idx` (4 inner folds by article), per (dims, C) of each
    layer."""
    cols = x[:, _columns(parts, width)]
    main: Grid = {(d, c): np.zeros((len(idx), 3)) for d in DIMS for c in C_MAIN}
    fine: Grid = {(d, c): np.zeros((len(idx), len(FINE))) for d in DIMS for c in C_FINE}
    pos = {k: n for n, k in enumerate(idx)}
    for held in folds_by_article(mentions, idx, 4, seed):
        held_set = set(held)
        train = [k for k in idx if k not in held_set]
        scaler = projection(cols, train, max(DIMS))
        rows = [pos[k] for k in held]
        for d in DIMS:
            z = project(cols, scaler, d)
            for c in C_MAIN:
                layer = fit_main(z, mentions, train, c)
                main[(d, c)][rows] = softmax(z[held] @ layer["main_w"] + layer["main_b"])
            for c in C_FINE:
                layer = fit_fine(z, mentions, train, c)
                fine[(d, c)][rows] = softmax(z[held] @ layer["fine_w"] + layer["fine_b"])
    return main, fine


def objective(scores: dict[str, float]) -> float:
    """What selection maximises: the mean of EMR and main-role macro-F1 (the two targets)."""
    return (scores["exact_match_ratio"] + scores["main_role_macro_f1"]) / 2


def select(x: np.ndarray, mentions: list[Mention], idx: list[int], width: int, seed: int) -> dict[str, Any]:
    """The best settings on `idx` by inner CV, with the calibration maps fitted on its
    out-of-fold probabilities."""
    prior = np.array([sum(mentions[k].main_role == r for k in idx) for r in MAIN_ROLES]) / len(idx)
    best: dict[str, Any] = {"score": -1.0}
    for parts in PARTS:
        mains, fines = oof_raw(x, mentions, idx, parts, width, seed)
        for d, c_main, c_fine in itertools.product(DIMS, C_MAIN, C_FINE):
            main, fine = mains[(d, c_main)], fines[(d, c_fine)]
            cal = fit_calibration(main, fine, mentions, idx)
            cm, cf = _calibrated_only(make_head({}, cal, np.zeros(3), 1.01), main, fine)
            for alpha, second in itertools.product(ALPHAS, SECOND):
                trial = make_head({}, cal, -alpha * np.log(prior), second)
                score = objective(framing_scores(_predicted(mentions, idx, trial, cm, cf)))
                if score > best["score"]:
                    best = {
                        "score": score,
                        "parts": parts,
                        "dims": d,
                        "c_main": c_main,
                        "c_fine": c_fine,
                        "alpha": alpha,
                        "second": second,
                        "cal": cal,
                        "offsets": -alpha * np.log(prior),
                    }
    return best


def _calibrated_only(head: FramingHead, main: np.ndarray, fine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The head's calibration maps applied to raw probabilities."""
    w = head.weights
    cal_main = softmax(np.log(main + 1e-12) @ w["main_cal_w"] + w["main_cal_b"])
    a, b = head.config["fine_calibration"]
    return cal_main, 1.0 / (1.0 + np.exp(-(a * fine_logit(fine) + b)))


def fit_selected(
    x: np.ndarray, mentions: list[Mention], idx: list[int], width: int, best: dict[str, Any]
) -> FramingHead:
    """The head with the selected settings, fitted on all of `idx`."""
    cols = _columns(best["parts"], width)
    layers = fit_layers(x[:, cols], mentions, idx, best["dims"], best["c_main"], best["c_fine"])
    extra = {"parts": best["parts"], "columns": PARTS[best["parts"]] * width}
    return make_head(layers, best["cal"], best["offsets"], best["second"], extra)


# --- the measurement -----------------------------------------------------------------------


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error with equal-width bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    return float(total)


def baselines(mentions: list[Mention], train: list[int], test: list[int]) -> dict[str, dict[str, float]]:
    """Majority main role with its majority fine role, learnt on the training part."""
    main = Counter(mentions[k].main_role for k in train).most_common(1)[0][0]
    fine = Counter(
        r for k in train if mentions[k].main_role == main for r in mentions[k].fine_roles
    ).most_common(1)[0][0]
    pairs = [
        (
            mentions[k],
            Mention(mentions[k].article, mentions[k].text, mentions[k].start, mentions[k].end, main, (fine,)),
        )
        for k in test
    ]
    return {"majority": framing_scores(pairs)}


def cross_validate(x: np.ndarray, mentions: list[Mention], width: int, folds: int = 5) -> dict[str, Any]:
    """Outer `folds`-fold CV by article; each fold selects and calibrates on its own training part."""
    every = list(range(len(mentions)))
    per_fold, base, chosen = [], [], []
    conf_main, ok_main, conf_fine, ok_fine = [], [], [], []
    conf_top: list[float] = []
    ok_top: list[bool] = []
    for n, test in enumerate(folds_by_article(mentions, every, folds, SEED)):
        test_set = set(test)
        train = [k for k in every if k not in test_set]
        best = select(x, mentions, train, width, SEED + 1 + n)
        head = fit_selected(x, mentions, train, width, best)
        main, fine = head.probabilities(x[test][:, : head.config["columns"]])
        pairs = _predicted(mentions, test, head, main, fine)
        per_fold.append(framing_scores(pairs))
        base.append(baselines(mentions, train, test)["majority"])
        chosen.append({k: best[k] for k in ("parts", "dims", "c_main", "c_fine", "alpha", "second", "score")})
        conf_main += list(main.max(axis=1))
        ok_main += [
            MAIN_ROLES[int(r)] == mentions[k].main_role
            for k, r in zip(test, main.argmax(axis=1), strict=True)
        ]
        conf_fine += list(fine.ravel())
        ok_fine += [role in mentions[k].fine_roles for k in test for role in FINE]
        top = fine.argmax(axis=1)
        conf_top += list(fine[np.arange(len(test)), top])
        ok_top += [FINE[int(r)] in mentions[k].fine_roles for k, r in zip(test, top, strict=True)]
        print(f"fold {n}: {per_fold[-1]} chosen {chosen[-1]}", flush=True)
    return {
        "per_fold": per_fold,
        "chosen": chosen,
        "baseline_per_fold": base,
        "ece_main_top_label": ece(np.array(conf_main), np.array(ok_main, dtype=float)),
        "ece_fine_one_vs_rest": ece(np.array(conf_fine), np.array(ok_fine, dtype=float)),
        "ece_fine_top_label": ece(np.array(conf_top), np.array(ok_top, dtype=float)),
        "fine_top_label_mean_score": float(np.mean(conf_top)),
        "fine_top_label_accuracy": float(np.mean(ok_top)),
    }


def summary(per_fold: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and sd (population) across folds of each figure."""
    keys = [k for k in per_fold[0] if k != "mentions"]
    return {
        k: {
            "mean": round(float(np.mean([f[k] for f in per_fold])), 4),
            "sd": round(float(np.std([f[k] for f in per_fold])), 4),
        }
        for k in keys
    }


def save_head(head: FramingHead, folder: Path, config_extra: dict[str, Any]) -> None:
    """framing.npz (float32 weights) and framing.json into the profile's model folder."""
    np.savez_compressed(
        folder / WEIGHTS, **{k: np.asarray(v, dtype=np.float32) for k, v in head.weights.items()}
    )
    config = {**head.config, **config_extra}
    (folder / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="Task 10 train/EN folder")
    parser.add_argument("--cache", type=Path, default=Path("runs/framing/features.npz"))
    parser.add_argument("--results", type=Path, help="write the cross-validated figures here (JSON)")
    parser.add_argument("--out", type=Path, help="fit on all data and write framing.npz/json here")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--skip-cv", action="store_true")
    args = parser.parse_args(argv)
    folder = model_dir(args.profile)
    docs, mentions = load(args.data)
    x = cached_features(args.cache, docs, mentions, folder)
    width = x.shape[1] // BLOCKS
    started = time.time()
    threadpool_limits(1)  # the fits are small: BLAS threads only fight each other (and others)
    if not args.skip_cv:
        report = cv_report(x, mentions, width)
        if args.results:
            args.results.parent.mkdir(parents=True, exist_ok=True)
            args.results.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(report["summary"], indent=2))
    if args.out:
        every = list(range(len(mentions)))
        best = select(x, mentions, every, width, SEED)
        head = fit_selected(x, mentions, every, width, best)
        encoder = json.loads((folder / "config.json").read_text("utf-8")).get("version")
        save_head(
            head,
            args.out,
            {
                "encoder": encoder,
                "trained_on": f"SemEval-2025 Task 10 EN train, {len(mentions)} mentions",
                "selected": {k: best[k] for k in ("parts", "dims", "c_main", "c_fine", "alpha", "second")},
                "inner_cv_objective": round(best["score"], 4),
            },
        )
        print(f"wrote {args.out / WEIGHTS} ({best['parts']}, C {best['c_main']}/{best['c_fine']})")
    print(f"{time.time() - started:.0f} s")


def cv_report(x: np.ndarray, mentions: list[Mention], width: int) -> dict[str, Any]:
    """The cross-validated figures, the baseline's, and the protocol in words."""
    cv = cross_validate(x, mentions, width)
    return {
        "protocol": "5-fold CV on SemEval-2025 Task 10 EN train, split by article (seed 0); in each "
        "fold an inner 4-fold CV by article picks feature parts, C, main-role offsets and "
        "the second-role threshold (max mean of EMR and main macro-F1) and gives the "
        "out-of-fold probabilities the calibration maps are fitted on; figures are on the "
        "held-out fold only. ECE pooled over all held-out predictions (10 bins).",
        "mentions": len(mentions),
        "articles": len({m.article for m in mentions}),
        "summary": summary(cv["per_fold"]),
        "baseline_majority": summary(cv["baseline_per_fold"]),
        "ece_main_top_label": round(cv["ece_main_top_label"], 4),
        "ece_fine_one_vs_rest": round(cv["ece_fine_one_vs_rest"], 4),
        "ece_fine_top_label": round(cv["ece_fine_top_label"], 4),
        "fine_top_label_mean_score": round(cv["fine_top_label_mean_score"], 4),
        "fine_top_label_accuracy": round(cv["fine_top_label_accuracy"], 4),
        "per_fold": cv["per_fold"],
        "chosen_per_fold": cv["chosen"],
    }


if __name__ == "__main__":
    main()
