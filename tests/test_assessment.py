"""The article-level assessment (issue 14 item 5): a calibrated map over the technique spans,
in every result, stored with it and shown at the top of the views."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from propscope.analyzers.techniques import MODEL_DIR, TechniqueAnalyzer
from propscope.document import Document, Result
from propscope.models.assessment import Assessor, unit_features
from propscope.render import assessment_text


def shipped() -> Assessor:
    assessor = Assessor.load(MODEL_DIR)
    assert assessor is not None
    return assessor


def test_features_noisy_or_and_density() -> None:
    x = unit_features([0.5, 0.5], 200)
    assert x[0] == pytest.approx(0.75)  # 1 - 0.5 * 0.5
    assert x[1] == pytest.approx(0.5)  # one expected span in 200 words
    assert unit_features([], 100)[0] == 0.0


def test_more_and_surer_spans_mean_a_higher_probability() -> None:
    assessor = shipped()
    none = assessor.probability_of(unit_features([], 300))
    one = assessor.probability_of(unit_features([0.4], 300))
    many = assessor.probability_of(unit_features([0.8, 0.7, 0.9], 300))
    assert 0.0 < none < one < many < 1.0


def test_percentile_is_a_rank_among_the_reference() -> None:
    assessor = Assessor((0.0, 0.0, 0.0), 0.0, (0.1, 0.2, 0.3, 0.4))
    assert assessor.percentile(0.0) == 0
    assert assessor.percentile(0.25) == 50
    assert assessor.percentile(9.0) == 100


def test_a_folder_without_a_map_gives_no_assessment(tmp_path: Path) -> None:
    assert Assessor.load(tmp_path) is None


def test_shipped_map_is_for_the_shipped_model() -> None:
    data = json.loads((MODEL_DIR / "assessment.json").read_text("utf-8"))
    config = json.loads((MODEL_DIR / "config.json").read_text("utf-8"))
    assert data["model"] == config["version"]
    assert len(data["weights"]) == 3 and np.all(np.diff(data["density_quantiles"]) >= 0)


@pytest.mark.slow
def test_every_result_carries_the_assessment_and_it_round_trips() -> None:
    text = (
        "Officials said the so-called protesters were paid by foreign agents. Everyone knows the "
        "traitors in parliament are destroying our great nation, and they must be stopped now."
    )
    doc = Document(text=text, id="a1")
    annotations = TechniqueAnalyzer().analyze([doc])[0]
    assessment = annotations.assessment
    assert 0.0 <= assessment["propaganda_probability"] <= 1.0
    assert assessment["profile"] == "fast"
    assert sum(assessment["techniques"].values()) == len(annotations.techniques)
    result = Result(doc, annotations, {"techniques": "t"})
    again = Result.from_json(json.loads(json.dumps(result.to_json())))
    assert again.assessment == assessment
    assert "likely that this article uses any" in assessment_text(assessment)
