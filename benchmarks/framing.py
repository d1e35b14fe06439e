"""Entity framing on SemEval-2025 Task 10 English train: cross-validated figures of the framing
head (exact match ratio, fine-role micro-F1, main-role accuracy and macro-F1, ECE) and of the
majority baseline, written to benchmarks/results/framing.json.

The protocol (5 folds by article, every choice made by an inner CV inside each fold) is
`propscope.training.framing.cross_validate`; the features are cached under runs/framing/.
The English dev gold is sealed and never read.

    python benchmarks/framing.py [--shared ../shared] [--cache runs/framing/features.npz]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "framing.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--cache", type=Path, default=ROOT / "runs" / "framing" / "features.npz")
    args = parser.parse_args()
    data = args.shared / "data" / "semeval2025-task10" / "train" / "EN"
    if not data.is_dir():
        print(f"skipped: SemEval-2025 Task 10 English train not found at {data} (it lives in shared/)")
        return 0
    from threadpoolctl import threadpool_limits

    from propscope.profiles import model_dir
    from propscope.training import framing

    threadpool_limits(1)  # small fits: BLAS threads only contend

    docs, mentions = framing.load(data)
    x = framing.cached_features(args.cache, docs, mentions, model_dir("fast"))
    report = framing.cv_report(x, mentions, x.shape[1] // framing.BLOCKS)
    report["command"] = "python benchmarks/framing.py"
    report["profile"] = "fast"
    report["machine"] = f"{platform.machine()} {platform.python_version()}"
    report["date"] = datetime.now(UTC).strftime("%Y-%m-%d")
    RESULTS.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {
                k: report[k]
                for k in ("summary", "baseline_majority", "ece_main_top_label", "ece_fine_one_vs_rest")
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
