"""The article page's human layers: whose spans are shown (the model's or a reviewer's), links
to switch, and how far the model agrees with each reviewer on this document.

Switching is a plain link (`?spans=human&annotator=NAME`), rendered on the server: it works
without JavaScript and under the strict CSP, and the page's script filters and explains a
reviewer's spans exactly as it does the model's. A reviewer's technique spans are shown with
score 1.0: a person's mark is not a probability.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, urlencode

from propscope.annotation.records import LAYERS, HumanLayer
from propscope.document import Result, TechniqueSpan
from propscope.eval.agreement import Comparison, agreement

JSON = dict[str, Any]
HUMAN_SCORE = 1.0
SHOWN = ("model", "human")


@dataclass(frozen=True)
class ReviewView:
    """The result whose techniques the article shows, and the switch and figures as JSON."""

    shown: Result
    json: JSON


def review_view(result: Result, layers: Sequence[HumanLayer], spans: str = "model",
                annotator: str | None = None) -> ReviewView:
    """Which spans the article shows and the layer switch (a reviewer's when `spans` is human).

    Args:
        result: the stored document and its model layers.
        layers: the document's current human layer per annotator.
        spans: "model" or "human"; human with no layers falls back to the model's.
        annotator: whose layer, for spans=human (default: the first annotator's).
    """
    chosen = _choose(layers, spans, annotator)
    base = f"/documents/{quote(result.document.id, safe='')}"
    rows = [_row(result, layer, base, layer is chosen) for layer in layers]
    data = {"shown": "human" if chosen else "model", "annotator": chosen.annotator if chosen else None,
            "model_href": base, "layers": rows}
    return ReviewView(human_result(result, chosen) if chosen else result, data)


def _choose(layers: Sequence[HumanLayer], spans: str, annotator: str | None) -> HumanLayer | None:
    if spans != "human" or not layers:
        return None
    named = [layer for layer in layers if layer.annotator == annotator]
    return named[0] if named else layers[0]


def human_result(result: Result, layer: HumanLayer) -> Result:
    """`result` with its technique layer replaced by the reviewer's technique spans."""
    spans = tuple(TechniqueSpan(s.start, s.end, s.text, s.label, HUMAN_SCORE)
                  for s in layer.spans if s.layer == "technique")
    return replace(result, annotations=replace(result.annotations, techniques=spans))


def _row(result: Result, layer: HumanLayer, base: str, current: bool) -> JSON:
    figures = agreement([Comparison(layer, tuple(result.techniques))])
    counts = Counter(s.layer for s in layer.spans)
    query = urlencode({"spans": "human", "annotator": layer.annotator})
    return {
        "annotator": layer.annotator,
        "imported_at": layer.imported_at,
        "source_format": layer.source_format,
        "spans": {name: counts.get(name, 0) for name in LAYERS},
        "si": figures["per_document"][0]["si"],  # None where neither side marked a technique
        "tc": figures["tc"],
        "changes": changes(result.techniques, layer),
        "href": f"{base}?{query}",
        "current": current,
    }


def changes(model: Sequence[TechniqueSpan], layer: HumanLayer) -> dict[str, int]:
    """What the reviewer did to the model's technique spans, offsets compared exactly: labels
    kept, relabelled (another label on the same offsets), removed and added."""
    proposed: dict[tuple[int, int], set[str]] = {}
    for span in model:
        proposed.setdefault((span.start, span.end), set()).add(span.technique)
    marked: dict[tuple[int, int], set[str]] = {}
    for mark in layer.spans:
        if mark.layer == "technique":
            marked.setdefault((mark.start, mark.end), set()).add(mark.label)
    counts = Counter[str]()
    for at in proposed.keys() | marked.keys():
        theirs, ours = marked.get(at, set()), proposed.get(at, set())
        swapped = min(len(theirs - ours), len(ours - theirs))
        counts.update(kept=len(theirs & ours), relabelled=swapped,
                      removed=len(ours - theirs) - swapped, added=len(theirs - ours) - swapped)
    return {name: counts[name] for name in ("kept", "relabelled", "removed", "added")}
