"""Who asserts a sentence: speaker span, reporting verb and canonical speaker, from the parse.

Per sentence: "X said/announced/stressed …", "according to X", participles that take their
subject from the verb they hang on ("sued, arguing that …"), relative clauses ("reports that
claim …") and appositions ("the mother of the victim, Allison Jean, says …"). Verbs and speakers
inside quotation marks are the quoted speaker's words, not the frame, and are never used.

Per document (`Attributor.document`): quoted sentences without a frame of their own continue
the quote that frames them — forward to the frame that closes a multi-sentence quote ("“… . …,”
Putin said"), else back to the attributed quote just before ("“I don’t mind,” he said. “I
mean …”"). Each speaker is linked to the entities analyser's canonical actor (`_actors`), so
"Tokayev", "Kazakh President Kassym-Jomart Tokayev" and a later "he" or "the Kazakh President"
are one speaker. The reporting verbs and source markers are the lists in data/roles.yaml (shared
with the entities analyser), adjusted by the two sets below.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from propscope.analyzers._actors import ActorTable, load_data
from propscope.analyzers._spacy import lemma as _spacy_lemma

_QUOTED = re.compile(r"[\"“”«»„][^\"“”«»„]*\w[^\"“”«»„]*[\"“”«»„]")
_OPENING, _CLOSING, _STRAIGHT = "“«„", "”»", '"'
_MARKS = _OPENING + _CLOSING + _STRAIGHT
_SUBJECTS = ("nsubj",)
_CLAUSES = frozenset({"ccomp", "parataxis"})
_CLIMB = frozenset({"advcl", "xcomp", "conj", "pcomp", "pobj", "prep"})  # "sued, arguing that …"
_RELATIVE = frozenset({"that", "which", "who"})
# Not a source: expletives, relatives, and the author's own "I", "we", "you" outside quotes.
_NOT_SPEAKERS = frozenset(
    {"it", "this", "that", "which", "what", "there", "these", "those", "who", "i", "we", "you"}
)
_PLACES = frozenset({"GPE", "NORP", "LOC"})
_NAME_TYPES = frozenset({"PERSON", "ORG", "NORP", "GPE"})
# Heads of definite descriptions that refer back to a named person ("the official"), with
# data/actors.yaml's titles.
TITLE_NOUNS = frozenset({"official", "leader", "pm", "premier", "chief", "head", "president", "minister"})
_PRONOUNS = frozenset({"he", "she", "him", "her"})  # "they" may be anyone: left unresolved
# Speech verbs roles.yaml lacks, and mental verbs it has that report no speech act (labelling
# guidelines, tests/data/attribution_guidelines.md).
EXTRA_VERBS = frozenset(
    {"contend", "maintain", "repeat", "continue", "complain", "notify", "brand", "rule", "elaborate"}
)
NOT_SPEECH = frozenset({"believe", "recall", "estimate", "suggest", "point"})
_NAMING = frozenset({"call", "describe", "brand", "dub", "label", "term"})  # X "Y" is a direct quote
_SPEECH_NOUNS = frozenset({"claim", "assertion", "allegation", "statement", "argument", "view"})
DIRECT_SHARE = 0.6  # of the letters after the verb quoted: a direct quote (guidelines' rule)
_SIGNATURE_VERB = "—"
_URL = re.compile(r"\S*(?:https?://|pic\.twitter\.com|www\.)\S*")
_SIGNATURE = re.compile(r"—\s*([A-Z][\w.'’\- ]{1,60}?)\s*\(@\w+\)")  # embedded post: "— Name (@handle)"


@dataclass(frozen=True, slots=True)
class Attribution:
    """Character offsets of the speaker phrase, the reporting verb as written, the canonical
    speaker (None when the text names none), and whether the statement is a direct quote."""

    start: int
    end: int
    verb: str
    actor: str | None = None
    quote: bool = False


_LEMMAS: dict[tuple[str, str], str] = {}
_LEMMA_CACHE = 50_000


def lemma(token: Any) -> str:
    """The token's lemma, memoised by form and tag: every sentence of a document is attributed,
    and spaCy's rule lemmatizer cost a fifth of the attribution time."""
    key = (token.lower_, token.tag_)
    if key not in _LEMMAS:
        if len(_LEMMAS) > _LEMMA_CACHE:
            _LEMMAS.clear()  # bounded: a long-running server sees every verb form there is
        _LEMMAS[key] = _spacy_lemma(token)
    return _LEMMAS[key]


def quote_mask(text: str) -> bytearray:
    """1 for every character inside quotation marks (the marks included), 0 outside.

    A straight quote opens or closes by what surrounds it (`_opens`). A quote still open at a
    line break goes on when the next quotation mark closes it, or opens the next line (news copy
    opens every paragraph of a long quote but closes only the last); otherwise it ends there.
    """
    mask, inside = bytearray(len(text)), False
    for i, ch in enumerate(text):
        if ch == "\n" and inside and not _continues(text, i):
            inside = False
        if ch in _MARKS:
            opening = ch in _OPENING or (ch == _STRAIGHT and _opens(text, i, inside))
            mask[i] = 1 if opening or inside else 0
            inside = opening or (inside and _line_start(text, i) and ch == _STRAIGHT)
        else:
            mask[i] = inside
    return mask


def _opens(text: str, i: int, inside: bool) -> bool:
    """Is the straight quote at i an opening one? Space before and a word after open; a word
    before and space or punctuation after close; otherwise it toggles."""
    before = text[i - 1] if i else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    if (before.isspace() or before in "([—-:") and not after.isspace():
        return True
    if not before.isspace() and (after.isspace() or not after.isalnum()):
        return False
    return not inside


def _line_start(text: str, i: int) -> bool:
    return not text[text.rfind("\n", 0, i) + 1 : i].strip()


def _continues(text: str, newline: int) -> bool:
    """After a line break inside a quote: does the next quotation mark close it, or open a line?"""
    window = text[newline + 1 : newline + 3000]  # bounded: long texts stay linear
    for k, ch in enumerate(window):
        if ch in _MARKS:
            if ch in _CLOSING or _line_start(window, k):
                return True
            return ch == _STRAIGHT and not _opens(window, k, True)
    return False


def starts_inside(mask: bytearray, text: str, start: int, end: int) -> bool:
    """Does the sentence's first word lie inside quotation marks?"""
    first = next((i for i in range(start, end) if text[i].isalnum()), None)
    return first is not None and bool(mask[first])


class Attributor:
    """Finds the speakers of a parsed document's sentences."""

    def __init__(self) -> None:
        data = load_data("roles.yaml")
        self.verbs = (frozenset(data["reporting_verbs"]) | EXTRA_VERBS) - NOT_SPEECH
        self.markers = tuple(tuple(m.split()) for m in data["source_markers"])
        self.actors = ActorTable.load()

    def document(
        self, text: str, sp: Any, sentences: Sequence[tuple[int, int, Any]]
    ) -> list[Attribution | None]:
        """The attribution of each (start, end, spaCy sentence), in order; None when unattributed."""
        mask = quote_mask(text)
        own = [self.attribute(s, start, end, text, mask) for start, end, s in sentences]
        found = _continue_quotes(text, mask, [(s, e) for s, e, _ in sentences], own)
        return _SpeakerLinker(self.actors, text, sp).link(found)

    def attribute(
        self, sent: Any, start: int, end: int, text: str | None = None, mask: bytearray | None = None
    ) -> Attribution | None:
        """The attribution of the sentence text [start, end) from its own words, or None."""
        text = sent.doc.text if text is None else text
        mask = quote_mask(text) if mask is None else mask
        tokens = [t for t in sent if start <= t.idx < end and not mask[t.idx]]
        found = (
            _signature(text, start, end)
            or self._marker(tokens, start, end)
            or self._reporting(tokens, start, end, mask)
        )
        return replace(found, quote=self._is_direct(text, mask, start, end, tokens, found)) if found else None

    def _is_direct(
        self, text: str, mask: bytearray, start: int, end: int, tokens: list[Any], found: Attribution
    ) -> bool:
        """Direct: the statement opens inside quotation marks — the sentence does, or the verb's
        complement clause does ("said that “The affidavit …"), or, without a clause, most of what
        follows the verb is quoted or a naming verb quotes its name ("called them “heroes”")."""
        if found.verb == _SIGNATURE_VERB or starts_inside(mask, text, start, end):
            return True
        verb = next((t for t in tokens if t.text == found.verb), None)
        if verb is None:
            return False
        clause = next((c for c in verb.children if c.dep_ == "ccomp" and c.i > verb.i), None)
        if clause is not None:
            first = next(t for t in clause.subtree if t.dep_ != "mark" or t.i == clause.i)  # after "that"
            return starts_inside(mask, text, first.idx, end)
        words = [i for i in range(verb.idx + len(verb.text), end) if text[i].isalnum()]
        if words and sum(mask[i] for i in words) >= DIRECT_SHARE * len(words):
            return True
        return lemma(verb) in _NAMING and any(mask[i] for i in words)

    def _marker(self, tokens: list[Any], start: int, end: int) -> Attribution | None:
        words = [t.lower_ for t in tokens]
        for marker in self.markers:
            for k in range(len(words) - len(marker) + 1):
                if tuple(words[k : k + len(marker)]) == marker:
                    prep = tokens[k + len(marker) - 1]
                    objects = [c for c in prep.children if c.dep_ == "pobj"]
                    if objects:
                        first, last = _phrase(objects[0], start, end)
                        return Attribution(first, last, " ".join(marker))
        return None

    def _reporting(self, tokens: list[Any], start: int, end: int, mask: bytearray) -> Attribution | None:
        """The most deeply embedded reporting verb with a subject of its own (the innermost
        source of nested reports: "She told police that …, the report said" is hers), else one
        that borrows the subject of the verb it hangs on ("sued, arguing that …")."""
        verbs = [
            t
            for t in tokens
            if t.pos_ in ("VERB", "AUX") and lemma(t) in self.verbs and self._reports(t, mask)
        ]
        ranked = sorted(verbs, key=lambda v: (not _has_subject(v), -_depth(v), v.i))
        for verb in ranked:
            subject = _speaker(verb)
            if subject is not None and start <= subject.idx < end:
                first, last = _phrase(subject, start, end)
                return Attribution(first, last, verb.text)
        return None

    def _reports(self, verb: Any, mask: bytearray) -> bool:
        """Does the verb report content (a clause, a quote, a speech noun) rather than an act
        ("announced the development")? A parenthetical or closing frame ("…, he said") does."""
        if verb.dep_ == "parataxis" or any(c.dep_ in _CLAUSES for c in verb.children):
            return True
        if ":" in verb.doc[verb.i : verb.i + 2].text or _trailing(verb):
            return True
        subtree = range(verb.left_edge.idx, verb.right_edge.idx + len(verb.right_edge.text))
        if any(mask[i] for i in subtree):
            return True
        return any(c.dep_ == "dobj" and c.lower_ in _SPEECH_NOUNS for c in verb.children)


def _trailing(verb: Any) -> bool:
    """A closing frame: ", the Dallas Morning News reports." (subject after a comma, nothing
    but adverbs and punctuation after the verb)."""
    subjects = [c for c in verb.children if c.dep_ in _SUBJECTS]
    if not subjects or subjects[0].i > verb.i:
        return False
    before = subjects[0].left_edge.i - 1
    rest = verb.doc[verb.i + 1 : verb.sent.end]
    return (
        before >= 0
        and verb.doc[before].text == ","
        and all(t.is_punct or t.is_space or t.pos_ == "ADV" for t in rest)
    )


def _has_subject(verb: Any) -> bool:
    return any(c.dep_ in _SUBJECTS for c in verb.children)


def _speaker(verb: Any) -> Any | None:
    """The token heading the verb's speaker: its subject, the subject of the verb a participle
    hangs on, the noun a relative clause modifies; None when there is none or it is no source."""
    tok = verb
    for _ in range(4):
        subjects = [c for c in tok.children if c.dep_ in _SUBJECTS]
        if subjects:
            subject = subjects[0]
            if subject.lower_ in _RELATIVE and tok.dep_ == "relcl":
                return _named(tok.head)
            return None if subject.lower_ in _NOT_SPEAKERS else _named(subject)
        if tok.dep_ not in _CLIMB or tok.head.i == tok.i:
            return None
        tok = tok.head
    return None


def _named(head: Any) -> Any:
    """An apposition's name when the head is a common noun ("the mother, Allison Jean")."""
    if head.ent_type_ != "PERSON":
        for child in head.children:
            if child.dep_ == "appos" and child.ent_type_ in _NAME_TYPES:
                return child
    return head


def _signature(text: str, start: int, end: int) -> Attribution | None:
    """The author of an embedded post: "… — Allison Harris (@AllisonFox4News) September 16"."""
    match = _SIGNATURE.search(text, start, end)
    if not match or len(re.findall(r"\b[A-Za-z]{2,}\b", _URL.sub("", text[start : match.start()]))) < 2:
        return None  # a signature under nothing but a link: the post's words are elsewhere
    return Attribution(match.start(1), match.end(1), _SIGNATURE_VERB)


def _continue_quotes(
    text: str, mask: bytearray, spans: list[tuple[int, int]], own: list[Attribution | None]
) -> list[Attribution | None]:
    """Frameless sentences that open inside a quote take the frame of the quote they belong to."""
    found = list(own)
    for i, (start, end) in enumerate(spans):
        if found[i] is not None or not starts_inside(mask, text, start, end):
            continue
        frame = _closing_frame(text, mask, spans, own, i)
        if frame is None and i > 0 and found[i - 1] is not None and _has_quote(mask, spans[i - 1]):
            frame = found[i - 1]
        if frame is not None:
            found[i] = replace(frame, quote=True)
    return found


def _closing_frame(
    text: str, mask: bytearray, spans: list[tuple[int, int]], own: list[Attribution | None], i: int
) -> Attribution | None:
    """The frame right after the closing mark of the quote open at sentence i ("… ,” Putin
    said"), in a later sentence; None when another quote or a line break comes first."""
    pos = spans[i][0]
    while pos < len(mask) and mask[pos]:
        pos += 1
    for j in range(i + 1, len(spans)):
        if spans[j][0] > pos:
            return None
        frame = own[j]
        if spans[j][1] >= pos and frame is not None and frame.start >= pos:
            between = range(pos, frame.start)
            return None if "\n" in text[pos : frame.start] or any(mask[k] for k in between) else frame
    return None


def _has_quote(mask: bytearray, span: tuple[int, int]) -> bool:
    return any(mask[span[0] : span[1]])


class _SpeakerLinker:
    """Canonical actors for speaker phrases: the actor a phrase names (a person before the
    places in it: "Kazakh President Kassym-Jomart Tokayev" is Tokayev); a proper name the actor
    table lacks as written ("the Dallas Morning News"); for a pronoun, the person named last
    before it; for a definite title ("the Kazakh President", "the official"), the last person
    named with that title, else the last person who spoke; None for unnamed sources."""

    def __init__(self, actors: ActorTable, text: str, sp: Any) -> None:
        self.text = text
        self.mentions = actors.mentions(text, sp)
        self.persons = [m for m in self.mentions if m.label == "PERSON"]
        self.named = [
            m for m in self.mentions if m.label not in _PLACES
        ]  # people, or names spaCy took for ORGs
        self.places = {m.actor for m in self.mentions if m.label in _PLACES}
        self.titles = frozenset(w.casefold() for t in actors.titles for w in t) | TITLE_NOUNS

    def link(self, found: list[Attribution | None]) -> list[Attribution | None]:
        """`found` with `actor` set, in reading order (titles look back to earlier speakers)."""
        out: list[Attribution | None] = []
        last_speaker: str | None = None
        for attribution in found:
            if attribution is None:
                out.append(None)
                continue
            actor = attribution.actor or self.actor(attribution, last_speaker)
            if actor and actor not in self.places:
                last_speaker = actor
            out.append(replace(attribution, actor=actor))
        return out

    def actor(self, attribution: Attribution, last_speaker: str | None) -> str | None:
        """The canonical actor the speaker phrase names, else the one it refers back to."""
        inside = [m for m in self.mentions if attribution.start <= m.start and m.end <= attribution.end]
        persons = [m for m in inside if m.label == "PERSON"]
        if persons:
            return persons[-1].actor
        phrase = self.text[attribution.start : attribution.end]
        words = phrase.casefold().split()
        if len(words) == 1 and words[0] in _PRONOUNS:
            before = [m for m in self.persons if m.end <= attribution.start]
            return before[-1].actor if before else last_speaker
        title = next((w for w in reversed(words) if w in self.titles), None)
        if title is not None and words[0] not in ("a", "an"):
            referent = self._titled(title, attribution.start) or (None if inside else last_speaker)
            if referent:
                return referent
        return inside[-1].actor if inside else _proper_name(phrase)

    def _titled(self, title: str, before: int) -> str | None:
        """The last person named with this title before `before` ("President … Tokayev")."""
        for mention in reversed([m for m in self.named if m.end <= before]):
            if title in self.text[max(0, mention.start - 40) : mention.start].casefold():
                return mention.actor
        return None


def _proper_name(phrase: str) -> str | None:
    """A capitalised name without its article or possessive ("the Brady Campaign" -> "Brady
    Campaign"); None for a common noun phrase ("a neighbor", "federal prosecutors")."""
    words = re.sub(r"['’]s?$", "", phrase).split()
    if words and words[0].casefold() in ("the", "a", "an"):
        words = words[1:]
    content = [w for w in words if w.casefold() not in ("of", "and", "the", "for", "to", "on")]
    if not content or not all(w[:1].isupper() for w in content):
        return None
    return " ".join(words)


def _depth(tok: Any) -> int:
    depth = 0
    while tok.head.i != tok.i:  # spaCy makes a new Token object per access: compare indices
        tok, depth = tok.head, depth + 1
    return depth


def _phrase(head: Any, start: int, end: int) -> tuple[int, int]:
    """The noun phrase of `head` within the sentence [start, end): its left modifiers and "of"
    phrases, not relative clauses or appositions."""
    first = head.left_edge
    last = head
    for child in head.rights:
        if child.dep_ == "prep" and child.lower_ == "of":
            last = child.right_edge
    while first.i < head.i and (first.is_punct or first.is_space or first.idx < start):
        first = first.doc[first.i + 1]
    while last.i > head.i and last.idx + len(last.text) > end:
        last = last.doc[last.i - 1]
    return first.idx, last.idx + len(last.text)


def is_quote(text: str) -> bool:
    """Does the sentence quote someone (a pair of quotation marks around words)?"""
    return bool(_QUOTED.search(text))
