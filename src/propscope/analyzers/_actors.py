"""Mentions of actors: spaCy entities and alias-table matches, normalised to canonical names."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

_STRIP_PREFIXES = ("the ", "The ")
_POSSESSIVES = ("’s", "'s", "’", "'")


@dataclass(frozen=True, slots=True)
class Mention:
    """One mention of an actor: character offsets, token range and sentence index in the parse."""

    start: int
    end: int
    actor: str
    label: str
    first: int
    last: int  # token range [first, last)
    sentence: int


def load_data(name: str) -> Any:
    """A YAML file from propscope/data."""
    return yaml.safe_load(resources.files("propscope.data").joinpath(name).read_text("utf-8"))


@dataclass(frozen=True)
class ActorTable:
    """The alias table of data/actors.yaml, with the spaCy matcher built from it."""

    aliases: dict[str, tuple[str, str]]  # casefolded alias -> (actor, label)
    exact: dict[str, tuple[str, str]]  # alias as written -> (actor, label)
    titles: tuple[tuple[str, ...], ...]
    ignore: frozenset[str]
    labels: frozenset[str]

    @classmethod
    def load(cls, name: str = "actors.yaml") -> ActorTable:
        data = load_data(name)
        exact = {alias: (row["actor"], row["label"]) for row in data["actors"] for alias in row["aliases"]}
        return cls(
            aliases={alias.casefold(): value for alias, value in exact.items()},
            exact=exact,
            titles=tuple(sorted((tuple(t.split()) for t in data["titles"]), key=len, reverse=True)),
            ignore=frozenset(data.get("ignore", ())),
            labels=frozenset(data["labels"]),
        )

    def mentions(self, text: str, sp: Any) -> list[Mention]:
        """Every actor mention in reading order: entities first, then alias matches they missed."""
        sentence_of = _sentence_index(sp)
        found: list[Mention] = []
        for ent in sp.ents:
            if ent.label_ in self.labels:
                found += self._from_tokens(sp, ent.start, ent.end, ent.label_, sentence_of)
        taken = {i for m in found for i in range(m.first, m.last)}
        for first, last in self._alias_matches(sp):
            if not taken.intersection(range(first, last)):
                found += self._from_tokens(sp, first, last, "", sentence_of)
                taken.update(range(first, last))
        return sorted(found, key=lambda m: m.start)

    def _alias_matches(self, sp: Any) -> list[tuple[int, int]]:
        """Token ranges whose exact text is an alias (longest first, no overlaps).

        A range's text is cut from the document by character offsets: building a spaCy Span
        for every candidate range cost more than the whole entities analyser besides.
        """
        text = sp.text
        offsets = sp.to_array(["IDX", "LENGTH"]).tolist()  # no Token objects: they cost too
        starts = [start for start, _ in offsets]
        ends = [start + length for start, length in offsets]
        longest = max(len(a.split()) for a in self.exact)
        hits: list[tuple[int, int]] = []
        i = 0
        while i < len(starts):
            for n in range(min(longest, len(starts) - i), 0, -1):
                if text[starts[i] : ends[i + n - 1]] in self.exact:
                    hits.append((i, i + n))
                    i += n - 1
                    break
            i += 1
        return hits

    def _from_tokens(
        self, sp: Any, first: int, last: int, label: str, sentence_of: dict[int, int]
    ) -> list[Mention]:
        """Mentions in an entity span, split at a title ("Kazakh | President | Tokayev")."""
        words = [t.text for t in sp[first:last]]
        for title in self.titles:
            for k in range(len(words) - len(title) + 1):
                if tuple(words[k : k + len(title)]) == title:
                    before = self._one(sp, first, first + k, "", sentence_of)
                    after = self._one(sp, first + k + len(title), last, "PERSON", sentence_of)
                    return [m for m in (before, after) if m]
        mention = self._one(sp, first, last, label, sentence_of)
        return [mention] if mention else []

    def _one(self, sp: Any, first: int, last: int, label: str, sentence_of: dict[int, int]) -> Mention | None:
        while first < last and (sp[first].text in ("the", "The") or sp[first].is_punct):
            first += 1
        while last > first and (sp[last - 1].text in _POSSESSIVES or sp[last - 1].is_punct):
            last -= 1
        if first >= last:
            return None
        span = sp[first:last]
        name = self.canonical(span.text, label)
        if name is None:
            return None
        actor, label = name
        return Mention(span.start_char, span.end_char, actor, label, first, last, sentence_of[first])

    def canonical(self, surface: str, label: str) -> tuple[str, str] | None:
        """(actor, label) for a surface form; None for ignored forms and unlabelled strangers."""
        if surface in self.ignore:
            return None
        if found := self.aliases.get(surface.casefold()):
            return found
        if not label:
            return None
        if label == "PERSON":
            return surface.split()[-1], label  # surname: "Mukhtar Ablyazov" and "Ablyazov" merge
        return surface, label


def _sentence_index(sp: Any) -> dict[int, int]:
    return {i: n for n, sent in enumerate(sp.sents) for i in range(sent.start, sent.end)}
