"""Corpus-scale benchmark: reuse precision/recall against planted truth, indexing speed, memory,
coordination accuracy, and batch throughput (local process pool vs Ray).

    python benchmarks/corpus.py                       # 10k documents (a few minutes on 2 cores)
    python benchmarks/corpus.py --docs 10000 100000   # both sizes
    python benchmarks/corpus.py --docs 1000000 --skip-batch --no-datasketch   # 1M (hours; ~6 GB disk)

Writes benchmarks/results/corpus.json (with the command that produced it). The corpus is synthetic
(`propscope.corpus.synthetic`): templated articles from invented word lists with planted shared
passages (campaigns, slow reuse, syndication pairs), paraphrase decoys and outlet footers; every
copy has ~3% of its words edited independently, so no two copies are identical. `--identical N`
plants N campaigns of byte-identical copies as well (one document id, several outlets: found
through the store's sightings); the default 0 keeps the corpus, and so the figures, as before.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import combinations
from pathlib import Path
from typing import Any

import psutil

from propscope.corpus import synthetic
from propscope.corpus.coordination import coordinate
from propscope.corpus.index import load_index, update_index
from propscope.corpus.reuse import ReuseGroup, find_reuse
from propscope.document import Document
from propscope.store import Store

RESULTS = Path(__file__).with_name("results") / "corpus.json"
MATCH = 0.9  # a found group matches a planted one when their document sets overlap this much


class Peak:
    """Peak resident memory of this process while a block runs (sampled every 20 ms)."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.start = 0

    @contextmanager
    def measure(self) -> Iterator[Peak]:
        gc.collect()
        self.start = self.peak = self.process.memory_info().rss
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.02):
                self.peak = max(self.peak, self.process.memory_info().rss)

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
            self.peak = max(self.peak, self.process.memory_info().rss)

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
    """Planted groups that some found group covers (document-set Jaccard >= MATCH)."""
    return sum(any(len(p & f) / len(p | f) >= MATCH for f in found if p & f) for p in planted)


def reuse_quality(groups: list[ReuseGroup], corpus: synthetic.Corpus, urls: dict[str, str]) -> dict[str, Any]:
    """Precision and recall of cross-outlet shared passages against the planted truth."""
    planted = [
        frozenset(urls[u] for u in p.documents)
        for p in corpus.of_kind("campaign", "slow", "syndication", "identical")
    ]
    decoys = [frozenset(urls[u] for u in p.documents) for p in corpus.of_kind("decoy")]
    found = [frozenset(d.id for d in g.documents) for g in groups if len(g.outlets) > 1]
    truth_pairs, found_pairs = pairs(planted), pairs(found)
    hit = len(truth_pairs & found_pairs)
    return {
        "planted_groups": len(planted),
        "found_cross_outlet_groups": len(found),
        "group_recall": round(matched(found, planted) / len(planted), 4) if planted else None,
        "group_precision": round(matched(planted, found) / len(found), 4) if found else None,
        "pair_recall": round(hit / len(truth_pairs), 4) if truth_pairs else None,
        "pair_precision": round(hit / len(found_pairs), 4) if found_pairs else None,
        "paraphrase_decoys_reported": sum(bool(pairs([d]) & found_pairs) for d in decoys),
        "outlet_footer_groups": sum(len(g.outlets) == 1 for g in groups),
    }


def coordination_quality(
    groups: list[ReuseGroup], corpus: synthetic.Corpus, urls: dict[str, str]
) -> dict[str, Any]:
    truth = {
        frozenset(urls[u] for u in p.documents): p.outlets[p.times.index(min(p.times))]
        for p in corpus.of_kind("campaign", "identical")
    }
    (report, seconds, memory) = timed(lambda: coordinate(groups))
    found = {frozenset(d.id for d in c.documents): c.outlets[0] for c in report.campaigns}
    return {
        "window": report.window.to_json(),
        "planted_campaigns": len(truth),
        "found_campaigns": len(found),
        "exact_matches": len(set(truth) & set(found)),
        "first_publisher_correct": sum(found.get(ids) == first for ids, first in truth.items()),
        "unplanted_campaigns": len(set(found) - set(truth)),
        "seconds": round(seconds, 3),
        **memory,
    }


def datasketch_lsh_memory(store: Store) -> dict[str, Any]:
    """What datasketch's own in-memory MinHashLSH needs for the same passage signatures."""
    from datasketch import LeanMinHash, MinHash, MinHashLSH

    from propscope.corpus import signatures as sigs
    from propscope.store.schema import reuse_signatures

    def build() -> int:
        lsh = MinHashLSH(num_perm=sigs.NUM_PERM, params=(sigs.BANDS, sigs.ROWS))
        with store.engine.connect() as conn:
            rows = conn.execute(reuse_signatures.select().where(reuse_signatures.c.part >= 0))
            for row in rows:
                values = sigs.from_blobs([row.signature])[0]
                minhash = MinHash(
                    num_perm=sigs.NUM_PERM,
                    hashvalues=values,
                    scheme="affine32",
                    permutations=sigs._parameters(),
                )
                lsh.insert(row.id, LeanMinHash(minhash), check_duplication=False)
        return len(lsh.keys)

    count, seconds, memory = timed(build)
    return {"passages": count, "seconds": round(seconds, 2), **memory}


def index_and_find(store: Store, docs: list[Document], extra: list[Document]) -> dict[str, Any]:
    indexed, index_s, index_mem = timed(lambda: update_index(store))
    save(store, extra)
    added, add_s, _ = timed(lambda: update_index(store))
    loaded, load_s, load_mem = timed(lambda: load_index(store))
    report, find_s, find_mem = timed(lambda: find_reuse(store))
    return {
        "index": {
            "documents": indexed,
            "seconds": round(index_s, 2),
            "docs_per_second": round(indexed / index_s, 1),
            **index_mem,
        },
        "incremental": {
            "existing": indexed,
            "added": len(extra),
            "hashed": added,
            "seconds": round(add_s, 2),
        },
        "load_index": {
            "passages": len(loaded),
            "array_bytes": loaded.nbytes,
            "bytes_per_passage": round(loaded.nbytes / max(len(loaded), 1), 1),
            "signature_bytes_on_disk": len(loaded) * 256,
            "seconds": round(load_s, 2),
            **load_mem,
        },
        "find_reuse": {"seconds": round(find_s, 2), **find_mem, **report.to_json()["index"]},
        "_report": report,
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
    campaigns = max(count // 200, 5)
    added = max(count // 100, 10)  # 1% arrives after indexing: only those may be hashed again
    corpus, gen_s, _ = timed(
        lambda: synthetic.generate(count + added, args.outlets, campaigns, args.seed, args.identical)
    )
    planted = {u for p in corpus.plants for u in p.documents}
    late = {r["url"] for r in corpus.records if r["url"] not in planted}
    late = set(sorted(late)[:added])
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
        if args.datasketch and count <= 20_000:
            result["datasketch_minhashlsh_for_comparison"] = datasketch_lsh_memory(store)
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
    parser.add_argument(
        "--no-datasketch",
        dest="datasketch",
        action="store_false",
        help="skip the datasketch MinHashLSH memory comparison (run at <= 20k docs)",
    )
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
