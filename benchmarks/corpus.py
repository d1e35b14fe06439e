"""Corpus-scale benchmark: reuse and campaign recall/precision against planted truth, indexing
and alignment speed, incremental updates, memory, and batch throughput (local pool vs Ray).

    python benchmarks/corpus.py                       # 10k documents (a few minutes on 2 cores)
    python benchmarks/corpus.py --docs 10000 100000   # both sizes
    python benchmarks/corpus.py --docs 1000000 --skip-batch   # 1M (hours; ~10 GB disk)

Writes benchmarks/results/corpus.json (with the command that produced it). The corpus is synthetic
(`propscope.corpus.synthetic`): articles of Zipf-distributed invented words with campaigns of six
planting kinds (a paragraph merged into a neighbour's, multi-paragraph, half a paragraph, swapped
sentences, 8-10% edits, no line breaks), quotes printed weeks apart, syndicated pairs, paraphrase
decoys and outlet boilerplate; every copy is edited on its own. `--identical N` plants N campaigns
of byte-identical copies as well (one document id, several outlets: found through the sightings).
Per-kind figures on real text are `benchmarks/reuse_planted.py`'s.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from itertools import combinations
from pathlib import Path
from typing import Any

from propscope.corpus import synthetic
from propscope.corpus.coordination import coordinate
from propscope.corpus.index import load_fingerprints, update_index
from propscope.corpus.reuse import ReuseGroup, find_reuse
from propscope.document import Document
from propscope.store import Store

RESULTS = Path(__file__).with_name("results") / "corpus.json"
MATCH = 0.8  # a found group matches a planted one when it holds this share of its documents
WINDOW = timedelta(hours=72)
SHARED = (*synthetic.CAMPAIGN_KINDS, "quote", "syndication", "identical")


def rss() -> int:
    """This process's resident memory in bytes (Linux: /proc/self/statm; no psutil needed)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Peak:
    """Peak resident memory of this process while a block runs (sampled every 20 ms)."""

    def __init__(self) -> None:
        self.peak = self.start = 0

    @contextmanager
    def measure(self) -> Iterator[Peak]:
        gc.collect()
        self.start = self.peak = rss()
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.02):
                self.peak = max(self.peak, rss())

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            self.peak = max(self.peak, rss())

    @property
    def figures(self) -> dict[str, float]:
        return {
            "peak_rss_mb": round(self.peak / 1e6, 1),
            "peak_increase_mb": round((self.peak - self.start) / 1e6, 1),
        }


def timed(step: Callable[[], Any]) -> tuple[Any, float, dict[str, float]]:
    peak = Peak()
    with peak.measure():
        started = time.perf_counter()
        value = step()
        seconds = time.perf_counter() - started
    return value, seconds, peak.figures


def documents(records: list[dict[str, Any]]) -> list[Document]:
    return [
        Document(text=r["text"], title=r["title"], outlet=r["outlet"], url=r["url"], published=r["published"])
        for r in records
    ]


def save(store: Store, docs: list[Document]) -> None:
    for start in range(0, len(docs), 2000):
        store.save_documents(docs[start : start + 2000])


def pairs(groups: list[frozenset[str]]) -> set[tuple[str, str]]:
    return {pair for group in groups for pair in combinations(sorted(group), 2)}


def matched(found: list[frozenset[str]], planted: list[frozenset[str]]) -> int:
    """Planted groups that one found group covers (holds >= MATCH of their documents)."""
    return sum(any(len(p & f) >= MATCH * len(p) for f in found) for p in planted)


def reuse_quality(groups: list[ReuseGroup], corpus: synthetic.Corpus, urls: dict[str, str]) -> dict[str, Any]:
    """Recall of shared passages (as one group each), pair precision, decoys reported."""
    planted = [frozenset(urls[u] for u in p.documents) for p in corpus.of_kind(*SHARED)]
    decoys = [frozenset(urls[u] for u in p.documents) for p in corpus.of_kind("paraphrase")]
    found = [frozenset(d.id for d in g.documents) for g in groups if len(g.outlets) > 1]
    truth_pairs, found_pairs = pairs(planted), pairs(found)
    hit = len(truth_pairs & found_pairs)
    return {
        "planted_groups": len(planted),
        "found_cross_outlet_groups": len(found),
        "group_recall": round(matched(found, planted) / len(planted), 4) if planted else None,
        "pair_recall": round(hit / len(truth_pairs), 4) if truth_pairs else None,
        "pair_precision": round(hit / len(found_pairs), 4) if found_pairs else None,
        "paraphrase_decoys_reported": sum(bool(pairs([d]) & found_pairs) for d in decoys),
    }


def coordination_quality(
    groups: list[ReuseGroup], corpus: synthetic.Corpus, urls: dict[str, str]
) -> dict[str, Any]:
    """Per planting kind: campaigns found with >= 80% of their outlets and the right first outlet."""
    (report, seconds, memory) = timed(lambda: coordinate(groups, 3, WINDOW))
    found = [(frozenset(d.id for d in c.documents), c.outlets[0]) for c in report.campaigns]
    per_kind: dict[str, list[int]] = {}
    claimed: set[int] = set()
    for plant in corpus.campaigns():
        ids = frozenset(urls[u] for u in plant.documents)
        hits = [n for n, (docs, first) in enumerate(found) if len(ids & docs) >= MATCH * len(ids)]
        right = [n for n in hits if found[n][1] == plant.first_outlet]
        claimed.update(hits)
        counts = per_kind.setdefault(plant.kind, [0, 0])
        counts[0] += 1
        counts[1] += bool(right)
    return {
        "window": report.window.to_json(),
        "per_kind": {
            k: {"planted": n, "found": f, "recall": round(f / n, 4)} for k, (n, f) in per_kind.items()
        },
        "planted_campaigns": sum(n for n, _ in per_kind.values()),
        "found_campaigns": len(found),
        "unplanted_campaigns": len(found) - len(claimed),
        "precision": round(len(claimed) / len(found), 4) if found else None,
        "seconds": round(seconds, 3),
        **memory,
    }


def index_and_find(store: Store, docs: list[Document], extra: list[Document]) -> dict[str, Any]:
    indexed, index_s, index_mem = timed(lambda: update_index(store))
    (index, _), load_s, load_mem = timed(lambda: load_fingerprints(store))
    report, find_s, find_mem = timed(lambda: find_reuse(store))
    del index
    save(store, extra)
    added, add_s, add_mem = timed(lambda: find_reuse(store))
    return {
        "index": {
            "documents": indexed,
            "seconds": round(index_s, 2),
            "docs_per_second": round(indexed / index_s, 1),
            **index_mem,
        },
        "load_fingerprints": {
            "fingerprints": report.fingerprints,
            "array_bytes": report.index_bytes,
            "bytes_per_document": round(report.index_bytes / max(report.documents, 1), 1),
            "seconds": round(load_s, 2),
            **load_mem,
        },
        "find_reuse_first_run": {"seconds": round(find_s, 2), **find_mem, **report.to_json()["index"]},
        "incremental": {
            "existing": indexed,
            "added": len(extra),
            "seconds": round(add_s, 2),
            **add_mem,
            **added.to_json()["index"],
        },
        "_report": added,
    }


def _batch_wall(
    records: list[dict[str, Any]], engine: str, workers: int, folder: Path, tag: str
) -> tuple[float, float]:
    """Seconds for `propscope batch` on a fresh SQLite store: in all, and without the ingest
    (reading, language detection and storing the documents happen in the driver, serially)."""
    from propscope.batch import run_batch

    source = folder / f"batch-{tag}.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    started = time.perf_counter()
    report = run_batch(
        [str(source)],
        engine,
        db=f"sqlite:///{folder / f'batch-{tag}.db'}",
        analyzers=["stats"],
        workers=workers,
    )
    wall = time.perf_counter() - started
    assert report.analysed == len(records) and not report.failures, report.to_json()
    return wall, wall - report.ingest_seconds


def _rates(walls: list[float], small: int, large: int) -> dict[str, Any]:
    """Docs/s overall, the marginal rate (from the difference of two sizes) and the fixed cost."""
    marginal = (large - small) / (walls[1] - walls[0]) if walls[1] > walls[0] else None
    return {
        "wall_seconds": [round(w, 2) for w in walls],
        "docs_per_second": round(large / walls[1], 2),
        "marginal_docs_per_second": round(marginal, 2) if marginal else None,
        "fixed_overhead_seconds": round(walls[0] - small / marginal, 2) if marginal else None,
    }


def batch_throughput(
    records: list[dict[str, Any]], engines: list[str], workers: int, folder: Path
) -> dict[str, Any]:
    """Wall time at two sizes per engine: the difference gives the marginal rate (docs/s once
    running) and the fixed start-up cost (process spawn, Ray start, actors loading models)."""
    small = records[: len(records) // 5]
    out: dict[str, Any] = {
        "documents": [len(small), len(records)],
        "analyzers": ["stats"],
        "workers": workers,
    }
    runs = [(engine, workers) for engine in engines] + [("local", 0)]
    for engine, count in runs:
        name = engine if count else "in_process"
        timings = [
            _batch_wall(part, engine, count, folder, f"{name}-{len(part)}") for part in (small, records)
        ]
        out[name] = {
            "end_to_end": _rates([t[0] for t in timings], len(small), len(records)),
            "analysis_only": _rates([t[1] for t in timings], len(small), len(records)),
        }
        print(f"[batch] {name}: {out[name]}", file=sys.stderr)
    return out


def run_size(count: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    campaigns = max(count // 200, 6)
    added = max(count // 100, 10)
    corpus, gen_s, _ = timed(
        lambda: synthetic.generate(count + added, args.outlets, campaigns, args.seed, args.identical)
    )
    # 1% arrives after the first run, planted copies among them: they are hashed and aligned
    # against the index, and the figures are taken after that second run.
    late = set(random.Random(args.seed).sample(sorted(r["url"] for r in corpus.records), added))
    docs = documents([r for r in corpus.records if r["url"] not in late])
    extra = documents([r for r in corpus.records if r["url"] in late])
    urls = {str(d.url): d.id for d in docs + extra}
    print(f"[{count}] generated in {gen_s:.1f}s; storing", file=sys.stderr)
    with Store.open(f"sqlite:///{folder / f'corpus-{count}.db'}") as store:
        _, store_s, _ = timed(lambda: save(store, docs))
        print(f"[{count}] stored in {store_s:.1f}s; indexing", file=sys.stderr)
        found = index_and_find(store, docs, extra)
        report = found.pop("_report")
        result = {
            "documents": count,
            "outlets": args.outlets,
            "planted_campaigns": campaigns,
            "planted_identical_campaigns": args.identical,
            "generate_seconds": round(gen_s, 1),
            "store_seconds": round(store_s, 1),
            **found,
            "reuse_quality": reuse_quality(report.groups, corpus, urls),
            "coordination": coordination_quality(report.groups, corpus, urls),
        }
        print(f"[{count}] {json.dumps(result['reuse_quality'])}", file=sys.stderr)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, nargs="+", default=[10_000])
    parser.add_argument("--outlets", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--identical", type=int, default=0, help="campaigns of byte-identical copies to plant as well"
    )
    parser.add_argument("--batch-docs", type=int, default=1000, help="documents for the batch throughput run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "command": "python benchmarks/corpus.py " + " ".join(sys.argv[1:]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "sizes": [],
    }
    with tempfile.TemporaryDirectory(prefix="propscope-bench-") as tmp:
        folder = Path(tmp)
        for count in args.docs:
            results["sizes"].append(run_size(count, args, folder))
        if not args.skip_batch:
            records = synthetic.generate(args.batch_docs, args.outlets, 5, seed=args.seed).records
            results["batch"] = batch_throughput(records, args.engines.split(","), args.workers, folder)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
