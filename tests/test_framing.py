"""Entity framing: the head on the technique encoder, the Task 10 readers and metrics, and
`propscope eval framing` (tests/data/task10/ is a hand-made corpus in the Task 10 format)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from propscope.cli import app
from propscope.errors import UsageError
from propscope.eval import task10
from propscope.eval.task10 import FINE_ROLES, MAIN_ROLES, Mention
from propscope.models.framing import FramingHead, load_head, mention_spans
from propscope.profiles import model_dir

DATA = Path(__file__).resolve().parent / "data" / "task10"
TASK10_EN = Path(__file__).resolve().parents[2] / "shared" / "data" / "semeval2025-task10" / "train" / "EN"
runner = CliRunner()


@pytest.fixture(scope="module")
def head() -> FramingHead:
    return load_head(str(model_dir("fast")))


def _toy_head(offsets: tuple[float, float, float] = (0.0, 0.0, 0.0), second: float = 0.5) -> FramingHead:
    """A head over 2 features whose decisions are known: feature 0 pushes Antagonist/Tyrant,
    feature 1 Innocent/Victim; calibration maps are the identity."""
    fine = list(FINE_ROLES)
    fine_w = np.zeros((2, len(fine)))
    fine_w[0, fine.index("Tyrant")] = 5.0
    fine_w[1, fine.index("Victim")] = 5.0
    main_w = np.array([[0.0, 5.0, 0.0], [0.0, 0.0, 5.0]])
    weights = {
        "mean": np.zeros(2),
        "scale": np.ones(2),
        "main_w": main_w,
        "main_b": np.zeros(3),
        "fine_w": fine_w,
        "fine_b": np.zeros(len(fine)),
        "main_cal_w": np.eye(3),
        "main_cal_b": np.zeros(3),
    }
    config = {
        "fine_roles": fine,
        "parents": [FINE_ROLES[r] for r in fine],
        "fine_calibration": [1.0, 0.0],
        "main_offsets": list(offsets),
        "second_threshold": second,
    }
    return FramingHead(config, weights)


def test_bundled_head_shapes_and_probabilities(head: FramingHead) -> None:
    x = np.random.default_rng(0).normal(size=(7, int(head.config["columns"])))
    main, fine = head.probabilities(x)
    assert main.shape == (7, 3) and fine.shape == (7, 22)
    assert np.allclose(main.sum(axis=1), 1.0)
    assert ((fine >= 0) & (fine <= 1)).all() and ((main >= 0) & (main <= 1)).all()
    assert head.fine_roles == list(FINE_ROLES) and head.parents == list(FINE_ROLES.values())


def test_bundled_head_frames_keep_fine_roles_under_the_main_role(head: FramingHead) -> None:
    x = np.random.default_rng(1).normal(size=(50, int(head.config["columns"]) + 5))  # extra parts ignored
    for frame in head.frame(x):
        assert frame.main_role in MAIN_ROLES
        assert 1 <= len(frame.fine_roles) <= 3
        assert all(FINE_ROLES[r] == frame.main_role for r in frame.fine_roles)
        assert set(frame.scores) == set(MAIN_ROLES) | set(FINE_ROLES)


@pytest.mark.parametrize(
    ("x", "offsets", "main", "fine"),
    [
        ([1.0, 0.0], (0.0, 0.0, 0.0), "Antagonist", ("Tyrant",)),
        ([0.0, 1.0], (0.0, 0.0, 0.0), "Innocent", ("Victim",)),
        ([0.3, 0.05], (0.0, 0.0, 2.0), "Innocent", ("Victim",)),  # an offset outweighs Antagonist
        ([1.0, 0.0], (0.0, -9.0, 0.0), "Protagonist", ("Guardian",)),  # best fine under the main role
    ],
)
def test_decision_rule(
    x: list[float], offsets: tuple[float, float, float], main: str, fine: tuple[str, ...]
) -> None:
    frame = _toy_head(offsets).frame(np.array([x]))[0]
    assert (frame.main_role, frame.fine_roles[:1]) == (main, fine)


def test_second_fine_role_only_above_its_threshold() -> None:
    names = list(FINE_ROLES)
    main = np.array([[0.1, 0.8, 0.1]])
    fine = np.full((1, 22), 0.01)
    fine[0, names.index("Deceiver")], fine[0, names.index("Corrupt")], fine[0, names.index("Victim")] = (
        0.7,
        0.6,
        0.9,
    )
    assert _toy_head(second=0.5).decide(main, fine)[0].fine_roles == ("Deceiver", "Corrupt")
    assert _toy_head(second=0.65).decide(main, fine)[0].fine_roles == ("Deceiver",)


def test_aggregate_is_the_decision_on_mean_scores() -> None:
    toy = _toy_head()
    frames = toy.frame(np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]]))
    actor = toy.aggregate(frames)
    assert actor.main_role == "Innocent"
    assert actor.scores["Innocent"] == pytest.approx(np.mean([f.scores["Innocent"] for f in frames]))


def test_mention_spans_are_mention_sentence_context_and_every_sentence_naming_it() -> None:
    text = "Veldt denied it. Rain fell. Veldt sent troops."
    sentences = [(0, 16), (17, 27), (28, 46)]
    assert mention_spans(text, sentences, (0, 5)) == [(0, 5), (0, 16), (0, 0), (5, 16), (0, 16), (28, 46)]


# --- metrics ------------------------------------------------------------------------------


def _m(main: str, *fine: str, start: int = 0) -> Mention:
    return Mention("A.txt", f"m{start}", start, start + 1, main, tuple(fine))


def test_metrics_on_a_hand_made_case() -> None:
    gold = [
        _m("Antagonist", "Tyrant", start=0),
        _m("Antagonist", "Deceiver", "Corrupt", start=2),
        _m("Innocent", "Victim", start=4),
        _m("Protagonist", "Guardian", start=6),
    ]
    pred = [
        _m("Antagonist", "Tyrant", start=0),
        _m("Antagonist", "Deceiver", start=2),
        _m("Antagonist", "Instigator", start=4),
        _m("Protagonist", "Guardian", start=6),
    ]
    scores = task10.framing_scores(list(zip(gold, pred, strict=True)))
    assert scores["exact_match_ratio"] == pytest.approx(2 / 4)
    # tp 3 (Tyrant, Deceiver, Guardian), fp 1 (Instigator), fn 2 (Corrupt, Victim)
    assert scores["fine_precision"] == pytest.approx(3 / 4)
    assert scores["fine_recall"] == pytest.approx(3 / 5)
    assert scores["fine_micro_f1"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert scores["main_role_accuracy"] == pytest.approx(3 / 4)
    # F1: Antagonist 2*2/(2*2+1+0) = 0.8, Innocent 0, Protagonist 1
    assert scores["main_role_macro_f1"] == pytest.approx((0.8 + 0.0 + 1.0) / 3)


def test_exact_match_ignores_order_and_main_role() -> None:
    gold = [_m("Antagonist", "Deceiver", "Corrupt")]
    pred = [_m("Innocent", "Corrupt", "Deceiver")]
    assert task10.framing_scores(list(zip(gold, pred, strict=True)))["exact_match_ratio"] == 1.0


@pytest.mark.parametrize(("shift", "found"), [(0, (4, 9)), (2, (4, 9)), (-3, (4, 9)), (9, None)])
def test_locate_searches_a_few_characters_around(shift: int, found: tuple[int, int] | None) -> None:
    text = "The Veldt army and more words here"
    assert task10.locate(text, Mention("A", "Veldt", 4 + shift, 8 + shift)) == found


# --- input errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "labelled", "code"),
    [
        ("A.txt\tVeldt\t4\n", False, "E420 .*:1: 3 column"),
        ("A.txt\tVeldt\t4\tx\n", False, "E420 .*:1: offsets"),
        ("\nA.txt\tVeldt\t8\t4\n", False, "E420 .*:2: offsets 8-4"),
        ("A.txt\tVeldt\t4\t8\nA.txt\tVeldt\t4\t8\n", False, "E420 .*:2: the same mention as line 1"),
        ("A.txt\tVeldt\t4\t8\tVillain\tTyrant\n", True, "E423 .*:1: unknown main role"),
        ("A.txt\tVeldt\t4\t8\tAntagonist\tOgre\n", True, "E423 .*:1: unknown fine role 'Ogre'"),
        ("A.txt\tVeldt\t4\t8\tAntagonist\n", True, "E423 .*:1: no fine role"),
    ],
)
def test_bad_rows_are_coded_errors(tmp_path: Path, content: str, labelled: bool, code: str) -> None:
    path = tmp_path / "rows.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsageError, match=code):
        task10.read_mentions(path, labelled)


def _eval(tmp_path: Path, mentions: Path, *extra: str) -> tuple[int, str, str]:
    out = tmp_path / "pred.txt"
    args = [
        "eval",
        "framing",
        "--documents",
        str(DATA / "documents"),
        "--mentions",
        str(mentions),
        "--predictions-out",
        str(out),
        *extra,
    ]
    result = runner.invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ("TX_009.txt\tVeldt\t1\t5\n", "E421"),
        ("TX_002.txt\tVeldt\t500\t504\n", "E422"),
        ("TX_002.txt\tVeldt\t49\n", "E420"),
    ],
)
def test_eval_refuses_bad_mentions_with_a_code_and_line(tmp_path: Path, row: str, code: str) -> None:
    mentions = tmp_path / "m.txt"
    mentions.write_text((DATA / "mentions.txt").read_text("utf-8") + row, encoding="utf-8")
    status, _, stderr = _eval(tmp_path, mentions)
    assert status == 2
    assert code in stderr and "m.txt:6" in stderr.replace("\n", "")


def test_eval_refuses_gold_of_other_mentions(tmp_path: Path) -> None:
    gold = tmp_path / "gold.txt"
    gold.write_text(
        "".join((DATA / "gold.txt").read_text("utf-8").splitlines(keepends=True)[:4]), encoding="utf-8"
    )
    status, _, stderr = _eval(tmp_path, DATA / "mentions.txt", "--gold", str(gold))
    assert status == 2 and "E424" in stderr


# --- the command --------------------------------------------------------------------------


def test_eval_writes_one_line_per_mention_in_input_order(tmp_path: Path) -> None:
    status, stdout, _ = _eval(tmp_path, DATA / "mentions.txt")
    assert status == 0, stdout
    given = [line.split("\t") for line in (DATA / "mentions.txt").read_text("utf-8").splitlines()]
    lines = (tmp_path / "pred.txt").read_text("utf-8").splitlines()
    assert len(lines) == len(given)
    for fields, key in zip((line.split("\t") for line in lines), given, strict=True):
        assert fields[:4] == key
        assert fields[4] in MAIN_ROLES and 1 <= len(fields[5:]) <= 3
        assert all(FINE_ROLES[r] == fields[4] for r in fields[5:])


def test_eval_gold_scores_match_the_written_predictions(tmp_path: Path) -> None:
    status, stdout, _ = _eval(tmp_path, DATA / "mentions.txt", "--gold", str(DATA / "gold.txt"), "--json")
    assert status == 0, stdout
    report = json.loads(stdout)
    gold = task10.read_mentions(DATA / "gold.txt", labelled=True)
    predicted = task10.read_mentions(tmp_path / "pred.txt", labelled=True)
    expected = task10.framing_scores(task10.pair_gold(DATA / "gold.txt", gold, predicted))
    for key in ("exact_match_ratio", "fine_micro_f1", "main_role_accuracy", "main_role_macro_f1"):
        assert report["scores"][key] == pytest.approx(expected[key], abs=1e-4)
    assert report["mentions"] == 5
    text_status, text, _ = _eval(tmp_path, DATA / "mentions.txt", "--gold", str(DATA / "gold.txt"))
    assert text_status == 0 and "EMR" in text and "macro-F1" in text


def test_eval_reads_crlf_offsets_and_notes_shifted_mentions(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    text = (
        "Talks in Halden\r\n\r\nThe Republic of Ostrava accused Veldt of sending saboteurs.\r\n"
        "Veldt denied it.\r\n"
    )
    (docs / "TX_010.txt").write_text(text, encoding="utf-8", newline="")
    second = text.rindex("Veldt")
    mentions = tmp_path / "m.txt"
    mentions.write_text(
        f"TX_010\tVeldt\t{second + 2}\t{second + 6}\nTX_010\tRepublic of Ostrava\t23\t41\n", encoding="utf-8"
    )
    out = tmp_path / "p.txt"
    result = runner.invoke(
        app,
        [
            "eval",
            "framing",
            "--documents",
            str(docs),
            "--mentions",
            str(mentions),
            "--predictions-out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert text[23:42] == "Republic of Ostrava"  # the offsets count the \r
    assert "found -2 characters off" in result.stderr
    assert [line.split("\t")[2] for line in out.read_text("utf-8").splitlines()] == [str(second + 2), "23"]


@pytest.mark.skipif(not TASK10_EN.is_dir(), reason=f"SemEval-2025 Task 10 not found at {TASK10_EN}")
def test_eval_on_task10_english_train(tmp_path: Path) -> None:
    """A slice of EN train (articles with shifted offsets among them), read as the sealed dev
    will be. The figures are on training data, so only their range is checked."""
    rows = (TASK10_EN / "subtask-1-annotations.txt").read_text("utf-8").splitlines()
    chosen = [r for r in rows if r.split("\t")[0] in {"EN_UA_002668.txt", "EN_CC_100013.txt"}]
    gold = tmp_path / "gold.txt"
    gold.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    mentions = tmp_path / "mentions.txt"
    mentions.write_text("".join("\t".join(r.split("\t")[:4]) + "\n" for r in chosen), encoding="utf-8")
    out = tmp_path / "pred.txt"
    result = runner.invoke(
        app,
        [
            "eval",
            "framing",
            "--documents",
            str(TASK10_EN / "raw-documents"),
            "--mentions",
            str(mentions),
            "--predictions-out",
            str(out),
            "--gold",
            str(gold),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mentions"] == len(chosen)
    assert any("characters off" in note for note in report["notes"])  # EN_UA_002668's quirk
    assert 0.0 <= report["scores"]["exact_match_ratio"] <= 1.0
    assert [line.split("\t")[:4] for line in out.read_text("utf-8").splitlines()] == [
        r.split("\t")[:4] for r in chosen
    ]


@pytest.mark.parametrize(("profile", "code"), [("accurate", "E412"), ("nope", "E411")])
@pytest.mark.usefixtures("accurate_absent")
def test_eval_refuses_a_profile_with_exit_2(tmp_path: Path, profile: str, code: str) -> None:
    status, _, stderr = _eval(tmp_path, DATA / "mentions.txt", "--profile", profile)
    assert status == 2 and code in stderr
    assert not (tmp_path / "pred.txt").exists()
