"""Technique score calibration: the metric, the map, and the shipped map's fit to its model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from propscope.analyzers.techniques import MODEL_DIR
from propscope.models.calibration import (
    Calibration,
    calibration_inputs,
    expected_calibration_error,
    load_maps,
    reliability,
)


@pytest.mark.parametrize(
    ("prob", "outcome", "ece"),
    [
        ([0.05, 0.05, 0.95, 0.95], [0, 0, 1, 1], 0.05),  # confident and right: the 0.05 gap
        ([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1], 0.0),  # unsure and right half the time
        ([0.9, 0.9], [0, 0], 0.9),  # confident and always wrong
    ],
)
def test_expected_calibration_error(prob: list[float], outcome: list[int], ece: float) -> None:
    assert expected_calibration_error(prob, outcome) == pytest.approx(ece)


def test_reliability_bins_hold_every_prediction_once() -> None:
    table = reliability([0.0, 0.1, 0.55, 0.99, 1.0], [0, 0, 1, 1, 1])
    assert len(table) == 10
    assert sum(row["n"] for row in table) == 5
    assert table[9]["n"] == 2  # 0.99 and 1.0 share the top bin


def test_calibration_round_trips_and_refuses_a_wrong_shape() -> None:
    calibration = Calibration(("A", "B"), (0.5, 0.2, 1.0, 0.3, -0.3), -0.1)
    assert Calibration.from_json(json.loads(json.dumps(calibration.to_json()))) == calibration
    broken = calibration.to_json() | {"weights": [0.1, 0.2]}
    with pytest.raises(ValueError, match="one weight per label"):
        Calibration.from_json(broken)


def test_probability_is_a_probability_and_follows_the_weights() -> None:
    calibration = Calibration(("A", "B"), (0.0, 1.0, 0.0, 0.0, 0.0), 0.0)  # longer = likelier
    probs = np.array([0.3, 0.7])
    short = calibration.probability(calibration_inputs(0.6, 3, probs))
    long = calibration.probability(calibration_inputs(0.6, 300, probs))
    assert 0.0 < short < long < 1.0


def test_shipped_map_belongs_to_the_shipped_model() -> None:
    config = json.loads((MODEL_DIR / "config.json").read_text("utf-8"))
    shipped = json.loads((MODEL_DIR / "calibration.json").read_text("utf-8"))
    assert shipped["model"] == config["version"]
    maps = load_maps(MODEL_DIR / "calibration.json")
    assert maps is not None
    assert all(m.labels == tuple(config["labels"]) for m in maps)


def test_a_folder_without_calibration_keeps_raw_scores(tmp_path: object) -> None:
    from pathlib import Path

    assert load_maps(Path(str(tmp_path)) / "calibration.json") is None
