"""Eval gate: the bundled technique model must not fall below the floors pinned in
benchmarks/baseline.json on a fixed slice of PTC dev (lowering a floor is an explained change)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from propscope.analyzers.techniques import MODEL_DIR
from propscope.eval.ptc import evaluate_ptc

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ptc-semeval2020-task11"
BASELINE = json.loads((ROOT / "benchmarks" / "baseline.json").read_text(encoding="utf-8"))

pytestmark = [
    pytest.mark.skipif(not DATA.is_dir(), reason=f"PTC data absent: {DATA}"),
    pytest.mark.skipif(not (MODEL_DIR / "model.onnx").is_file(), reason="bundled model absent"),
]


@pytest.mark.parametrize("gate", [BASELINE["techniques"]])
def test_technique_floors_on_dev_slice(gate: dict) -> None:
    result = evaluate_ptc(
        DATA / "dev-articles", DATA / "dev-task-SI.labels", DATA / "dev-task-TC.labels",
        limit=int(gate["dev_articles"]),
    )
    assert result["articles"] == gate["dev_articles"]
    assert result["si"]["f1"] >= gate["si_f1_floor"], result["si"]
    assert result["tc"]["micro_f1"] >= gate["tc_micro_f1_floor"], result["tc"]["micro_f1"]


def test_predictions_out_writes_calibrated_spans(tmp_path: Path) -> None:
    """spans.jsonl: every SI prediction once, with its technique and both probabilities."""
    evaluate_ptc(
        DATA / "dev-articles", DATA / "dev-task-SI.labels", DATA / "dev-task-TC.labels",
        predictions_out=tmp_path, limit=3,
    )
    rows = [json.loads(line) for line in (tmp_path / "spans.jsonl").read_text("utf-8").splitlines()]
    si = [line.split("\t") for line in (tmp_path / "si-predictions.txt").read_text("utf-8").splitlines()]
    assert rows, "three dev articles with no span found"
    assert [(r["article_id"], r["start"], r["end"]) for r in rows] == [(a, int(s), int(e)) for a, s, e in si]
    assert set(rows[0]) == {"article_id", "start", "end", "technique", "score", "technique_score"}
    assert all(0.0 < r["score"] < 1.0 and 0.0 < r["technique_score"] < 1.0 for r in rows)
