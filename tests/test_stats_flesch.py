"""Flesch scores stay on their scale (issue 13, D23): a giant one-word line or text without
sentence punctuation no longer gives reading ease in the millions."""

from __future__ import annotations

import pytest

from propscope.analyzers.stats import text_stats


@pytest.mark.parametrize(
    "text",
    [
        "aeiou" * 980_000,  # a 4.9 MB one-word line with 980,000 vowel groups
        " ".join(["word"] * 20_000),  # no sentence punctuation at all
        "Indivisibility, incomprehensibility, antidisestablishmentarianism.",
        "Go. Be. Do. See.",
    ],
    ids=["giant-word", "run-on", "long-words", "tiny-sentences"],
)
def test_flesch_scores_stay_in_range(text: str) -> None:
    stats = text_stats(text)
    assert 0.0 <= stats["flesch_reading_ease"] <= 100.0
    assert 0.0 <= stats["flesch_kincaid_grade"] <= 20.0  # MAX_GRADE


def test_ordinary_prose_keeps_its_score() -> None:
    text = (
        "The council met on Tuesday to discuss the budget. Members agreed that the harbour "
        "repairs should come first. Several said the town could not wait another winter."
    )
    stats = text_stats(text)
    assert stats["flesch_reading_ease"] == pytest.approx(72.4, abs=0.05)  # as before the clamp
    assert stats["flesch_kincaid_grade"] == pytest.approx(5.4, abs=0.05)
