"""Peak memory and time of the in-memory steps of `find_reuse` at a million documents and more.

    python benchmarks/corpus_memory.py --docs 1000000

Generating, storing and indexing a million articles takes hours on two shared cores, so this
builds the fingerprint arrays `load_fingerprints` would return directly: documents of 450 words
drawn from a Zipf vocabulary (token ids, hashed as the index hashes words), winnowed as
`winnow.fingerprints` does, 2% of them carrying a 60-word passage copied from another one, and 50
outlets whose 20-word footer sits under every article. Then it runs what `find_reuse` runs on
those arrays before any text is read: boilerplate, stock phrases and candidate pairs. Alignment
works on candidate pairs a block at a time (`ALIGN_BLOCK` pairs), so its memory does not grow with
the corpus. Writes benchmarks/results/corpus-memory.json with its command line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from corpus import Peak

from propscope.corpus import winnow
from propscope.corpus._text import SHINGLE_WORDS
from propscope.corpus.index import DocMeta

RESULTS = Path(__file__).with_name("results") / "corpus-memory.json"
WORDS, VOCABULARY, OUTLETS, FOOTER, PASSAGE = 450, 50_000, 50, 20, 60
CHUNK = 20_000  # documents generated at once


def _grams(tokens: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """4-word shingle hashes per row, FNV-combined like `_text.gram_hashes`, then mixed."""
    width = tokens.shape[1] - SHINGLE_WORDS + 1
    combined = np.zeros((tokens.shape[0], width), dtype=np.uint32)
    for offset in range(SHINGLE_WORDS):
        combined = (combined * np.uint32(0x01000193)) ^ tokens[:, offset : offset + width]
    return winnow._mix(combined.ravel()).reshape(combined.shape)


def fingerprints(docs: int, seed: int) -> winnow.Fingerprints:
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, VOCABULARY + 1, dtype=np.float64)
    weights = 1 / (ranks + 10)
    vocabulary = rng.integers(0, 2**32, VOCABULARY, dtype=np.uint64).astype(np.uint32)
    footers = rng.choice(vocabulary, size=(OUTLETS, FOOTER), p=weights / weights.sum())
    hashes, doc, pos = [], [], []
    outlets = rng.integers(0, OUTLETS, docs)
    for first in range(0, docs, CHUNK):
        rows = min(CHUNK, docs - first)
        tokens = rng.choice(vocabulary, size=(rows, WORDS), p=weights / weights.sum())
        copies = rng.random(rows) < 0.02  # a passage copied from the row before
        tokens[1:][copies[1:], 100 : 100 + PASSAGE] = tokens[:-1][copies[1:], 200 : 200 + PASSAGE]
        tokens[:, -FOOTER:] = footers[outlets[first : first + rows]]
        grams = _grams(tokens)
        windows = np.lib.stride_tricks.sliding_window_view(grams, winnow.WINDOW, axis=1)
        chosen = windows.argmin(axis=2) + np.arange(windows.shape[1])
        keep = np.ones_like(chosen, dtype=bool)
        keep[:, 1:] = chosen[:, 1:] != chosen[:, :-1]
        row_ids = np.broadcast_to(np.arange(rows)[:, None], chosen.shape)[keep]
        picked = chosen[keep]
        hashes.append(grams[row_ids, picked])
        doc.append((row_ids + first).astype(np.int32))
        pos.append(picked.astype(np.uint32))
    metas = [DocMeta(f"d{n}", f"outlet-{outlets[n]:02d}", None, None) for n in range(docs)]
    return winnow.Fingerprints(
        metas,
        np.concatenate(hashes),
        np.concatenate(doc),
        np.concatenate(pos),
        np.full(docs, WORDS, np.int32),
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "command": "python benchmarks/corpus_memory.py " + " ".join(sys.argv[1:]),
        "sizes": [],
    }
    for docs in args.docs:
        started = time.perf_counter()
        index = fingerprints(docs, args.seed)
        built = time.perf_counter()
        peak = Peak()  # from here on: what find_reuse holds, the arrays included
        with peak.measure():
            arrays = index.nbytes
            boiler = winnow.boilerplate(index)
            stock = winnow.stock_hashes(index)
            pairs = winnow.candidate_pairs(index, boiler)
        done = time.perf_counter()
        figures = {
            "documents": docs,
            "fingerprints": len(index),
            "fingerprint_array_bytes": arrays,
            "boilerplate_fingerprints": int(boiler.sum()),
            "stock_hashes": len(stock),
            "candidate_pairs": len(pairs),
            "planted_copies": int(docs * 0.02),
            "build_seconds": round(built - started, 1),
            "boilerplate_stock_candidates_seconds": round(done - built, 1),
            "rss_before_mb": round(peak.start / 1e6, 1),
            **peak.figures,
        }
        print(json.dumps(figures), file=sys.stderr)
        results["sizes"].append(figures)
        del index, boiler, stock, pairs
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
