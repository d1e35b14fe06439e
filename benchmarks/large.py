"""Time and peak memory of the full default pipeline on one large document, against a batch.

Builds real prose of each size (100 KB, 500 KB and 1.5 MB by default) from PTC training
articles in ../shared, joined by blank lines and cut at a line break (skips with a message when
the data is absent), and runs the default pipeline on it as `propscope analyze` does
(`Pipeline.pipe`). Each size runs in a fresh subprocess, so its peak RSS (the child's
`ru_maxrss`, read with `os.wait4`) is its own; models are loaded on a small article first, and
the timed run starts with empty caches. A batch of ordinary PTC dev articles, in a subprocess of
its own, gives the words per second a large document is compared with.

Targets (issue 13, D6, on 2 cores): peak RSS <= 1.5 GB at 1.5 MB; time(1.5 MB) <= 1.3 x 15 x
time(100 KB); every large document analysed at >= half the batch's words per second.

    python benchmarks/large.py [--sizes 100,500,1500] [--articles 40] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PTC = ROOT.parent / "shared" / "data" / "ptc-semeval2020-task11"
RESULTS = ROOT / "benchmarks" / "results" / "large.json"
MAX_RSS_MB = 1500.0  # at the largest size (1.5 GB, in MB of 10^6 bytes)
MAX_TIME_RATIO = 1.3  # time(largest) / (size ratio x time(smallest))
MIN_SPEED_RATIO = 0.5  # words/s of a large document / words/s of the batch


def build_text(size: int) -> str:
    """At most `size` bytes of PTC training articles, joined by blank lines, cut after a line."""
    parts, total = [], 0
    for path in sorted((PTC / "train-articles").glob("article*.txt")):
        part = path.read_text(encoding="utf-8").strip()
        parts.append(part)
        total += len(part.encode("utf-8")) + 2
        if total >= size:
            break
    text = "\n\n".join(parts).encode("utf-8")[:size].decode("utf-8", errors="ignore")
    if len(text.encode("utf-8")) < size * 0.98:
        raise SystemExit(f"only {len(text.encode('utf-8'))} bytes of PTC articles for {size}")
    return text[: text.rfind("\n") + 1] if "\n" in text else text


def ordinary_articles(limit: int) -> list[str]:
    paths = sorted((PTC / "dev-articles").glob("article*.txt"))[:limit]
    return [p.read_text(encoding="utf-8") for p in paths]


def child(kind: str, value: int) -> dict[str, Any]:
    """Run in the subprocess: load the pipeline, then time one large text or the batch."""
    from propscope import Document, Pipeline
    from propscope.analyzers import _spacy
    from propscope.analyzers.techniques import default_model_dir, load_model

    texts = [build_text(value)] if kind == "size" else ordinary_articles(value)
    pipeline = Pipeline.from_names()
    list(pipeline.pipe([Document(text=ordinary_articles(1)[0], language="en")]))  # load models
    _spacy.clear_cache()
    load_model(str(default_model_dir())).forget()
    docs = [Document(text=t, language="en", source=f"{kind}-{k}") for k, t in enumerate(texts)]
    started = time.perf_counter()
    results = list(pipeline.pipe(docs))
    seconds = time.perf_counter() - started
    words = sum(len(t.split()) for t in texts)
    return {
        "bytes": sum(len(t.encode("utf-8")) for t in texts),
        "documents": len(texts),
        "words": words,
        "seconds": round(seconds, 2),
        "words_per_second": round(words / seconds, 1),
        "found": {
            "techniques": sum(len(r.techniques) for r in results),
            "claims": sum(len(r.claims) for r in results),
            "entities": sum(len(r.entities) for r in results),
            "narratives": sum(len(r.narratives) for r in results),
        },
    }


def run_child(kind: str, value: int) -> dict[str, Any]:
    """One measurement in a fresh interpreter; its peak RSS from the kernel's account of it."""
    command = [sys.executable, __file__, "--child", kind, str(value)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{kind} {value}: the child failed (exit {process.returncode})")
    found: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    found["peak_rss_mb"] = round(usage.ru_maxrss * 1024 / 1e6, 1)  # Linux reports KiB
    print(json.dumps({kind: value, **found}), flush=True)
    return found


def verdicts(sizes: dict[int, dict[str, Any]], batch: dict[str, Any]) -> dict[str, Any]:
    """The three D6 targets: each figure, its limit, and whether it holds."""
    small, large = min(sizes), max(sizes)
    scale = large / small
    time_ratio = sizes[large]["seconds"] / (scale * sizes[small]["seconds"])
    per_batch = batch["words_per_second"]
    speed = {f"{kb} KB": round(s["words_per_second"] / per_batch, 3) for kb, s in sizes.items()}
    return {
        "peak_rss_mb_at_largest": {
            "value": sizes[large]["peak_rss_mb"],
            "limit": MAX_RSS_MB,
            "ok": sizes[large]["peak_rss_mb"] <= MAX_RSS_MB,
        },
        "time_ratio": {
            "value": round(time_ratio, 3),
            "limit": MAX_TIME_RATIO,
            "ok": time_ratio <= MAX_TIME_RATIO,
            "means": f"time({large} KB) / ({scale:g} x time({small} KB))",
        },
        "speed_vs_batch": {
            "value": speed,
            "limit": MIN_SPEED_RATIO,
            "ok": all(v >= MIN_SPEED_RATIO for v in speed.values()),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,500,1500", help="sizes in KB (1000 bytes), comma-separated")
    parser.add_argument("--articles", type=int, default=40, help="ordinary articles in the batch")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=2, metavar=("KIND", "VALUE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not (PTC / "train-articles").exists():
        print(f"skipped: PTC articles not found at {PTC}")
        return 0
    if args.child:
        print(json.dumps(child(args.child[0], int(args.child[1]))))
        return 0
    kbs = sorted(int(kb) for kb in args.sizes.split(","))
    batch = run_child("batch", args.articles)
    sizes = {kb: run_child("size", kb * 1000) for kb in kbs}
    report = {
        "command": " ".join(["python benchmarks/large.py", *sys.argv[1:]]),
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, {os.cpu_count()} cores",
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "batch": batch,
        "sizes_kb": {str(kb): s for kb, s in sizes.items()},
        "targets": verdicts(sizes, batch) if len(kbs) > 1 else {},
    }
    print(json.dumps(report["targets"], indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
