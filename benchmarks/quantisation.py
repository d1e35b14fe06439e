"""Which layers of the accurate (MPNet) model may be int8: size, speed, token-state cosine to
fp32 and SI/TC F1 for a few choices of layers kept in fp32, on the train articles held out for
tuning (the ones `--tune-holdout` set aside; PTC dev stays untouched).

    python benchmarks/quantisation.py --run runs/techniques-mpnet/run1 \
        --data ../shared/data/ptc-semeval2020-task11 [--out benchmarks/results/quantisation-accurate.json]

Needs the [train] extra (it re-quantises the run's fp32 graph).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from propscope.models import technique_head as head
from propscope.training import techniques as tt

VARIANTS: dict[str, tuple[str, ...]] = {
    "all int8 (SI head fp32)": ("/net/si/MatMul",),
    "down-projections of layers 0-5 fp32": (*tt.MPNET_DOWN_PROJECTIONS[:6], "/net/si/MatMul"),
    "down-projections of layers 6-11 fp32": (*tt.MPNET_DOWN_PROJECTIONS[6:], "/net/si/MatMul"),
    "all 12 down-projections fp32 (shipped)": (*tt.MPNET_DOWN_PROJECTIONS, "/net/si/MatMul"),
}


def measure(
    graph: Path, run: Path, tune: list[tt.Article], reference: list[Any] | None
) -> dict[str, Any]:
    started = time.perf_counter()
    encoded = tt.onnx_encoded(graph, tune)
    seconds = time.perf_counter() - started
    result = tt.evaluate(tune, encoded, head.TCHead(run / "tc_head.npz"))
    row: dict[str, Any] = {
        "si_f1": round(result["si"]["f1"], 4),
        "tc_micro_f1": round(result["tc"]["micro_f1"], 4),
        "encode_seconds": round(seconds, 1),
    }
    if reference is not None:
        cos = [_cosine(a, b) for (_, a), (_, b) in zip(encoded, reference, strict=True)]
        row["cosine_to_fp32"] = round(float(np.mean(cos)), 4)
    return row | {"_encoded": encoded}


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over tokens of the cosine between two (tokens, width) state arrays."""
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-9
    return float(np.mean(np.sum(a * b, 1) / norms))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="training run folder")
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/quantisation-accurate.json"))
    args = parser.parse_args()
    config = json.loads((args.run / "config.json").read_text("utf-8"))
    tt.PROFILE = config["profile"]
    hyper = config["training"]
    train = tt.load_split(args.data, "train", None)
    _, tune = tt.split_holdout(train, hyper["tune_holdout"], hyper["seed"])
    out: dict[str, Any] = {"command": "python benchmarks/quantisation.py " + shlex.join(sys.argv[1:]),
                           "articles": len(tune), "split": hyper["tuned_on"], "variants": {}}
    fp32 = measure(args.run / "model-fp32.onnx", args.run, tune, None)
    reference = fp32.pop("_encoded")
    out["fp32"] = fp32 | {"size_mb": round((args.run / "model-fp32.onnx").stat().st_size / 2**20, 1)}
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, nodes) in enumerate(VARIANTS.items()):
            graph = Path(tmp) / f"variant{k}.onnx"  # sessions are cached by path: one path per graph
            tt.quantise(args.run / "model-fp32.onnx", graph, nodes)
            row = measure(graph, args.run, tune, reference)
            row.pop("_encoded")
            out["variants"][name] = row | {"size_mb": round(graph.stat().st_size / 2**20, 1)}
            print(name, out["variants"][name], flush=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
