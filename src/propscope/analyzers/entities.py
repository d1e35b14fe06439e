"""Actors: named entities normalised to canonical actors, with the role each plays per sentence.

spaCy finds the entities and the parse; `data/actors.yaml` maps surface forms to actors
("Washington" -> United States, "DAESH" -> ISIS) and `data/roles.yaml` holds the verb and noun
lists that decide whether a sentence cites an actor as an `authority`, casts it as `blamed`, or
merely mentions it (`neutral`). Technique spans from an earlier analyser, when present, also
cast the actors they fall on or near as blamed, and each actor lists the techniques near it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from propscope.analyzers import _actors, _roles, _spacy
from propscope.document import Annotations, Document, Entity, Span, TechniqueSpan

ROLE_ORDER = ("blamed", "authority")  # within a sentence: blamed beats authority beats neutral


class EntitiesAnalyzer(_spacy.SharedParse):
    """The `entities` analyser: per-article actor table (canonical actor, mentions, roles, techniques)."""

    name = "entities"
    version = "entities-spacy-sm-rules-2"  # -2: each actor lists the techniques near its mentions
    produces = ("entities",)
    requires: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.actors = _actors.ActorTable.load()
        self.rules = _roles.RoleRules.load()

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        parsed = _spacy.parse([d.text for d in docs])
        out = []
        for i, (doc, sp) in enumerate(zip(docs, parsed, strict=True)):
            techniques = prior[i].techniques if prior else ()
            out.append(Annotations(entities=self.entities(doc.text, sp, techniques)))
        return out

    def entities(self, text: str, sp: Any, techniques: Sequence[TechniqueSpan] = ()) -> tuple[Entity, ...]:
        """The actor table of one parsed document, most mentioned actor first."""
        mentions = self.actors.mentions(text, sp)
        by_actor: dict[str, list[_actors.Mention]] = defaultdict(list)
        for mention in mentions:
            by_actor[mention.actor].append(mention)
        index = _roles.TechniqueIndex(techniques)  # built once: every mention looks up its neighbours
        return tuple(
            self._entity(text, sp, group, index)
            for group in sorted(by_actor.values(), key=lambda g: (-len(g), g[0].start))
        )

    def _entity(
        self, text: str, sp: Any, group: list[_actors.Mention], techniques: _roles.TechniqueIndex
    ) -> Entity:
        per_sentence: dict[int, set[str]] = defaultdict(set)
        for mention in group:
            role = self.rules.role(sp, mention, techniques)
            per_sentence[mention.sentence].add(role)
        roles = Counter(_sentence_role(found) for found in per_sentence.values())
        label = Counter(m.label for m in group).most_common(1)[0][0]
        return Entity(
            actor=group[0].actor,
            label=label,
            mentions=tuple(Span.of(text, m.start, m.end) for m in group),
            roles={r: roles.get(r, 0) for r in ("blamed", "authority", "neutral")},
            role=dominant_role(roles),
            techniques=Counter(t.technique for t in self.rules.techniques_near(sp, group, techniques)),
        )


def _sentence_role(found: set[str]) -> str:
    return next((r for r in ROLE_ORDER if r in found), "neutral")


def dominant_role(roles: Counter[str]) -> str:
    """The more frequent of blamed and authority; neutral when neither occurs or they tie.

    Most sentences mention an actor in passing, so a plain majority would call almost everyone
    neutral; being blamed or cited even once is what a reader wants to see.
    """
    blamed, authority = roles["blamed"], roles["authority"]
    if blamed == authority:
        return "neutral"
    return "blamed" if blamed > authority else "authority"
