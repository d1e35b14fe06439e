"""Speaker attribution scoring against tests/data/attribution_labelled.tsv.

The fixture holds hand-labelled reported statements as offsets into articles under
`../shared/data` (guidelines: tests/data/attribution_guidelines.md). A prediction is a sentence
span with the speaker, verb and quote flag the analyser gave it; it is scored against the gold
statements its sentence overlaps:

* **speaker correct**: the predicted speaker span overlaps the gold speaker span or its
  antecedent, or the predicted canonical speaker names the gold one (`same_speaker`);
* **precision**: correct predictions / predictions with a speaker (a speaker on a sentence that
  reports no statement is wrong);
* **recall**: gold statements with a correct prediction on their sentence / gold statements;
* **verb accuracy**: over correct pairs whose gold statement has a cue, the predicted verb as
  written equals the gold cue (case-folded); **quote accuracy**: over correct pairs,
  `quote` == (kind is direct); **actor accuracy**: over correct pairs, the canonical speaker
  (`speaker_actor`) names the gold speaker (`actor_correct`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

Offsets = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Gold:
    """One labelled reported statement (offsets into its article)."""

    article: str
    split: str
    stmt: Offsets
    speaker: Offsets | None
    antecedent: Offsets | None
    canonical: str
    verb: Offsets | None
    lemma: str
    direct: bool


@dataclass(frozen=True, slots=True)
class Predicted:
    """One sentence as the analyser attributed it."""

    start: int
    end: int
    speaker: Offsets | None
    actor: str | None
    verb: str | None
    quote: bool


def _span(start: str, end: str) -> Offsets | None:
    return None if start == "-" else (int(start), int(end))


def read_fixture(path: Path) -> list[Gold]:
    """The labelled statements, in file order ('#' lines are comments)."""
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    return [
        Gold(
            article=r["article_file"],
            split=r["split"],
            stmt=(int(r["stmt_start"]), int(r["stmt_end"])),
            speaker=_span(r["speaker_start"], r["speaker_end"]),
            antecedent=_span(r["antecedent_start"], r["antecedent_end"]),
            canonical=r["speaker_canonical"],
            verb=_span(r["verb_start"], r["verb_end"]),
            lemma=r["verb_lemma"],
            direct=r["kind"] == "direct",
        )
        for r in rows
    ]


def read_article(shared: Path, article: str) -> str:
    """An article's text exactly as the offsets count it (no newline translation)."""
    with (shared / "data" / article).open(encoding="utf-8", newline="") as handle:
        return handle.read()


def _overlaps(a: Offsets | None, b: Offsets | None) -> bool:
    return a is not None and b is not None and a[0] < b[1] and b[0] < a[1]


_FUNCTION_WORDS = frozenset({"of", "the", "and", "to", "for", "on"})
_NAME_NOISE = re.compile(r"^(the|a|an)\s+|['’]s?$")


def _words(name: str) -> list[str]:
    return _NAME_NOISE.sub("", name.casefold().strip()).replace(".", "").split()


def same_speaker(predicted: str | None, gold: str, aliases: Mapping[str, str] | None = None) -> bool:
    """Do two speaker names name the same speaker? After case, articles and possessives are
    dropped: equal; one begins or ends the other word by word ("Tokayev" / "Kassym-Jomart
    Tokayev", "Li" / "Li Qun"); an acronym of the other ("NRA"); the same actor in the alias
    table (`aliases`: casefolded alias -> actor, "White House" -> United States); or either
    conjunct of a gold "A and B"."""
    if not predicted:
        return False
    if " and " in gold and any(same_speaker(predicted, part, aliases) for part in gold.split(" and ")):
        return True
    a, b = _words(predicted), _words(gold)
    if not a or not b:
        return False
    if aliases and aliases.get(predicted.casefold()) == aliases.get(gold.casefold()) is not None:
        return True
    if len(a) == 1 and a[0] == "".join(w[0] for w in b if w not in _FUNCTION_WORDS):
        return True
    shorter, longer = sorted((a, b), key=len)
    return longer[: len(shorter)] == shorter or longer[len(longer) - len(shorter) :] == shorter


def actor_correct(actor: str | None, canonical: str, aliases: Mapping[str, str] | None = None) -> bool:
    """Is the canonical speaker right? A named gold speaker must be named (`same_speaker`); an
    unnamed one (lower-case label: "a neighbor", "a Justice Department official") must be left
    None or linked to an actor the label names ("Justice Department")."""
    if canonical[:1].islower():
        return actor is None or set(_words(actor)) <= set(_words(canonical))
    return same_speaker(actor, canonical, aliases)


def speaker_correct(pred: Predicted, gold: Gold, text: str) -> bool:
    """The prediction names the gold statement's speaker (see the module docstring)."""
    if _overlaps(pred.speaker, gold.speaker) or _overlaps(pred.speaker, gold.antecedent):
        return True
    surface = text[pred.speaker[0] : pred.speaker[1]] if pred.speaker else None
    return same_speaker(pred.actor, gold.canonical) or same_speaker(surface, gold.canonical)


@dataclass
class Tally:
    """Counts behind the figures; `add` scores one article."""

    predicted: int = 0
    correct_predictions: int = 0
    gold: int = 0
    recalled: int = 0
    gold_in_output: int = 0
    recalled_in_output: int = 0
    verb_pairs: int = 0
    verb_right: int = 0
    quote_pairs: int = 0
    quote_right: int = 0
    actor_right: int = 0
    aliases: Mapping[str, str] = field(default_factory=dict)  # casefolded alias -> actor

    def add(self, text: str, golds: Sequence[Gold], preds: Sequence[Predicted]) -> None:
        """Score one article's predictions (all its sentences the analyser output)."""
        attributed = [p for p in preds if p.speaker is not None]
        self.predicted += len(attributed)
        self.correct_predictions += sum(
            any(_overlaps((p.start, p.end), g.stmt) and speaker_correct(p, g, text) for g in golds)
            for p in attributed
        )
        for gold in golds:
            self._add_gold(text, gold, preds, attributed)

    def _add_gold(
        self, text: str, gold: Gold, preds: Sequence[Predicted], attributed: Sequence[Predicted]
    ) -> None:
        self.gold += 1
        self.gold_in_output += any(_overlaps((p.start, p.end), gold.stmt) for p in preds)
        right = [
            p for p in attributed if _overlaps((p.start, p.end), gold.stmt) and speaker_correct(p, gold, text)
        ]
        if not right:
            return
        self.recalled += 1
        self.recalled_in_output += 1
        pred = right[0]
        self.quote_pairs += 1
        self.quote_right += pred.quote == gold.direct
        self.actor_right += actor_correct(pred.actor, gold.canonical, self.aliases)
        if gold.verb is not None:
            self.verb_pairs += 1
            self.verb_right += (pred.verb or "").casefold() == text[gold.verb[0] : gold.verb[1]].casefold()

    def figures(self) -> dict[str, float | int]:
        """Precision, recall (over all gold and over gold the analyser output), F1, accuracies."""
        p = _ratio(self.correct_predictions, self.predicted)
        r = _ratio(self.recalled, self.gold)
        r_out = _ratio(self.recalled_in_output, self.gold_in_output)
        return {
            "gold_statements": self.gold,
            "predicted_attributions": self.predicted,
            "speaker_precision": p,
            "speaker_recall": r,
            "speaker_f1": _f1(p, r),
            "gold_in_output": self.gold_in_output,
            "speaker_recall_in_output": r_out,
            "speaker_f1_in_output": _f1(p, r_out),
            "verb_accuracy": _ratio(self.verb_right, self.verb_pairs),
            "quote_accuracy": _ratio(self.quote_right, self.quote_pairs),
            "actor_accuracy": _ratio(self.actor_right, self.quote_pairs),
        }


def _ratio(a: int, b: int) -> float:
    return round(a / b, 4) if b else 0.0


def _f1(p: float, r: float) -> float:
    return round(2 * p * r / (p + r), 4) if p + r else 0.0


def by_article(golds: Iterable[Gold]) -> dict[str, list[Gold]]:
    """Gold statements grouped by article, in fixture order."""
    out: dict[str, list[Gold]] = {}
    for gold in golds:
        out.setdefault(gold.article, []).append(gold)
    return out
