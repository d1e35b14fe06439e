"""PTC (SemEval-2020 Task 11) reader and the official SI/TC metrics, re-implemented from the task
description so `propscope eval ptc` scores exactly as the shared task did."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propscope.analyzers.techniques import (
    BATCH_DOCS,
    Encoded,
    TechniqueModel,
    default_model_dir,
    load_model,
)
from propscope.document import TechniqueSpan

Gold = dict[str, list[tuple[int, int]]]


@dataclass(frozen=True, slots=True)
class TCRow:
    """One TC gold row: a span of an article and one technique it uses."""

    article: str
    technique: str
    start: int
    end: int


def read_articles(folder: Path, ids: Iterable[str] | None = None) -> dict[str, str]:
    """Article texts by id, read as is (offsets are `str` indices into the raw file text)."""
    wanted = set(ids) if ids is not None else None
    texts: dict[str, str] = {}
    for path in sorted(folder.glob("article*.txt")):
        article = path.stem.removeprefix("article")
        if wanted is None or article in wanted:
            texts[article] = path.read_bytes().decode("utf-8")
    return texts


def read_si_labels(path: Path) -> Gold:
    """SI gold: `article<TAB>start<TAB>end` rows grouped by article."""
    spans: Gold = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            article, start, end = line.split("\t")[:3]
            spans.setdefault(article, []).append((int(start), int(end)))
    return spans


def read_tc_labels(path: Path) -> list[TCRow]:
    """TC gold rows in file order (the order `tc-predictions.txt` must follow)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            article, technique, start, end = line.split("\t")[:4]
            rows.append(TCRow(article, technique, int(start), int(end)))
    return rows


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans fused into one, as the official SI scorer does with gold."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


def si_scores(predicted: Gold, gold: Gold) -> dict[str, float]:
    """SemEval-2020 SI metric: each predicted span s and gold span t in the same article earn
    C(s,t,|s|) = |s∩t|/|s| towards precision and C(s,t,|t|) towards recall; both are averaged
    over the number of predicted and gold spans, pooled over articles. Gold overlaps merged."""
    p_credit = r_credit = 0.0
    n_pred = n_gold = 0
    for article in set(predicted) | set(gold):
        preds = merge_spans(predicted.get(article, []))
        golds = merge_spans(gold.get(article, []))
        n_pred += len(preds)
        n_gold += len(golds)
        for s in preds:
            for t in golds:
                common = _overlap(s, t)
                if common:
                    p_credit += common / (s[1] - s[0])
                    r_credit += common / (t[1] - t[0])
    precision = p_credit / n_pred if n_pred else 0.0
    recall = r_credit / n_gold if n_gold else 0.0
    return {"precision": precision, "recall": recall, "f1": _f1(precision, recall)}


def _groups(rows: list[TCRow]) -> dict[tuple[str, int, int], list[int]]:
    groups: dict[tuple[str, int, int], list[int]] = {}
    for k, row in enumerate(rows):
        groups.setdefault((row.article, row.start, row.end), []).append(k)
    return groups


def _align(gold: list[str], pred: list[str]) -> list[tuple[str, str]]:
    """(gold, predicted) pairs for one span with several labels: matches first (the official
    scorer aligns to maximise matches), then the leftovers in order."""
    left_pred = list(pred)
    pairs, left_gold = [], []
    for label in gold:
        if label in left_pred:
            left_pred.remove(label)
            pairs.append((label, label))
        else:
            left_gold.append(label)
    return pairs + list(zip(left_gold, left_pred, strict=True))


def tc_scores(gold: list[TCRow], predicted: list[str]) -> dict[str, object]:
    """SemEval-2020 TC metric: micro-F1 over gold spans (= accuracy, one label per row), per
    technique P/R/F1 and a confusion matrix `confusion[gold][predicted]`."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} gold TC rows")
    pairs: list[tuple[str, str]] = []
    for rows in _groups(gold).values():
        pairs += _align([gold[k].technique for k in rows], [predicted[k] for k in rows])
    correct = sum(g == p for g, p in pairs)
    labels = sorted({g for g, _ in pairs} | {p for _, p in pairs})
    confusion = {g: {p: 0 for p in labels} for g in labels}
    for g, p in pairs:
        confusion[g][p] += 1
    return {
        "micro_f1": correct / len(pairs) if pairs else 0.0,
        "per_technique": _per_technique(pairs, labels),
        "confusion": confusion,
    }


def _per_technique(pairs: list[tuple[str, str]], labels: list[str]) -> dict[str, dict[str, float]]:
    table = {}
    for label in labels:
        tp = sum(g == p == label for g, p in pairs)
        n_pred = sum(p == label for _, p in pairs)
        n_gold = sum(g == label for g, _ in pairs)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_gold if n_gold else 0.0
        table[label] = {
            "precision": precision, "recall": recall, "f1": _f1(precision, recall),
            "support": float(n_gold),
        }
    return table


def top_k_labels(probabilities: list[tuple[str, float]], k: int) -> list[str]:
    """The k most likely distinct techniques, for a span that carries k gold rows."""
    ranked = [label for label, _ in sorted(probabilities, key=lambda x: -x[1])]
    return (ranked * k)[:k]


def _predict_article(
    model: TechniqueModel, enc: Encoded, rows: list[TCRow]
) -> tuple[list[TechniqueSpan], list[str]]:
    """Spans found by the model (with their technique and calibrated scores), and one technique
    per gold TC row (top-k on duplicates)."""
    found = model.technique_spans(enc)
    spans = sorted({(r.start, r.end) for r in rows})
    probs = model.classify(enc, spans)
    counts = Counter((r.start, r.end) for r in rows)
    ranked = {
        span: top_k_labels(list(zip(model.labels, p.tolist(), strict=True)), counts[span])
        for span, p in zip(spans, probs, strict=True)
    }
    return found, [ranked[(r.start, r.end)].pop(0) for r in rows]


Found = dict[str, list[TechniqueSpan]]


def predict_ptc(
    model: TechniqueModel, texts: dict[str, str], gold_tc: list[TCRow], batch: int = BATCH_DOCS
) -> tuple[Found, list[str]]:
    """Model spans per article and TC labels aligned with `gold_tc` (gold file order)."""
    by_article: dict[str, list[TCRow]] = {}
    for row in gold_tc:
        by_article.setdefault(row.article, []).append(row)
    ids = sorted(texts)
    found: Found = {}
    labels: dict[str, list[str]] = {}
    for k in range(0, len(ids), batch):
        chunk = ids[k : k + batch]
        for article, enc in zip(chunk, model.encode([texts[a] for a in chunk]), strict=True):
            found[article], labels[article] = _predict_article(
                model, enc, by_article.get(article, [])
            )
    return found, [labels[row.article].pop(0) for row in gold_tc]


def si_spans(found: Found) -> Gold:
    """The SI view of found spans: (start, end) per article."""
    return {article: [(s.start, s.end) for s in spans] for article, spans in found.items()}


def write_predictions(folder: Path, found: Found, gold_tc: list[TCRow], labels: list[str]) -> None:
    """The official submission formats (si-predictions.txt, tc-predictions.txt) and
    spans.jsonl: every found span with its technique and calibrated scores, offsets into the
    article file's text, so calibration can be checked from the file alone."""
    folder.mkdir(parents=True, exist_ok=True)
    si = si_spans(found)
    si_lines = [f"{a}\t{s}\t{e}\n" for a in sorted(si) for s, e in si[a]]
    (folder / "si-predictions.txt").write_text("".join(si_lines), encoding="utf-8")
    tc_lines = [f"{r.article}\t{t}\t{r.start}\t{r.end}\n" for r, t in zip(gold_tc, labels, strict=True)]
    (folder / "tc-predictions.txt").write_text("".join(tc_lines), encoding="utf-8")
    rows = [
        json.dumps({
            "article_id": article, "start": span.start, "end": span.end,
            "technique": span.technique, "score": span.score, "technique_score": span.technique_score,
        }, allow_nan=False) + "\n"
        for article in sorted(found) for span in found[article]
    ]
    (folder / "spans.jsonl").write_text("".join(rows), encoding="utf-8")


def evaluate_ptc(
    articles_dir: Path, si_labels: Path, tc_labels: Path, predictions_out: Path | None = None,
    model: TechniqueModel | None = None, limit: int | None = None,
) -> dict[str, Any]:
    """Run the technique model over a PTC split and score it with the official metrics.

    Args:
        articles_dir: folder of `article<ID>.txt` files.
        si_labels: SI gold (`article_id<TAB>start<TAB>end`).
        tc_labels: TC gold (`article_id<TAB>technique<TAB>start<TAB>end`).
        predictions_out: if given, write si-predictions.txt, tc-predictions.txt and spans.jsonl
            there.
        model: the model to score (default: `$PROPSCOPE_TECHNIQUES_MODEL` or the bundled one,
            as the analyser would load it).
        limit: score only the first N articles by id (the CI eval-gate slice).

    Returns:
        {"si": {precision, recall, f1}, "tc": {micro_f1, per_technique, confusion},
        "articles": N, "seconds": S}.
    """
    started = time.perf_counter()
    model = model or load_model(str(default_model_dir()))
    texts = read_articles(articles_dir)
    if limit is not None:
        texts = {a: texts[a] for a in sorted(texts)[:limit]}
    gold_si = {a: s for a, s in read_si_labels(si_labels).items() if a in texts or limit is None}
    gold_tc = [r for r in read_tc_labels(tc_labels) if r.article in texts or limit is None]
    _check_ids(texts, gold_si, gold_tc, articles_dir)
    found, labels = predict_ptc(model, texts, gold_tc)
    if predictions_out is not None:
        write_predictions(predictions_out, found, gold_tc, labels)
    return {
        "si": si_scores(si_spans(found), gold_si),
        "tc": tc_scores(gold_tc, labels),
        "articles": len(texts),
        "seconds": round(time.perf_counter() - started, 2),
    }


def _check_ids(texts: dict[str, str], si: Gold, tc: list[TCRow], folder: Path) -> None:
    unknown = (set(si) | {r.article for r in tc}) - set(texts)
    if unknown:
        raise ValueError(
            f"{len(unknown)} labelled articles are not in {folder} (e.g. {sorted(unknown)[0]}):"
            " pass the articles folder of the same split"
        )


def eval_ptc_command(
    articles: Path, si_labels: Path, tc_labels: Path, json_out: bool,
    predictions_out: Path | None, model_dir: Path | None = None,
) -> None:
    """`propscope eval ptc`: prints the scores (as JSON with --json)."""
    model = load_model(str(model_dir)) if model_dir else None
    result = evaluate_ptc(articles, si_labels, tc_labels, predictions_out, model=model)
    if json_out:
        print(json.dumps(result, indent=2))
        return
    print(format_report(result))


def format_report(result: dict[str, Any]) -> str:
    """A plain-text summary: SI and TC headline figures, then per-technique P/R/F1."""
    si, tc = result["si"], result["tc"]
    lines = [
        f"articles {result['articles']}  ({result['seconds']} s)",
        f"SI  P {si['precision']:.4f}  R {si['recall']:.4f}  F1 {si['f1']:.4f}",
        f"TC  micro-F1 {tc['micro_f1']:.4f}",
        f"{'technique':<36} {'P':>6} {'R':>6} {'F1':>6} {'n':>5}",
    ]
    for name, row in sorted(tc["per_technique"].items(), key=lambda x: -x[1]["support"]):
        lines.append(
            f"{name:<36} {row['precision']:6.3f} {row['recall']:6.3f} {row['f1']:6.3f} "
            f"{int(row['support']):5d}"
        )
    return "\n".join(lines)
