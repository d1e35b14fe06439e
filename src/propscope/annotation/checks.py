"""The checks a review passes before it becomes a human layer: its text, offsets and labels.

A tool that counts characters differently (UTF-16 code units, bytes, a text with other line
ends) gives offsets that point at other words. That is an error naming the document and the
span, never a silent shift: the only safe mend is a new export from the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from propscope.annotation._common import LABELS  # the sets the tools are given, one per layer
from propscope.annotation.records import LAYERS, ReviewedDocument, ReviewedSpan
from propscope.errors import AnnotationError

EXCERPT = 60  # characters of span text quoted in an error message


def checked_spans(review: ReviewedDocument, doc_id: str, stored: str) -> tuple[ReviewedSpan, ...]:
    """The review's spans, checked against the stored text.

    Args:
        review: what the tool said about the document.
        doc_id: the stored document the review was matched to.
        stored: that document's stored text.

    Returns:
        The spans sorted, duplicates dropped, each with `text` the stored text it covers.
        Raises AnnotationError (E716-E720) for the first problem found.
    """
    source = review.source or "record"
    if review.text is not None and review.text != stored:
        at = first_difference(review.text, stored)
        raise AnnotationError(AnnotationError.E_TEXT_DIFFERS.format(source=source, id=doc_id, at=at))
    return tuple(sorted({_checked(span, source, doc_id, stored) for span in review.spans}))


def _checked(span: ReviewedSpan, source: str, doc_id: str, stored: str) -> ReviewedSpan:
    where = {"source": source, "id": doc_id, "start": span.start, "end": span.end}
    if not 0 <= span.start < span.end <= len(stored):
        raise AnnotationError(
            AnnotationError.E_SPAN_RANGE.format(**where, label=span.label, length=len(stored))
        )
    covered = stored[span.start : span.end]
    if span.text and span.text != covered:
        raise AnnotationError(AnnotationError.E_SPAN_TEXT.format(
            **where, label=span.label, stored=_excerpt(covered), given=_excerpt(span.text)
        ))
    check_label(span.layer, span.label, where)
    return ReviewedSpan(span.start, span.end, span.label, span.layer, covered)


def check_label(layer: str, label: str, where: Mapping[str, object]) -> None:
    """Refuse a layer (E720) or a label of it (E719) propscope does not have; labels are matched
    exactly, as stored and as the tools were given them, so agreement and retraining count
    one spelling per class."""
    if layer not in LAYERS:
        known = ", ".join(LAYERS)
        raise AnnotationError(AnnotationError.E_REVIEW_LAYER.format(**where, layer=layer, known=known))
    if label not in LABELS[layer]:
        known = ", ".join(LABELS[layer])
        raise AnnotationError(
            AnnotationError.E_REVIEW_LABEL.format(**where, layer=layer, label=label, known=known)
        )


def first_difference(a: str, b: str) -> int:
    """The first character index where `a` and `b` differ (the shorter length if one is a prefix)."""
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return index
    return min(len(a), len(b))


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def layers_of(spans: Iterable[ReviewedSpan], layer: str) -> list[ReviewedSpan]:
    """The spans on one layer (e.g. the technique spans agreement and retraining read)."""
    return [span for span in spans if span.layer == layer]
