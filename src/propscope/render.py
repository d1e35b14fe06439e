"""Output formats for results: json, jsonl, semeval, csv, html and the Rich terminal view.

Article text is untrusted: the HTML format escapes every character of it, and the terminal view
passes it to Rich as plain `Text`, never as markup, with control characters shown as visible
escapes (`propscope._terminal`), so a Document from any source is safe to print.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from propscope._terminal import escaped_block, json_safe, line, printable
from propscope.document import Entity, Result, TechniqueSpan
from propscope.techniques import BY_NAME

FORMATS = ("text", "json", "jsonl", "semeval", "html")
EXPORT_FORMATS = ("jsonl", "semeval", "csv")

# Okabe-Ito and Tol's muted palettes: distinguishable with the common colour-vision deficiencies.
_FALLBACK_COLOURS = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#CC6677",
    "#AA4499",
)


@dataclass(frozen=True)
class TechniqueInfo:
    """What the legend shows for a technique."""

    name: str
    label: str
    colour: str
    definition: str = ""


def technique_info(name: str) -> TechniqueInfo:
    """Label, colour and definition from the technique table; a stable colour for unknown names.

    Third-party analysers may emit technique names outside the 14 SemEval classes.
    """
    found = BY_NAME.get(name)
    if found is not None:
        return TechniqueInfo(name, found.label, found.colour, found.definition)
    colour = _FALLBACK_COLOURS[sum(map(ord, name)) % len(_FALLBACK_COLOURS)]
    return TechniqueInfo(name, name.replace("_", " "), colour)


def technique_counts(counts: Mapping[str, int]) -> str:
    """Short labels with counts, "Loaded language ×2; Doubt ×1": ";" as labels may hold commas."""
    return "; ".join(f"{technique_info(name).label} ×{n}" for name, n in counts.items())


def to_json(result: Result, indent: int | None = 2) -> str:
    # allow_nan=False: bare NaN is not JSON; a Document cannot hold one, the store refuses one.
    return json_safe(json.dumps(result.to_json(), ensure_ascii=False, allow_nan=False, indent=indent))


def to_jsonl(results: Iterable[Result]) -> str:
    return "".join(to_json(r, indent=None) + "\n" for r in results)


def to_semeval(results: Iterable[Result]) -> str:
    """SemEval-2020 Task 11 TC submission lines: id, technique, start, end (end exclusive)."""
    lines = []
    for result in results:
        for span in result.techniques:
            lines.append(f"{result.document.id}\t{span.technique}\t{span.start}\t{span.end}\n")
    return "".join(lines)


CSV_COLUMNS = (
    "id",
    "title",
    "author",
    "outlet",
    "url",
    "published",
    "language",
    "words",
    "techniques",
    "top_technique",
    "claims",
    "actors",
    "narratives",
    "actor_techniques",
)


# Spreadsheets run a cell that starts with one of these as a formula (`=HYPERLINK(...)`, `@SUM`,
# `+cmd|...`), full-width forms included (Excel folds them); OWASP's CSV-injection list plus those.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: object) -> object:
    """A text cell a spreadsheet shows as text: a leading formula character gets a `'` before it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(results: Iterable[Result]) -> str:
    """One row per document: metadata and counts, for spreadsheets.

    Every text cell is untrusted (titles, outlets, actor names come from the articles), so cells
    that a spreadsheet would run as a formula are written with a leading `'` (`csv_cell`).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for result in results:
        writer.writerow([csv_cell(value) for value in _csv_row(result)])
    return buffer.getvalue()


def _csv_row(result: Result) -> list[object]:
    doc = result.document
    top = Counter(s.technique for s in result.techniques).most_common(1)
    return [
        doc.id,
        doc.title,
        doc.author,
        doc.outlet,
        doc.url,
        doc.published,
        doc.language,
        result.stats.get("words", ""),
        len(result.techniques),
        top[0][0] if top else "",
        len(result.claims),
        "; ".join(e.actor for e in result.entities),
        "; ".join(n.title for n in result.narratives),
        "; ".join(_csv_techniques(e) for e in result.entities if e.techniques),
    ]


def _csv_techniques(entity: Entity) -> str:
    """SemEval names like `top_technique`, for scripts: "Ukraine: Loaded_Language=2 Doubt=1"."""
    return f"{entity.actor}: " + " ".join(f"{name}={n}" for name, n in entity.techniques.items())


def segments(text: str, spans: Sequence[TechniqueSpan]) -> list[tuple[int, int, list[TechniqueSpan]]]:
    """Cut the text at every span boundary, so overlapping spans are shown, not dropped."""
    cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    pieces = []
    for start, end in pairwise(cuts):
        active = [s for s in spans if s.start <= start and end <= s.end]
        pieces.append((start, end, active))
    return pieces


# ---------------------------------------------------------------- terminal


def highlighted_text(result: Result) -> Text:
    """The article with technique spans in their colours; overlaps take the innermost span.

    Control characters are shown escaped, so span offsets go through the escaping's offset map.
    """
    text, offsets = escaped_block(result.document.text)
    for span in sorted(result.techniques, key=lambda s: s.start - s.end):
        info = technique_info(span.technique)
        text.stylize(f"black on {info.colour}", offsets[span.start], offsets[span.end])
    return text


def _header(result: Result) -> Text:
    doc = result.document
    header = Text()
    header.append(printable(doc.title or "(untitled)"), style="bold")
    for label, value in (
        ("author", doc.author),
        ("outlet", doc.outlet),
        ("published", doc.published),
        ("language", doc.language),
        ("url", doc.url),
        ("id", doc.id),
    ):
        if value:
            header.append(f"\n{label}: ", style="dim")
            header.append(printable(value))
    return header


def assessment_text(assessment: Mapping[str, Any]) -> str:
    """One plain sentence for the top of the terminal and web views: the calibrated chance
    that the article uses techniques at all, and how densely, ranked among PTC articles."""
    p = float(assessment.get("propaganda_probability", 0.0))
    density = float(assessment.get("expected_spans_per_100_words", 0.0))
    rank = int(assessment.get("density_percentile_ptc", 0))
    return (
        f"Propaganda techniques: {p:.0%} likely that this article uses any; about {density:.1f} "
        f"expected per 100 words, denser than {rank}% of PTC news articles "
        f"({assessment.get('profile') or 'custom'} profile)."
    )


def assessment_line(assessment: Mapping[str, Any]) -> Text:
    return Text(assessment_text(assessment), style="bold")


def _legend(result: Result) -> Table:
    table = Table(title="Techniques", show_edge=False)
    table.add_column("technique")
    table.add_column("spans", justify="right")
    table.add_column("example span")
    counts = Counter(s.technique for s in result.techniques)
    for name, count in counts.most_common():
        info = technique_info(name)
        example = max((s for s in result.techniques if s.technique == name), key=lambda s: s.score)
        label = line(info.label, style=f"black on {info.colour}")
        table.add_row(label, str(count), line(example.text[:60]))
    return table


def _claims_table(result: Result) -> Table:
    table = Table(title="Check-worthy claims", show_edge=False)
    for column in ("score", "speaker", "actor", "verb", "claim"):
        table.add_column(column)
    for claim in result.claims:
        speaker = claim.speaker.text if claim.speaker else ""
        actor = line(claim.speaker_actor or "")  # the entities table's name: "he" -> Tokayev
        verb = line(claim.verb or "")
        table.add_row(f"{claim.score:.2f}", line(speaker), actor, verb, line(claim.text[:120]))
    return table


def framing_text(entity: Entity) -> str:
    """How the article casts an actor, for people: "Innocent: Victim (0.81)" (main role,
    fine roles, the main role's calibrated score); empty for results stored before framing."""
    if not entity.main_role:
        return ""
    score = entity.role_scores.get(entity.main_role)
    shown = f"{entity.main_role}: {', '.join(entity.fine_roles)}" if entity.fine_roles else entity.main_role
    return f"{shown} ({score:.2f})" if score is not None else shown


def _actors_table(result: Result) -> Table:
    table = Table(title="Actors", show_edge=False)
    for column in ("actor", "type", "mentions", "cast as", "role", "techniques"):
        table.add_column(column)
    for entity in result.entities:
        table.add_row(
            line(entity.actor),
            line(entity.label),
            str(len(entity.mentions)),
            line(framing_text(entity)),
            line(entity.role),
            line(technique_counts(entity.techniques)),
        )
    return table


NO_NARRATIVE = "No known narrative"
CATALOGUE_MATCHERS = ("narratives", "narratives_minilm", "narratives_shared")


def narrative_rows(result: Result) -> list[tuple[str, str, str]]:
    """(score, title, first evidence) per catalogue narrative shown; one "No known narrative"
    row when a catalogue matcher ran and abstained (nothing cleared its calibrated threshold),
    none when no matcher ran (old results, other analysers)."""
    rows = [
        (f"{n.score:.2f}", n.title, n.evidence[0].text[:100] if n.evidence else "") for n in result.narratives
    ]
    if not rows and any(name in result.analyzers for name in CATALOGUE_MATCHERS):
        rows.append(("", NO_NARRATIVE, ""))
    return rows


def _narratives_table(result: Result) -> Table:
    table = Table(title="Narratives", show_edge=False)
    for column in ("score", "narrative", "evidence"):
        table.add_column(column)
    for score, title, evidence in narrative_rows(result):
        table.add_row(score, line(title), line(evidence))
    return table


def _narrative_labels_table(result: Result) -> Table:
    table = Table(title="Narratives (SemEval-2025 Task 10 taxonomy)", show_edge=False)
    for column in ("score", "narrative", "subnarrative", "evidence"):
        table.add_column(column)
    for row in narrative_label_rows(result):
        table.add_row(*(line(cell) for cell in row))
    return table


def narrative_label_rows(result: Result) -> list[tuple[str, str, str, str]]:
    """(score, narrative, subnarrative, first evidence) per Task 10 label; `Other` reads as
    what it means: no narrative of the taxonomy cleared its threshold. Its score is P(Other)
    itself, which can be low when several narratives are each plausible but none is likely
    enough, so it is labelled as such rather than shown as confidence in the answer."""
    rows = []
    for label in result.narrative_labels:
        if label.narrative == "Other":
            shown = "Other: none of the taxonomy's narratives cleared its threshold"
            rows.append((f"P(Other) {label.score:.2f}", shown, "", ""))
            continue
        sub = label.subnarrative.removeprefix(label.narrative + ": ")
        evidence = label.evidence[0].text[:100] if label.evidence else ""
        rows.append((f"{label.score:.2f}", label.narrative, sub, evidence))
    return rows


def _stats_line(result: Result) -> Text:
    stats = result.stats
    parts = [
        f"{key.replace('_', ' ')}: {stats[key]}"
        for key in ("words", "sentences", "flesch_kincaid_grade", "misspelling_rate")
        if stats.get(key) is not None
    ]
    if stats.get("misspellings"):
        parts.append("misspelt: " + ", ".join(stats["misspellings"]))
    return line(" · ".join(parts), style="dim")


def terminal_view(result: Result) -> RenderableType:
    """Everything about one result, for `propscope analyze --format text` and `show`."""
    parts: list[RenderableType] = [Panel(_header(result))]
    if result.assessment:
        parts.append(assessment_line(result.assessment))
    parts.append(highlighted_text(result))
    if result.techniques:
        parts.append(_legend(result))
    for rows, table in (
        (result.claims, _claims_table),
        (result.entities, _actors_table),
        (narrative_rows(result), _narratives_table),
        (result.narrative_labels, _narrative_labels_table),
    ):
        if rows:
            parts.append(table(result))
    if result.stats:
        parts.append(_stats_line(result))
    return Group(*parts)


def print_text(results: Iterable[Result], console: Console) -> None:
    for result in results:
        console.print(terminal_view(result))
        console.print()


# ---------------------------------------------------------------- html

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · propscope</title>
<style>
body{{font-family:Georgia,serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.6}}
.article{{white-space:pre-wrap}} mark{{border-bottom:3px solid;padding:0 1px}}
mark[data-n="2"]{{border-bottom-style:double}} mark[data-n="3"]{{border-bottom-style:dotted}}
.legend span{{display:inline-block;margin:.2rem;padding:0 .4rem}}
table{{border-collapse:collapse}} td,th{{border-bottom:1px solid #ccc;padding:.2rem .5rem;text-align:left}}
</style></head><body>
<h1>{title}</h1><p>{meta}</p>
<div class="legend">{legend}</div>
<div class="article">{article}</div>
{tables}
</body></html>
"""


def _mark(piece: str, active: list[TechniqueSpan]) -> str:
    if not active:
        return html.escape(piece)
    infos = [technique_info(s.technique) for s in active]
    label = "; ".join(f"{i.label} ({s.score:.2f})" for i, s in zip(infos, active, strict=True))
    colour = infos[-1].colour
    return (
        f'<mark style="background:{colour}40;border-color:{colour}" data-n="{len(active)}" '
        f'title="{html.escape(label)}">{html.escape(piece)}</mark>'
    )


def _html_table(title: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<h2>{html.escape(title)}</h2><table><tr>{head}</tr>{body}</table>"


def to_html(result: Result) -> str:
    """A self-contained, script-free page: every piece of article text is escaped."""
    doc = result.document
    text = doc.text
    article = "".join(_mark(text[a:b], active) for a, b, active in segments(text, result.techniques))
    counts = Counter(s.technique for s in result.techniques)
    legend = "".join(
        f'<span style="background:{technique_info(n).colour}40">'
        f"{html.escape(technique_info(n).label)}: {c}</span>"
        for n, c in counts.most_common()
    )
    meta = " · ".join(html.escape(str(v)) for v in (doc.author, doc.outlet, doc.published, doc.language) if v)
    tables = [
        _html_table(
            "Claims",
            ("score", "speaker", "claim"),
            ((f"{c.score:.2f}", c.speaker.text if c.speaker else "", c.text) for c in result.claims),
        ),
        _html_table(
            "Actors",
            ("actor", "mentions", "cast as", "role", "techniques"),
            (
                (e.actor, len(e.mentions), framing_text(e), e.role, technique_counts(e.techniques))
                for e in result.entities
            ),
        ),
        _html_table(
            "Narratives", ("score", "narrative"), (row[:2] for row in narrative_rows(result))
        ),
        _html_table(
            "Narratives (SemEval-2025 Task 10 taxonomy)",
            ("score", "narrative", "subnarrative", "evidence"),
            narrative_label_rows(result),
        ),
    ]
    return _PAGE.format(
        title=html.escape(doc.title or "(untitled)"),
        meta=meta,
        legend=legend,
        article=article,
        tables="\n".join(tables),
    )
