"""Narrative matching: precision/recall on our labelled sentences and on EUvsDisinfo cases,
for both analysers: `narratives` (technique-encoder projection, the default) and
`narratives_minilm` (MiniLM's own embeddings), each at its own threshold.

1. tests/data/narratives_labelled.yaml: 156 sentences we wrote and labelled ourselves (a
   catalogue id or `none`). Each sentence is assigned its best narrative when the score reaches
   the threshold; micro precision/recall/F1 over the narratives, a threshold sweep, and a 5-fold
   cross-validated figure (threshold chosen on 4 folds, scored on the fifth) so the in-sample
   calibration does not flatter the result.
2. ../shared/data/euvsdisinfo (skipped with a message when absent): each case's claim summary
   is split into sentences and matched; gold narratives come from the case keywords through
   KEYWORD_TO_NARRATIVES below (cases without a mapped keyword only count for coverage). Built
   in memory at run time: no case text is written anywhere.

    python benchmarks/narratives.py [--shared ../shared]

Writes benchmarks/results/narratives.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from propscope.analyzers.narratives import MiniLMNarrativesAnalyzer, NarrativesAnalyzer
from propscope.document import Document

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "narratives.json"
LABELLED = ROOT / "tests" / "data" / "narratives_labelled.yaml"
EUVS = "data/euvsdisinfo/euvsdisinfo_cases_2015-2017_full.csv"
PTC_DEV = "data/ptc-semeval2020-task11/dev-articles"
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“])")
MAX_SENTENCES = 4

# EUvsDisinfo keyword -> catalogue narratives it signals (our judgement; broad keywords such as
# NATO or Coup map to several). Keywords not listed give no gold label.
KEYWORD_TO_NARRATIVES: dict[str, tuple[str, ...]] = {
    "Colour revolutions": ("colour-revolution",),
    "Coup": ("colour-revolution", "maidan-coup"),
    "Euromaidan": ("maidan-coup",),
    "Nazi/Fascist": ("ukraine-terror-base", "baltic-nazism"),
    "NATO": ("nato-encirclement", "nato-aggressive-bloc"),
    "EU/NATO enlargement": ("nato-encirclement",),
    "US presence in Europe": ("nato-encirclement", "nato-aggressive-bloc"),
    "Missile defence system": ("nato-encirclement",),
    "Sanctions": ("sanctions-hurt-europe",),
    "Manipulated elections/referendum": ("rigged-elections-west",),
    "EU disintegration": ("eu-collapse",),
    "Brexit": ("eu-collapse",),
    "Russophobia": ("west-russophobia",),
    "Anti-Russian": ("west-russophobia",),
    "LGBT": ("gay-europe-decadence",),
    "Perversion": ("gay-europe-decadence",),
    "European values": ("gay-europe-decadence",),
    "Migration crisis": ("migrants-destroy-europe",),
    "Refugees": ("migrants-destroy-europe",),
    "Islamisation": ("migrants-destroy-europe",),
    "Cologne assaults": ("migrants-destroy-europe",),
    "Lisa case": ("migrants-destroy-europe",),
    "MH17": ("mh17-not-russia",),
    "Chemical weapons/attack": ("chemical-attacks-staged",),
    "White Helmets": ("chemical-attacks-staged",),
    "Crimea": ("crimea-legal",),
    "Donbas": ("donbas-civil-war",),
    "Civil war": ("donbas-civil-war",),
    "Ukrainian statehood": ("ukraine-failed-state",),
    "Ukrainian disintegration": ("ukraine-failed-state",),
    "Puppets": ("west-puppet-governments",),
    "Sovereignty": ("west-puppet-governments",),
    "George Soros": ("west-puppet-governments", "western-ngos-subversion"),
    "NGO": ("western-ngos-subversion",),
    "Baltic states": ("baltic-nazism",),
    "Historical revisionism": ("ww2-revisionism",),
    "WWII": ("ww2-revisionism",),
    "Russo-Georgian War": ("georgia-war-started-by-west",),
    "Media": ("western-media-lies",),
    "BBC": ("western-media-lies",),
    "Censorship": ("western-media-lies",),
    "Energy": ("energy-blackmail-west",),
}


def prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / max(tp + fp, 1)
    r = tp / max(tp + fn, 1)
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "f1": round(2 * p * r / max(p + r, 1e-9), 4),
        "tp": tp,
        "fp": fp,
        "fn": fn,
    }


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


def labelled(analyzer: NarrativesAnalyzer) -> dict[str, Any]:
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


def read_cases(shared: Path) -> list[dict[str, str]]:
    with (shared / EUVS).open(encoding="utf-8", newline="") as handle:
        return [r for r in csv.DictReader(handle) if (r.get("summary") or "").strip()]


def case_scores(analyzer: NarrativesAnalyzer, cases: list[dict[str, str]]) -> np.ndarray:
    """(cases, narratives): best sentence score of each narrative in each case summary."""
    sentences, owner = [], []
    for i, case in enumerate(cases):
        parts = [s for s in SENTENCE.split(case["summary"].strip()) if len(s.split()) >= 5]
        for s in parts[:MAX_SENTENCES] or [case["summary"].strip()]:
            sentences.append(s)
            owner.append(i)
    per_sentence = analyzer.matcher.scores(analyzer.embed(sentences))
    out = np.full((len(cases), len(analyzer.matcher.entries)), -1.0, dtype=np.float32)
    for row, i in zip(per_sentence, owner, strict=True):
        out[i] = np.maximum(out[i], row)
    return out


def euvsdisinfo(analyzer: NarrativesAnalyzer, shared: Path) -> dict[str, Any]:
    cases = read_cases(shared)
    ids = [e.id for e in analyzer.matcher.entries]
    started = time.perf_counter()
    scores = case_scores(analyzer, cases)
    seconds = time.perf_counter() - started
    top = assign(scores, ids, analyzer.threshold)
    golds = [
        {n for k in (c.get("keywords") or "").split(",") for n in KEYWORD_TO_NARRATIVES.get(k.strip(), ())}
        for c in cases
    ]
    tp = sum(bool(g) and p in g for p, g in zip(top, golds, strict=True))
    fp = sum(bool(g) and p != "none" and p not in g for p, g in zip(top, golds, strict=True))
    fn = sum(bool(g) and p not in g for p, g in zip(top, golds, strict=True))
    top3 = np.argsort(-scores, axis=1)[:, :3]
    hit3 = sum(bool(g) and any(ids[j] in g for j in row) for row, g in zip(top3, golds, strict=True))
    labelled_cases = sum(bool(g) for g in golds)
    return {
        "cases": len(cases),
        "cases_with_mapped_keyword": labelled_cases,
        "top1_at_threshold": prf(tp, fp, fn),
        "gold_in_top3_regardless_of_threshold": round(hit3 / max(labelled_cases, 1), 4),
        "coverage_any_narrative_at_threshold": round(sum(p != "none" for p in top) / len(cases), 4),
        "matched_cases_by_narrative": dict(Counter(p for p in top if p != "none").most_common()),
        "seconds": round(seconds, 1),
    }


def news_background(analyzer: NarrativesAnalyzer, shared: Path) -> dict[str, Any]:
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


def measure(analyzer: NarrativesAnalyzer, shared: Path) -> dict[str, Any]:
    report: dict[str, Any] = {
        "version": analyzer.version,
        "threshold": analyzer.threshold,
        "labelled_own_sentences": labelled(analyzer),
    }
    if (shared / EUVS).is_file():
        report["euvsdisinfo_2015_2017"] = euvsdisinfo(analyzer, shared)
    else:
        print(f"skipping EUvsDisinfo: {shared / EUVS} not found")
    if (shared / PTC_DEV).is_dir():
        report["ptc_dev_background"] = news_background(analyzer, shared)
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args()
    default = NarrativesAnalyzer()
    report: dict[str, Any] = {
        "benchmark": "narratives",
        "command": "python benchmarks/narratives.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "narratives_in_catalogue": len(default.matcher.entries),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "narratives": measure(default, args.shared),
        "narratives_minilm": measure(MiniLMNarrativesAnalyzer(), args.shared),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
