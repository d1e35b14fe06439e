"""Ingestion throughput: documents/s for .txt and .html, median of several runs.

Generates N synthetic articles of each kind (templated, fictional text, each one unique so
none is dropped as a duplicate) in a temporary folder, then times `iter_documents` over each
folder. Prints the figures and writes them to benchmarks/results/ingest.json.

    python benchmarks/ingest.py [--n 1000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shlex
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from propscope.config import IngestOptions
from propscope.document import Document
from propscope.ingest import iter_documents

RESULTS = Path(__file__).parent / "results" / "ingest.json"
TOWNS = ["Tessaly", "Ormond", "Venn", "Cartwright", "Halden", "Marrow", "Lisk", "Ebbing"]
SUBJECTS = [
    "the harbour board",
    "the council",
    "the ferry company",
    "the growers' union",
    "the transport authority",
    "the school governors",
    "the water company",
]
VERBS = ["announced", "rejected", "postponed", "defended", "questioned", "approved"]
OBJECTS = [
    "a new budget",
    "the winter timetable",
    "the repair plan",
    "higher fares",
    "the bridge closure",
    "an inquiry",
    "the market reforms",
]
FOLLOW = [
    "Critics said the decision came too late.",
    "Residents were divided.",
    "Officials promised to publish the figures next month.",
    "The opposition called it a distraction from rising costs.",
    "Nobody from the ministry was available for comment.",
]


def sentence(rng: random.Random) -> str:
    return (
        f"In {rng.choice(TOWNS)}, {rng.choice(SUBJECTS)} {rng.choice(VERBS)} "
        f"{rng.choice(OBJECTS)} on day {rng.randint(1, 9999)}. {rng.choice(FOLLOW)}"
    )


def article(rng: random.Random, index: int) -> tuple[str, list[str]]:
    title = f"Report {index}: {rng.choice(SUBJECTS).title()} and {rng.choice(OBJECTS).title()}"
    paragraphs = [" ".join(sentence(rng) for _ in range(rng.randint(3, 6))) for _ in range(8)]
    return title, paragraphs


def as_text(title: str, paragraphs: list[str]) -> str:
    body = "\n\n".join(paragraphs)
    return (
        f"Share this:\nFacebook\nTwitter\n\n{title}\n\nBy Ada Lindqvist\n\n{body}\n\n"
        "Source: The Valley Courier\n\nSimilar Posts\n\nLeave a Reply\n\n"
        "Your email address will not be published. Required fields are marked *\n"
    )


def as_html(title: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        "<meta name='author' content='Ada Lindqvist'>"
        "<meta property='og:site_name' content='The Valley Courier'>"
        "<meta property='article:published_time' content='2024-05-01'>"
        "<script>var tracking = 1;</script></head><body><nav><a href='/'>Home</a>"
        f"<a href='/news'>News</a></nav><article><h1>{title}</h1>{body}</article>"
        "<aside><h3>Related</h3><ul><li><a href='/a'>Another story</a></li></ul></aside>"
        "<footer>All rights reserved.</footer></body></html>"
    )


def generate(folder: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    for i in range(n):
        title, paragraphs = article(rng, i)
        (folder / f"{i:05d}.txt").write_text(as_text(title, paragraphs), encoding="utf-8")
        (folder / f"{i:05d}.html").write_text(as_html(title, paragraphs), encoding="utf-8")


def time_run(folder: Path, glob: str) -> tuple[float, int, int]:
    start = time.perf_counter()
    docs = failures = 0
    for item in iter_documents([folder], IngestOptions(glob=glob)):
        if isinstance(item, Document):
            docs += 1
        else:
            failures += 1
    return time.perf_counter() - start, docs, failures


def measure(folder: Path, glob: str, runs: int) -> dict[str, object]:
    timings = [time_run(folder, glob) for _ in range(runs)]
    seconds = [t for t, _, _ in timings]
    median = statistics.median(seconds)
    docs, failures = timings[0][1], timings[0][2]
    return {
        "documents": docs,
        "failures": failures,
        "seconds": [round(s, 3) for s in seconds],
        "median_s": round(median, 3),
        "docs_per_s": round(docs / median, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="articles of each kind")
    parser.add_argument("--runs", type=int, default=3, help="timed runs; the median is kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, args.n)
        time_run(folder, "00000.*")  # warm-up: imports, lingua models, trafilatura config
        results = {fmt: measure(folder, f"*.{fmt}", args.runs) for fmt in ("txt", "html")}
    report = {
        "benchmark": "ingest",
        "command": "python " + shlex.join(["benchmarks/ingest.py", *sys.argv[1:]]),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)",
        "load_average_1m": round(os.getloadavg()[0], 2),  # other jobs slow the figures down
        "n_per_format": args.n,
        "runs": args.runs,
        "results": results,
    }
    for fmt, figures in results.items():
        print(
            f".{fmt:5} {figures['documents']:>5} docs  median {figures['median_s']:>7} s  "
            f"{figures['docs_per_s']:>8} docs/s  (failures: {figures['failures']})"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
