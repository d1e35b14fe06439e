"""View models for the article page: pieces of text with the spans over them, the legend, panels.

The text is cut at every technique span boundary (like `render.segments`, so overlapping spans
are all shown) and also where claims, evidence sentences and actor mentions start or end, so the
side panels can link to an exact place in the article. Templates escape every piece.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from propscope.document import Result, TechniqueSpan, sort_spans
from propscope.render import technique_info
from propscope.techniques import TECHNIQUES

JSON = dict[str, Any]
UNDERLINES = ("solid", "dashed", "dotted", "double")  # a pattern per technique, not colour alone
KNOWN = tuple(t.name for t in TECHNIQUES)


def css_class(technique: str) -> str:
    """A CSS-safe class for a technique name ("Black-and-White_Fallacy" -> "t-black-and-white-fallacy")."""
    return "t-" + re.sub(r"[^a-z0-9]+", "-", technique.lower()).strip("-")


def technique_css() -> str:
    """The stylesheet giving each known technique its colour and underline pattern."""
    rules = []
    for index, name in enumerate(KNOWN):
        info = technique_info(name)
        cls = css_class(name)
        style = UNDERLINES[index % len(UNDERLINES)]
        rules.append(f".{cls}{{--c:{info.colour};--pattern:{style}}}")
        rules.append(f".u-{cls[2:]}{{--u:{info.colour}}}")
    return "\n".join(rules) + "\n"


@dataclass(frozen=True)
class Piece:
    """A run of text covered by the same spans; `spans` index the page's span list."""

    start: int
    end: int
    text: str
    spans: tuple[int, ...]
    starts: tuple[int, ...]  # spans that begin here (they get a numbered tag)
    css: str
    anchor: bool
    title: str


def _cuts(length: int, boundaries: Iterable[int]) -> list[int]:
    return sorted({0, length, *(b for b in boundaries if 0 <= b <= length)})


def _classes(spans: Sequence[TechniqueSpan], active: Sequence[int], visible: set[int]) -> str:
    """Innermost visible span gives the colour, the next one out the underline."""
    shown = sorted((i for i in active if i in visible), key=lambda i: spans[i].end - spans[i].start)
    if not shown:
        return "off" if active else ""
    parts = ["hl", css_class(spans[shown[0]].technique)]
    if len(shown) > 1:
        parts += ["multi", "u-" + css_class(spans[shown[1]].technique)[2:]]
    return " ".join(parts)


def pieces(result: Result, spans: Sequence[TechniqueSpan], visible: set[int]) -> list[Piece]:
    """The article cut at every boundary, each piece knowing which spans cover it."""
    text = result.document.text
    anchors = {c.start for c in result.claims}
    evidence = [e for n in result.narratives for e in n.evidence]
    evidence += [e for n in result.narrative_labels for e in n.evidence]
    anchors |= {e.start for e in evidence}
    anchors |= {m.start for ent in result.entities for m in ent.mentions}
    ends = [c.end for c in result.claims] + [e.end for e in evidence]
    cuts = _cuts(len(text), [*(s.start for s in spans), *(s.end for s in spans), *anchors, *ends])
    out = []
    for start, end in itertools.pairwise(cuts):
        active = tuple(i for i, s in enumerate(spans) if s.start <= start and end <= s.end)
        begins = tuple(i for i in active if spans[i].start == start)
        css = _classes(spans, active, visible)
        title = "; ".join(f"{technique_info(spans[i].technique).label} ({spans[i].score:.2f})"
                          for i in active)
        out.append(Piece(start, end, text[start:end], active, begins, css, start in anchors, title))
    return out


def legend(spans: Sequence[TechniqueSpan], visible: set[int]) -> list[JSON]:
    """One row per technique found: number, label, colour class, definition, counts."""
    counts = Counter(s.technique for s in spans)
    shown = Counter(spans[i].technique for i in visible)
    rows = []
    for number, (name, count) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])), 1):
        info = technique_info(name)
        rows.append({"number": number, "technique": name, "label": info.label, "css": css_class(name),
                     "colour": info.colour, "definition": info.definition, "count": count,
                     "shown": shown.get(name, 0)})
    return rows


def span_rows(spans: Sequence[TechniqueSpan], numbers: dict[str, int]) -> list[JSON]:
    """The spans as the page's script reads them (technique label and definition included)."""
    rows = []
    for index, span in enumerate(spans):
        info = technique_info(span.technique)
        rows.append({"i": index, "start": span.start, "end": span.end, "technique": span.technique,
                     "label": info.label, "definition": info.definition, "score": round(span.score, 4),
                     "css": css_class(span.technique), "number": numbers.get(span.technique, 0)})
    return rows


def _visible(spans: Sequence[TechniqueSpan], techniques: set[str], min_score: float) -> set[int]:
    return {i for i, s in enumerate(spans)
            if (not techniques or s.technique in techniques) and s.score >= min_score}


def article_view(result: Result, techniques: Iterable[str] = (), min_score: float = 0.0) -> JSON:
    """Everything the article template shows, filtered by technique and confidence."""
    spans = sort_spans(result.techniques)
    chosen = {t for t in techniques if t}
    visible = _visible(spans, chosen, min_score)
    rows = legend(spans, visible)
    numbers = {row["technique"]: row["number"] for row in rows}
    return {
        "pieces": pieces(result, spans, visible),
        "legend": rows,
        "spans": span_rows(spans, numbers),
        "filters": {"technique": sorted(chosen), "min_score": min_score},
        "shown": len(visible),
        "total": len(spans),
    }
