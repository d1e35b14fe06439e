"""Passages and word shingles: the units reuse detection compares.

A passage is a paragraph (a run of non-empty lines) of at least `MIN_PASSAGE_WORDS` words; longer
paragraphs are cut into windows of about `MAX_PASSAGE_WORDS` words at sentence ends, so a text
scraped without line breaks still yields passages a copy can be matched against.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

import numpy as np
import numpy.typing as npt

SHINGLE_WORDS = 4  # 4-word shingles: a 5% word edit rate still leaves Jaccard ~0.65 on a copy
MIN_PASSAGE_WORDS = 15  # shorter lines (datelines, captions, "Share this") match by chance
MAX_PASSAGE_WORDS = 120  # longer paragraphs are split so one copied sentence block still matches

_BLOCK = re.compile(r"\S[^\n]*(?:\n[ \t]*\S[^\n]*)*")  # lines up to a blank line
_LINE = re.compile(r"\S[^\n]*")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?…]['\"’”»)]*\s+")

Hashes = npt.NDArray[np.uint32]


@dataclass(frozen=True, slots=True)
class Passage:
    """A paragraph-sized piece of a document: end-exclusive character offsets into its text."""

    start: int
    end: int
    words: int


def words(text: str) -> list[str]:
    """Lower-cased word tokens; punctuation and case never decide whether text was copied."""
    lowered = text.lower()
    if len(lowered) == len(text):  # the common case: one C call instead of a call per word
        return _WORD.findall(lowered)
    return [match.group().lower() for match in _WORD.finditer(text)]


@lru_cache(maxsize=1 << 18)
def _token_hash(token: str) -> int:
    return zlib.crc32(token.encode())


def gram_hashes(tokens: list[str], size: int = SHINGLE_WORDS) -> Hashes:
    """A 32-bit hash per shingle position (stable across processes); a short text is one shingle.

    Tokens are hashed once (CRC-32) and combined FNV-style, vectorised, instead of hashing each
    joined shingle string: five times faster, and datasketch's MinHash pre-mixes the values anyway.
    """
    hashed = np.fromiter(map(_token_hash, tokens), np.uint32, len(tokens))
    width = len(hashed) - size + 1
    if width < 1:
        width, size = (1, len(hashed)) if len(hashed) else (0, 0)
    combined = np.zeros(width, dtype=np.uint32)
    for offset in range(size):
        combined = (combined * np.uint32(0x01000193)) ^ hashed[offset : offset + width]
    return combined


def shingle_hashes(text: str, size: int = SHINGLE_WORDS) -> Hashes:
    """The distinct hashes of the text's word shingles, sorted."""
    return np.unique(gram_hashes(words(text), size))


class Shingled:
    """A text tokenised and shingled once, so its passages' shingles are slices, not re-work."""

    def __init__(self, text: str, size: int = SHINGLE_WORDS) -> None:
        lowered = text.lower()
        same = len(lowered) == len(text)  # then offsets in `lowered` are offsets in `text`
        matches = list(_WORD.finditer(lowered if same else text))
        self.size = size
        self.tokens = [m.group() for m in matches] if same else [m.group().lower() for m in matches]
        self.starts = np.fromiter((m.start() for m in matches), np.int64, len(matches))
        self.grams = gram_hashes(self.tokens, size)

    def gram_slice(self, start: int, end: int) -> slice | None:
        """Which of `self.grams` lie in text[start:end]; None when the span is under one shingle."""
        first, stop = np.searchsorted(self.starts, [start, end]).tolist()
        return slice(first, stop - self.size + 1) if stop - first >= self.size else None

    def grams_of(self, start: int, end: int) -> Hashes:
        """The shingle hashes of text[start:end] (spans that do not cut a word), by position."""
        span = self.gram_slice(start, end)
        if span is None:
            first, stop = np.searchsorted(self.starts, [start, end]).tolist()
            return gram_hashes(self.tokens[first:stop], self.size)
        return self.grams[span]

    def hashes(self, start: int, end: int) -> Hashes:
        """Equal to `shingle_hashes(text[start:end])`."""
        return np.unique(self.grams_of(start, end))


def jaccard(a: Hashes, b: Hashes) -> float:
    """Exact Jaccard similarity of two sorted, distinct hash arrays."""
    if not len(a) or not len(b):
        return 0.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)


def aligned_ratio(a: str, b: str) -> float:
    """The share of words of two texts that difflib aligns in matching blocks (0..1)."""
    return SequenceMatcher(None, words(a), words(b), autojunk=False).ratio()


def passages(text: str) -> list[Passage]:
    """The passages of a text, in reading order."""
    # Blank lines separate paragraphs when the text has any (hard-wrapped text keeps short
    # lines inside a paragraph); otherwise every line is one (scraped text, one per line).
    paragraph = _BLOCK if _BLANK_LINE.search(text) else _LINE
    found: list[Passage] = []
    for match in paragraph.finditer(text):
        for start, end in _windows(text, match.start(), match.end()):
            count = len(_WORD.findall(text, start, end))
            if count >= MIN_PASSAGE_WORDS:
                found.append(Passage(start, end, count))
    return found


def _windows(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """Split [start, end) at sentence ends into pieces of at most ~MAX_PASSAGE_WORDS words."""
    piece_start = previous = start
    count = 0
    for sentence_end in _sentence_ends(text, start, end):
        count += len(_WORD.findall(text, previous, sentence_end))
        previous = sentence_end
        if count >= MAX_PASSAGE_WORDS:
            yield piece_start, _strip_end(text, piece_start, sentence_end)
            piece_start, count = sentence_end, 0
    if piece_start < end:
        yield piece_start, _strip_end(text, piece_start, end)


def _sentence_ends(text: str, start: int, end: int) -> Iterator[int]:
    for match in _SENTENCE_END.finditer(text, start, end):
        yield match.end()
    yield end


def _strip_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end
