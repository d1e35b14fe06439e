"""CheckThat! 2024 Task 1 (check-worthiness) scoring: `propscope eval checkworthy`.

Reads a CheckThat!-format TSV (`Sentence_id<TAB>Text<TAB>class_label`, CSV-style quoting),
scores every sentence with the `claims` analyser's check-worthiness head (runs of consecutive
rows are read together, as in training) and reports F1 of the positive (`Yes`) class, the lab's
ranking metric.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from propscope.analyzers.claims import ClaimsAnalyzer
from propscope.errors import IngestError


@dataclass(frozen=True, slots=True)
class Row:
    """One sentence of a CheckThat! file; `label` is None when the file has no labels."""

    id: str
    text: str
    label: bool | None


def read_tsv(path: Path) -> list[Row]:
    """The rows of a CheckThat! TSV (header row skipped; labels optional)."""
    if not path.is_file():
        raise IngestError(IngestError.E_NOT_FOUND.format(source=path), str(path))
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    if not rows or len(rows[0]) < 2:
        problem = "expected Sentence_id<TAB>Text[<TAB>class_label]"
        raise IngestError(IngestError.E_MALFORMED.format(source=path, kind="TSV", reason=problem), str(path))
    return [Row(r[0], r[1], r[2].strip() == "Yes" if len(r) > 2 else None) for r in rows[1:]]


def f1_scores(gold: Sequence[bool], predicted: Sequence[bool]) -> dict[str, float]:
    """Precision, recall and F1 of the positive class."""
    tp = sum(g and p for g, p in zip(gold, predicted, strict=True))
    precision = tp / max(sum(predicted), 1)
    recall = tp / max(sum(gold), 1)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"f1": round(f1, 4), "precision": round(precision, 4), "recall": round(recall, 4)}


def score(
    texts: Sequence[str], threshold: float | None = None, model_dir: Path | None = None
) -> tuple[list[float], float]:
    """P(check-worthy) per text and the threshold it is cut at: the analyser's tuned one unless
    one is given (the analyser scores, so the evaluation measures exactly what `analyze`
    would); `model_dir` is the profile's model folder (default: the default profile's)."""
    analyzer = ClaimsAnalyzer(threshold, model_dir)
    return [float(p) for p in analyzer.scores(texts)], analyzer.threshold


def predict(
    texts: Sequence[str], threshold: float | None = None, model_dir: Path | None = None
) -> list[bool]:
    """Check-worthy or not (`score` cut at its threshold)."""
    scores, cut = score(texts, threshold, model_dir)
    return [p >= cut for p in scores]


def evaluate(
    path: Path, threshold: float | None = None, model_dir: Path | None = None
) -> tuple[dict[str, float], list[float], list[bool]]:
    """Scores ({"f1", "precision", "recall", "n"}), P(check-worthy) and predictions for one
    labelled file."""
    rows = read_tsv(path)
    scores, cut = score([r.text for r in rows], threshold, model_dir)
    predicted = [p >= cut for p in scores]
    gold = [bool(r.label) for r in rows]
    report: dict[str, float] = {**f1_scores(gold, predicted), "n": len(rows)}
    return report, scores, predicted


def write_predictions(
    path: Path, rows: Sequence[Row], scores: Sequence[float], predicted: Sequence[bool]
) -> None:
    """`Sentence_id<TAB>Yes|No<TAB>score` lines: the lab's submission shape (id and label, as
    release 1 wrote them, so scorers reading column 2 keep working) with the calibrated
    P(check-worthy) after it, to 4 decimals."""
    lines = [
        f"{r.id}\t{'Yes' if yes else 'No'}\t{p:.4f}\n"
        for r, p, yes in zip(rows, scores, predicted, strict=True)
    ]
    path.write_text("".join(lines), encoding="utf-8")


def eval_checkworthy_command(
    tsv: Path, json_out: bool, predictions_out: Path | None, model_dir: Path | None = None
) -> str:
    """What `propscope eval checkworthy --tsv FILE [--json] [--predictions-out FILE]` prints.

    Args:
        tsv: a CheckThat!-format file with labels.
        json_out: print one JSON object instead of a line of text.
        predictions_out: also write `Sentence_id<TAB>Yes|No<TAB>score` lines there.
        model_dir: the model folder of `--profile`/`--model` (None: the default profile's).

    Returns:
        The text to print: `{"f1", "precision", "recall", "n"}` as JSON, or a readable line.
    """
    report, scores, predicted = evaluate(tsv, model_dir=model_dir)
    if predictions_out is not None:
        write_predictions(predictions_out, read_tsv(tsv), scores, predicted)
    if json_out:
        return json.dumps(report)
    return (
        f"F1 (Yes) {report['f1']:.4f}  precision {report['precision']:.4f}  "
        f"recall {report['recall']:.4f}  n {int(report['n'])}"
    )
