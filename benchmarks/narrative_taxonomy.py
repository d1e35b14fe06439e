"""Narrative classification (`narrative_labels`): SemEval-2025 Task 10 samples-F1, cross-validated.

Nested 5-fold cross-validation on the 399 English training articles, split by article
(duplicate texts share a fold): in each training part an inner 5-fold split chooses the L2
strength, the Platt maps, the two thresholds and the fallback, and the head fitted on that part
scores the held-out part with the official metric (samples-F1 on narratives, coarse, and on
subnarratives, fine). Reports mean and sd over the folds, the baselines (`Other` everywhere,
the most frequent label set, the most frequent narrative) and the ECE of the calibrated
probabilities on the held-out parts. The English dev gold is sealed and never read.

    python benchmarks/narrative_taxonomy.py [--shared ../shared]

Writes benchmarks/results/narrative-taxonomy.json (features cached in runs/narrtax/).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from propscope.analyzers.narrative_taxonomy import NarrativeLabelsAnalyzer
from propscope.training import narrative_taxonomy as training

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "narrative-taxonomy.json"
PUBLISHED = {
    "COGNAC (zero-shot LLM, 2nd at the deadline, language not named)": {"f1_coarse": 0.55, "f1_fine": 0.43},
    "nlptuducd (EN)": {"f1_fine": 0.226},
    "note": "official test set, from the system papers' abstracts (SOURCE.md); not comparable to CV on train",
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--cache", type=Path, default=ROOT / "runs" / "narrtax" / "features.npz")
    args = ap.parse_args()
    if not (args.shared / training.TASK10).is_dir():
        print(f"skipping: {args.shared / training.TASK10} not found (SemEval-2025 Task 10 data)")
        return 0
    started = time.perf_counter()
    ids, texts, gold, taxonomy = training.load_split(args.shared)
    X, encoder = training.cached_features(texts, ids, args.cache, None)
    cv = training.cross_validate(X, training.targets(gold, taxonomy), gold, texts, taxonomy)
    report = {
        "benchmark": "narrative-taxonomy",
        "command": "python benchmarks/narrative_taxonomy.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "version": NarrativeLabelsAnalyzer.version,
        "encoder": encoder,
        "data": "SemEval-2025 Task 10 train/EN (399 articles); EN dev gold sealed, not read",
        "protocol": "nested 5-fold CV split by article; choices inside each training part; "
        "objective F1@fine on inner out-of-fold predictions",
        **cv,
        "published_test_set": PUBLISHED,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    RESULTS.write_text(json.dumps(report, indent=1) + "\n", "utf-8")
    print(json.dumps(cv["samples_f1"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
