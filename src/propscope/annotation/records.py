"""Neutral records of a reviewed document, whatever tool the review was done in.

An importer turns a tool's export into `ReviewedDocument`s; the store keeps each one as a
human layer (one per document, annotator and import), next to the model layers and never over
them. Offsets are character offsets into the stored text, end exclusive, as everywhere in
propscope: a tool whose offsets disagree with the stored text is an error, never a shift.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The layers a reviewer can correct. `technique` labels are the 14 PTC technique names;
# `claim` marks a check-worthy claim; `actor` carries a role label (e.g. "Antagonist").
LAYERS = ("technique", "claim", "actor")


@dataclass(frozen=True, order=True)
class ReviewedSpan:
    """One span a person kept, corrected or added."""

    start: int
    end: int
    label: str
    layer: str = "technique"
    text: str = ""


@dataclass(frozen=True)
class ReviewedDocument:
    """What an import says about one document: how to find it in the store, who reviewed it,
    and every span of theirs.

    `document_id` is the id propscope exported (tools carry it in their task data or metadata);
    `text_sha256` (hex digest of the UTF-8 text) finds the document when the id is lost; `text`
    is the text as the tool holds it, for the offset check against the stored text.
    """

    spans: tuple[ReviewedSpan, ...]
    document_id: str | None = None
    text_sha256: str | None = None
    text: str | None = None
    annotator: str | None = None
    source_format: str = ""
    source: str = ""  # file:record, for error messages
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HumanLayer:
    """One stored review: a person's spans on one stored document, from one import.

    `Store.human_layers(annotator=None)` returns these (issue 18): agreement figures and
    retraining read them, never the tool files.
    """

    document_id: str
    text: str
    annotator: str
    imported_at: str  # ISO 8601, UTC
    source_format: str
    spans: tuple[ReviewedSpan, ...]
    reviewed_at: str | None = None  # ISO 8601, UTC: when the tool says the review was made
