"""Mechanics check of `propscope train techniques --from-store` on the real shipped model.

PTC dev articles stand in for a desk's reviews (their gold technique spans as human layers of
annotator "ptc"): a seeded 25 % is held out by article, the bundled `fast` model is fine-tuned
for a few steps from its dequantised int8 weights, and both are scored on the held-out articles.

What this measures: that the weights read back from the shipped int8 graph are the shipped
model (token-state cosine of the recovered fp32 network to the int8 graph on the specimen
article), that training starts from it (the "before" and "after" figures stay close after a few
small steps; a start from the base encoder would score near 0) and that the exported folder
loads. What it does not: the quality of retraining. PTC dev chose
the shipped model's decoding settings and training stages, so no figure here is on data the
shipped model is untouched by; a real measurement needs a desk's own reviewed documents.

    python benchmarks/train_from_store.py --data ../shared/data/ptc-semeval2020-task11 \
        --articles 12 --max-steps 10 --out runs/train-from-store
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from propscope.annotation.records import HumanLayer, ReviewedSpan
from propscope.eval import ptc
from propscope.training.from_store import FromStoreOptions, format_report, shipped_net, train_from_store

RESULTS = Path(__file__).resolve().parent / "results" / "train_from_store.json"
SPECIMEN = Path(__file__).resolve().parents[2] / "shared" / "examples" / "neo-kazakhstan-2022.txt"


class PTCReviews:
    """PTC dev gold as the store's human layers (`Store.human_layers`)."""

    def __init__(self, data: Path, count: int) -> None:
        texts = ptc.read_articles(data / "dev-articles")
        rows = ptc.read_tc_labels(data / "dev-task-TC.labels")
        self.layers = [
            HumanLayer(a, texts[a], "ptc", "2020-01-01T00:00:00+00:00", "ptc", tuple(
                ReviewedSpan(r.start, r.end, r.technique, "technique", texts[a][r.start:r.end])
                for r in rows if r.article == a
            ))
            for a in sorted(texts)[:count]
        ]

    def human_layers(self, annotator: str | None = None) -> list[HumanLayer]:
        return [h for h in self.layers if annotator in (None, h.annotator)]


def recovery(chars: int = 3000) -> dict[str, float]:
    """Token-state cosine of the recovered fp32 network (exported) to the shipped int8 graph."""
    from propscope.analyzers.techniques import MODEL_DIR, TechniqueModel
    from propscope.models.runtime import WindowedEncoder
    from propscope.training import techniques as tt

    text = SPECIMEN.read_text("utf-8")[:chars]
    shipped = TechniqueModel(MODEL_DIR)
    want = shipped.encode([text], keep=False)[0].hidden
    with tempfile.TemporaryDirectory() as tmp:
        tt.export_onnx(shipped_net(MODEL_DIR)[0], Path(tmp) / "fp32.onnx")
        encoder = WindowedEncoder(Path(tmp) / "fp32.onnx", MODEL_DIR / "tokenizer.json",
                                  window=tt.WINDOW, stride=tt.STRIDE, by_lines=True)
        got = encoder.encode([text], ["hidden"])[0][1]["hidden"]
    cosine = (want * got).sum(1) / np.linalg.norm(want, axis=1) / np.linalg.norm(got, axis=1)
    return {"chars": chars, "tokens": len(cosine), "cosine_mean": round(float(cosine.mean()), 4),
            "cosine_min": round(float(cosine.min()), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--articles", type=int, default=12)
    parser.add_argument("--max-steps", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("runs/train-from-store"))
    args = parser.parse_args()
    recovered = recovery()
    print(f"recovered fp32 vs shipped int8, token states: {recovered}")
    options = FromStoreOptions(max_steps=args.max_steps, batch_size=8, seed=13)
    report = train_from_store(PTCReviews(args.data, args.articles), args.out, options)
    print(format_report(report))
    RESULTS.write_text(json.dumps({
        "command": "python " + " ".join(sys.argv),
        "what": "mechanics check, not a quality figure: PTC dev tuned the shipped model",
        "recovery": recovered,
        "report": report,
    }, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
