"""Technique model benchmark: PTC dev quality (SI P/R/F1, TC micro-F1, per technique, confusion),
int8 vs fp32, throughput at batch 1 and 32, model load time and peak RSS.

    python benchmarks/techniques.py [--data ../shared/data/ptc-semeval2020-task11] [--profile fast]
        [--fp32 runs/techniques/main/model-fp32.onnx] [--out benchmarks/results/techniques.json]

`--profile accurate` measures the MPNet model (default output techniques-accurate.json).

Writes JSON (with the command that produced it) and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from propscope import profiles
from propscope.analyzers.techniques import TechniqueModel
from propscope.eval.ptc import evaluate_ptc, format_report, read_articles

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ptc-semeval2020-task11"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quality(model: TechniqueModel, data: Path) -> dict[str, Any]:
    return evaluate_ptc(
        data / "dev-articles", data / "dev-task-SI.labels", data / "dev-task-TC.labels",
        model=model,
    )


def throughput(model: TechniqueModel, texts: list[str], batch: int) -> dict[str, float]:
    """Articles/s and word pieces/s for the full analyser path (SI + TC on found spans)."""
    model.encoder.batch_size = batch
    docs_per_call = 1 if batch == 1 else 16
    tokens = sum(len(model.encoder.tokenizer.encode(t, add_special_tokens=False).ids) for t in texts)
    model.forget()  # time the encoder, not the encodings kept from an earlier pass
    started = time.perf_counter()
    for k in range(0, len(texts), docs_per_call):
        for enc in model.encode(texts[k : k + docs_per_call]):
            model.technique_spans(enc)
    seconds = time.perf_counter() - started
    return {"articles_per_s": len(texts) / seconds, "tokens_per_s": tokens / seconds,
            "seconds": seconds, "articles": len(texts)}


def fp32_dir(fp32: Path, model_dir: Path) -> Path:
    """A model folder identical to the bundled one but with the fp32 encoder."""
    folder = Path(tempfile.mkdtemp(prefix="techniques-fp32-"))
    for name in ("tokenizer.json", "config.json", "tc_head.npz", "calibration.json"):
        if (model_dir / name).is_file():
            shutil.copy(model_dir / name, folder / name)
    shutil.copy(fp32, folder / "model.onnx")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--profile", default="fast", choices=sorted(profiles.PROFILES))
    parser.add_argument("--fp32", type=Path, help="the profile's fp32 ONNX (default: fast's training run)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--speed-articles", type=int, default=40)
    args = parser.parse_args()
    fast = args.profile == "fast"
    if args.fp32 is None and fast:
        args.fp32 = ROOT / "runs/techniques/cont/model-fp32.onnx"
    name = "techniques.json" if fast else "techniques-accurate.json"
    args.out = args.out or ROOT / "benchmarks/results" / name
    model_dir = profiles.get_profile(args.profile).model_dir
    if not args.data.is_dir():
        print(f"PTC data absent: {args.data}; nothing to measure", file=sys.stderr)
        return 0
    started = time.perf_counter()
    model = TechniqueModel(model_dir)
    load_s = time.perf_counter() - started
    result: dict[str, Any] = {
        "command": "python benchmarks/techniques.py " + shlex.join(sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "model": {"dir": str(model_dir.relative_to(ROOT)), "version": model.config["version"],
                  "profile": args.profile,
                  "size_mb": round(sum(p.stat().st_size for p in model_dir.glob("model.onnx*")) / 2**20, 1)},
        "load_seconds": round(load_s, 3),
    }
    result["dev_int8"] = quality(model, args.data)
    print(format_report(result["dev_int8"]))
    texts = list(read_articles(args.data / "dev-articles").values())[: args.speed_articles]
    result["throughput"] = {f"batch_{b}": throughput(model, texts, b) for b in (1, 32)}
    if args.fp32 is not None and args.fp32.is_file():
        fp32 = TechniqueModel(fp32_dir(args.fp32, model_dir))
        dev = quality(fp32, args.data)
        result["dev_fp32"] = {"si": dev["si"], "tc_micro_f1": dev["tc"]["micro_f1"]}
        result["throughput_fp32_batch_32"] = throughput(fp32, texts, 32)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if not k.startswith("dev_")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
