"""Fit the article-level assessment on PTC articles the technique weights never saw.

    python -m propscope.training.assess_articles --ptc ../shared/data/ptc-semeval2020-task11 \
        [--model DIR] [--cache runs/assess/found.json] [--out benchmarks/results/assessment.json]

The question a user asks first is "does this article use propaganda techniques at all, and how
densely?". PTC cannot answer it at article level on its own: 431 of its 446 articles carry
spans, so an article-level fit would learn "always yes". Its paragraphs (one per line) can:
three quarters of the PTC dev paragraphs carry no annotated span. The map (models/assessment.py)
is fitted on paragraphs, with the unit's length as an input, and is applied to a whole article
as one long unit; its calibration is measured both on paragraphs and on whole articles, out of
fold (5 folds by article, repeated), on PTC dev. The weights were trained on PTC train. Dev also
fitted the shipped span calibration, so inside each fold the span map is refitted on the other
folds too: the held-out fold's span scores and assessment both come from maps that never saw it.

Density: the expected number of annotated spans per 100 words is the sum of the calibrated
span scores per 100 words; the percentile shown to users ranks it among the PTC dev articles'
own expected densities, and its rank agreement with the gold densities is measured on dev.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

from propscope.analyzers.techniques import BATCH_DOCS, MODEL_DIR, TechniqueModel
from propscope.eval.ptc import merge_spans, read_articles, read_si_labels
from propscope.models.assessment import Assessor, unit_features, word_count
from propscope.models.calibration import calibration_inputs, expected_calibration_error, reliability
from propscope.training.calibrate_techniques import fit_logistic

SEED = 2020
REPEATS = 5
REGULARISATION = 1.0


def paragraphs(text: str) -> list[tuple[int, int]]:
    """Non-blank lines: PTC keeps one paragraph per line."""
    out, start = [], 0
    for line in text.split("\n"):
        if line.strip():
            out.append((start, start + len(line)))
        start += len(line) + 1
    return out


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return min(a[1], b[1]) > max(a[0], b[0])


def collect(model: TechniqueModel, ptc: Path) -> dict[str, Any]:
    """Per dev article: its text, found spans (start, end, shipped calibrated score), each
    span's raw calibration inputs with whether gold marks it (so the span map can be refitted
    inside the folds), and the gold spans."""
    texts = read_articles(ptc / "dev-articles")
    gold = read_si_labels(ptc / "dev-task-SI.labels")
    ids, out = sorted(texts), {}
    for k in range(0, len(ids), BATCH_DOCS):
        chunk = ids[k : k + BATCH_DOCS]
        for article, enc in zip(chunk, model.encode([texts[a] for a in chunk], keep=False), strict=True):
            found = [(s.start, s.end, s.score) for s in model.technique_spans(enc)]
            raw = model.find_spans(enc)
            probs = model.classify(enc, [(s, e) for s, e, _ in raw])
            merged = merge_spans(gold.get(article, []))
            inputs = [
                (calibration_inputs(p, e - s, row).tolist(), int(any(_overlaps((s, e), g) for g in merged)))
                for (s, e, p), row in zip(raw, probs, strict=True)
            ]
            out[article] = {"text": texts[article], "found": found, "inputs": inputs, "gold": merged}
    return out


def units(articles: dict[str, Any]) -> list[tuple[str, np.ndarray, int]]:
    """(article, features, has a gold span) per paragraph."""
    rows = []
    for article, a in articles.items():
        for start, end in paragraphs(a["text"]):
            scores = [p for s, e, p in a["found"] if _overlaps((s, e), (start, end))]
            x = unit_features(scores, word_count(a["text"][start:end]))
            rows.append((article, x, int(any(_overlaps((start, end), g) for g in a["gold"]))))
    return rows


def article_rows(articles: dict[str, Any]) -> list[tuple[str, np.ndarray, int]]:
    return [
        (article, unit_features([p for _, _, p in a["found"]], word_count(a["text"])), int(bool(a["gold"])))
        for article, a in articles.items()
    ]


def fit(rows: list[tuple[str, np.ndarray, int]]) -> Assessor:
    from sklearn.linear_model import LogisticRegression

    x = np.array([r[1] for r in rows])
    y = np.array([r[2] for r in rows])
    model = LogisticRegression(C=REGULARISATION, max_iter=1000).fit(x, y)
    return Assessor(tuple(float(w) for w in model.coef_[0]), float(model.intercept_[0]), ())


def refit_span_scores(articles: dict[str, Any], held: set[str], labels: list[str]) -> dict[str, Any]:
    """The articles with every span's score re-made by a span map fitted on the articles not
    in `held` only: the shipped map was fitted on all of dev, so scoring a held-out fold with
    it would hand the assessment in-sample inputs."""
    rows = [(x, y) for a, v in articles.items() if a not in held for x, y in v["inputs"]]
    span_map = fit_logistic(labels, np.array([x for x, _ in rows]), [y for _, y in rows])
    out = {}
    for a, v in articles.items():
        scores = [span_map.probability(np.array(x)) for x, _ in v["inputs"]]
        found = [(s, e, p) for (s, e, _), p in zip(v["found"], scores, strict=True)]
        out[a] = {**v, "found": found}
    return out


def cross_fitted(articles: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    """Out-of-fold calibration on paragraphs and on whole articles; in each fold both the span
    map and the assessment map are fitted on the other folds' articles only."""
    from sklearn.metrics import roc_auc_score

    pp, po, ap, ao = [], [], [], []
    ids = sorted(articles)
    for repeat in range(REPEATS):
        shuffled = ids[:]
        random.Random(SEED + repeat).shuffle(shuffled)
        for k in range(5):
            held = set(shuffled[k::5])
            rescored = refit_span_scores(articles, held, labels)
            para, whole = units(rescored), article_rows(rescored)
            assessor = fit([r for r in para if r[0] not in held])
            for _, x, y in (r for r in para if r[0] in held):
                pp.append(assessor.probability_of(x))
                po.append(y)
            for _, x, y in (r for r in whole if r[0] in held):
                ap.append(assessor.probability_of(x))
                ao.append(y)
    para, whole = units(articles), article_rows(articles)
    return {
        "paragraphs": {
            "n": len(para), "base_rate": round(float(np.mean([r[2] for r in para])), 4),
            "ece_out_of_fold": round(expected_calibration_error(pp, po), 4),
            "auc_out_of_fold": round(float(roc_auc_score(po, pp)), 4),
            "reliability_out_of_fold": reliability(pp, po),
        },
        "articles": {
            "n": len(whole), "base_rate": round(float(np.mean([r[2] for r in whole])), 4),
            "ece_out_of_fold": round(expected_calibration_error(ap, ao), 4),
            "mean_predicted": round(float(np.mean(ap)), 4),
            "note": "nearly every PTC article carries spans: this checks the extrapolation, it "
                    "cannot measure discrimination",
        },
    }


def model_densities(articles: dict[str, Any]) -> list[float]:
    """Expected spans per 100 words of each dev article, as the model sees it: the reference
    a new article's density is ranked against. (The model finds fewer spans than annotators
    mark, so ranking against gold densities would call every article sparse.)"""
    return sorted(
        100.0 * sum(p for _, _, p in a["found"]) / max(word_count(a["text"]), 1) for a in articles.values()
    )


def density_agreement(articles: dict[str, Any]) -> dict[str, float]:
    from scipy.stats import spearmanr

    predicted = [
        100.0 * sum(p for _, _, p in a["found"]) / max(word_count(a["text"]), 1) for a in articles.values()
    ]
    actual = [100.0 * len(a["gold"]) / max(word_count(a["text"]), 1) for a in articles.values()]
    rho = spearmanr(predicted, actual).statistic
    return {
        "spearman": round(float(rho), 4),
        "mean_predicted_per_100_words": round(float(np.mean(predicted)), 3),
        "mean_gold_per_100_words": round(float(np.mean(actual)), 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--ptc", type=Path, required=True)
    parser.add_argument("--model", type=Path, default=MODEL_DIR)
    parser.add_argument("--cache", type=Path, default=None, help="Keep the dev spans here (JSON).")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/assessment.json"))
    args = parser.parse_args(argv)
    model = TechniqueModel(args.model)
    if args.cache and args.cache.is_file():
        articles = json.loads(args.cache.read_text("utf-8"))
    else:
        articles = collect(model, args.ptc)
        if args.cache:
            args.cache.write_text(json.dumps(articles), "utf-8")
    figures = cross_fitted(articles, model.labels)
    figures["density"] = density_agreement(articles)
    shipped = fit(units(articles))
    densities = model_densities(articles)
    quantiles = tuple(round(float(q), 4) for q in np.quantile(densities, np.linspace(0, 1, 21)))
    assessor = Assessor(shipped.weights, shipped.bias, quantiles)
    (args.model / "assessment.json").write_text(
        json.dumps({"model": model.config.get("version"), **assessor.to_json()}, indent=1) + "\n", "utf-8"
    )
    command = "python -m propscope.training.assess_articles " + shlex.join(sys.argv[1:])
    report = {
        "command": command, "model": model.config.get("version"), "folds": 5, "repeats": REPEATS, **figures,
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n", "utf-8")
    brief = {k: {kk: vv for kk, vv in v.items() if "reliability" not in kk} for k, v in figures.items()}
    print(json.dumps(brief, indent=1))


if __name__ == "__main__":
    main()
