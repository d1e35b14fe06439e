"""Shared helpers for the web tests: a cheap fake analyser and an app on a temporary store.

The fake stands in for the technique, claim, actor and narrative models, so the web tests need
no model files and run in milliseconds; its spans overlap on purpose.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from propscope import registry
from propscope.document import Annotations, Claim, Document, Entity, Evidence, Narrative, Span, TechniqueSpan
from propscope.web import create_app
from propscope.web.service import Settings

FAKE = "webfake"
ANALYZERS = ["stats", FAKE]

ARTICLE = (
    "Ruritania Plots Again\n\n"
    "The enemy is EVIL and everyone knows it. Officials said that Ruritania organised the riots "
    "as a colour revolution. We must act now.\n\n"
    "Nobody doubts the EVIL intentions of Ruritania."
)

PATTERNS = (
    (r"\bEVIL\b", "Name_Calling,Labeling", 0.91),
    (r"enemy is EVIL", "Loaded_Language", 0.55),
    (r"everyone knows it", "Bandwagon,Reductio_ad_hitlerum", 0.8),
    (r"act now", "Slogans", 0.3),
    (r"so-called \w+", "Loaded_Language", 0.66),  # these two fire on the real specimen
    (r"\bcoup\b", "Appeal_to_fear-prejudice", 0.5),
)


def _sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"[^.\n]+\.", text)]


def _techniques(text: str) -> tuple[TechniqueSpan, ...]:
    found = []
    for pattern, technique, score in PATTERNS:
        for m in re.finditer(pattern, text):
            found.append(TechniqueSpan(m.start(), m.end(), m.group(), technique, score))
    return tuple(found)


def _claims(text: str) -> tuple[Claim, ...]:
    claims = []
    for start, end in _sentences(text):
        sentence = text[start:end]
        if " said " in sentence:
            first = start + len(sentence) - len(sentence.lstrip())
            who = Span.of(text, first, start + sentence.index(" said "))
            claims.append(Claim(first, end, text[first:end], 0.87, False, who, "said"))
    return tuple(claims)


def _entities(text: str, techniques: Sequence[TechniqueSpan]) -> tuple[Entity, ...]:
    mentions = tuple(Span.of(text, m.start(), m.end()) for m in re.finditer("Ruritania", text))
    if not mentions:
        return ()
    reach = [(a, b) for a, b in _sentences(text) if any(a <= m.start < b for m in mentions)]
    near = Counter(t.technique for t in techniques if any(a <= t.start < b for a, b in reach))
    return (Entity("Ruritania", "GPE", mentions, {"blamed": len(mentions)}, "blamed", near),)


def _narratives(text: str) -> tuple[Narrative, ...]:
    evidence = []
    for start, end in _sentences(text):
        if "colour revolution" in text[start:end]:
            first = start + len(text[start:end]) - len(text[start:end].lstrip())
            evidence.append(Evidence(first, end, text[first:end], 0.72))
    if not evidence:
        return ()
    return (Narrative("west-colour-revolution", "The West stages colour revolutions", 0.72, tuple(evidence)),)


class FakeAnalyzer:
    """Every layer from regular expressions: techniques, claims, actors, narratives."""

    name = FAKE
    version = "webfake-1"
    produces = ("techniques", "claims", "entities", "narratives")
    requires: tuple[str, ...] = ()

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        return [self._one(d.text) for d in docs]

    def _one(self, text: str) -> Annotations:
        techniques = _techniques(text)
        return Annotations(techniques, _claims(text), _entities(text, techniques), _narratives(text))


def register_fake() -> None:
    registry.register(FAKE, FakeAnalyzer)


def make_app(folder: Path, require_tokens: bool = False, **limits: object):  # type: ignore[no-untyped-def]
    """A workbench on a fresh SQLite file, analysing with stats + the fake analyser."""
    register_fake()
    hosts = limits.pop("allowed_hosts", None if require_tokens else Settings.allowed_hosts)
    settings = Settings(
        db_url=f"sqlite:///{folder / 'web.db'}",
        require_tokens=require_tokens,
        analyzers=ANALYZERS,
        allowed_hosts=hosts,  # type: ignore[arg-type]
        **limits,  # type: ignore[arg-type]
    )
    return create_app(require_tokens=require_tokens, settings=settings)
