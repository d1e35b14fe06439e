"""What every tool format shares: the model's spans as neutral rows, the label sets the tools are
told about, and the checks a reviewed span passes before it becomes a `ReviewedSpan`.

Offsets are Python `str` offsets (code points), end exclusive, as everywhere in propscope. Tools
written in Java or JavaScript may count UTF-16 units instead, which differ after any character
outside the Basic Multilingual Plane (most emoji). Where a tool's record says which text a span
covers, `reviewed_span` accepts the offsets in whichever of the two units makes them cover that
text, and refuses them (E703) when neither does: a mismatch is an error, never a silent shift.
The unit is decided once per record (`reviewed_spans`), never region by region.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from propscope.annotation.records import LAYERS, ReviewedSpan
from propscope.document import ROLES, Result
from propscope.errors import AnnotationError
from propscope.techniques import NAMES

CLAIM_LABEL = "claim"
ACTOR_PREFIX = "actor:"  # flat label of an actor mention in one-label-set tools: "actor:blamed"

# The labels a reviewer may choose, per layer: techniques by their SemEval names (the model's and
# the scorer's classes), a claim is just marked, an actor mention carries its role.
LABELS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "technique": NAMES,
    "claim": (CLAIM_LABEL,),
    "actor": ROLES,
})

_SHOWN = 40  # characters of span text quoted in an error message


@dataclass(frozen=True, order=True)
class ModelSpan:
    """One span the model proposed, in any layer; `score` is None where the layer has none."""

    start: int
    end: int
    layer: str
    label: str
    text: str
    score: float | None = None
    note: str = ""  # the canonical actor name of a mention; "" elsewhere


def model_spans(result: Result) -> list[ModelSpan]:
    """Technique spans, claims and actor mentions of a result, in reading order, each once."""
    spans = {
        ModelSpan(t.start, t.end, "technique", t.technique, t.text, t.score) for t in result.techniques
    }
    spans |= {ModelSpan(c.start, c.end, "claim", CLAIM_LABEL, c.text, c.score) for c in result.claims}
    for entity in result.entities:
        role = entity.role if entity.role in ROLES else "neutral"
        mentions = entity.mentions
        spans |= {ModelSpan(m.start, m.end, "actor", role, m.text, None, entity.actor) for m in mentions}
    return sorted(spans, key=lambda s: (s.start, -s.end, s.layer, s.label))


def text_sha256(text: str) -> str:
    """Hex SHA-256 of the UTF-8 text: finds a document again when a tool lost its id."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def model_version(result: Result) -> str:
    """The analyser versions that made the spans, "claims=1; techniques=2", for the tool's record."""
    return "; ".join(f"{name}={version}" for name, version in sorted(result.analyzers.items())) or "propscope"


def document_fields(result: Result) -> dict[str, str]:
    """What a tool keeps beside the text so an import finds the document: id, text hash, metadata."""
    doc = result.document
    fields = {"document_id": doc.id, "text_sha256": text_sha256(doc.text)}
    for name in ("title", "outlet", "url", "published"):
        value = getattr(doc, name)
        if value:
            fields[name] = value
    return fields


def flat_label(span: ModelSpan) -> str:
    """The label in tools with one label set for all layers (doccano, displaCy)."""
    if span.layer == "actor":
        return ACTOR_PREFIX + span.label
    return span.label


def split_flat_label(label: str) -> tuple[str, str]:
    """(layer, label) of a flat label: "claim", "actor:ROLE", else a technique name."""
    if label == CLAIM_LABEL:
        return "claim", CLAIM_LABEL
    if label.startswith(ACTOR_PREFIX):
        return "actor", label[len(ACTOR_PREFIX) :]
    return "technique", label


def flat_labels() -> list[str]:
    """Every flat label, techniques first."""
    return [*NAMES, CLAIM_LABEL, *(ACTOR_PREFIX + role for role in ROLES)]


def record_error(template: str, source: str, **fields: Any) -> AnnotationError:
    """An error about one record of an export, naming it (file:record)."""
    return AnnotationError(template.format(source=source, **fields), source)


def check_label(source: str, layer: str, label: str) -> None:
    """Refuse a layer or label propscope does not have (E706, E705)."""
    if layer not in LAYERS:
        raise record_error(AnnotationError.E_LAYER, source, name=layer, layers=", ".join(LAYERS))
    if label not in LABELS[layer]:
        raise record_error(
            AnnotationError.E_LABEL, source, label=label, layer=layer, labels=", ".join(LABELS[layer])
        )


def reviewed_span(
    source: str, text: str, span: tuple[int, int], layer: str, label: str, quoted: str | None = None
) -> ReviewedSpan:
    """A checked span of the tool's text: offsets in range and covering `quoted` when given.

    Args:
        source: file:record, for the error messages.
        text: the document text as the tool holds it.
        span: (start, end) in code points (`reviewed_spans` converts UTF-16 units first).
        layer, label: what the reviewer chose.
        quoted: the text the tool says the span covers, if it says so.

    Returns:
        The span. Raises AnnotationError E703-E706.
    """
    check_label(source, layer, label)
    start, end = span
    shown = f"{layer} {label}"
    if not (0 <= start < end <= len(text)):
        raise record_error(
            AnnotationError.E_RANGE, source, start=start, end=end, label=shown, length=len(text)
        )
    found = text[start:end]
    if quoted is not None and found != quoted:
        raise record_error(
            AnnotationError.E_OFFSETS,
            source,
            start=start,
            end=end,
            label=shown,
            quoted=quoted[:_SHOWN],
            found=found[:_SHOWN],
        )
    return ReviewedSpan(start, end, label, layer, found)


@dataclass(frozen=True)
class Region:
    """One span as a tool wrote it, before its offsets' unit is known."""

    source: str
    span: tuple[int, int]
    layer: str
    label: str
    quoted: str | None = None


def reviewed_spans(text: str, regions: Sequence[Region]) -> list[ReviewedSpan]:
    """The checked spans of one record, their offsets read in one unit for the whole record.

    A tool counts in one unit throughout, so the unit is decided once from the regions that say
    which text they cover: UTF-16 when some region fits only as UTF-16 units; code points when
    some fits only as code points, or when no region tells them apart; and E703 when every
    region fits both ways but the two readings point at different places (a guess could shift
    every span of the record). Then each region is checked in that unit (E703-E706).
    """
    utf16 = _units(text, regions) == "utf16"
    spans = []
    for region in regions:
        span = (_from_utf16(text, *region.span) or region.span) if utf16 else region.span
        spans.append(reviewed_span(region.source, text, span, region.layer, region.label, region.quoted))
    return spans


def _units(text: str, regions: Sequence[Region]) -> str:
    """"utf16" or "code points" for a record (E703 when its regions cannot tell them apart)."""
    only_cp, only_utf16 = False, False
    ambiguous: tuple[Region, tuple[int, int]] | None = None
    for region in regions:
        if region.quoted is None:
            continue
        converted = _from_utf16(text, *region.span)
        as_cp = _covers(text, region.span, region.quoted)
        as_utf16 = converted is not None and _covers(text, converted, region.quoted)
        only_cp |= as_cp and not as_utf16
        only_utf16 |= as_utf16 and not as_cp
        if as_cp and as_utf16 and converted is not None and converted != region.span:
            ambiguous = ambiguous or (region, converted)
    if only_utf16:
        return "utf16"
    if ambiguous is not None and not only_cp:
        region, converted = ambiguous
        start, end = region.span
        raise record_error(
            AnnotationError.E_AMBIGUOUS_UNITS, region.source, start=start, end=end,
            label=f"{region.layer} {region.label}", cp=text[start:end][:_SHOWN],
            utf16=text[converted[0] : converted[1]][:_SHOWN],
        )
    return "code points"


def _covers(text: str, span: tuple[int, int] | None, quoted: str) -> bool:
    return span is not None and 0 <= span[0] < span[1] <= len(text) and text[span[0] : span[1]] == quoted


def utf16_offsets(text: str) -> list[int]:
    """UTF-16 offset of every code-point position of `text` (len(text) + 1 entries)."""
    offsets = [0]
    for char in text:
        offsets.append(offsets[-1] + (2 if ord(char) > 0xFFFF else 1))
    return offsets


def _from_utf16(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Code-point offsets of UTF-16 offsets, or None when the text has no astral character or a
    bound falls inside a surrogate pair (then they cannot be UTF-16 offsets into this text)."""
    if all(ord(char) <= 0xFFFF for char in text):
        return None
    offsets = utf16_offsets(text)
    converted = []
    for unit in (start, end):
        index = bisect_left(offsets, unit)
        if index >= len(offsets) or offsets[index] != unit:
            return None
        converted.append(index)
    return converted[0], converted[1]


def as_offset(value: object) -> int | None:
    """An offset a tool wrote: an int (or an integral float, as JSON writers may give); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def unreadable(path: Path, tool: str, reason: str, hint: str) -> AnnotationError:
    """E700: the export as a whole cannot be read (raised, unlike a bad record's error)."""
    message = AnnotationError.E_UNREADABLE.format(path=path, tool=tool, reason=reason, hint=hint)
    return AnnotationError(message, str(path))


def read_file(path: Path, tool: str, hint: str) -> bytes:
    """The bytes of an export file, or E700 naming it: a file that cannot be read at all raises."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise unreadable(path, tool, exc.strerror or type(exc).__name__, hint) from exc


def nonempty(value: object) -> str | None:
    """A string field a tool kept (our document_id, text_sha256), or None."""
    return value if isinstance(value, str) and value else None


def json_bytes(data: object, indent: int | None = 2) -> bytes:
    """UTF-8 JSON as the tools read it: characters as themselves, never NaN."""
    return json.dumps(data, ensure_ascii=False, allow_nan=False, indent=indent).encode("utf-8")


def unique_spans(spans: Iterable[ReviewedSpan]) -> tuple[ReviewedSpan, ...]:
    """Each span once, in reading order: a tool may hold a region twice (two labels alike)."""
    return tuple(sorted(set(spans), key=lambda s: (s.start, -s.end, s.layer, s.label)))


def stringify(meta: Mapping[str, object]) -> dict[str, str]:
    """Metadata as strings (ReviewedDocument.meta), leaving out what the tool left empty."""
    return {key: str(value) for key, value in meta.items() if value is not None and value != ""}
