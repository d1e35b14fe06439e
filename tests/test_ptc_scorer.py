"""The official SemEval-2020 Task 11 metrics, on hand-made cases worked out on paper."""

from __future__ import annotations

from pathlib import Path

import pytest

from propscope.eval.ptc import (
    TCRow,
    merge_spans,
    read_si_labels,
    read_tc_labels,
    si_scores,
    tc_scores,
    top_k_labels,
)


@pytest.mark.parametrize(
    ("predicted", "gold", "want"),
    [
        # perfect
        ({"1": [(0, 10)]}, {"1": [(0, 10)]}, (1.0, 1.0)),
        # disjoint
        ({"1": [(20, 30)]}, {"1": [(0, 10)]}, (0.0, 0.0)),
        # partial: |s∩t| = 5, |s| = 10, |t| = 20
        ({"1": [(0, 10)]}, {"1": [(5, 25)]}, (0.5, 0.25)),
        # one prediction across two gold spans: P = (5+5)/10, R = (5/5 + 5/5)/2
        ({"1": [(0, 10)]}, {"1": [(0, 5), (5, 10)]}, (1.0, 1.0)),
        # overlapping gold is merged first: one gold span (0, 15)
        ({"1": [(0, 15)]}, {"1": [(0, 10), (5, 15)]}, (1.0, 1.0)),
        # nothing predicted
        ({}, {"1": [(0, 10)]}, (0.0, 0.0)),
        # spans in the wrong article earn nothing
        ({"2": [(0, 10)]}, {"1": [(0, 10)]}, (0.0, 0.0)),
        # pooled over articles: 2 predictions (one right), 2 gold (one found)
        ({"1": [(0, 10)], "2": [(50, 60)]}, {"1": [(0, 10)], "2": [(0, 10)]}, (0.5, 0.5)),
    ],
)
def test_si_scores(predicted: dict, gold: dict, want: tuple[float, float]) -> None:
    scores = si_scores(predicted, gold)
    assert scores["precision"] == pytest.approx(want[0])
    assert scores["recall"] == pytest.approx(want[1])
    p, r = want
    assert scores["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)


@pytest.mark.parametrize(
    ("spans", "want"),
    [([(5, 9), (0, 3), (2, 6)], [(0, 9)]), ([(0, 3), (3, 6)], [(0, 3), (3, 6)]), ([], [])],
)
def test_merge_spans(spans: list, want: list) -> None:
    assert merge_spans(spans) == want


def _rows(*specs: tuple[str, int, int]) -> list[TCRow]:
    return [TCRow("1", technique, start, end) for technique, start, end in specs]


@pytest.mark.parametrize(
    ("gold", "predicted", "micro"),
    [
        (_rows(("Doubt", 0, 5), ("Slogans", 6, 9)), ["Doubt", "Slogans"], 1.0),
        (_rows(("Doubt", 0, 5), ("Slogans", 6, 9)), ["Slogans", "Doubt"], 0.0),
        (_rows(("Doubt", 0, 5), ("Slogans", 6, 9)), ["Doubt", "Doubt"], 0.5),
        # duplicate span with two labels: order of the predictions does not matter
        (_rows(("Doubt", 0, 5), ("Repetition", 0, 5)), ["Repetition", "Doubt"], 1.0),
        # duplicate span, one label right, one wrong
        (_rows(("Doubt", 0, 5), ("Repetition", 0, 5)), ["Repetition", "Slogans"], 0.5),
    ],
)
def test_tc_micro_f1(gold: list[TCRow], predicted: list[str], micro: float) -> None:
    assert tc_scores(gold, predicted)["micro_f1"] == pytest.approx(micro)


@pytest.mark.parametrize("technique", ["Doubt"])
def test_tc_per_technique_and_confusion(technique: str) -> None:
    gold = _rows((technique, 0, 5), (technique, 6, 9), ("Slogans", 10, 12))
    result = tc_scores(gold, [technique, "Slogans", "Slogans"])
    row = result["per_technique"][technique]  # type: ignore[index]
    assert row["precision"] == pytest.approx(1.0)
    assert row["recall"] == pytest.approx(0.5)
    assert result["confusion"][technique]["Slogans"] == 1  # type: ignore[index]


@pytest.mark.parametrize("n", [1])
def test_tc_needs_one_prediction_per_row(n: int) -> None:
    with pytest.raises(ValueError, match="predictions for"):
        tc_scores(_rows(("Doubt", 0, 5)), ["Doubt"] * (n + 1))


@pytest.mark.parametrize(("k", "want"), [(1, ["b"]), (2, ["b", "a"]), (4, ["b", "a", "c", "b"])])
def test_top_k_labels(k: int, want: list[str]) -> None:
    assert top_k_labels([("a", 0.3), ("b", 0.6), ("c", 0.1)], k) == want


@pytest.mark.parametrize("row", ["111\tDoubt\t3\t9"])
def test_readers(tmp_path: Path, row: str) -> None:
    (tmp_path / "tc.labels").write_text(row + "\n\n", encoding="utf-8")
    (tmp_path / "si.labels").write_text("111\t3\t9\n", encoding="utf-8")
    assert read_tc_labels(tmp_path / "tc.labels") == [TCRow("111", "Doubt", 3, 9)]
    assert read_si_labels(tmp_path / "si.labels") == {"111": [(3, 9)]}
