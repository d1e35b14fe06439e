"""`propscope eval narratives`: the EUvsDisinfo split, the metrics, the command on a tiny
self-made fixture, and (with ../shared) the held-out floor and the bundled example."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from propscope.analyzers.narratives import NarrativesAnalyzer
from propscope.cli import app
from propscope.document import Document
from propscope.eval import narratives as ev
from propscope.eval.euvsdisinfo import Case, case_key, merge_repeats, part_of, read_cases

ROOT = Path(__file__).resolve().parents[1]
EUVS = ROOT.parent / "shared" / "data" / "euvsdisinfo"
COLOUR = (
    "Western embassies and NGOs organised and paid for the street protests in order to overthrow "
    "the lawful government in a colour revolution."
)  # hashes into the held-out part
DULL = (
    "The city library extended its opening hours and children can now borrow up to five books at "
    "once. This is what they said."
)  # held-out, keywords map to nothing
GAS = (
    "The European Union will freeze this winter because its sanctions against Russia have cut off "
    "the gas supply."
)  # training part: never scored by the command


def write_fixture(path: Path) -> Path:
    rows = [
        {"date": "01/02/16", "keywords": "Colour revolutions, Protest", "summary": COLOUR},
        {"date": "01/03/16", "keywords": "Ukraine", "summary": "  " + COLOUR.upper()},  # a repeat
        {"date": "01/04/16", "keywords": "Agriculture", "summary": DULL},
        {"date": "01/05/16", "keywords": "Sanctions", "summary": GAS},
        {"date": "01/06/16", "keywords": "", "summary": ""},
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["issue", "date", "keywords", "title", "summary"])
        writer.writeheader()
        writer.writerows({"issue": "1", "title": "t", **r} for r in rows)
    return path


def test_split_is_by_case_and_stable() -> None:
    cases = merge_repeats([(f"Claim number {n} about the war.", "NATO") for n in range(2000)])
    held = [c for c in cases if c.part == "held-out"]
    assert 0.27 < len(held) / len(cases) < 0.33
    again = merge_repeats([(c.summary, "NATO") for c in reversed(cases)])
    assert {c.key for c in again if c.part == "held-out"} == {c.key for c in held}


def test_repeats_are_one_case_with_their_keywords_united(tmp_path: Path) -> None:
    cases = read_cases(write_fixture(tmp_path / "cases.csv"))
    assert len(cases) == 3  # the repeat merged, the empty summary dropped
    colour = next(c for c in cases if c.key == case_key(COLOUR))
    assert colour.keywords == ("Colour revolutions", "Protest", "Ukraine")
    assert colour.gold == {"colour-revolution"}
    assert [c.key for c in part_of(cases, "held-out")] == [case_key(COLOUR), case_key(DULL)]


def test_top1_counts_abstentions_as_misses_not_false_positives() -> None:
    golds = [frozenset({"a"}), frozenset({"b"}), frozenset({"a"}), frozenset()]
    scores = ev.top1(["a", "a", None, "b"], golds)
    assert (scores["tp"], scores["fp"], scores["fn"]) == (1, 1, 2)


def test_abstention_figures() -> None:
    golds = [frozenset({"a"}), frozenset(), frozenset(), frozenset({"b"})]
    figures = ev.abstention([["a"], [], ["c"], ["c", "b"]], golds)
    assert figures["coverage"] == 0.75
    assert figures["precision_of_first_shown"] == round(1 / 3, 4)
    assert figures["abstains_without_gold"] == 0.5
    assert figures["gold_in_first_3_shown"] == 1.0


def test_top3_looks_past_the_threshold() -> None:
    best = np.array([[0.1, 0.05, 0.2, 0.0], [0.9, 0.0, 0.02, 0.01]])
    assert ev.top3(best, ["a", "b", "c", "d"], [frozenset({"b"}), frozenset({"b"})]) == 0.5


def test_reliability_of_a_perfectly_calibrated_and_an_overconfident_score() -> None:
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0], dtype=float)
    assert ev.reliability(np.array([0.25] * 4 + [0.75] * 4), y)["ece"] == 0.0
    overconfident = ev.reliability(np.full(8, 0.95), y)
    assert overconfident["ece"] == pytest.approx(0.45)
    assert overconfident["table"] == [{"bin": "0.9-1.0", "n": 8, "mean_score": 0.95, "observed": 0.5}]


def test_eval_command_on_a_tiny_fixture(tmp_path: Path) -> None:
    fixture = write_fixture(tmp_path / "cases.csv")
    run = CliRunner().invoke(app, ["eval", "narratives", "--data", str(fixture), "--json"])
    assert run.exit_code == 0, run.output
    report = json.loads(run.output)
    assert (report["part"], report["cases"], report["cases_with_gold"]) == ("held-out", 2, 1)
    assert report["top1"]["tp"] == 1 and report["top1"]["fp"] == 0
    assert report["abstention"]["abstains_without_gold"] == 1.0
    assert report["abstention"]["coverage"] == 0.5
    text = CliRunner().invoke(app, ["eval", "narratives", "--data", str(fixture)])
    assert text.exit_code == 0 and "top-1 F1 1.000" in text.output


@pytest.mark.parametrize(
    ("args", "code"),
    [(["--shared", "a", "--data", "b"], "E432"), (["--data", "x.csv", "--analyzer", "techniques"], "E433")],
)
def test_eval_command_usage_errors(args: list[str], code: str) -> None:
    run = CliRunner().invoke(app, ["eval", "narratives", *args])
    assert run.exit_code == 2 and code in run.output


def test_eval_command_on_a_missing_file(tmp_path: Path) -> None:
    run = CliRunner().invoke(app, ["eval", "narratives", "--data", str(tmp_path / "none.csv")])
    assert run.exit_code == 1 and "E011" in run.output


@pytest.fixture(scope="module")
def euvs() -> Path:
    if not (EUVS / "euvsdisinfo_cases_2015-2017_full.csv").is_file():
        pytest.skip(f"EUvsDisinfo cases not found at {EUVS} (they live in the shared/ folder)")
    return EUVS


@pytest.mark.slow
def test_default_matcher_held_out_floor(euvs: Path) -> None:
    """Release figures (top-1 F1 0.775, top-3 0.923) are in benchmarks/results/narratives.json."""
    report = ev.evaluate(euvs)
    assert report["cases"] == 766 and report["cases_with_gold"] == 415
    assert report["top1"]["f1"] >= 0.74
    assert report["top3_regardless_of_threshold"] >= 0.9
    assert report["abstention"]["abstains_without_gold"] >= 0.8


def test_bundled_example_is_colour_revolution_or_nothing_never_migrants() -> None:
    text = (ROOT / "examples" / "harbour-unrest.txt").read_text("utf-8")
    found = [n.id for n in NarrativesAnalyzer().analyze([Document(text)])[0].narratives]
    assert "migrants-destroy-europe" not in found
    assert not found or found[0] in {
        "colour-revolution",
        "western-ngos-subversion",
        "west-puppet-governments",
    }


def test_cases_are_never_shared_between_the_parts(euvs: Path) -> None:
    cases = read_cases(euvs)
    train = {c.key for c in part_of(cases, "train")}
    held: list[Case] = part_of(cases, "held-out")
    assert held and not train & {c.key for c in held}
