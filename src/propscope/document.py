"""The document model: one immutable `Document` and the annotation layers that point into it.

Every annotation is a character-offset span into `Document.text` (Python `str` indices, end
exclusive), so offsets stay exact on any Unicode text: curly quotes, emoji, CJK and CRLF count as
the code points they are. The JSON form is versioned by `SCHEMA` and documented in docs/schema.md.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from propscope._storable import check_meta, check_string
from propscope.errors import SchemaError, SpanError

SCHEMA = "propscope/1"

_WHITESPACE = re.compile(r"\s+")

JSON = dict[str, Any]


def normalise_text(text: str) -> str:
    """The text an id is computed from: NFC, whitespace collapsed, so re-encodings hash alike."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def document_id(text: str) -> str:
    """A stable id: the same article scraped twice (CRLF or LF, NBSP or space) gets one id."""
    return hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()[:20]


def _frozen(meta: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(meta or {}))


# Set only while `Document.stored` builds a Document from a store row (see there).
_FROM_STORE: ContextVar[bool] = ContextVar("propscope_document_from_store", default=False)
_STRING_FIELDS = ("title", "author", "outlet", "url", "published", "language", "source", "id")


@dataclass(frozen=True, slots=True)
class Document:
    """An article: its clean text and what is known about where it came from.

    Building one refuses (IngestError E034, E035, E036) a NUL or lone surrogate in any string
    field or in `meta`, and NaN or Infinity in `meta`: whatever a Document holds can be stored on
    every backend and written as valid UTF-8 JSON.
    """

    text: str
    id: str = ""
    title: str | None = None
    author: str | None = None
    outlet: str | None = None
    url: str | None = None
    published: str | None = None
    language: str | None = None
    source: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _FROM_STORE.get():
            self._check()  # first: the id is a hash of the text's UTF-8 bytes
        if not self.id:
            object.__setattr__(self, "id", document_id(self.text))
        if not isinstance(self.meta, MappingProxyType):
            object.__setattr__(self, "meta", _frozen(self.meta))

    def _check(self) -> None:
        """Refuse what a store or a JSON writer cannot take (see propscope._storable)."""
        source = self.source or self.url or "document"
        check_string(self.text, source, "the text")
        for name in _STRING_FIELDS:
            if isinstance(value := getattr(self, name), str):
                check_string(value, source, f"the {name}")
        check_meta(self.meta, source)

    @classmethod
    def stored(cls, **fields: Any) -> Document:
        """A Document read back from a store, exactly as it was saved, without the checks.

        A SQLite store written before the checks existed may hold a NUL in a text: that document
        must stay readable (and its spans valid), not fail every read.
        """
        token = _FROM_STORE.set(True)
        try:
            return cls(**fields)
        finally:
            _FROM_STORE.reset(token)

    def with_(self, **changes: Any) -> Document:
        """A copy with some fields changed; the id follows the text unless given."""
        if "text" in changes and "id" not in changes:
            changes["id"] = ""
        return replace(self, **changes)

    def span(self, start: int, end: int) -> Span:
        """A checked span into this document's text."""
        return Span.of(self.text, start, end)

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "title": self.title,
            "author": self.author,
            "outlet": self.outlet,
            "url": self.url,
            "published": self.published,
            "language": self.language,
            "source": self.source,
            "meta": dict(self.meta),
            "text": self.text,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Document:
        known = {k: data.get(k) for k in ("title", "author", "outlet", "url", "published")}
        return cls(
            text=str(data["text"]),
            id=str(data.get("id") or ""),
            language=data.get("language"),
            source=data.get("source"),
            meta=dict(data.get("meta") or {}),
            **known,
        )


def check_offsets(text: str, start: int, end: int) -> None:
    """Raise a coded error unless 0 <= start < end <= len(text)."""
    if not (0 <= start < end <= len(text)):
        raise SpanError(SpanError.E_RANGE.format(start=start, end=end, length=len(text)))


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of document text: end-exclusive character offsets plus the text they cover."""

    start: int
    end: int
    text: str

    @classmethod
    def of(cls, text: str, start: int, end: int) -> Span:
        check_offsets(text, start, end)
        return cls(start, end, text[start:end])

    def to_json(self) -> JSON:
        return {"start": self.start, "end": self.end, "text": self.text}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Span:
        return cls(int(data["start"]), int(data["end"]), str(data["text"]))


@dataclass(frozen=True, slots=True)
class TechniqueSpan:
    """A fragment that uses a propaganda technique (one of the 14 SemEval-2020 classes)."""

    start: int
    end: int
    text: str
    technique: str
    score: float  # calibrated P(an annotator marks a technique here), see models/calibration.py
    technique_score: float | None = None  # calibrated P(it is this technique | marked)

    def to_json(self) -> JSON:
        data: JSON = {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "technique": self.technique,
            "score": round(self.score, 4),
        }
        if self.technique_score is not None:
            data["technique_score"] = round(self.technique_score, 4)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TechniqueSpan:
        given = data.get("technique_score")
        return cls(
            int(data["start"]),
            int(data["end"]),
            str(data["text"]),
            str(data["technique"]),
            float(data["score"]),
            None if given is None else float(given),
        )


@dataclass(frozen=True, slots=True)
class Claim:
    """A check-worthy sentence, with who asserts it when the text says so."""

    start: int
    end: int
    text: str
    score: float
    quote: bool = False
    speaker: Span | None = None
    verb: str | None = None
    speaker_actor: str | None = None  # the entities analyser's canonical actor for the speaker

    def to_json(self) -> JSON:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "score": round(self.score, 4),
            "quote": self.quote,
            "speaker": self.speaker.to_json() if self.speaker else None,
            "verb": self.verb,
            "speaker_actor": self.speaker_actor,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Claim:
        speaker = data.get("speaker")
        return cls(
            int(data["start"]),
            int(data["end"]),
            str(data["text"]),
            float(data["score"]),
            bool(data.get("quote", False)),
            Span.from_json(speaker) if speaker else None,
            data.get("verb"),
            data.get("speaker_actor"),
        )


ROLES = ("blamed", "authority", "neutral")


def _by_count(counts: Mapping[str, int]) -> dict[str, int]:
    """Most frequent first, ties by name, so the same counts always serialise alike."""
    return {k: int(n) for k, n in sorted(counts.items(), key=lambda kv: (-int(kv[1]), kv[0]))}


@dataclass(frozen=True, slots=True)
class Entity:
    """An actor: a canonical name, its mentions, how the article frames it, techniques near it.

    `main_role` (Protagonist / Antagonist / Innocent), `fine_roles` (1-3 of the 22 SemEval-2025
    Task 10 roles under it) and `role_scores` (every role name -> calibrated probability, the
    mean over the mentions) come from the framing head; `mention_roles` holds each mention's
    own frame, in `mentions` order. `role` is a derived, coarser view (blamed / authority /
    neutral: analyzers/entities.py says how) and `roles` counts the sentences whose grammar
    cites the actor as a source or casts blame on it (the parse rules). `techniques` maps a
    technique name to its spans on or near any of the mentions, each span counted once. Results
    stored before framing existed read back with empty framing fields.
    """

    actor: str
    label: str
    mentions: tuple[Span, ...]
    roles: Mapping[str, int] = field(default_factory=dict)
    role: str = "neutral"
    techniques: Mapping[str, int] = field(default_factory=dict)
    main_role: str = ""
    fine_roles: tuple[str, ...] = ()
    role_scores: Mapping[str, float] = field(default_factory=dict)
    mention_roles: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", {r: int(self.roles.get(r, 0)) for r in ROLES})
        object.__setattr__(self, "techniques", _by_count(self.techniques))
        object.__setattr__(self, "fine_roles", tuple(self.fine_roles))
        object.__setattr__(self, "role_scores", {str(k): float(v) for k, v in self.role_scores.items()})
        object.__setattr__(self, "mention_roles", tuple(dict(m) for m in self.mention_roles))

    def to_json(self) -> JSON:
        return {
            "actor": self.actor,
            "label": self.label,
            "mentions": [m.to_json() for m in self.mentions],
            "roles": dict(self.roles),
            "role": self.role,
            "techniques": dict(self.techniques),
            "main_role": self.main_role,
            "fine_roles": list(self.fine_roles),
            "role_scores": dict(self.role_scores),
            "mention_roles": [dict(m) for m in self.mention_roles],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entity:
        """Results stored before `techniques` or the framing fields existed read back without."""
        return cls(
            str(data["actor"]),
            str(data["label"]),
            tuple(Span.from_json(m) for m in data.get("mentions", [])),
            dict(data.get("roles") or {}),
            str(data.get("role", "neutral")),
            dict(data.get("techniques") or {}),
            str(data.get("main_role") or ""),
            tuple(data.get("fine_roles") or ()),
            dict(data.get("role_scores") or {}),
            tuple(data.get("mention_roles") or ()),
        )


@dataclass(frozen=True, slots=True)
class Evidence:
    """A sentence that supports a narrative match, with its similarity score."""

    start: int
    end: int
    text: str
    score: float

    def to_json(self) -> JSON:
        return {"start": self.start, "end": self.end, "text": self.text, "score": round(self.score, 4)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        return cls(int(data["start"]), int(data["end"]), str(data["text"]), float(data["score"]))


@dataclass(frozen=True, slots=True)
class Narrative:
    """A known disinformation narrative the article serves, with the sentences that show it."""

    id: str
    title: str
    score: float
    evidence: tuple[Evidence, ...] = ()

    def to_json(self) -> JSON:
        return {
            "id": self.id,
            "title": self.title,
            "score": round(self.score, 4),
            "evidence": [e.to_json() for e in self.evidence],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Narrative:
        return cls(
            str(data["id"]),
            str(data["title"]),
            float(data["score"]),
            tuple(Evidence.from_json(e) for e in data.get("evidence", [])),
        )


@dataclass(frozen=True, slots=True)
class NarrativeLabel:
    """A SemEval-2025 Task 10 label the article carries: a narrative and one subnarrative under
    it (`X: Other` when none of its listed ones), or `Other`/`Other` for an article with none.

    `score` is the calibrated probability of the subnarrative (of `Other` for the `Other` row),
    `narrative_score` that of the narrative; `evidence` holds the sentences that carry it.
    """

    narrative: str
    subnarrative: str
    score: float
    narrative_score: float
    evidence: tuple[Evidence, ...] = ()

    def to_json(self) -> JSON:
        return {
            "narrative": self.narrative,
            "subnarrative": self.subnarrative,
            "score": round(self.score, 4),
            "narrative_score": round(self.narrative_score, 4),
            "evidence": [e.to_json() for e in self.evidence],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NarrativeLabel:
        score = float(data["score"])
        return cls(
            str(data["narrative"]),
            str(data["subnarrative"]),
            score,
            float(data.get("narrative_score", score)),
            tuple(Evidence.from_json(e) for e in data.get("evidence", [])),
        )


LAYERS = ("techniques", "claims", "entities", "narratives", "narrative_labels", "stats")


@dataclass(frozen=True, slots=True)
class Annotations:
    """What analysers add to one document; layers they do not produce stay empty."""

    techniques: tuple[TechniqueSpan, ...] = ()
    claims: tuple[Claim, ...] = ()
    entities: tuple[Entity, ...] = ()
    narratives: tuple[Narrative, ...] = ()
    stats: Mapping[str, Any] = field(default_factory=dict)
    narrative_labels: tuple[NarrativeLabel, ...] = ()
    # The techniques analyser's article-level view: models/assessment.py.
    assessment: Mapping[str, Any] = field(default_factory=dict)

    def merge(self, other: Annotations) -> Annotations:
        return Annotations(
            techniques=self.techniques + other.techniques,
            claims=self.claims + other.claims,
            entities=self.entities + other.entities,
            narratives=self.narratives + other.narratives,
            stats={**self.stats, **other.stats},
            narrative_labels=self.narrative_labels + other.narrative_labels,
            assessment={**self.assessment, **other.assessment},
        )

    def check(self, text: str) -> None:
        """Every span must point into the text and carry the text it points at (E101)."""
        for span in _all_spans(self):
            check_offsets(text, span.start, span.end)
            if text[span.start : span.end] != span.text:
                raise SpanError(SpanError.E_TEXT.format(start=span.start, end=span.end, text=span.text[:40]))

    def to_json(self) -> JSON:
        return {
            "techniques": [t.to_json() for t in self.techniques],
            "claims": [c.to_json() for c in self.claims],
            "entities": [e.to_json() for e in self.entities],
            "narratives": [n.to_json() for n in self.narratives],
            "narrative_labels": [n.to_json() for n in self.narrative_labels],
            "stats": dict(self.stats),
            "assessment": dict(self.assessment),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Annotations:
        return cls(
            techniques=tuple(TechniqueSpan.from_json(t) for t in data.get("techniques", [])),
            claims=tuple(Claim.from_json(c) for c in data.get("claims", [])),
            entities=tuple(Entity.from_json(e) for e in data.get("entities", [])),
            narratives=tuple(Narrative.from_json(n) for n in data.get("narratives", [])),
            stats=dict(data.get("stats") or {}),
            narrative_labels=tuple(NarrativeLabel.from_json(n) for n in data.get("narrative_labels", [])),
            assessment=dict(data.get("assessment") or {}),
        )


def _all_spans(annotations: Annotations) -> Iterable[Span | TechniqueSpan | Claim | Evidence]:
    yield from annotations.techniques
    for claim in annotations.claims:
        yield claim
        if claim.speaker:
            yield claim.speaker
    for entity in annotations.entities:
        yield from entity.mentions
    for narrative in annotations.narratives:
        yield from narrative.evidence
    for label in annotations.narrative_labels:
        yield from label.evidence


@dataclass(frozen=True, slots=True)
class Result:
    """A document with everything the pipeline found in it, and which analyser versions ran."""

    document: Document
    annotations: Annotations = field(default_factory=Annotations)
    analyzers: Mapping[str, str] = field(default_factory=dict)

    @property
    def techniques(self) -> tuple[TechniqueSpan, ...]:
        return self.annotations.techniques

    @property
    def claims(self) -> tuple[Claim, ...]:
        return self.annotations.claims

    @property
    def entities(self) -> tuple[Entity, ...]:
        return self.annotations.entities

    @property
    def narratives(self) -> tuple[Narrative, ...]:
        return self.annotations.narratives

    @property
    def narrative_labels(self) -> tuple[NarrativeLabel, ...]:
        return self.annotations.narrative_labels

    @property
    def stats(self) -> Mapping[str, Any]:
        return self.annotations.stats

    @property
    def assessment(self) -> Mapping[str, Any]:
        return self.annotations.assessment

    def to_json(self) -> JSON:
        """The `propscope/1` object printed by `propscope analyze --format json`."""
        return {
            "schema": SCHEMA,
            "document": self.document.to_json(),
            **self.annotations.to_json(),
            "analyzers": dict(self.analyzers),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Result:
        if data.get("schema") != SCHEMA:
            raise SchemaError(SchemaError.E_VERSION.format(found=data.get("schema"), want=SCHEMA))
        document = Document.from_json(data["document"])
        annotations = Annotations.from_json(data)
        annotations.check(document.text)
        return cls(document, annotations, dict(data.get("analyzers") or {}))


def sort_spans(spans: Sequence[TechniqueSpan]) -> tuple[TechniqueSpan, ...]:
    """Reading order, longest first at the same start, so overlaps nest predictably."""
    return tuple(sorted(spans, key=lambda s: (s.start, -s.end, s.technique)))
