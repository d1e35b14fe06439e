"""The catalogue matcher's calibrated scores, threshold and abstention, with a fake embedding
(so the logic is tested, not MiniLM), and how "No known narrative" is shown."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from propscope import render
from propscope.analyzers.narratives import CatalogueMatching, Matcher
from propscope.document import Annotations, Document, Evidence, Narrative, Result
from propscope.errors import UsageError
from propscope.narratives import NarrativeEntry
from propscope.narratives.layer import ScoringLayer, sigmoid

REVOLT = "Foreign embassies planned and paid for every one of the street protests."
GAS = "The gas pipeline will be closed to punish the whole of Europe this winter."
DULL = "The library extended its opening hours for the children of the town."
VECTORS = {REVOLT: (1.0, 0.0, 0.0), GAS: (0.0, 1.0, 0.0), DULL: (0.0, 0.0, 1.0)}
REVOLT_EXAMPLE, GAS_EXAMPLE = "revolt example", "gas example"
EXAMPLES = {REVOLT_EXAMPLE: (0.96, 0.28, 0.0), GAS_EXAMPLE: (0.0, 0.8352, 0.55)}


def entry(narrative_id: str, example: str) -> NarrativeEntry:
    return NarrativeEntry(narrative_id, f"Title of {narrative_id}", "d", (example,) * 4, (), ())


ENTRIES = (entry("colour", REVOLT_EXAMPLE), entry("gas", GAS_EXAMPLE))


def fake_embed(texts: Sequence[str]) -> np.ndarray:
    table = {**VECTORS, **EXAMPLES}
    return np.array([table[t] for t in texts], dtype=np.float32).reshape(len(texts), 3)


def layer(ids: tuple[str, ...] = ("colour", "gas"), threshold: float = 0.5) -> ScoringLayer:
    """Logit = 10 * cosine - 6 per narrative (vector weights zero), Platt slope 1: the
    probability is sigmoid(10 cos - 6), so cos 0.96 -> 0.97, 0.55 -> 0.38, 0.28 -> 0.04."""
    width = len(ids)
    weights = np.vstack([np.zeros((3, width)), 10.0 * np.eye(width)]).astype(np.float32)
    return ScoringLayer(ids, weights, np.full(width, -6.0, np.float32), 1.0, 0.0, threshold)


class FakeMatching(CatalogueMatching):
    """Sentences are looked up in VECTORS, the layer is given."""

    name = "fake_narratives"

    def __init__(self, scoring: ScoringLayer, threshold: float | None = None) -> None:
        self.scoring, self.given_threshold = scoring, threshold

    @property
    def matcher(self) -> Matcher:  # type: ignore[override]
        return Matcher.build(ENTRIES, fake_embed, self.scoring)

    def embed(self, sentences: Sequence[str]) -> np.ndarray:
        return fake_embed(sentences)

    def vectors(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], keep: bool = True
    ) -> np.ndarray:
        return fake_embed([t[s:e] for t, doc in zip(texts, spans, strict=True) for s, e in doc])


def test_scores_are_the_layers_calibrated_probabilities() -> None:
    scores = Matcher.build(ENTRIES, fake_embed, layer()).scores(fake_embed([REVOLT, DULL]))
    expected = sigmoid(10 * np.array([[0.96, 0.0], [0.0, 0.55]]) - 6)
    assert np.allclose(scores, expected, atol=1e-5)


def test_a_narrative_is_shown_only_above_the_threshold() -> None:
    text = f"{DULL} {REVOLT}"
    match = FakeMatching(layer()).match([Document(text)])[0]
    assert [n.id for n in match.narratives] == ["colour"]  # gas peaks at 0.38 on DULL: not shown
    shown = match.narratives[0]
    assert shown.score == pytest.approx(float(sigmoid(np.array(3.6))), abs=1e-5)
    assert text[shown.evidence[0].start : shown.evidence[0].end] == REVOLT
    assert match.best[1] == pytest.approx(float(sigmoid(np.array(-0.5))), abs=1e-5)


@pytest.mark.parametrize(("threshold", "shown"), [(0.99, []), (0.35, ["colour", "gas"])])
def test_the_threshold_decides_and_abstaining_is_an_empty_list(threshold: float, shown: list[str]) -> None:
    match = FakeMatching(layer(threshold=threshold)).match([Document(f"{DULL} {REVOLT}")])[0]
    assert [n.id for n in match.narratives] == shown


def test_a_given_threshold_overrides_the_layers() -> None:
    analyzer = FakeMatching(layer(threshold=0.5), threshold=0.999)
    assert analyzer.threshold == 0.999
    assert analyzer.analyze([Document(REVOLT)])[0].narratives == ()


def test_dull_text_abstains() -> None:
    match = FakeMatching(layer()).match([Document(f"{DULL} {DULL}")])[0]
    assert match.narratives == ()
    assert float(match.best.max()) <= 0.5


def test_layer_columns_follow_the_layers_id_order() -> None:
    swapped = ScoringLayer(("gas", "colour"), layer().weights, layer().bias, 1.0, 0.0, 0.5)
    weights = swapped.weights.copy()
    weights[3:] = 10.0 * np.eye(2)  # feature k is the cosine of swapped.ids[k]
    swapped = ScoringLayer(("gas", "colour"), weights, swapped.bias, 1.0, 0.0, 0.5)
    ordered = Matcher.build(ENTRIES, fake_embed, layer()).scores(fake_embed([REVOLT, GAS]))
    permuted = Matcher.build(ENTRIES, fake_embed, swapped).scores(fake_embed([REVOLT, GAS]))
    assert np.allclose(ordered, permuted, atol=1e-6)


def test_a_catalogue_the_layer_was_not_fitted_on_is_E431() -> None:
    with pytest.raises(UsageError, match=r"E431 .*other"):
        Matcher.build(ENTRIES, fake_embed, layer(ids=("colour", "other")))


def test_a_missing_layer_is_E430(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"E430 .*matcher-minilm\.npz"):
        ScoringLayer.load("minilm", tmp_path)


def test_layer_round_trips_through_its_files(tmp_path: Path) -> None:
    made = layer()
    config = {
        "ids": list(made.ids),
        "calibration": {"slope": 1.0, "intercept": 0.0},
        "threshold": {"value": 0.5},
    }
    ScoringLayer(made.ids, made.weights, made.bias, 1.0, 0.0, 0.5, config).save("fake", tmp_path)
    loaded = ScoringLayer.load("fake", tmp_path)
    assert loaded.ids == made.ids and loaded.threshold == 0.5
    assert np.allclose(loaded.weights, made.weights)


def result_with(narratives: tuple[Narrative, ...], ran: bool = True) -> Result:
    text = "Some article text about the harbour."
    return Result(Document(text), Annotations(narratives=narratives), {"narratives": "v"} if ran else {})


def test_text_and_html_say_no_known_narrative_when_the_matcher_abstains() -> None:
    rows = render.narrative_rows(result_with(()))
    assert rows == [("", "No known narrative", "")]
    assert "No known narrative" in render.to_html(result_with(()))
    assert render.narrative_rows(result_with((), ran=False)) == []


def test_html_escapes_narrative_titles() -> None:
    hostile = Narrative("x", "<b onmouseover=alert(1)>t</b>", 0.9, (Evidence(0, 4, "Some", 0.9),))
    page = render.to_html(result_with((hostile,)))
    assert "<b onmouseover" not in page and "&lt;b onmouseover=alert(1)&gt;" in page
    assert "No known narrative" not in page


@pytest.mark.anyio
async def test_web_article_view_says_no_known_narrative(client: object) -> None:
    from test_web_pages import analysed_page

    page = await analysed_page(
        client, text="The library extended its opening hours. Children can borrow books."
    )  # type: ignore[arg-type]
    assert page.status_code == 200
    assert "No known narrative" in page.text


def test_platt_map_recovers_a_known_calibration() -> None:
    from propscope.training.narrative_matcher import fit_platt

    rng = np.random.default_rng(3)
    z = rng.normal(0.0, 2.0, 20_000)
    y = (rng.random(z.size) < sigmoid(0.5 * z - 1.0)).astype(np.float64)
    slope, intercept = fit_platt(z, y)
    assert slope == pytest.approx(0.5, abs=0.05) and intercept == pytest.approx(-1.0, abs=0.08)


def test_threshold_selection_counts_shown_no_gold_cases_against_it() -> None:
    from propscope.training.narrative_matcher import best_threshold, top1_f1

    scores = np.array([[0.9, 0.1], [0.6, 0.2], [0.7, 0.1]])
    gold = np.array([[True, False], [True, False], [False, False]])  # the third has no narrative
    assert top1_f1(scores, gold, 0.5, strict=False) == 1.0
    assert top1_f1(scores, gold, 0.5, strict=True) == pytest.approx(0.8)
    assert top1_f1(scores, gold, 0.8, strict=True) == pytest.approx(2 / 3)
    threshold, f1 = best_threshold(scores, gold)  # show both gold cases, pay for the third
    assert (threshold, f1) == (0.6, pytest.approx(0.8))


def test_joint_logistic_fit_separates_two_narratives() -> None:
    from propscope.training.narrative_matcher import fit_logistic

    x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=np.float64)
    w, b = fit_logistic(x, y, l2=0.01)
    assert ((x @ w + b > 0) == (y > 0)).all()
