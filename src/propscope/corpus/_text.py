"""Words and word shingles: the units reuse detection hashes and aligns.

Words are lower-cased `\\w+` tokens, so case, punctuation and quote styles never decide whether
text was copied; paragraphs and line breaks play no part at all.
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache

import numpy as np
import numpy.typing as npt

SHINGLE_WORDS = 4  # 4-word shingles seed candidates: rarer than 3-word runs, still many per copy
_WORD = re.compile(r"\w+")

Hashes = npt.NDArray[np.uint32]


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
    joined shingle string: five times faster; `winnow` mixes the values before comparing them.
    """
    hashed = np.fromiter(map(_token_hash, tokens), np.uint32, len(tokens))
    width = len(hashed) - size + 1
    if width < 1:
        width, size = (1, len(hashed)) if len(hashed) else (0, 0)
    combined = np.zeros(width, dtype=np.uint32)
    for offset in range(size):
        combined = (combined * np.uint32(0x01000193)) ^ hashed[offset : offset + width]
    return combined


class Shingled:
    """A text tokenised (words with their character offsets) and shingled once."""

    def __init__(self, text: str, size: int = SHINGLE_WORDS) -> None:
        lowered = text.lower()
        same = len(lowered) == len(text)  # then offsets in `lowered` are offsets in `text`
        matches = list(_WORD.finditer(lowered if same else text))
        self.size = size
        self.tokens = [m.group() for m in matches] if same else [m.group().lower() for m in matches]
        self.starts = np.fromiter((m.start() for m in matches), np.int64, len(matches))
        self.ends = np.fromiter((m.end() for m in matches), np.int64, len(matches))
        self.grams = gram_hashes(self.tokens, size)
