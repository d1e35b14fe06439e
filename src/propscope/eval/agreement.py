"""How far the model agrees with the people who reviewed it: SI and TC of the stored model spans
against each human layer, with the SemEval-2020 Task 11 metrics of `eval/ptc.py`.

The human layer is the gold. SI is the task's span metric as is (`ptc.si_scores`). TC classifies
gold spans; here the model's label for a human span is read from the stored model spans,
without re-running the model: the technique of the model span at the same offsets, else of the
model span overlapping it most; a human span no model span touches is a miss (label "none").
Scores are pooled over layers (one per document and annotator), like the task pools articles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from propscope.annotation.records import HumanLayer, ReviewedSpan
from propscope.document import TechniqueSpan
from propscope.eval.ptc import Gold, TCRow, si_scores, tc_scores
from propscope.store import Store

JSON = dict[str, Any]
NO_TECHNIQUE = "none"  # the model's label for a human span it did not mark at all
TECHNIQUE_ANALYZER = "techniques"


@dataclass(frozen=True)
class Comparison:
    """One human layer beside the model spans of the same document."""

    layer: HumanLayer
    model: tuple[TechniqueSpan, ...]

    @property
    def key(self) -> str:
        """The scorer's article key: one per document and annotator (tabs cannot be in either)."""
        return f"{self.layer.document_id}\t{self.layer.annotator}"

    @property
    def human(self) -> list[ReviewedSpan]:
        return [span for span in self.layer.spans if span.layer == "technique"]


def agreement(comparisons: Sequence[Comparison]) -> JSON:
    """SI and TC figures, overall and per layer.

    Returns:
        {"si": {precision, recall, f1}, "tc": {micro_f1}, "documents": N, "per_document": [...]}
        where N counts the layers compared (one per document and annotator). A layer without
        technique spans has no TC figure (null): TC scores human spans. A layer where neither the
        model nor the reviewer marked a technique span has no SI figure either (null): they agree,
        but there is nothing to score, and 0.00 would read as total disagreement.
    """
    predicted, gold = _si_sets(comparisons)
    rows, labels = _tc_rows(comparisons)
    tc = tc_scores(rows, labels)["micro_f1"] if rows else None
    return {
        "si": si_scores(predicted, gold),
        "tc": {"micro_f1": tc},
        "documents": len(comparisons),
        "per_document": [_one(c) for c in comparisons],
    }


def _one(comparison: Comparison) -> JSON:
    predicted, gold = _si_sets([comparison])
    rows, labels = _tc_rows([comparison])
    layer = comparison.layer
    return {
        "document_id": layer.document_id,
        "annotator": layer.annotator,
        "imported_at": layer.imported_at,
        "human_spans": len(comparison.human),
        "model_spans": len(comparison.model),
        "si": si_scores(predicted, gold) if comparison.human or comparison.model else None,
        "tc": {"micro_f1": tc_scores(rows, labels)["micro_f1"] if rows else None},
    }


def _si_sets(comparisons: Iterable[Comparison]) -> tuple[Gold, Gold]:
    predicted: Gold = {}
    gold: Gold = {}
    for c in comparisons:
        predicted[c.key] = [(s.start, s.end) for s in c.model]
        gold[c.key] = [(s.start, s.end) for s in c.human]
    return predicted, gold


def _tc_rows(comparisons: Iterable[Comparison]) -> tuple[list[TCRow], list[str]]:
    """Gold TC rows from the human spans and, for each, the model's label (see module doc)."""
    rows: list[TCRow] = []
    labels: list[str] = []
    for c in comparisons:
        by_span: dict[tuple[int, int], list[str]] = {}
        for span in c.human:
            by_span.setdefault((span.start, span.end), []).append(span.label)
        for (start, end), gold in sorted(by_span.items()):
            rows += [TCRow(c.key, label, start, end) for label in gold]
            labels += model_labels(c.model, start, end, len(gold))
    return rows, labels


def model_labels(model: Sequence[TechniqueSpan], start: int, end: int, k: int) -> list[str]:
    """The model's k labels for the human span start-end: distinct techniques of the model spans
    at the same offsets (most confident first), then of those overlapping it (most overlap
    first), repeated as needed; "none" when no model span touches it."""
    exact = sorted((s for s in model if (s.start, s.end) == (start, end)), key=lambda s: -s.score)
    near = sorted(
        (s for s in model if (s.start, s.end) != (start, end) and s.start < end and start < s.end),
        key=lambda s: (-(min(s.end, end) - max(s.start, start)), -s.score),
    )
    ranked = list(dict.fromkeys(s.technique for s in [*exact, *near]))
    return (ranked * k)[:k] if ranked else [NO_TECHNIQUE] * k


def store_comparisons(store: Store, annotator: str | None = None) -> tuple[list[Comparison], list[str]]:
    """Each current human layer with its document's stored model spans, and the documents left
    out because no technique analyser ran on them (their spans would all count as misses)."""
    compared: list[Comparison] = []
    skipped: list[str] = []
    for layer in store.human_layers(annotator):
        result = store.get(layer.document_id)
        if result.techniques or TECHNIQUE_ANALYZER in result.analyzers:
            compared.append(Comparison(layer, tuple(result.techniques)))
        else:
            skipped.append(layer.document_id)
    return compared, skipped


def format_agreement(report: Mapping[str, Any]) -> str:
    """A plain-text table: one line per layer, then the pooled figures."""
    lines = [f"{'document':<22} {'annotator':<16} {'human':>5} {'model':>5} "
             f"{'SI P':>6} {'SI R':>6} {'SI F1':>6} {'TC F1':>6}"]
    for row in report["per_document"]:
        lines.append(f"{row['document_id'][:22]:<22} {row['annotator'][:16]:<16} "
                     f"{row['human_spans']:>5} {row['model_spans']:>5} " + _figures(row))
    lines.append(f"{'overall':<22} {report['documents']:>3} layers{'':<19} " + _figures(report))
    return "\n".join(lines)


def _figures(row: Mapping[str, Any]) -> str:
    si, tc = row["si"], row["tc"]["micro_f1"]
    tc_text = "-" if tc is None else f"{tc:.4f}"
    if si is None:  # neither side marked a technique span
        return f"{'-':>6} {'-':>6} {'-':>6} {tc_text:>6}"
    return f"{si['precision']:6.4f} {si['recall']:6.4f} {si['f1']:6.4f} {tc_text:>6}"
