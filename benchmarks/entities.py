"""Actors: detection and role accuracy on our labelled sentences, and speed on the specimen.

tests/data/entities_labelled.yaml holds 40 sentences we wrote and labelled ourselves with the
canonical actors they name and each actor's role (blamed / authority / neutral). Reports actor
recall and precision (against labelled actors; unlabelled extras such as outlets count as false
positives), role accuracy on the actors found, per-role precision/recall, and the analyser's
speed on the specimen article (spaCy parse included).

    python benchmarks/entities.py [--shared ../shared]

Writes benchmarks/results/entities.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from propscope.analyzers.entities import EntitiesAnalyzer
from propscope.document import Document

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "entities.json"
LABELLED = ROOT / "tests" / "data" / "entities_labelled.yaml"
ROLES = ("blamed", "authority", "neutral")


def ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def quality(analyzer: EntitiesAnalyzer) -> dict[str, Any]:
    rows = yaml.safe_load(LABELLED.read_text("utf-8"))["sentences"]
    results = analyzer.analyze([Document(r["text"]) for r in rows])
    found = labelled = extra = correct = 0
    pairs: Counter[tuple[str, str]] = Counter()
    for row, result in zip(rows, results, strict=True):
        predicted = {e.actor: e.role for e in result.entities}
        gold: dict[str, str] = row["actors"] or {}
        labelled += len(gold)
        extra += len(set(predicted) - set(gold))
        for actor, role in gold.items():
            if actor in predicted:
                found += 1
                correct += predicted[actor] == role
                pairs[(role, predicted[actor])] += 1
    per_role = {
        r: {
            "precision": ratio(pairs[(r, r)], sum(n for (g, p), n in pairs.items() if p == r)),
            "recall": ratio(pairs[(r, r)], sum(n for (g, p), n in pairs.items() if g == r)),
        }
        for r in ROLES
    }
    return {
        "sentences": len(rows),
        "labelled_actors": labelled,
        "actor_recall": ratio(found, labelled),
        "actor_precision": ratio(found, found + extra),
        "role_accuracy_on_found": ratio(correct, found),
        "per_role": per_role,
        "confusion_gold_to_predicted": {f"{g}->{p}": n for (g, p), n in sorted(pairs.items())},
    }


def speed(analyzer: EntitiesAnalyzer, text: str, runs: int = 3) -> dict[str, float]:
    times = []
    for n in range(runs):
        doc = Document(text + f"\n\nRun {n} ends here.")  # a new text: the parse is not cached
        started = time.perf_counter()
        analyzer.analyze([doc])
        times.append(time.perf_counter() - started)
    best = min(times)
    return {"seconds": round(best, 3), "words_per_s": round(len(text.split()) / best)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args()
    analyzer = EntitiesAnalyzer()
    report: dict[str, Any] = {
        "benchmark": "entities",
        "command": "python benchmarks/entities.py " + " ".join(sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "version": analyzer.version,
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "labelled_own_sentences": quality(analyzer),
    }
    specimen = args.shared / "examples" / "neo-kazakhstan-2022.txt"
    if specimen.is_file():
        report["specimen_speed_with_parse"] = speed(analyzer, specimen.read_text("utf-8"))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
