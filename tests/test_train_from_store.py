"""`propscope train techniques --from-store`: retraining on the store's human layers.

CI-sized: the "shipped" model here is a tiny randomly initialised BERT (2 layers, 32 wide)
exported and quantised exactly as the bundled one, installed as the profile's model through
$PROPSCOPE_TECHNIQUES_MODEL; the real MiniLM costs about a minute of overhead alone. What is
checked is the path itself: weights recovered from the int8 graph, the split by document, the
before/after figures, and a folder that `--model` and the analysers load (or refuse, for heads
fitted on another encoder).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from propscope.annotation.records import HumanLayer, ReviewedDocument, ReviewedSpan
from propscope.document import Document
from propscope.errors import AnalyzerError, AnnotationError
from propscope.profiles import MODEL_OVERRIDE_ENV, PROFILES

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None,
        reason="training needs the [train] extra (torch, transformers)",
    ),
    # the TorchScript exporter and the quantiser warn (tracer, legacy exporter, pre-processing):
    # torch's and onnxruntime's, not ours
    pytest.mark.filterwarnings("ignore"),
]

BUNDLED = PROFILES["fast"].model_dir
TEXTS = [
    "The corrupt elites lied again and again.\nThey are traitors to the nation.",
    "Officials said the council approved the budget on Monday.\nThe vote was 7 to 2.",
    "Only a fool would believe the so-called experts.\nWake up, patriots!",
    "The shameful regime spreads chaos and fear.\nEveryone knows they will fail.",
]
PHRASES = [  # (document, phrase, technique); document 1 has no technique at all
    (0, "corrupt", "Loaded_Language"),
    (0, "traitors to the nation", "Name_Calling,Labeling"),
    (2, "so-called experts", "Doubt"),
    (2, "Wake up, patriots!", "Flag-Waving"),
    (3, "shameful regime", "Loaded_Language"),
]
SPANS = [(d, TEXTS[d].index(p), TEXTS[d].index(p) + len(p), label) for d, p, label in PHRASES]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(encoder architecture folder, "shipped" model folder) for a tiny random BERT."""
    import torch
    from transformers import BertConfig, BertModel

    from propscope.training import techniques as tt

    root = tmp_path_factory.mktemp("tiny")
    torch.manual_seed(0)
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    BertModel(config).save_pretrained(root / "encoder")
    shutil.copy(BUNDLED / "tokenizer.json", root / "encoder" / "tokenizer.json")  # as a real encoder folder
    net = tt.TechniqueNet(root / "encoder")
    shipped = root / "shipped"
    shipped.mkdir()
    tt.save_tc_head(net, shipped / "tc_head.npz")
    tt.export_onnx(net, shipped / "model-fp32.onnx")
    tt.quantise(shipped / "model-fp32.onnx", shipped / "model.onnx")
    (shipped / "model-fp32.onnx").unlink()
    for name in ("tokenizer.json", "sentence_heads.json", "sentence_heads.npz", "calibration.json"):
        shutil.copy(BUNDLED / name, shipped / name)
    # the article assessment's map, as the bundled folder has it (fitted on calibrated scores)
    (shipped / "assessment.json").write_text(json.dumps(
        {"weights": [1.0, 0.0, 0.0], "bias": 0.0, "density_quantiles": [0.0, 1.0]}), encoding="utf-8")
    settings = json.loads((BUNDLED / "config.json").read_text("utf-8"))
    settings.update(version="tiny-1", hidden_size=32, profile="fast")
    (shipped / "config.json").write_text(json.dumps(settings), encoding="utf-8")
    return root / "encoder", shipped


def _layers(count: int = 4) -> list[HumanLayer]:
    return [
        HumanLayer(  # one review per document
            f"doc{k}", TEXTS[k], "alice", f"2026-12-01T10:0{k}:00+00:00", "labelstudio",
            tuple(ReviewedSpan(s, e, label, "technique", TEXTS[k][s:e])
                  for d, s, e, label in SPANS if d == k),
        )
        for k in range(count)
    ]


class FakeStore:
    """Has exactly the method training reads (`Store.human_layers`)."""

    def __init__(self, layers: list[HumanLayer]) -> None:
        self.layers = layers
        self.asked: list[str | None] = []

    def human_layers(self, annotator: str | None = None) -> list[HumanLayer]:
        self.asked.append(annotator)
        return [h for h in self.layers if annotator is None or h.annotator == annotator]


@pytest.mark.parametrize("layer", ["net"])
def test_weights_recovered_from_the_int8_graph_reproduce_it(tiny: tuple[Path, Path], layer: str) -> None:
    """Dequantised weights rebuild the shipped model: same SI decisions as the int8 graph."""
    import numpy as np

    from propscope.analyzers.techniques import TechniqueModel
    from propscope.training import from_store
    from propscope.training import techniques as tt

    encoder, shipped = tiny
    net, kept = from_store.shipped_net(shipped, encoder)
    assert kept == ["encoder.pooler.dense.bias", "encoder.pooler.dense.weight"]  # not in the graph
    model = TechniqueModel(shipped)
    article = from_store.reviewed_articles(_layers(1), shipped / "tokenizer.json")[0]
    (probs, hidden), = tt.encode_articles(net, [article], "cpu")
    enc = model.encode([article.text], keep=False)[0]
    norms = np.linalg.norm(enc.hidden, axis=1) * np.linalg.norm(hidden, axis=1)
    cosine = (enc.hidden * hidden).sum(1) / norms
    assert cosine.min() > 0.95  # int8 activations against fp32: close, not equal
    assert np.abs(enc.probs - probs).max() < 0.1


@pytest.mark.parametrize(("share", "held"), [(0.25, 1), (0.5, 2), (1.0, 3)])
def test_split_holds_out_a_seeded_share_by_document(tiny: tuple[Path, Path], share: float, held: int) -> None:
    from propscope.training.from_store import reviewed_articles, split

    articles = reviewed_articles(_layers(), tiny[1] / "tokenizer.json")
    first, again = split(articles, share, seed=5), split(articles, share, seed=5)
    assert [a.id for a in first.held_out] == [a.id for a in again.held_out]
    assert len(first.held_out) == held
    assert {a.id for a in first.train} | {a.id for a in first.held_out} == {f"doc{k}" for k in range(4)}
    assert not {a.id for a in first.train} & {a.id for a in first.held_out}


@pytest.mark.parametrize("annotator", ["bob"])
def test_latest_review_of_a_document_is_the_one_trained_on(tiny: tuple[Path, Path], annotator: str) -> None:
    from propscope.training.from_store import reviewed_articles

    older = _layers(1)[0]
    newer = HumanLayer(older.document_id, older.text, annotator, "2026-12-01T11:00:00+00:00", "doccano", ())
    (article,) = reviewed_articles([newer, older], tiny[1] / "tokenizer.json")
    assert article.si == [] and article.tc == []


@pytest.mark.parametrize(("layers", "code"), [(1, "E731"), (0, "E730")])
def test_too_little_to_train_on_is_a_coded_error(tiny: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path, layers: int, code: str) -> None:
    from propscope.training.from_store import FromStoreOptions, train_from_store

    monkeypatch.setenv(MODEL_OVERRIDE_ENV, str(tiny[1]))
    layers_given = _layers(layers) if layers else [_layers(2)[1]]  # 0: one review, no technique
    with pytest.raises(AnnotationError, match=code):
        train_from_store(FakeStore(layers_given), tmp_path / "out", FromStoreOptions())


@pytest.mark.parametrize("label", ["Lying"])
def test_an_unknown_technique_label_is_refused(tiny: tuple[Path, Path], label: str) -> None:
    from propscope.training.from_store import reviewed_articles

    layer = _layers(1)[0]
    bad = HumanLayer(layer.document_id, layer.text, "alice", layer.imported_at, "labelstudio",
                     (ReviewedSpan(4, 11, label, "technique", "corrupt"),))
    with pytest.raises(AnnotationError, match=f"E732 .*{label}"):
        reviewed_articles([bad], tiny[1] / "tokenizer.json")


@pytest.fixture(scope="module")
def retrained(
    tiny: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict, FakeStore]:
    """A few optimiser steps from the tiny "shipped" model on four reviewed documents."""
    from propscope.training.from_store import FromStoreOptions, train_from_store

    out = tmp_path_factory.mktemp("retrained") / "model"
    store = FakeStore(_layers())
    patch = _tiny_profile(tiny)
    try:
        options = FromStoreOptions(annotator="alice", max_steps=3, batch_size=2, seed=3, lr=1e-3)
        report = train_from_store(store, out, options)
    finally:
        patch.undo()
    return out, report, store


@pytest.mark.parametrize(
    "name", ["model.onnx", "tc_head.npz", "tokenizer.json", "config.json", "from_store.json"]
)
def test_retrained_folder_has_the_model_files(retrained: tuple[Path, dict, FakeStore], name: str) -> None:
    assert (retrained[0] / name).is_file()


@pytest.mark.parametrize("when", ["before", "after"])
def test_report_scores_both_models_on_the_held_out_documents(retrained: tuple[Path, dict, FakeStore],
                                                             when: str) -> None:
    out, report, store = retrained
    assert store.asked == ["alice"]
    assert report["documents"] == 4 and len(report["held_out_documents"]) == 1
    assert report["held_out_share"] == 0.25 and "by document" in report["split"]
    figures = report[when]
    assert figures["documents"] == 1
    assert set(figures["si"]) == {"precision", "recall", "f1"}
    tc = figures["tc_micro_f1"]
    assert (tc is None) == (figures["tc_rows"] == 0) and (tc is None or 0.0 <= tc <= 1.0)
    assert json.loads((out / "from_store.json").read_text())[when] == figures


@pytest.mark.parametrize("key", ["config"])
def test_config_says_what_the_folder_is(retrained: tuple[Path, dict, FakeStore], key: str) -> None:
    config = json.loads((retrained[0] / "config.json").read_text())
    assert config["profile"] == "fast"
    assert config["fine_tuned_from"] == "tiny-1" and config["version"].startswith("tiny-1-ft")
    assert config["heads_refit_needed"] == ["sentence_heads.json", "sentence_heads.npz"]
    assert config["calibration"] is None and not (retrained[0] / "calibration.json").exists()
    assert not (retrained[0] / "assessment.json").exists()  # it maps the shipped model's scores
    assert config["training"]["max_steps"] == 3 and "dev" not in config


@pytest.mark.parametrize("text", ["The corrupt elites lied again and again.\nThey lied."])
def test_retrained_folder_analyses_text(retrained: tuple[Path, dict, FakeStore], text: str) -> None:
    from propscope.analyzers.techniques import TechniqueAnalyzer

    analyzer = TechniqueAnalyzer(retrained[0])
    (result,) = analyzer.analyze([Document(text)])
    result.check(text)
    assert analyzer.version.startswith("techniques-") and "+fast-tiny-1-ft" in analyzer.version
    assert all(span.technique_score is None for span in result.techniques)  # no calibration
    assert result.assessment == {}  # no assessment map fitted on this model


@pytest.mark.parametrize("name", ["claims", "narrative_labels"])
def test_analysers_reading_heads_refuse_the_retrained_folder(retrained: tuple[Path, dict, FakeStore],
                                                             name: str) -> None:
    from propscope import registry

    factory = registry._factories()[name]
    refused = r"E203 .*retrained technique model.*--analyzers stats,techniques"
    with pytest.raises(AnalyzerError, match=refused):
        factory(model_dir=retrained[0])


@pytest.mark.parametrize("analyzers", ["stats,techniques"])
def test_cli_analyze_loads_the_retrained_folder_with_model(retrained: tuple[Path, dict, FakeStore],
                                                           tmp_path: Path, analyzers: str) -> None:
    from propscope.cli import app

    source = tmp_path / "a.txt"
    source.write_text(TEXTS[0], encoding="utf-8")
    args = ["analyze", str(source), "--no-store", "-f", "json", "--analyzers", analyzers,
            "--model", str(retrained[0])]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    versions = json.loads(result.stdout)["analyzers"]
    assert "+fast-tiny-1-ft" in versions["techniques"]


@pytest.mark.parametrize("analyzers", [None])
def test_cli_analyze_refuses_default_analysers_on_the_retrained_folder(
    retrained: tuple[Path, dict, FakeStore], tmp_path: Path, analyzers: None
) -> None:
    from propscope.cli import app

    source = tmp_path / "a.txt"
    source.write_text(TEXTS[0], encoding="utf-8")
    result = CliRunner().invoke(app, ["analyze", str(source), "--no-store", "--model", str(retrained[0])])
    assert result.exit_code == 2 and "E203" in result.output


@pytest.mark.parametrize("profile", ["accurate"])
@pytest.mark.usefixtures("accurate_absent")
def test_cli_from_store_with_an_uninstalled_profile_exits_2(tmp_path: Path, profile: str) -> None:
    from propscope.cli import app

    args = ["train", "techniques", "--from-store", "--db", f"sqlite:///{tmp_path / 's.db'}",
            "--profile", profile, "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "E412" in result.output
    assert not (tmp_path / "s.db").exists()  # refused before the store was opened


def _store_reviews(db: str) -> None:
    from propscope.store import Store

    with Store.open(db) as store:
        docs = [Document(text, id=f"doc{k}") for k, text in enumerate(TEXTS)]
        store.save_documents(docs)
        for layer in _layers():
            review = ReviewedDocument(spans=layer.spans, document_id=layer.document_id, text=layer.text,
                                      source_format="labelstudio", source=f"test:{layer.document_id}")
            store.add_human_layer(review, "alice")


def test_cli_from_store_end_to_end_on_the_real_store(tiny: tuple[Path, Path], tmp_path: Path) -> None:
    """Reviews stored through the real `Store`, retrained by the command, loaded by `--model`."""
    from propscope.cli import app
    from propscope.store import Store

    if not hasattr(Store, "human_layers"):
        pytest.skip("Store.human_layers is not in this tree yet")
    db = f"sqlite:///{tmp_path / 'reviews.db'}"
    _store_reviews(db)
    patch = _tiny_profile(tiny)
    out = tmp_path / "model"
    args = ["train", "techniques", "--from-store", "--db", db, "--annotator", "alice",
            "--max-steps", "2", "--out", str(out)]
    try:
        result = CliRunner().invoke(app, args)
    finally:
        patch.undo()
    assert result.exit_code == 0, result.output
    assert "held out (25% share" in result.output and "before" in result.output and "after" in result.output
    report = json.loads((out / "from_store.json").read_text())
    assert report["documents"] == 4 and report["annotator"] == "alice"
    source = tmp_path / "a.txt"
    source.write_text(TEXTS[2], encoding="utf-8")
    analysed = CliRunner().invoke(app, ["analyze", str(source), "--no-store", "-f", "json",
                                        "--analyzers", "techniques", "--model", str(out)])
    assert analysed.exit_code == 0, analysed.output
    assert "+fast-tiny-1-ft" in json.loads(analysed.stdout)["analyzers"]["techniques"]


def _tiny_profile(tiny: tuple[Path, Path]) -> pytest.MonkeyPatch:
    """The tiny model installed as the `fast` profile's (the override every analyser and the
    trainer honour), and its architecture as the base encoder training builds on."""
    from propscope.training import techniques as tt

    patch = pytest.MonkeyPatch()
    patch.setenv(MODEL_OVERRIDE_ENV, str(tiny[1]))
    patch.setattr(tt, "base_model_path", lambda: tiny[0])
    return patch


@pytest.mark.parametrize("profile", ["accurate"])
def test_cli_from_store_refuses_the_accurate_profile_e415(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          profile: str) -> None:
    """Its MPNet architecture is a training-time download: refused plainly, store untouched."""
    from propscope import profiles
    from propscope.cli import app

    models = tmp_path / "models"
    (models / profiles.PROFILES[profile].folder).mkdir(parents=True)
    (models / profiles.PROFILES[profile].folder / "model.onnx").write_bytes(b"")
    monkeypatch.setattr(profiles, "MODELS_DIR", models)
    args = ["train", "techniques", "--from-store", "--db", f"sqlite:///{tmp_path / 's.db'}",
            "--profile", profile, "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "E415" in result.output
    assert not (tmp_path / "s.db").exists()
