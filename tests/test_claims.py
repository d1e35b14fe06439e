"""The claims analyser and `propscope eval checkworthy`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from propscope.analyzers.claims import ClaimsAnalyzer
from propscope.document import Document
from propscope.eval.checkworthy import eval_checkworthy_command, f1_scores, read_tsv

TEXT = (
    "On Tuesday, the defence minister said that 4,000 troops had crossed the border overnight. "
    "According to the central bank, inflation rose to 12 percent in March. "
    "The opposition leader described the vote as “rigged by the ruling party, with 200,000 fake ballots”. "
    "Thank you all for coming."
)

SHARED_CT24 = Path(__file__).resolve().parents[2] / "shared" / "data" / "checkworthiness-ct24-en"


@pytest.fixture(scope="module")
def analyzer() -> ClaimsAnalyzer:
    return ClaimsAnalyzer()


@pytest.fixture(scope="module")
def claims(analyzer: ClaimsAnalyzer) -> dict[str, object]:
    result = analyzer.analyze([Document(TEXT)])[0]
    result.check(TEXT)
    return {c.text.split()[0]: c for c in result.claims}


def test_factual_sentences_are_claims_and_thanks_is_not(claims: dict[str, object]) -> None:
    assert {"On", "According", "The"} <= set(claims)
    assert "Thank" not in claims


@pytest.mark.parametrize(
    ("key", "speaker", "verb", "quote"),
    [
        ("On", "the defence minister", "said", False),
        ("According", "the central bank", "according to", False),
        ("The", "The opposition leader", "described", True),
    ],
)
def test_attribution(claims: dict[str, object], key: str, speaker: str, verb: str, quote: bool) -> None:
    claim = claims[key]
    assert claim.speaker is not None  # type: ignore[attr-defined]
    assert claim.speaker.text == speaker  # type: ignore[attr-defined]
    assert TEXT[claim.speaker.start : claim.speaker.end] == speaker  # type: ignore[attr-defined]
    assert claim.verb == verb  # type: ignore[attr-defined]
    assert claim.quote is quote  # type: ignore[attr-defined]


def test_json_contract(claims: dict[str, object]) -> None:
    data = claims["On"].to_json()  # type: ignore[attr-defined]
    assert set(data) == {"start", "end", "text", "score", "quote", "speaker", "verb", "speaker_actor"}
    assert set(data["speaker"]) == {"start", "end", "text"}


def test_specimen_statements_are_attributed(analyzer: ClaimsAnalyzer, specimen_text: str) -> None:
    claims = analyzer.analyze([Document(specimen_text)])[0].claims
    speakers = {c.speaker.text: c for c in claims if c.speaker}
    assert any("Tokayev" in s for s in speakers), sorted(speakers)
    assert "Russia’s Ministry of Foreign Affairs" in speakers
    assert speakers["Russia’s Ministry of Foreign Affairs"].verb == "described"


def test_f1_of_the_positive_class() -> None:
    scores = f1_scores([True, True, False, False], [True, False, True, False])
    assert scores == {"f1": 0.5, "precision": 0.5, "recall": 0.5}


MINI_TSV = (
    "Sentence_id\tText\tclass_label\n"
    "1\tUnemployment fell from 9 percent to 5 percent during my four years in office.\tYes\n"
    "2\tThank you very much, it is great to be here tonight.\tNo\n"
    "3\tWe cut taxes for 95 percent of working families, he said.\tYes\n"
    "4\tLet me finish, please.\tNo\n"
)


def test_eval_checkworthy_on_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from propscope.cli import app

    tsv = tmp_path / "mini.tsv"
    tsv.write_text(MINI_TSV, encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "checkworthy", "--tsv", str(tsv), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["n"] == 4


def test_eval_checkworthy_command(tmp_path: Path) -> None:
    tsv = tmp_path / "mini.tsv"
    tsv.write_text(
        "Sentence_id\tText\tclass_label\n"
        "1\tUnemployment fell from 9 percent to 5 percent during my four years in office.\tYes\n"
        "2\tThank you very much, it is great to be here tonight.\tNo\n"
        "3\tWe cut taxes for 95 percent of working families, he said.\tYes\n"
        "4\tLet me finish, please.\tNo\n",
        encoding="utf-8",
    )
    predictions = tmp_path / "pred.tsv"
    report = json.loads(eval_checkworthy_command(tsv, True, predictions))
    assert set(report) == {"f1", "precision", "recall", "n"} and report["n"] == 4
    assert report["f1"] == 1.0
    lines = [line.split("\t") for line in predictions.read_text().splitlines()]
    assert [(line[0], line[1]) for line in lines] == [("1", "Yes"), ("2", "No"), ("3", "Yes"), ("4", "No")]
    threshold = ClaimsAnalyzer().threshold
    for _, label, score in lines:
        assert 0.0 <= float(score) <= 1.0 and len(score.split(".")[1]) == 4
        assert (float(score) >= threshold) == (label == "Yes") or abs(float(score) - threshold) < 1e-4
    assert read_tsv(tsv)[2].text.startswith("We cut taxes")


def test_dev_test_f1_floor() -> None:
    path = SHARED_CT24 / "CT24_checkworthy_english_dev-test.tsv"
    if not path.is_file():
        pytest.skip(f"CheckThat! 2024 dev-test not found at {path} (shared/data)")
    report = json.loads(eval_checkworthy_command(path, True, None))
    assert report["n"] == 318
    assert report["f1"] >= 0.74  # release figure (0.757, read once) in models/techniques/SENTENCE_HEADS.md


def test_claims_reuse_the_technique_encoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Techniques then claims: the article is encoded once, by the technique analyser's pass."""
    from propscope.analyzers.claims import ClaimsAnalyzer
    from propscope.analyzers.techniques import TechniqueAnalyzer
    from propscope.models.runtime import WindowedEncoder

    techniques, claims = TechniqueAnalyzer(), ClaimsAnalyzer()
    techniques.model.forget()
    techniques.analyze([Document(TEXT)])
    calls: list[int] = []
    real_encode = WindowedEncoder.encode
    monkeypatch.setattr(
        WindowedEncoder,
        "encode",
        lambda self, texts, *a: calls.append(len(texts)) or real_encode(self, texts, *a),
    )
    result = claims.analyze([Document(TEXT)])[0]
    assert calls == []
    assert any(c.text.startswith("On Tuesday") for c in result.claims)


def test_claims_alone_encode_what_they_need() -> None:
    """Without the technique analyser before it, `claims` runs the encoder itself."""
    from propscope.analyzers.claims import ClaimsAnalyzer

    analyzer = ClaimsAnalyzer()
    analyzer.model.forget()
    result = analyzer.analyze([Document(TEXT)])[0]
    result.check(TEXT)
    texts = [c.text for c in result.claims]
    assert any(t.startswith("On Tuesday") for t in texts)
    assert not any(t.startswith("Thank") for t in texts)


def test_loose_sentences_score_like_the_same_sentences_in_a_text() -> None:
    """`scores` (evaluation files) reads runs of sentences as one text, as `analyze` reads an article."""
    from propscope.analyzers.claims import CONTEXT, ClaimsAnalyzer, in_runs

    analyzer = ClaimsAnalyzer()
    sentences = [
        f"The port handled {n} million tonnes of grain in 2021, officials said." for n in range(CONTEXT)
    ]
    texts, spans = in_runs(sentences)
    assert len(texts) == 1 and [texts[0][s:e] for s, e in spans[0]] == sentences
    in_text = analyzer.checkworthiness(texts, spans)
    np.testing.assert_allclose(analyzer.scores(sentences), in_text, atol=1e-5)


def test_scores_are_probabilities_cut_at_the_configured_threshold(tmp_path: Path) -> None:
    """`scores` are in [0, 1]; the threshold is the heads' config value unless one is given,
    and `propscope eval checkworthy` cuts at it."""
    analyzer = ClaimsAnalyzer()
    assert analyzer.threshold == analyzer.model.heads.config["claims"]["threshold"]
    assert ClaimsAnalyzer(threshold=0.9).threshold == 0.9
    rows = [line.split("\t") for line in MINI_TSV.splitlines()[1:]]
    scores = analyzer.scores([text for _, text, _ in rows])
    assert scores.shape == (4,) and np.all((scores >= 0.0) & (scores <= 1.0))
    tsv = tmp_path / "mini.tsv"
    tsv.write_text(MINI_TSV, encoding="utf-8")
    from propscope.eval.checkworthy import evaluate

    for cut in (0.0, float(np.sort(scores)[1]) + 1e-6, 1.01):
        report, got, predicted = evaluate(tsv, threshold=cut)
        np.testing.assert_allclose(got, scores, atol=1e-6)
        assert predicted == [bool(p >= cut) for p in scores] and report["n"] == 4


def test_predictions_out_on_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from propscope.cli import app

    tsv, out = tmp_path / "mini.tsv", tmp_path / "pred.tsv"
    tsv.write_text(MINI_TSV, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["eval", "checkworthy", "--tsv", str(tsv), "--json", "--predictions-out", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in out.read_text("utf-8").splitlines()]
    assert [len(line) for line in lines] == [3, 3, 3, 3] and [line[0] for line in lines] == [
        "1",
        "2",
        "3",
        "4",
    ]
    assert all(line[1] in {"Yes", "No"} and 0.0 <= float(line[2]) <= 1.0 for line in lines)
    report = json.loads(result.output.strip().splitlines()[-1])
    gold = [True, False, True, False]
    tp = sum(g and line[1] == "Yes" for g, line in zip(gold, lines, strict=True))
    assert report["precision"] == round(tp / max(sum(line[1] == "Yes" for line in lines), 1), 4)
