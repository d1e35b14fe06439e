"""Check-worthiness (claims analyser): F1 of the Yes class on CheckThat! 2024 English.

Scores dev and dev-test from ../shared/data/checkworthiness-ct24-en with the `claims` head on
the technique encoder at its threshold (chosen by grouped cross-validation on train+dev; the
head is fitted on train+dev, so the dev figure is in-sample and dev-test is the held-out one;
the test split is sealed). Times the scorer
alone on loose sentences (sentences/s, encoder included: nothing kept from an earlier pass) and
the whole claims analyser (parse + scorer + attribution) on the specimen article, alone and
after the technique analyser has encoded it (the pipeline's case).

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

from propscope.analyzers import _spacy
from propscope.analyzers.claims import ClaimsAnalyzer
from propscope.analyzers.techniques import TechniqueAnalyzer
from propscope.document import Document
from propscope.eval.checkworthy import evaluate, read_tsv
from propscope.models.calibration import expected_calibration_error, reliability

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "claims.json"
CT24 = "data/checkworthiness-ct24-en"
SPLITS = {"dev": "CT24_checkworthy_english_dev.tsv", "dev-test": "CT24_checkworthy_english_dev-test.tsv"}
PUBLISHED_BEST_TEST_2024 = {"f1_approx": 0.80, "team": "FactFinders (open LLMs)", "split": "2024 test"}


def model_speed(texts: list[str]) -> float:
    analyzer = ClaimsAnalyzer()
    analyzer.scores(texts[:32])  # warm-up
    analyzer.model.forget()
    started = time.perf_counter()
    analyzer.scores(texts)
    return round(len(texts) / (time.perf_counter() - started), 1)


def analyser_speed(text: str, after_techniques: bool, runs: int = 3) -> float:
    """Median seconds of `claims.analyze` on the text, the parse and encodings not kept."""
    analyzer, techniques = ClaimsAnalyzer(), TechniqueAnalyzer()
    analyzer.analyze([Document(text)])
    times = []
    for _ in range(runs):
        _spacy.clear_cache()
        analyzer.model.forget()
        doc = Document(text)
        if after_techniques:
            techniques.analyze([doc])
        started = time.perf_counter()
        analyzer.analyze([doc])
        times.append(time.perf_counter() - started)
    return round(sorted(times)[len(times) // 2], 3)


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
        "head": ClaimsAnalyzer().model.heads.config["claims"],
        "version": ClaimsAnalyzer.version,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "published_best": PUBLISHED_BEST_TEST_2024,
    }
    for split, name in SPLITS.items():
        report[split], scores, _ = evaluate(folder / name)
        gold = [int(bool(r.label)) for r in read_tsv(folder / name)]
        report[f"{split}_calibration"] = {
            "ece": round(expected_calibration_error(scores, gold), 4),
            "reliability": [
                {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}
                for row in reliability(scores, gold)
                if row["n"]
            ],
        }
    report["dev_note"] = "in-sample: dev is part of the head's training data (held out: dev-test)"
    report["protocol"] = "benchmarks/results/claims-protocol.json"
    texts = [r.text for r in read_tsv(folder / SPLITS["dev"])]
    report["loose_sentences_per_s_encoder_included"] = model_speed(texts)
    specimen = args.shared / "examples" / "neo-kazakhstan-2022.txt"
    if specimen.is_file():
        text = specimen.read_text("utf-8")
        report["claims_analyser_seconds_specimen"] = {
            "alone": analyser_speed(text, after_techniques=False),
            "after_techniques": analyser_speed(text, after_techniques=True),
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
