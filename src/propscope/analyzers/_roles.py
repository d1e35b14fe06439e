"""Role of an actor mention in its sentence (blamed / authority / neutral) from the parse.

The word lists live in data/roles.yaml. The rules climb from the mention to the noun phrase it
belongs to ("Russia" -> "Russia's Ministry of Foreign Affairs"), then look at what that phrase
does in the clause: subject of a reporting verb or object of "according to" -> authority;
subject of a hostile verb, possessor of a blame noun or object of an accusing verb -> blamed.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from propscope.analyzers._actors import Mention, load_data
from propscope.analyzers._spacy import lemma
from propscope.document import TechniqueSpan

_PHRASE_DEPS = frozenset({"compound", "amod", "poss", "appos", "nmod", "case", "det", "nummod"})
_NOMINAL = frozenset({"NOUN", "PROPN", "PRON"})
_REACH_DEPS = frozenset(
    {"xcomp", "dobj", "acl", "advcl", "prep", "pobj", "pcomp", "attr", "oprd", "conj", "relcl"}
)
_REACH_DEPTH = 3  # "used the NGO to organize attacks": used -> organize is two steps


class TechniqueIndex:
    """Technique spans sorted by start, so the ones touching a range are found by binary search:
    scanning every span for every mention made the entities analyser quadratic in length."""

    def __init__(self, techniques: Sequence[TechniqueSpan]) -> None:
        self.spans = tuple(techniques)
        self.order = sorted(range(len(self.spans)), key=lambda k: self.spans[k].start)
        self.starts = [self.spans[k].start for k in self.order]
        self.longest = max((t.end - t.start for t in self.spans), default=0)

    @classmethod
    def of(cls, techniques: Sequence[TechniqueSpan] | TechniqueIndex) -> TechniqueIndex:
        return techniques if isinstance(techniques, TechniqueIndex) else cls(techniques)

    def touching(self, lo: int, hi: int) -> list[int]:
        """Positions in `spans` of the spans overlapping [lo, hi) (start < hi and end > lo)."""
        first = bisect_right(self.starts, lo - self.longest)  # a span ending after lo starts here on
        last = bisect_left(self.starts, hi)
        return [k for k in self.order[first:last] if self.spans[k].end > lo]


Techniques = Sequence[TechniqueSpan] | TechniqueIndex


@dataclass(frozen=True)
class RoleRules:
    """The lists of data/roles.yaml and the rules that apply them."""

    reporting: frozenset[str]
    markers: tuple[tuple[str, ...], ...]
    blame_verbs: frozenset[str]
    blame_nouns: frozenset[str]
    accusing: frozenset[str]
    blame_techniques: frozenset[str]
    window: int

    @classmethod
    def load(cls, name: str = "roles.yaml") -> RoleRules:
        data = load_data(name)
        return cls(
            reporting=frozenset(data["reporting_verbs"]),
            markers=tuple(tuple(m.split()) for m in data["source_markers"]),
            blame_verbs=frozenset(data["blame_verbs"]),
            blame_nouns=frozenset(data["blame_nouns"]),
            accusing=frozenset(data["accusing_verbs"]),
            blame_techniques=frozenset(data["blame_techniques"]),
            window=int(data["technique_window"]),
        )

    def role(self, sp: Any, mention: Mention, techniques: Techniques = ()) -> str:
        """'authority', 'blamed' or 'neutral' for one mention."""
        root = sp[mention.first : mention.last].root
        phrase = phrase_head(root)
        if self.is_source(phrase):
            return "authority"
        owns_blame = phrase.i != root.i and lemma(phrase) in self.blame_nouns
        if owns_blame or self.is_blamed(phrase) or self.near_technique(sp, mention, techniques):
            return "blamed"
        return "neutral"

    def is_source(self, phrase: Any) -> bool:
        """Subject (or passive agent) of a reporting verb, or object of "according to"."""
        if phrase.dep_ == "nsubj" and lemma(phrase.head) in self.reporting:
            return True
        if phrase.dep_ == "pobj" and _is_agent(phrase):
            return bool(lemma(phrase.head.head) in self.reporting)
        return phrase.dep_ == "pobj" and self._after_marker(phrase.head)

    def _after_marker(self, prep: Any) -> bool:
        words = [t.lower_ for t in prep.doc[max(prep.i - 3, 0) : prep.i + 1]]
        return any(tuple(words[-len(m) :]) == m for m in self.markers)

    def is_blamed(self, phrase: Any) -> bool:
        """Does the phrase act in a hostile way or get accused?"""
        head = phrase.head
        if phrase.dep_ == "dobj" and lemma(head) in self.accusing:
            return True
        if phrase.dep_ == "nsubj" or (phrase.dep_ == "pobj" and _is_agent(phrase)):
            verb = head if phrase.dep_ == "nsubj" else head.head
            return lemma(verb) not in self.reporting and self._hostile(verb)
        return False

    def _hostile(self, verb: Any) -> bool:
        """The verb, or a verb or noun it governs within a few steps, is on a blame list."""
        frontier = [verb]
        for _ in range(_REACH_DEPTH + 1):
            for tok in frontier:
                word = lemma(tok)
                if word in self.blame_verbs or word in self.blame_nouns:
                    return True
            frontier = [c for t in frontier for c in t.children if c.dep_ in _REACH_DEPS]
        return False

    def near_technique(self, sp: Any, mention: Mention, techniques: Techniques) -> bool:
        """A blaming technique span on the mention, or within `window` characters in its sentence."""
        near = self.techniques_near(sp, (mention,), techniques)
        return any(t.technique in self.blame_techniques for t in near)

    def techniques_near(
        self, sp: Any, mentions: Sequence[Mention], techniques: Techniques
    ) -> list[TechniqueSpan]:
        """The technique spans that touch the reach of any of the mentions, each span once, in
        their given order (pass a `TechniqueIndex` when asking for many mentions).

        Blame and an actor's technique list both use this, so "near" means the same in both.
        """
        index = TechniqueIndex.of(techniques)
        found = {k for m in mentions for k in index.touching(*self.reach(sp, m))}
        return [index.spans[k] for k in sorted(found)]

    def reach(self, sp: Any, mention: Mention) -> tuple[int, int]:
        """Characters [lo, hi) around a mention: `window` either side, cut at its sentence.

        The cut keeps a technique aimed at the next sentence's subject off this actor; the
        mention itself always stays in reach, even when spaCy lets it run past its sentence.
        """
        sent = sp[mention.first].sent
        lo = max(mention.start - self.window, sent.start_char)
        hi = max(min(mention.end + self.window, sent.end_char), mention.end)
        return lo, hi


def phrase_head(tok: Any) -> Any:
    """Climb from a mention's root to the head of the noun phrase it modifies.

    "Russia" in "Russia's Ministry of Foreign Affairs" climbs to "Ministry"; a mention inside an
    "of" phrase climbs too ("the Ministry of Ukraine"), but not across other prepositions; a
    conjunct climbs to the first one ("figures and their Western sponsors chose ...").
    """
    while tok.head.i != tok.i:  # spaCy makes a new Token object per access: compare indices
        if tok.dep_ in _PHRASE_DEPS:
            tok = tok.head
        elif tok.dep_ == "pobj" and tok.head.lower_ == "of" and tok.head.dep_ == "prep":
            tok = tok.head.head
        elif tok.dep_ == "conj" and tok.head.pos_ in _NOMINAL:
            tok = tok.head
        else:
            break
    return tok


def _is_agent(pobj: Any) -> bool:
    return bool(pobj.head.dep_ == "agent")
