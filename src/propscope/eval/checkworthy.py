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


def predict(texts: Sequence[str], threshold: float | None = None) -> list[bool]:
    """Check-worthy or not, at the analyser's tuned threshold unless one is given (the
    analyser scores, so the evaluation measures exactly what `analyze` would)."""
    analyzer = ClaimsAnalyzer(threshold)
    return [bool(p >= analyzer.threshold) for p in analyzer.scores(texts)]


def evaluate(path: Path, threshold: float | None = None) -> tuple[dict[str, float], list[bool]]:
    """Scores ({"f1", "precision", "recall", "n"}) and predictions for one labelled file."""
    rows = read_tsv(path)
    predicted = predict([r.text for r in rows], threshold)
    gold = [bool(r.label) for r in rows]
    report: dict[str, float] = {**f1_scores(gold, predicted), "n": len(rows)}
    return report, predicted


def write_predictions(path: Path, rows: Sequence[Row], predicted: Sequence[bool]) -> None:
    """`Sentence_id<TAB>Yes|No` lines, the lab's submission shape."""
    lines = [f"{r.id}\t{'Yes' if p else 'No'}\n" for r, p in zip(rows, predicted, strict=True)]
    path.write_text("".join(lines), encoding="utf-8")


def eval_checkworthy_command(tsv: Path, json_out: bool, predictions_out: Path | None) -> str:
    """What `propscope eval checkworthy --tsv FILE [--json] [--predictions-out FILE]` prints.

    Args:
        tsv: a CheckThat!-format file with labels.
        json_out: print one JSON object instead of a line of text.
        predictions_out: also write `Sentence_id<TAB>Yes|No` lines there.

    Returns:
        The text to print: `{"f1", "precision", "recall", "n"}` as JSON, or a readable line.
    """
    report, predicted = evaluate(tsv)
    if predictions_out is not None:
        write_predictions(predictions_out, read_tsv(tsv), predicted)
    if json_out:
        return json.dumps(report)
    return (
        f"F1 (Yes) {report['f1']:.4f}  precision {report['precision']:.4f}  "
        f"recall {report['recall']:.4f}  n {int(report['n'])}"
    )
