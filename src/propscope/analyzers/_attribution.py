"""Who asserts a sentence: speaker span and reporting verb from the dependency parse.

Handles "X said/announced/stressed/described ... ", "according to X" and quotation marks. The
reporting verbs and source markers are the lists in data/roles.yaml (shared with the entities
analyser, which casts the same speakers as `authority`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from propscope.analyzers._actors import load_data
from propscope.analyzers._spacy import lemma

_QUOTED = re.compile(r"[\"“”«»„][^\"“”«»„]*\w[^\"“”«»„]*[\"“”«»„]")
_SUBJECTS = ("nsubj",)
_NOT_SPEAKERS = frozenset({"it", "this", "that", "which", "what", "there", "these", "those"})


@dataclass(frozen=True, slots=True)
class Attribution:
    """Character offsets of the speaker phrase, and the reporting verb as written."""

    start: int
    end: int
    verb: str


class Attributor:
    """Finds the speaker of a parsed sentence."""

    def __init__(self) -> None:
        data = load_data("roles.yaml")
        self.verbs = frozenset(data["reporting_verbs"])
        self.markers = tuple(tuple(m.split()) for m in data["source_markers"])

    def attribute(self, sent: Any, start: int, end: int) -> Attribution | None:
        """The attribution of the sentence text [start, end), or None when unattributed."""
        tokens = [t for t in sent if start <= t.idx < end]
        return self._marker(tokens) or self._reporting(tokens)

    def _marker(self, tokens: list[Any]) -> Attribution | None:
        words = [t.lower_ for t in tokens]
        for marker in self.markers:
            for k in range(len(words) - len(marker) + 1):
                if tuple(words[k : k + len(marker)]) == marker:
                    prep = tokens[k + len(marker) - 1]
                    objects = [c for c in prep.children if c.dep_ == "pobj"]
                    if objects:
                        first, last = _phrase(objects[0])
                        return Attribution(first, last, " ".join(marker))
        return None

    def _reporting(self, tokens: list[Any]) -> Attribution | None:
        verbs = [t for t in tokens if t.pos_ == "VERB" and lemma(t) in self.verbs]
        for verb in sorted(verbs, key=_depth):
            subjects = [c for c in verb.children if c.dep_ in _SUBJECTS and c.lower_ not in _NOT_SPEAKERS]
            if subjects:
                first, last = _phrase(subjects[0])
                return Attribution(first, last, verb.text)
        return None


def _depth(tok: Any) -> int:
    depth = 0
    while tok.head.i != tok.i:  # spaCy makes a new Token object per access: compare indices
        tok, depth = tok.head, depth + 1
    return depth


def _phrase(head: Any) -> tuple[int, int]:
    """The noun phrase of `head`: its left modifiers and "of" phrases, not relative clauses."""
    first = head.left_edge
    last = head
    for child in head.rights:
        if child.dep_ == "prep" and child.lower_ == "of":
            last = child.right_edge
    while first.i < head.i and (first.is_punct or first.is_space):
        first = first.doc[first.i + 1]
    return first.idx, last.idx + len(last.text)


def is_quote(text: str) -> bool:
    """Does the sentence quote someone (a pair of quotation marks around words)?"""
    return bool(_QUOTED.search(text))
