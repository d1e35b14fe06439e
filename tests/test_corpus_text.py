"""Words, fingerprints, alignment and durations: the units reuse detection is built from."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pytest

from propscope.corpus import _text, align, winnow
from propscope.corpus.durations import format_duration, parse_duration, round_up
from propscope.corpus.index import DocMeta, signature_rows
from propscope.errors import UsageError

RNG = random.Random(3)
VOCABULARY = [f"w{i}" for i in range(5000)]


def prose(count: int, rng: random.Random = RNG) -> list[str]:
    return [rng.choice(VOCABULARY) for _ in range(count)]


def tokens(words: list[str]) -> _text.Shingled:
    return _text.Shingled(" ".join(words), align.ANCHOR_WORDS)


@pytest.mark.parametrize("text", ["Ünïcode “quotes” and emoji 🙂 stay aligned.\r\n\r\nİstanbul ẞtraße end"])
def test_word_offsets_are_offsets_into_the_text(text: str) -> None:
    shingled = _text.Shingled(text)
    assert shingled.tokens == _text.words(text)
    for token, start, end in zip(shingled.tokens, shingled.starts, shingled.ends, strict=True):
        assert text[start:end].lower() == token


@pytest.mark.parametrize("length", [9, 12, 30])
def test_winnowing_guarantees_a_common_fingerprint(length: int) -> None:
    """Any shared run of WINDOW + SHINGLE_WORDS - 1 = 9 words or more yields a fingerprint in both."""
    rng = random.Random(length)
    for _ in range(50):
        shared = prose(length, rng)
        a = prose(rng.randint(0, 60), rng) + shared + prose(rng.randint(0, 60), rng)
        b = prose(rng.randint(0, 60), rng) + shared + prose(rng.randint(0, 60), rng)
        assert set(winnow.fingerprints(a)[0].tolist()) & set(winnow.fingerprints(b)[0].tolist())


def test_stored_fingerprints_are_compact_and_round_trip() -> None:
    text = " ".join(prose(600))
    (row,) = signature_rows("doc", text)
    hashes, positions = winnow.from_blob(row["signature"])
    assert row["words"] == 600 and len(row["signature"]) == 8 * len(hashes)
    assert 0.2 < len(hashes) / 600 < 0.4  # about 2 / (WINDOW + 1) of the positions
    grams = winnow.mixed_grams(_text.words(text))
    assert np.array_equal(grams[positions.astype(np.int64)], hashes)


def _edit(words: list[str], rate: float, rng: random.Random) -> list[str]:
    out: list[str] = []
    for word in words:
        roll = rng.random()
        if roll < rate / 3:
            out.append(rng.choice(VOCABULARY))  # substituted
        elif roll < 2 * rate / 3:
            continue  # dropped
        elif roll < rate:
            out += [word, rng.choice(VOCABULARY)]  # one added
        else:
            out.append(word)
    return out


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.10])
def test_an_edited_copy_aligns_whole_wherever_it_sits(rate: float) -> None:
    rng = random.Random(int(rate * 100))
    passage = prose(70, rng)
    host_a, host_b = prose(200, rng), prose(150, rng)
    a = host_a[:80] + passage + host_a[80:]
    b = host_b[:33] + _edit(passage, rate, rng) + host_b[33:]
    (hit,) = align.align(tokens(a), tokens(b))
    assert abs(hit.a_start - 80) <= 3 and abs(hit.a_end - 150) <= 3
    assert abs(hit.b_start - 33) <= 3
    assert hit.similarity >= 0.6


@pytest.mark.parametrize("change", ["sentence added", "sentence removed", "sentences swapped"])
def test_a_sentence_changed_inside_the_passage_keeps_one_alignment(change: str) -> None:
    rng = random.Random(7)
    sentences = [prose(15, rng) for _ in range(5)]
    copy = [list(s) for s in sentences]
    if change == "sentence added":
        copy.insert(2, prose(20, rng))
    elif change == "sentence removed":
        del copy[2]
    else:
        copy[1], copy[2] = copy[2], copy[1]
    a = prose(40, rng) + [w for s in sentences for w in s] + prose(40, rng)
    b = prose(25, rng) + [w for s in copy for w in s] + prose(25, rng)
    (hit,) = align.align(tokens(a), tokens(b))
    assert hit.a_start <= 42 and hit.a_end >= 40 + 75 - 2
    assert hit.similarity >= 0.6


def test_unrelated_texts_and_shared_phrases_do_not_align() -> None:
    rng = random.Random(11)
    phrase = prose(8, rng)  # a stock phrase, shorter than MIN_MATCHED
    a, b = prose(100, rng) + phrase + prose(100, rng), prose(60, rng) + phrase + prose(90, rng)
    assert align.align(tokens(a), tokens(b)) == []


def test_skipped_words_seed_nothing() -> None:
    rng = random.Random(5)
    passage = prose(40, rng)
    a, b = prose(30, rng) + passage, prose(20, rng) + passage
    skip = np.zeros(len(b), dtype=bool)
    skip[20:] = True
    assert align.align(tokens(a), tokens(b), None, skip) == []
    assert len(align.align(tokens(a), tokens(b))) == 1


def test_two_passages_copied_are_two_alignments() -> None:
    rng = random.Random(9)
    one, two = prose(40, rng), prose(40, rng)
    a = one + prose(100, rng) + two
    b = two + prose(80, rng) + one
    hits = align.align(tokens(a), tokens(b))
    assert sorted((h.a_start, h.b_start) for h in hits) == [(0, 120), (140, 0)]


def _index(docs: list[tuple[str, list[str]]]) -> winnow.Fingerprints:
    metas, columns = [], [[], [], []]
    for n, (outlet, words) in enumerate(docs):
        hashes, positions = winnow.fingerprints(words)
        metas.append(DocMeta(f"d{n}", outlet, None, None))
        columns[0].append(hashes)
        columns[1].append(np.full(len(hashes), n, np.int32))
        columns[2].append(positions)
    counts = np.array([len(w) for _, w in docs], np.int32)
    return winnow.Fingerprints(metas, *(np.concatenate(c) for c in columns), counts)  # type: ignore[arg-type]


def test_one_outlets_repeated_text_is_boilerplate_and_seeds_no_pair() -> None:
    rng = random.Random(13)
    footer, shared = prose(30, rng), prose(40, rng)
    docs = [("a", prose(80, rng) + footer) for _ in range(4)] + [
        ("b", prose(50, rng) + shared),
        ("c", shared),
    ]
    index = _index(docs)
    boiler = winnow.boilerplate(index)
    assert set(index.doc[boiler].tolist()) == {0, 1, 2, 3}
    assert winnow.candidate_pairs(index, boiler).tolist() == [[4, 5]]
    new = np.array([False, False, False, False, False, True])
    assert winnow.candidate_pairs(index, boiler, new).tolist() == [[4, 5]]
    only_footers = np.array([True, True, True, True, False, False])  # new: only the outlet's own
    assert winnow.candidate_pairs(index, boiler, only_footers).tolist() == []


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
