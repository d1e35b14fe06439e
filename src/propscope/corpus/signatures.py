"""Compact MinHash signatures (datasketch) and the LSH band keys computed from them.

Memory is the constraint at corpus scale (other tools reach 31 GB for 6 GB of MinHashes, because
they keep 128+ 64-bit permutations per item in Python objects). Here a signature is 64 permutations
of 32 bits, 256 bytes, stored as one blob per passage; the LSH index keeps only one 64-bit key per
band in a numpy array (16 bands: 128 bytes per passage). Fewer permutations mean a blurrier
estimate, which is fine because every candidate pair is verified exactly afterwards.
"""

from __future__ import annotations

import zlib
from functools import cache

import numpy as np
import numpy.typing as npt
from datasketch import MinHash

from propscope.corpus._text import SHINGLE_WORDS, Hashes

NUM_PERM = 64
SEED = 1
# 16 bands of 4 rows: a pair is a candidate with probability 1-(1-J^4)^16, i.e. 0.96 at J=0.65
# (a copy with 5% of its words edited), 0.64 at J=0.5 and 0.03 at J=0.2 (unrelated text in the
# same topic). The exact check then removes every candidate below the threshold.
BANDS = 16
ROWS = NUM_PERM // BANDS
# Stored with every signature: a change of shingling or hashing re-hashes the corpus.
SCHEME = f"w{SHINGLE_WORDS}-crc32-affine32-p{NUM_PERM}-s{SEED}"

Signature = npt.NDArray[np.uint32]
BandKeys = npt.NDArray[np.uint64]


def _crc32(value: bytes) -> int:
    return zlib.crc32(value)


@cache
def _permutations() -> npt.NDArray[np.uint32]:
    """The permutation parameters, drawn once per process (datasketch redraws them per MinHash)."""
    return np.asarray(MinHash(num_perm=NUM_PERM, seed=SEED, scheme="affine32").permutations)


def signature(shingles: Hashes) -> Signature:
    """The MinHash of a set of shingle hashes (already CRC-32 values, so hashing is identity)."""
    minhash = MinHash(
        num_perm=NUM_PERM,
        seed=SEED,
        hashfunc=int,
        permutations=_permutations(),
        scheme="affine32",
    )
    if len(shingles):
        minhash.update_batch(shingles.tolist())
    return np.asarray(minhash.hashvalues, dtype=np.uint32)


def to_bytes(sig: Signature) -> bytes:
    """The 256-byte little-endian blob stored in the database."""
    return sig.astype("<u4").tobytes()


def from_blobs(blobs: list[bytes]) -> npt.NDArray[np.uint32]:
    """Stored blobs as an (n, NUM_PERM) array."""
    if not blobs:
        return np.zeros((0, NUM_PERM), dtype=np.uint32)
    return np.frombuffer(b"".join(blobs), dtype="<u4").reshape(len(blobs), NUM_PERM)


def band_keys(sigs: npt.NDArray[np.uint32]) -> BandKeys:
    """One 64-bit key per band per row ((n, BANDS) array): equal keys put passages in one bucket."""
    rows = sigs.reshape(len(sigs), BANDS, ROWS).astype(np.uint64)
    keys = np.zeros((len(sigs), BANDS), dtype=np.uint64)
    for row in range(ROWS):  # FNV-style mixing; collisions only cost an extra exact check
        keys = (keys ^ rows[:, :, row]) * np.uint64(0x100000001B3)
    return keys
