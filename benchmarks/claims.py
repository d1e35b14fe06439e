"""Check-worthiness (claims analyser model): F1 of the Yes class on CheckThat! 2024 English.

Scores dev and dev-test from ../shared/data/checkworthiness-ct24-en with both bundled scorers at
their dev-tuned thresholds (the test split is sealed): the default fine-tuned model and the
`claims_fast` head on the shared sentence embeddings. Times each scorer alone (sentences/s, embedding cache
cleared) and the whole claims analyser (parse + scorer + attribution) on the specimen article.

    python benchmarks/claims.py [--shared ../shared]

Writes benchmarks/results/claims.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from propscope.analyzers.claims import ClaimsAnalyzer
from propscope.document import Document
from propscope.eval.checkworthy import SCORERS, evaluate, read_tsv
from propscope.models import encoder

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "claims.json"
CT24 = "data/checkworthiness-ct24-en"
SPLITS = {"dev": "CT24_checkworthy_english_dev.tsv", "dev-test": "CT24_checkworthy_english_dev-test.tsv"}
PUBLISHED_BEST_TEST_2024 = {"f1_approx": 0.80, "team": "FactFinders (open LLMs)", "split": "2024 test"}


def model_speed(scorer: str, texts: list[str]) -> float:
    analyzer = SCORERS[scorer]()
    analyzer.scores(texts[:32])  # warm-up
    encoder.clear_embeddings()
    started = time.perf_counter()
    analyzer.scores(texts)
    return round(len(texts) / (time.perf_counter() - started), 1)


def analyser_speed(text: str, runs: int = 3) -> float:
    analyzer = ClaimsAnalyzer()
    analyzer.analyze([Document(text)])
    times = []
    for n in range(runs):
        doc = Document(text + f"\n\nRun {n} of the benchmark ends here today.")  # defeat the parse cache
        encoder.clear_embeddings()
        started = time.perf_counter()
        analyzer.analyze([doc])
        times.append(time.perf_counter() - started)
    return round(min(times), 3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args()
    folder = args.shared / CT24
    if not folder.is_dir():
        print(f"skipping: {folder} not found")
        return 0
    report: dict[str, Any] = {
        "benchmark": "claims",
        "command": "python benchmarks/claims.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": encoder.claims_model().config,
        "fast_head": encoder.claims_head().config,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "published_best": PUBLISHED_BEST_TEST_2024,
    }
    for split, name in SPLITS.items():
        report[split], _ = evaluate(folder / name)
        report[f"claims_fast_{split}"], _ = evaluate(folder / name, scorer="claims_fast")
    texts = [r.text for r in read_tsv(folder / SPLITS["dev"])]
    report["model_sentences_per_s"] = model_speed("claims", texts)
    report["fast_head_sentences_per_s"] = model_speed("claims_fast", texts)
    specimen = args.shared / "examples" / "neo-kazakhstan-2022.txt"
    if specimen.is_file():
        report["claims_analyser_seconds_specimen"] = analyser_speed(specimen.read_text("utf-8"))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
