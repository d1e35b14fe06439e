"""Passages, shingles, signatures and durations: the units reuse detection is built from."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from datasketch import MinHash

from propscope.corpus import _text
from propscope.corpus import signatures as sigs
from propscope.corpus.durations import format_duration, parse_duration, round_up
from propscope.corpus.index import signature_rows
from propscope.errors import UsageError

SENTENCE = "The council of Morrow warned the port authority about grain exports on Monday. "


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("short line\n\n" + SENTENCE * 3 + "\n\n" + SENTENCE * 2, 2),  # blank-line paragraphs
        (SENTENCE * 3 + "\n" + SENTENCE * 3, 2),  # one paragraph per line
        ("Share this\n\nLeave a reply", 0),  # nothing long enough to be a passage
        (SENTENCE * 30, 3),  # one huge paragraph: cut at sentence ends, ~120 words each
    ],
)
def test_passages(text: str, count: int) -> None:
    found = _text.passages(text)
    assert len(found) == count
    for passage in found:
        assert passage.words >= _text.MIN_PASSAGE_WORDS
        assert not text[passage.start].isspace() and not text[passage.end - 1].isspace()


@pytest.mark.parametrize("text", ["Ünïcode “quotes” and emoji 🙂 stay aligned.\r\n\r\n" + SENTENCE * 4])
def test_passage_shingles_are_slices_of_the_document(text: str) -> None:
    shingled = _text.Shingled(text)
    for passage in _text.passages(text):
        expected = _text.shingle_hashes(text[passage.start : passage.end])
        assert np.array_equal(shingled.hashes(passage.start, passage.end), expected)


@pytest.mark.parametrize("text", [SENTENCE * 3, "two words"])
def test_signature_is_datasketch_minhash(text: str) -> None:
    shingles = _text.shingle_hashes(text)
    reference = MinHash(num_perm=sigs.NUM_PERM, seed=sigs.SEED, hashfunc=int, scheme="affine32")
    reference.update_batch(shingles.tolist())
    assert np.array_equal(sigs.signature(shingles), reference.hashvalues)


@pytest.mark.parametrize("text", [SENTENCE * 8])
def test_stored_signatures_match_their_text(text: str) -> None:
    for row in signature_rows("doc", text):
        stored = sigs.from_blobs([row["signature"]])[0]
        assert len(row["signature"]) == 4 * sigs.NUM_PERM  # compact: 256 bytes
        assert np.array_equal(stored, sigs.signature(_text.shingle_hashes(text[row["start"] : row["end"]])))


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        (SENTENCE * 2, SENTENCE * 2, 1.0, 1.0),
        (SENTENCE * 2, SENTENCE.replace("grain", "rice") * 2, 0.4, 0.9),
        (SENTENCE, "Nothing in common with that sentence at all, truly nothing here.", 0.0, 0.0),
    ],
)
def test_jaccard(a: str, b: str, low: float, high: float) -> None:
    assert low <= _text.jaccard(_text.shingle_hashes(a), _text.shingle_hashes(b)) <= high


@pytest.mark.parametrize(
    ("value", "expected", "printed"),
    [
        ("90m", timedelta(minutes=90), "1h30m"),
        ("72h", timedelta(days=3), "3d"),
        ("3d", timedelta(days=3), "3d"),
        ("1h30m", timedelta(minutes=90), "1h30m"),
        (" 45s ", timedelta(seconds=45), "45s"),
    ],
)
def test_parse_duration(value: str, expected: timedelta, printed: str) -> None:
    assert parse_duration(value) == expected
    assert format_duration(expected) == printed


@pytest.mark.parametrize("value", ["", "3", "h", "3x", "0h", "-2h", "3 days"])
def test_bad_duration_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError, match=r"E401 .* is not a duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(seconds=5), timedelta(minutes=1)),
        (timedelta(minutes=50, seconds=1), timedelta(minutes=51)),
        (timedelta(hours=5, minutes=1), timedelta(hours=6)),
        (timedelta(days=2, hours=1), timedelta(days=3)),
    ],
)
def test_round_up(value: timedelta, expected: timedelta) -> None:
    assert round_up(value) == expected


@pytest.mark.parametrize("count", [sigs.BLOCK * 2 + 5])
def test_long_texts_are_hashed_in_blocks(count: int) -> None:
    shingles = np.random.default_rng(1).integers(0, 2**32, size=count, dtype=np.uint64).astype(np.uint32)
    reference = MinHash(num_perm=sigs.NUM_PERM, seed=sigs.SEED, hashfunc=int, scheme="affine32")
    reference.update_batch(shingles.tolist())
    assert np.array_equal(sigs.signature(shingles), reference.hashvalues)
