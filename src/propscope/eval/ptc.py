"""PTC (SemEval-2020 Task 11) reader and the official SI/TC metrics, re-implemented from the task
description so `propscope eval ptc` scores exactly as the shared task did."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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
