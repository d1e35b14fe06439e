"""Text statistics: size, reading level and misspelling rate.

Cheap signals a reader of scraped propaganda wants at a glance: sloppy copy (a high misspelling
rate) and reading level often separate content farms from newsrooms. The word list is the English
frequency dictionary packaged in pyspellchecker, so nothing is fetched at run time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from functools import cache
from typing import Any

from spellchecker import SpellChecker

from propscope.document import Annotations, Document

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n\s*\n")
_VOWEL_GROUPS = re.compile(r"[aeiouy]+")

MISSPELLINGS_SHOWN = 10
# Flesch's formulas were fitted on ordinary prose: sentences of a few to some 40 words, words of
# one to six syllables. A giant "word" (a 4.9 MB line without spaces, a hash) or text without
# sentence punctuation (a scraped list) sent reading ease to -73 million. So a word counts at
# most MAX_WORD_SYLLABLES syllables ("incomprehensibility" has 8), a run-on sentence counts as
# one sentence per MAX_SENTENCE_WORDS words, and the scores are clamped to the range the scale
# gives a meaning: reading ease 0 (very hard) to 100 (very easy), grade 0 to MAX_GRADE.
MAX_WORD_SYLLABLES = 8
MAX_SENTENCE_WORDS = 60
READING_EASE_RANGE = (0.0, 100.0)
MAX_GRADE = 20.0


@cache
def _spellchecker() -> SpellChecker:
    return SpellChecker(language="en")


def count_syllables(word: str) -> int:
    """Vowel groups, minus a silent final 'e': within one syllable of a dictionary on most words."""
    word = word.lower()
    count = len(_VOWEL_GROUPS.findall(word))
    if word.endswith("e") and not word.endswith(("le", "ee")) and count > 1:
        count -= 1
    return max(count, 1)


def _candidate_words(text: str) -> list[str]:
    """Lower-case words worth spell-checking: names (capitalised) are skipped, not flagged."""
    candidates = []
    for match in _WORD.finditer(text):
        word = match.group()
        if word[0].isupper() or len(word) < 3:
            continue
        candidates.append(word.replace("’", "'").lower())
    return candidates


_BRITISH_TO_US = (
    ("ise", "ize"),
    ("isa", "iza"),
    ("our", "or"),
    ("tre", "ter"),
    ("lled", "led"),
    ("ence", "ense"),
)


def _us_spellings(word: str) -> list[str]:
    """British spellings are not errors: try the US form the word list knows."""
    return [word.replace(uk, us) for uk, us in _BRITISH_TO_US if uk in word]


def text_stats(text: str, language: str | None = None) -> dict[str, Any]:
    """Words, sentences, Flesch reading scores and misspellings of one text."""
    words = _WORD.findall(text)
    sentences = max(len([s for s in _SENTENCE_END.split(text) if _WORD.search(s)]), 1)
    n_words = len(words)
    stats: dict[str, Any] = {
        "characters": len(text),
        "words": n_words,
        "sentences": sentences,
        "words_per_sentence": round(n_words / sentences, 2),
        "flesch_reading_ease": None,
        "flesch_kincaid_grade": None,
        "misspelling_rate": None,
        "misspellings": [],
    }
    if n_words:
        stats.update(flesch_scores(words, sentences))
    if language in (None, "en") and n_words:
        stats.update(_misspellings(text, n_words))
    return stats


def _clamp(value: float, low: float, high: float) -> float:
    return round(min(max(value, low), high), 1)


def flesch_scores(words: Sequence[str], sentences: int) -> dict[str, float]:
    """Flesch reading ease and Flesch-Kincaid grade, on sentence-sane units and clamped.

    Args:
        words: the text's words (at least one).
        sentences: its sentence count; run-on sentences count as MAX_SENTENCE_WORDS-word ones.

    Returns:
        {"flesch_reading_ease": 0..100, "flesch_kincaid_grade": 0..MAX_GRADE}.
    """
    units = max(sentences, -(-len(words) // MAX_SENTENCE_WORDS))
    per_sentence = len(words) / units
    per_word = sum(min(count_syllables(w), MAX_WORD_SYLLABLES) for w in words) / len(words)
    ease = 206.835 - 1.015 * per_sentence - 84.6 * per_word
    grade = 0.39 * per_sentence + 11.8 * per_word - 15.59
    return {
        "flesch_reading_ease": _clamp(ease, *READING_EASE_RANGE),
        "flesch_kincaid_grade": _clamp(grade, 0.0, MAX_GRADE),
    }


def _misspellings(text: str, n_words: int) -> dict[str, Any]:
    candidates = _candidate_words(text)
    checker = _spellchecker()
    unknown = {w for w in checker.unknown(candidates) if not checker.known(_us_spellings(w))}
    misspelt = Counter(word for word in candidates if word in unknown)
    return {
        "misspelling_rate": round(sum(misspelt.values()) / n_words, 4),
        "misspellings": [word for word, _ in misspelt.most_common(MISSPELLINGS_SHOWN)],
    }


class StatsAnalyzer:
    """The `stats` analyser: no model, a few milliseconds an article."""

    name = "stats"
    version = "stats-1"
    produces = ("stats",)
    requires: tuple[str, ...] = ()

    def analyze(
        self, docs: Sequence[Document], prior: Sequence[Annotations] | None = None
    ) -> list[Annotations]:
        return [Annotations(stats=text_stats(doc.text, doc.language)) for doc in docs]
