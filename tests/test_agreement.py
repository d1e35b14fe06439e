"""`propscope eval agreement` and `propscope import`: the SemEval figures on a hand-made case whose
answers are worked out below, and the commands as a user runs them."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from propscope.annotation.records import HumanLayer, ReviewedDocument, ReviewedSpan
from propscope.cli import app
from propscope.document import Annotations, Document, Result, TechniqueSpan
from propscope.errors import AnnotationError
from propscope.eval.agreement import Comparison, agreement, model_labels
from propscope.store import Store

TEXT = "".join(chr(ord("a") + k % 26) for k in range(80))
runner = CliRunner()


def model(start: int, end: int, technique: str, score: float = 0.8) -> TechniqueSpan:
    return TechniqueSpan(start, end, TEXT[start:end], technique, score)


def human(start: int, end: int, label: str, layer: str = "technique") -> ReviewedSpan:
    return ReviewedSpan(start, end, label, layer, TEXT[start:end])


def layer(annotator: str, *spans: ReviewedSpan) -> HumanLayer:
    return HumanLayer("doc1", TEXT, annotator, "2026-12-01T10:00:00+00:00", "labelstudio", spans)


MODEL = (model(0, 10, "Loaded_Language", 0.9), model(25, 35, "Name_Calling,Labeling"), model(50, 60, "Doubt"))
ALICE = layer("alice", human(0, 10, "Loaded_Language"), human(20, 30, "Slogans"),
              human(40, 45, "claim", "claim"))
BOB = layer("bob", human(50, 60, "Doubt"))


def test_hand_made_case_gives_the_worked_out_figures() -> None:
    """alice: model (0,10) matches gold (0,10) fully: P and R credit 1 each; model (25,35) covers
    half of gold (20,30): 5/10 each; model (50,60) touches nothing. P = 1.5/3, R = 1.5/2, F1 = 0.6.
    TC: (0,10) gets Loaded_Language (exact), (20,30) gets Name_Calling (most overlap): 1/2.
    bob: only (50,60) Doubt, matched exactly: P = 1/3, R = 1, F1 = 0.5, TC 1.
    Pooled: P = 2.5/6, R = 2.5/3, F1 = 5/9; TC 2 of 3. alice's claim span is not a technique."""
    report = agreement([Comparison(ALICE, MODEL), Comparison(BOB, MODEL)])
    assert set(report) == {"si", "tc", "documents", "per_document"}
    assert report["documents"] == 2
    alice, bob = report["per_document"]
    assert (alice["document_id"], alice["annotator"], alice["human_spans"], alice["model_spans"]) == (
        "doc1", "alice", 2, 3)
    assert alice["si"] == pytest.approx({"precision": 0.5, "recall": 0.75, "f1": 0.6})
    assert alice["tc"] == {"micro_f1": pytest.approx(0.5)}
    assert bob["si"] == pytest.approx({"precision": 1 / 3, "recall": 1.0, "f1": 0.5})
    assert bob["tc"] == {"micro_f1": pytest.approx(1.0)}
    assert report["si"] == pytest.approx({"precision": 2.5 / 6, "recall": 2.5 / 3, "f1": 5 / 9})
    assert report["tc"] == {"micro_f1": pytest.approx(2 / 3)}


@pytest.mark.parametrize(
    ("spans", "expected_si", "expected_tc"),
    [
        ((), {"precision": 0.0, "recall": 0.0, "f1": 0.0}, None),  # reviewer removed every span
        ((human(0, 10, "Loaded_Language"), human(50, 60, "Doubt"), human(25, 35, "Name_Calling,Labeling")),
         {"precision": 1.0, "recall": 1.0, "f1": 1.0}, 1.0),
    ],
)
def test_edge_cases(spans: tuple[ReviewedSpan, ...], expected_si: dict[str, float],
                    expected_tc: float | None) -> None:
    report = agreement([Comparison(layer("carol", *spans), MODEL)])
    assert report["si"] == pytest.approx(expected_si)
    assert report["tc"]["micro_f1"] == (None if expected_tc is None else pytest.approx(expected_tc))


def test_a_document_neither_side_marked_has_no_si_figure() -> None:
    """Model and reviewer both mark no technique: they agree, but there is nothing to score, so
    the per-document SI is null (not 0.00, which reads as total disagreement), in the table "-"."""
    from propscope.eval.agreement import format_agreement

    nothing = Comparison(layer("dan", human(40, 45, "claim", "claim")), ())
    report = agreement([nothing, Comparison(BOB, MODEL)])
    empty, bob = report["per_document"]
    assert empty["si"] is None and empty["tc"] == {"micro_f1": None}
    assert bob["si"] == pytest.approx({"precision": 1 / 3, "recall": 1.0, "f1": 0.5})
    assert report["si"] == pytest.approx({"precision": 1 / 3, "recall": 1.0, "f1": 0.5})
    line = next(row for row in format_agreement(report).splitlines() if " dan " in row)
    assert line.split()[-4:] == ["-", "-", "-", "-"]
    # one side empty is still scored: the reviewer removed every model span
    (removed,) = agreement([Comparison(layer("eve"), MODEL)])["per_document"]
    assert removed["si"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


@pytest.mark.parametrize(
    ("start", "end", "k", "expected"),
    [
        (0, 10, 1, ["Slogans"]),  # the most confident exact span first
        (0, 10, 2, ["Slogans", "Loaded_Language"]),
        (5, 30, 2, ["Doubt", "Slogans"]),  # no exact span: most overlap first
        (70, 75, 1, ["none"]),
    ],
)
def test_model_labels_for_a_human_span(start: int, end: int, k: int, expected: list[str]) -> None:
    spans = (model(0, 10, "Loaded_Language", 0.6), model(0, 10, "Slogans", 0.9), model(12, 40, "Doubt"))
    assert model_labels(spans, start, end, k) == expected


# --- the commands --------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'agree.db'}"


@pytest.fixture
def stored(db: str) -> Iterator[Document]:
    doc = Document(text=TEXT)
    with Store.open(db) as store:
        store.save([Result(doc, Annotations(techniques=MODEL), {"techniques": "t1"})])
    yield doc


@pytest.fixture
def fake_importer(monkeypatch: pytest.MonkeyPatch, stored: Document) -> Path:
    """`propscope.annotation.formats.IMPORTERS` with a `labelstudio` reader of a tiny JSON
    format: the CLI's own plumbing is tested here, the real readers in their own tests."""

    def read(path: Path, keep_empty: bool = False) -> Iterator[ReviewedDocument | AnnotationError]:
        for number, record in enumerate(json.loads(path.read_text()), 1):
            if "bad" in record:
                yield AnnotationError(f"E705 {path.name}:{number}: not a task")
                continue
            spans = tuple(ReviewedSpan(*s) for s in record["spans"])
            yield ReviewedDocument(spans, document_id=record["id"], annotator=record.get("who"),
                                   source_format="labelstudio", source=f"{path.name}:{number}")

    module = types.ModuleType("propscope.annotation.formats")
    module.IMPORTERS = {"labelstudio": read}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "propscope.annotation.formats", module)
    return Path(stored.id)


def write(tmp_path: Path, records: list[dict[str, object]]) -> str:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(records))
    return str(path)


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_import_then_agreement_json(tmp_path: Path, db: str, fake_importer: Path) -> None:
    doc_id = str(fake_importer)
    records = [{"id": doc_id, "who": "alice", "spans": [[0, 10, "Loaded_Language"], [20, 30, "Slogans"]]},
               {"bad": True},
               {"id": "0" * 20, "who": "alice", "spans": []}]
    path = write(tmp_path, records)
    code, _, stderr = invoke("import", path, "--format", "labelstudio", "--db", db)
    assert code == 1
    assert "E705 export.json:2" in stderr and "E715 export.json:3" in stderr
    assert "1 layers added, 0 unchanged, 2 failed" in stderr
    code, _, stderr = invoke("import", path, "--format", "labelstudio", "--db", db)
    assert "0 layers added, 1 unchanged, 2 failed" in stderr

    code, stdout, _ = invoke("eval", "agreement", "--db", db, "--json")
    assert code == 0
    report = json.loads(stdout)
    assert set(report) == {"si", "tc", "documents", "per_document"}
    assert set(report["si"]) == {"precision", "recall", "f1"} and set(report["tc"]) == {"micro_f1"}
    assert report["documents"] == 1 and report["per_document"][0]["annotator"] == "alice"
    assert report["si"]["f1"] == pytest.approx(0.6) and report["tc"]["micro_f1"] == pytest.approx(0.5)
    code, stdout, _ = invoke("eval", "agreement", "--db", db)
    assert code == 0 and "overall" in stdout and "0.6000" in stdout


def test_annotator_option_overrides_and_filters(tmp_path: Path, db: str, fake_importer: Path) -> None:
    path = write(tmp_path, [{"id": str(fake_importer), "who": "alice", "spans": [[50, 60, "Doubt"]]}])
    assert invoke("import", path, "--format", "labelstudio", "--annotator", "bob", "--db", db)[0] == 0
    code, stdout, _ = invoke("eval", "agreement", "--db", db, "--annotator", "bob", "--json")
    assert code == 0 and [r["annotator"] for r in json.loads(stdout)["per_document"]] == ["bob"]
    code, _, stderr = invoke("eval", "agreement", "--db", db, "--annotator", "alice")
    assert code == 1 and "E725 no human layers of 'alice'" in stderr


def test_no_annotator_anywhere_is_a_per_record_error(tmp_path: Path, db: str, fake_importer: Path) -> None:
    path = write(tmp_path, [{"id": str(fake_importer), "spans": [[50, 60, "Doubt"]]}])
    code, _, stderr = invoke("import", path, "--format", "labelstudio", "--db", db)
    assert code == 1 and "E721 export.json:1" in stderr and "--annotator" in stderr


def test_unknown_format_is_a_usage_error(tmp_path: Path, db: str, fake_importer: Path) -> None:
    path = write(tmp_path, [])
    code, _, stderr = invoke("import", path, "--format", "brat", "--db", db)
    assert code == 2 and "E723 unknown import format 'brat'" in stderr and "labelstudio" in stderr


def test_label_studio_round_trip_through_the_real_reader(
    tmp_path: Path, db: str, stored: Document
) -> None:
    """Export for Label Studio, review as its JSON export records it (one label changed, one span
    deleted, one added), import, and read the agreement: the reader is the real one."""
    labelstudio = pytest.importorskip("propscope.annotation.labelstudio")
    with Store.open(db) as store:
        (task,) = json.loads(labelstudio.export_tasks([store.get(stored.id)]))
    regions = task["predictions"][0]["result"]
    labels = [r["value"]["labels"] for r in regions]
    assert labels == [["Loaded_Language"], ["Name_Calling,Labeling"], ["Doubt"]]
    regions[1]["value"]["labels"] = ["Slogans"]  # relabelled
    del regions[2]  # deleted: "not Doubt"
    regions.append({"id": "new1", "from_name": "technique", "to_name": "text", "type": "labels",
                    "value": {"start": 70, "end": 78, "text": TEXT[70:78], "labels": ["Flag-Waving"]}})
    task["id"] = 7
    task["annotations"] = [{"id": 1, "completed_by": {"id": 3, "email": "alice@example.org"},
                            "result": regions, "was_cancelled": False}]
    path = tmp_path / "project-1-at-2026-12-01.json"
    path.write_text(json.dumps([task]), encoding="utf-8")

    code, _, stderr = invoke("import", str(path), "--format", "labelstudio", "--db", db)
    assert code == 0 and "1 layers added, 0 unchanged, 0 failed" in stderr
    with Store.open(db) as store:
        (reviewed,) = store.human_layers()
        assert store.get(stored.id).techniques == MODEL  # the model's layer as it was
    assert reviewed.annotator == "alice@example.org"
    assert [(s.start, s.end, s.label) for s in reviewed.spans] == [
        (0, 10, "Loaded_Language"), (25, 35, "Slogans"), (70, 78, "Flag-Waving")]
    code, stdout, _ = invoke("eval", "agreement", "--db", db, "--json")
    report = json.loads(stdout)
    # SI: model (0,10) and (25,35) match exactly, (50,60) matches nothing, (70,78) is missed:
    # P = 2/3, R = 2/3; TC: Loaded_Language right, Slogans (model: Name_Calling) and
    # Flag-Waving (model: none) wrong.
    assert report["si"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3})
    assert report["tc"]["micro_f1"] == pytest.approx(1 / 3)
    assert invoke("import", str(path), "--format", "labelstudio", "--db", db)[2].count("1 unchanged") == 1


@pytest.mark.parametrize(("fmt", "name"), [("doccano", "review.jsonl"), ("inception", "review.zip")])
def test_unchanged_review_through_doccano_and_inception_agrees_fully(tmp_path: Path, fmt: str,
                                                                    name: str) -> None:
    """An export imported back as is (nobody changed a span), on a text with an emoji and CRLF:
    the offsets survive both tools' readers and the model agrees with itself."""
    formats = pytest.importorskip("propscope.annotation.formats")
    text = "The enemy is EVIL 😀 and everyone knows it.\r\nWe must act now."
    start = text.index("act now")
    spans = (TechniqueSpan(start, start + 7, "act now", "Slogans", 0.6),)
    url = f"sqlite:///{tmp_path / 'rt.db'}"
    with Store.open(url) as store:
        store.save([Result(Document(text=text), Annotations(techniques=spans), {"techniques": "t1"})])
        exported = formats.EXPORTERS[fmt](store.iter_results())
    (tmp_path / name).write_bytes(exported)
    code, _, stderr = invoke("import", str(tmp_path / name), "--format", fmt, "--annotator", "zed",
                             "--db", url)
    assert code == 0 and "1 layers added" in stderr
    code, stdout, _ = invoke("eval", "agreement", "--db", url, "--json")
    report = json.loads(stdout)
    assert report["si"]["f1"] == pytest.approx(1.0) and report["tc"]["micro_f1"] == pytest.approx(1.0)


@pytest.mark.parametrize(("content", "code", "message"), [(b"not json", 1, "E700")])
def test_an_unreadable_export_is_one_clear_error(tmp_path: Path, db: str, content: bytes, code: int,
                                                 message: str) -> None:
    pytest.importorskip("propscope.annotation.formats")
    path = tmp_path / "export.json"
    path.write_bytes(content)
    exit_code, _, stderr = invoke("import", str(path), "--format", "labelstudio", "--db", db)
    assert exit_code == code and message in stderr and "Traceback" not in stderr
    missing = invoke("import", str(tmp_path / "nope.json"), "--format", "labelstudio", "--db", db)
    assert missing[0] == 2 and "does not exist" in missing[2]
