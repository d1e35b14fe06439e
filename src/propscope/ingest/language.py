"""Language identification with lingua, built once and only when first needed."""

from __future__ import annotations

from functools import cache
from typing import Any

# Fewer letters than this and close pairs flip: in a spot check on headlines in
# en/de/nl/fr/es/ru/uk, 20-letter ones gave Dutch as Afrikaans (0.66) and split Ukrainian and
# Russian 0.50/0.49; from 30 letters on every one was right (confidence 0.73-1.0).
MIN_LETTERS = 30
# Enough text for a confident answer: ~80 words, where low-accuracy (trigram) mode is reliable
# (it is from ~120 chars). Lingua's time grows with the sample: ~2 ms at 500 chars, ~4 ms at
# 1,000 (all languages), so reading more only costs time.
SAMPLE_CHARS = 500
# Below this confidence we say "unknown" rather than guess; right answers above MIN_LETTERS
# scored 0.73-1.0 in the same spot check, so 0.5 mostly turns away mixed or list-like text.
MIN_CONFIDENCE = 0.5


@cache
def _detector() -> Any:
    """All languages in low-accuracy (trigram) mode: ~0.5 s to build (models load on first use)."""
    from lingua import LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of the text's language ("en"), or None when too short or unsure.

    Args:
        text: any text; only its first SAMPLE_CHARS characters are read.

    Returns:
        A lower-case two-letter code, or None.
    """
    sample = text[:SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return None
    values = _detector().compute_language_confidence_values(sample)
    if not values or values[0].value < MIN_CONFIDENCE:
        return None
    return str(values[0].language.iso_code_639_1.name.lower())
