"""Narrative matching: the catalogue matchers on EUvsDisinfo's held-out cases (abstention and
calibration measured), on our labelled sentences, on ordinary news, and their speed.

Analysers: `narratives` (the default: MiniLM's own embeddings + the scoring layer fitted on the
training part of EUvsDisinfo, propscope/narratives/layer.py), `narratives_shared` (the technique
encoder's states projected into MiniLM's space + its own fitted layer), and, for comparison,
today's matchers before the layer: `cosine_shared` (the former default: projected states, best
example cosine, threshold 0.43 from sentence_heads.json) and `cosine_minilm` (the former
`narratives_minilm`: MiniLM cosine, threshold 0.45).

1. ../shared/data/euvsdisinfo (skipped with a message when absent): the held-out part of the
   fixed split by case (propscope.eval.euvsdisinfo), each summary analysed as a document:
   exactly `propscope eval narratives --analyzer NAME --json`. Built in memory at run time: no
   case text is written anywhere.
2. tests/data/narratives_labelled.yaml: 156 sentences we wrote and labelled ourselves (a
   catalogue id or `none`), at each analyser's threshold, with a sweep and a 5-fold
   cross-validated threshold.
3. PTC dev articles (propagandistic news mostly off the catalogue's topics): how often anything
   is shown.
4. Speed: the analyser's own time per PTC dev article, median over the first SPEED_ARTICLES, each
   timed alone after the techniques analyser has run on it (so `cosine_shared` and
   `narratives_shared` read its kept encoder states, as in the default pipeline) and with
   MiniLM's embedding cache cleared, after one untimed warm-up article.

    python benchmarks/narratives.py [--shared ../shared]

Writes benchmarks/results/narratives.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from propscope.analyzers.narratives import (
    CatalogueMatching,
    Matcher,
    MiniLMNarrativesAnalyzer,
    NarrativesAnalyzer,
    SharedNarrativesAnalyzer,
)
from propscope.analyzers.techniques import TechniqueAnalyzer
from propscope.document import Document
from propscope.eval.euvsdisinfo import part_of, read_cases
from propscope.eval.narratives import prf, score_cases
from propscope.models import encoder
from propscope.narratives import load_catalogue

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "narratives.json"
LABELLED = ROOT / "tests" / "data" / "narratives_labelled.yaml"
EUVS = "data/euvsdisinfo"
PTC_DEV = "data/ptc-semeval2020-task11/dev-articles"
SPEED_ARTICLES = 20


class CosineShared(SharedNarrativesAnalyzer):
    """The former default: best example cosine of the projected states, no layer."""

    name = "cosine_shared"
    version = "narratives-shared-minilm6-1"

    @cached_property
    def matcher(self) -> Matcher:
        return Matcher.build(load_catalogue(), self.embed)

    @property
    def threshold(self) -> float:
        return self.model.heads.narrative_threshold


class CosineMiniLM(MiniLMNarrativesAnalyzer):
    """The former `narratives_minilm`: MiniLM cosine, no layer, threshold 0.45."""

    name = "cosine_minilm"
    version = "narratives-minilm-int8-2"

    def __init__(self) -> None:
        super().__init__(0.45)

    @cached_property
    def matcher(self) -> Matcher:
        return Matcher.build(load_catalogue(), self.embed)


def assign(scores: np.ndarray, ids: list[str], threshold: float) -> list[str]:
    best = scores.argmax(axis=1)
    return [ids[j] if scores[i, j] >= threshold else "none" for i, j in enumerate(best)]


def score_labelled(gold: list[str], predicted: list[str]) -> dict[str, float]:
    tp = sum(p != "none" and p == g for p, g in zip(predicted, gold, strict=True))
    fp = sum(p != "none" and p != g for p, g in zip(predicted, gold, strict=True))
    fn = sum(g != "none" and p != g for p, g in zip(predicted, gold, strict=True))
    return prf(tp, fp, fn)


GRID = [round(t, 2) for t in np.arange(0.30, 0.71, 0.01)]


def best_threshold(scores: np.ndarray, gold: list[str], ids: list[str]) -> float:
    return max(GRID, key=lambda t: (score_labelled(gold, assign(scores, ids, t))["f1"], t))


def labelled(analyzer: CatalogueMatching) -> dict[str, Any]:
    rows = yaml.safe_load(LABELLED.read_text("utf-8"))["sentences"]
    gold = [r["narrative"] for r in rows]
    ids = [e.id for e in analyzer.matcher.entries]
    scores = analyzer.matcher.scores(analyzer.embed([r["text"] for r in rows]))
    sweep = {t: score_labelled(gold, assign(scores, ids, t))["f1"] for t in GRID[::5]}
    folds = np.arange(len(rows)) % 5
    predicted = ["none"] * len(rows)
    for k in range(5):
        train, test = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        t = best_threshold(scores[train], [gold[i] for i in train], ids)
        for i, p in zip(test, assign(scores[test], ids, t), strict=True):
            predicted[i] = p
    return {
        "sentences": len(rows),
        "positives": sum(g != "none" for g in gold),
        "at_threshold": score_labelled(gold, assign(scores, ids, analyzer.threshold)),
        "best_threshold_in_sample": best_threshold(scores, gold, ids),
        "cross_validated_5_fold": score_labelled(gold, predicted),
        "f1_by_threshold": sweep,
    }


def euvsdisinfo(analyzer: CatalogueMatching, shared: Path) -> dict[str, Any]:
    """`eval narratives` figures on the held-out part."""
    return score_cases(analyzer, part_of(read_cases(shared / EUVS), "held-out"))


def speed(analyzer: CatalogueMatching, shared: Path) -> dict[str, Any]:
    """Median seconds of the analyser alone per PTC dev article."""
    paths = sorted((shared / PTC_DEV).glob("article*.txt"))[:SPEED_ARTICLES]
    techniques, seconds = TechniqueAnalyzer(), []
    warm_up = Document(paths[-1].read_text(encoding="utf-8")) if paths else Document("Warm-up.")
    techniques.analyze([warm_up])
    analyzer.analyze([warm_up])  # the first call in a process pays session and thread start-up
    for path in paths:
        doc = Document(path.read_text(encoding="utf-8"))
        techniques.analyze([doc])
        encoder.clear_embeddings()
        started = time.perf_counter()
        analyzer.analyze([doc])
        seconds.append(time.perf_counter() - started)
    return {"articles": len(seconds), "median_seconds_per_article": round(statistics.median(seconds), 4)}


def news_background(analyzer: CatalogueMatching, shared: Path) -> dict[str, Any]:
    """How much of ordinary news copy matches: PTC dev articles (propagandistic, but mostly
    not about the catalogue's topics), narratives per article and evidence sentences."""
    paths = sorted((shared / PTC_DEV).glob("article*.txt"))
    docs = [Document(p.read_text(encoding="utf-8")) for p in paths]
    found = [a.narratives for a in analyzer.analyze(docs)]
    evidence = sum(len(n.evidence) for narratives in found for n in narratives)
    return {
        "articles": len(docs),
        "articles_with_a_narrative": sum(bool(n) for n in found),
        "narratives_per_article": round(sum(len(n) for n in found) / max(len(docs), 1), 2),
        "evidence_sentences": evidence,
    }


def measure(analyzer: CatalogueMatching, shared: Path) -> dict[str, Any]:
    report: dict[str, Any] = {
        "version": analyzer.version,
        "threshold": round(analyzer.threshold, 4),
        "labelled_own_sentences": labelled(analyzer),
    }
    if (shared / EUVS).is_dir():
        report["euvsdisinfo_held_out"] = euvsdisinfo(analyzer, shared)
    else:
        print(f"skipping EUvsDisinfo: {shared / EUVS} not found")
    if (shared / PTC_DEV).is_dir():
        report["ptc_dev_background"] = news_background(analyzer, shared)
        report["speed"] = speed(analyzer, shared)
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args()
    analyzers: list[CatalogueMatching] = [
        NarrativesAnalyzer(),
        SharedNarrativesAnalyzer(),
        CosineShared(),
        CosineMiniLM(),
    ]
    report: dict[str, Any] = {
        "benchmark": "narratives",
        "command": "python benchmarks/narratives.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "narratives_in_catalogue": len(analyzers[0].matcher.entries),
        "split": "propscope.eval.euvsdisinfo: SHA-256 of the case key mod 10, 0-2 held out",
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    for analyzer in analyzers:
        report[analyzer.name] = measure(analyzer, args.shared)
        print(
            analyzer.name,
            json.dumps(report[analyzer.name].get("euvsdisinfo_held_out", {}).get("top1")),
            flush=True,
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
