"""Speed of the whole default pipeline (every installed analyser) on real articles.

Reads PTC dev articles from ../shared (skips with a message when absent), runs the default
pipeline in batches exactly as `propscope analyze` does (`Pipeline.analyze_batch`, with the spaCy
parse overlapping the technique encoder), and reports articles/s and words/s (median of runs).
A separate sequential pass, with no overlap, attributes the time to each analyser. The parse
and embedding caches are cleared before every run, so no run profits from an earlier one.

    python benchmarks/pipeline.py [--articles 40] [--batch-size 16] [--runs 3] [--analyzers a,b] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

from propscope import Annotations, Document, Pipeline
from propscope.analyzers import _spacy
from propscope.analyzers.techniques import default_model_dir, load_model
from propscope.models import encoder

ROOT = Path(__file__).resolve().parents[1]
PTC_DEV = ROOT.parent / "shared" / "data" / "ptc-semeval2020-task11" / "dev-articles"
RESULTS = ROOT / "benchmarks" / "results" / "pipeline.json"


def load_articles(limit: int) -> list[Document]:
    paths = sorted(PTC_DEV.glob("article*.txt"))[:limit]
    return [Document(text=p.read_text(encoding="utf-8"), language="en", source=p.name) for p in paths]


def clear_caches() -> None:
    _spacy.clear_cache()
    encoder.clear_embeddings()
    load_model(str(default_model_dir())).forget()  # the encodings claims and narratives reuse


def time_pipeline(pipeline: Pipeline, docs: list[Document], batch_size: int) -> float:
    """Seconds for the whole set through `Pipeline.pipe`, caches cleared first."""
    clear_caches()
    started = time.perf_counter()
    for _ in pipeline.pipe(docs, batch_size):
        pass
    return time.perf_counter() - started


def time_analysers(pipeline: Pipeline, docs: list[Document], batch_size: int) -> dict[str, float]:
    """Seconds each analyser spends on the whole set, batch by batch, one after another with
    no background parse (models already loaded, caches cleared)."""
    clear_caches()
    spent = dict.fromkeys(pipeline.names, 0.0)
    for i in range(0, len(docs), batch_size):
        batch = docs[i : i + batch_size]
        layers = [Annotations() for _ in batch]
        for analyzer in pipeline.analyzers:
            started = time.perf_counter()
            found = analyzer.analyze(batch, layers)
            spent[analyzer.name] += time.perf_counter() - started
            layers = [old.merge(new) for old, new in zip(layers, found, strict=True)]
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--analyzers", help="comma-separated analysers (default: the default pipeline)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not PTC_DEV.exists():
        print(f"skipped: PTC dev articles not found at {PTC_DEV}")
        return 0
    docs = load_articles(args.articles)
    words = sum(len(d.text.split()) for d in docs)
    started = time.perf_counter()
    pipeline = Pipeline.from_names(args.analyzers.split(",") if args.analyzers else None)
    pipeline.analyze_batch(docs[:1])  # load every model once, as a long-running process would
    load_seconds = time.perf_counter() - started
    totals = [time_pipeline(pipeline, docs, args.batch_size) for _ in range(args.runs)]
    median_total = statistics.median(totals)
    runs = [time_analysers(pipeline, docs, args.batch_size) for _ in range(args.runs)]
    report = {
        "command": "python benchmarks/pipeline.py " + " ".join(sys.argv[1:]),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
        "analyzers": pipeline.versions,
        "articles": len(docs),
        "words": words,
        "batch_size": args.batch_size,
        "load_seconds": round(load_seconds, 2),
        "median_seconds": round(median_total, 2),
        "articles_per_second": round(len(docs) / median_total, 2),
        "words_per_second": round(words / median_total, 1),
        "run_seconds": [round(t, 2) for t in totals],
        "sequential_seconds": round(statistics.median(sum(run.values()) for run in runs), 2),
        "seconds_by_analyzer_sequential": {
            name: round(statistics.median(run[name] for run in runs), 2) for name in pipeline.names
        },
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(report, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
