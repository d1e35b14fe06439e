"""Speed of the two profiles side by side, in one run: the full `techniques` analyser path
(encoder, SI decoding, TC head, calibration) on the same PTC dev articles, the profiles taking
turns so both see the same machine load; medians of the repeats and their ratio.

    python benchmarks/profiles.py [--data ../shared/data/ptc-semeval2020-task11] [--articles 20]
        [--repeats 3] [--out benchmarks/results/profiles.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from propscope import profiles
from propscope.analyzers.techniques import TechniqueModel
from propscope.eval.ptc import read_articles

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ptc-semeval2020-task11"


def seconds_per_pass(model: TechniqueModel, texts: list[str]) -> float:
    """One pass over `texts`, 16 documents per call as `batch` sends them, nothing reused."""
    model.forget()
    started = time.perf_counter()
    for k in range(0, len(texts), 16):
        for encoded in model.encode(texts[k : k + 16]):
            model.technique_spans(encoded)
    return time.perf_counter() - started


def size_mb(folder: Path) -> float:
    """The graph and its weight shards (the accurate model is split under the file limit)."""
    return round(sum(p.stat().st_size for p in folder.glob("model.onnx*")) / 2**20, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/profiles.json")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"PTC data absent: {args.data}; nothing to measure", file=sys.stderr)
        return 0
    installed = [name for name, p in profiles.PROFILES.items() if p.installed]
    texts = [t for _, t in sorted(read_articles(args.data / "dev-articles").items())][: args.articles]
    words = sum(len(t.split()) for t in texts)
    models = {name: TechniqueModel(profiles.get_profile(name).model_dir) for name in installed}
    runs: dict[str, list[float]] = {name: [] for name in installed}
    for name in installed:  # warm-up: session start and first-call allocation are not timed
        seconds_per_pass(models[name], texts[:2])
    for _ in range(args.repeats):
        for name in installed:
            runs[name].append(seconds_per_pass(models[name], texts))
    result: dict[str, Any] = {
        "command": "python benchmarks/profiles.py " + shlex.join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "articles": len(texts),
        "words": words,
        "profiles": {
            name: {
                "version": models[name].config["version"],
                "median_seconds": round(statistics.median(runs[name]), 3),
                "seconds_per_750_words": round(statistics.median(runs[name]) * 750 / words, 3),
                "runs": [round(r, 3) for r in runs[name]],
                "size_mb": size_mb(models[name].folder),
            }
            for name in installed
        },
    }
    if {"fast", "accurate"} <= set(installed):
        fast, accurate = (statistics.median(runs[n]) for n in ("fast", "accurate"))
        result["accurate_over_fast"] = round(accurate / fast, 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
