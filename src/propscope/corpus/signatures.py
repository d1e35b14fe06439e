"""Compact MinHash signatures (datasketch) and the LSH band keys computed from them.

Memory is the constraint at corpus scale (other tools reach 31 GB for 6 GB of MinHashes, because
they keep 128+ 64-bit permutations per item in Python objects). Here a signature is 64 permutations
of 32 bits, 256 bytes, stored as one blob per passage; the LSH index keeps only one 64-bit key per
band in a numpy array (16 bands: 128 bytes per passage). Fewer permutations mean a blurrier
estimate, which is fine because every candidate pair is verified exactly afterwards.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
from datasketch import MinHash
from datasketch.minhash import _fmix

from propscope.corpus._text import SHINGLE_WORDS, Hashes

NUM_PERM = 64
SEED = 1
# Passages: 21 bands of 3 rows (63 of the 64 permutations). A pair becomes a candidate with
# probability 1-(1-J^3)^21: 0.995 at J=0.6, 0.94 at J=0.5, 0.80 at J=0.42 (the 1st percentile of
# copy pairs when both copies are edited, on the synthetic corpus), 0.16 at J=0.2, 0.003 at J=0.05
# (unrelated text in one topic). The exact check then removes every candidate below the threshold.
BANDS = 21
ROWS = 3
# Whole documents are compared for near-duplicates (Jaccard >= 0.8): 16 bands of 4 rows make that
# a candidate with probability 0.9998 while pairs that only share a footer (J ~0.07) almost never are.
DOCUMENT_BANDS = 16
DOCUMENT_ROWS = 4
# Stored with every signature: a change of shingling or hashing re-hashes the corpus.
SCHEME = f"w{SHINGLE_WORDS}-crc32-affine32-p{NUM_PERM}-s{SEED}"

BLOCK = 16_384  # shingles permuted at once (4 MB of working memory)

Signature = npt.NDArray[np.uint32]
BandKeys = npt.NDArray[np.uint64]


@cache
def _parameters() -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """datasketch's affine32 permutations (a, b) for our seed, drawn once per process."""
    a, b = MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32").permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


def permuted(grams: Hashes) -> npt.NDArray[np.uint32]:
    """Every shingle under every permutation, (len(grams), NUM_PERM).

    The same arithmetic as `datasketch.MinHash.update_batch` (affine32 scheme: MurmurHash3
    finaliser, then a*h+b mod 2^32), done once per document so each passage's signature is a
    column-wise minimum over a slice of rows; a test checks it against datasketch itself.
    """
    a, b = _parameters()
    mixed = _fmix(grams.astype(np.uint32).reshape(-1, 1), 32)
    return np.asarray(mixed * a + b, dtype=np.uint32)


def signature_of(rows: npt.NDArray[np.uint32]) -> Signature:
    """The MinHash of the shingles whose permuted rows are given (all ones for no shingles)."""
    if not len(rows):
        return np.full(NUM_PERM, np.iinfo(np.uint32).max, dtype=np.uint32)
    return np.asarray(rows.min(axis=0), dtype=np.uint32)


def signature(shingles: Hashes) -> Signature:
    """The MinHash of a set (or sequence) of shingle hashes, a block at a time: a 5 MB text has
    ~800k shingles, and all 64 permutations of them at once would take 200 MB."""
    result = signature_of(permuted(shingles[:BLOCK]))
    for start in range(BLOCK, len(shingles), BLOCK):
        result = np.minimum(result, signature_of(permuted(shingles[start : start + BLOCK])))
    return result


def to_bytes(sig: Signature) -> bytes:
    """The 256-byte little-endian blob stored in the database."""
    return sig.astype("<u4").tobytes()


def from_blobs(blobs: list[bytes]) -> npt.NDArray[np.uint32]:
    """Stored blobs as an (n, NUM_PERM) array."""
    if not blobs:
        return np.zeros((0, NUM_PERM), dtype=np.uint32)
    return np.frombuffer(b"".join(blobs), dtype="<u4").reshape(len(blobs), NUM_PERM)


def band_keys(sigs: npt.NDArray[np.uint32], bands: int = BANDS, rows_per_band: int = ROWS) -> BandKeys:
    """One 64-bit key per band ((n, bands) array): equal keys put two items in one bucket."""
    rows = sigs[:, : bands * rows_per_band].reshape(len(sigs), bands, rows_per_band).astype(np.uint64)
    keys = np.zeros((len(sigs), bands), dtype=np.uint64)
    for row in range(rows_per_band):  # FNV-style mixing; collisions only cost an extra exact check
        keys = (keys ^ rows[:, :, row]) * np.uint64(0x100000001B3)
    return keys
