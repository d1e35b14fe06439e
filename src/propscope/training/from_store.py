"""Retrain the technique model on people's reviews: `propscope train techniques --from-store`.

The reviews are the store's human layers (issue 18: exported for review, corrected in Label
Studio, doccano or INCEpTION, imported back). Training starts from the *shipped* model of the
chosen profile, not from the base encoder: its int8 ONNX graph is dequantised back into torch
weights (`recover_weights`; the fp32 training checkpoints of the shipped model were not kept),
and its TC head comes from tc_head.npz. A seeded share of the user's documents is held out, by
document, before anything is trained; the shipped model and the retrained one are both scored
on it with the SemEval-2020 metrics (eval/ptc.py), so the before/after figures are on documents
neither model was trained or tuned on. The SI decoding settings are the shipped model's, not
re-tuned: the held-out share is too small to tune on and is the only honest test set there is.

What the new folder carries, and why:
- model.onnx (int8, quantised as the shipped one), tc_head.npz, tokenizer.json, config.json
  (`profile`, a version of its own, the held-out ids and the before/after figures, also in
  from_store.json);
- no calibration.json and no assessment.json: they map the shipped encoder's scores; on this
  one a span's `score` is the raw P(span) x P(technique), there is no `technique_score` and no
  article-level `assessment`;
- the shipped heads of the other analysers (sentence_heads.*, and any other head file) copied
  but listed under `heads_refit_needed`: they were fitted on the shipped encoder's states, so
  claims, narratives and the other encoder-reading analysers refuse the folder with E203 and
  say how to refit, instead of scoring wrong without complaint.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from propscope import profiles
from propscope.analyzers.techniques import TechniqueModel
from propscope.annotation.records import HumanLayer
from propscope.errors import AnnotationError, UsageError
from propscope.eval import ptc
from propscope.models.runtime import load_tokenizer, tokenize
from propscope.techniques import NAMES
from propscope.training import techniques as tt

# A quarter of the user's documents is held out: a tenth would leave nothing to score on with
# the few dozen documents a desk reviews; a third would leave too little to learn from.
HOLDOUT_SHARE = 0.25
MIN_DOCUMENTS = 2  # one to train on, one to score on
LR = 2e-5  # the shipped model's last stage; a higher rate forgets PTC on a handful of documents
EPOCHS = 3
# Files of the shipped folder that are replaced, or dropped because they map the shipped
# model's scores (calibration, the article assessment, which reads calibrated scores): without
# them the analyser reports raw scores and no assessment, and says so (models/assessment.py).
NOT_COPIED = {
    "model.onnx", "model-fp32.onnx", "tokenizer.json", "config.json", "tc_head.npz",
    "calibration.json", "reliability.png", "assessment.json", "MODEL_CARD.md", "SENTENCE_HEADS.md",
}


class HumanLayerSource(Protocol):
    """What training reads from the store (`Store.human_layers`)."""

    def human_layers(self, annotator: str | None = None) -> list[HumanLayer]: ...


@dataclass(frozen=True)
class Split:
    """The user's reviewed documents, split by document before any training."""

    train: list[tt.Article]
    held_out: list[tt.Article]


def reviewed_articles(layers: Sequence[HumanLayer], tokenizer_path: Path) -> list[tt.Article]:
    """One training article per reviewed document: its latest human layer's technique spans.

    A document reviewed several times (re-imports, several annotators) counts once, with the
    most recent review, so no document is both trained on and held out. A layer without any
    technique span says the document has none, and teaches that too.
    """
    latest: dict[str, HumanLayer] = {}
    for layer in sorted(layers, key=lambda h: (h.imported_at, h.annotator)):
        latest[layer.document_id] = layer
    tokenizer = load_tokenizer(str(tokenizer_path))
    return [_article(layer, tokenizer) for _, layer in sorted(latest.items())]


def _article(layer: HumanLayer, tokenizer: Any) -> tt.Article:
    spans = [s for s in layer.spans if s.layer == "technique"]
    unknown = sorted({s.label for s in spans if s.label not in NAMES})
    if unknown:
        reason = f"unknown technique label(s) {', '.join(unknown)}; use one of {', '.join(NAMES)}"
        raise AnnotationError(AnnotationError.E_TRAIN_LABEL.format(id=layer.document_id, reason=reason))
    rows = [ptc.TCRow(layer.document_id, s.label, s.start, s.end) for s in spans]
    si = ptc.merge_spans((s.start, s.end) for s in spans)
    return tt.Article(layer.document_id, layer.text, tokenize(tokenizer, layer.text), si, rows)


def split(articles: list[tt.Article], share: float, seed: int) -> Split:
    """Hold out `share` of the documents (at least one), chosen by a seeded shuffle of ids."""
    if len(articles) < MIN_DOCUMENTS:
        raise AnnotationError(AnnotationError.E_TRAIN_FEW.format(n=len(articles), need=MIN_DOCUMENTS))
    return Split(*tt.split_holdout(articles, share, seed))


def score(model: TechniqueModel, articles: Sequence[tt.Article]) -> dict[str, Any]:
    """SI and TC figures of `model` on `articles` (the SemEval-2020 definitions, eval/ptc.py)."""
    texts = {a.id: a.text for a in articles}
    gold_tc = [r for a in articles for r in a.tc]
    found, labels = ptc.predict_ptc(model, texts, gold_tc)
    si = ptc.si_scores(ptc.si_spans(found), {a.id: a.si for a in articles})
    tc = ptc.tc_scores(gold_tc, labels)["micro_f1"] if gold_tc else None  # no span: no TC figure
    return {"si": si, "tc_micro_f1": tc, "documents": len(articles), "tc_rows": len(gold_tc)}


def recover_weights(onnx_path: Path) -> dict[str, torch.Tensor]:
    """Torch weights of TechniqueNet's encoder and SI head, read back from an exported graph.

    Dynamic int8 keeps each weight matrix as int8 values with a scale and zero point (per
    output channel for MatMul, per tensor for the embeddings): (q - zero_point) * scale is the
    weight the shipped model computes with. fp32 initialisers (biases, LayerNorms, the layers
    kept in fp32) are read as they are. Weights are found through the nodes that use them (the
    exporter names each node after its module, but shares one initialiser between equal
    tensors, such as freshly initialised biases); keys are TechniqueNet's state-dict names.
    """
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    arrays = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:  # a shared initialiser reaches its other users through Identity
        if node.op_type == "Identity" and node.input[0] in arrays:
            arrays[node.output[0]] = arrays[node.input[0]]
    state: dict[str, np.ndarray] = {}
    for node in graph.node:
        module = node.name.removeprefix("/net/").rsplit("/", 1)[0].replace("/", ".")
        for suffix, name in _node_weights(node):
            if name in arrays:
                value = _dequantised(arrays, name) if name.endswith("_quantized") else arrays[name]
                state[f"{module}.{suffix}"] = value.T if node.op_type.startswith("MatMul") else value
    return {k: torch.from_numpy(np.array(v, dtype=np.float32, order="C")) for k, v in state.items()}


def _node_weights(node: Any) -> list[tuple[str, str]]:
    """(parameter, initialiser) pairs a node reads: its module's weight and bias."""
    if node.op_type in ("MatMul", "MatMulInteger"):
        return [("weight", node.input[1])]
    if node.op_type == "Gather":
        return [("weight", node.input[0])]
    if node.op_type == "LayerNormalization":
        return [("weight", node.input[1]), ("bias", node.input[2])]
    if node.op_type == "Add" and node.name.endswith("/Add"):
        return [("bias", name) for name in node.input]
    return []


def _dequantised(arrays: dict[str, np.ndarray], quantised: str) -> np.ndarray:
    base = quantised.removesuffix("_quantized")
    q = arrays[quantised].astype(np.float32)
    scale, zero = arrays[f"{base}_scale"], arrays[f"{base}_zero_point"].astype(np.float32)
    return (q - zero) * scale  # per tensor, or per output channel (the last axis) for MatMul


def shipped_net(folder: Path, encoder: Path | None = None) -> tuple[tt.TechniqueNet, list[str]]:
    """TechniqueNet initialised from the model in `folder`; also the state keys kept from the
    base encoder because the graph holds no weights for them (the unused pooler).

    `encoder` is the Hugging Face folder of the encoder's architecture (default: the profile's
    base encoder, all-MiniLM-L6-v2; tests pass a tiny random one)."""
    net = tt.TechniqueNet(encoder or tt.base_model_path())
    recovered = recover_weights(folder / "model.onnx")
    with np.load(folder / "tc_head.npz") as head:
        recovered["tc1.weight"] = torch.from_numpy(head["w1"].T.copy())
        recovered["tc1.bias"] = torch.from_numpy(head["b1"].copy())
        recovered["tc2.weight"] = torch.from_numpy(head["w2"].T.copy())
        recovered["tc2.bias"] = torch.from_numpy(head["b2"].copy())
    own = net.state_dict()
    recovered = {k: v for k, v in recovered.items() if k in own}
    wrong = [k for k, v in recovered.items() if own[k].shape != v.shape]
    if wrong:  # another architecture than the base encoder's: never train on half of it
        raise ValueError(f"{folder / 'model.onnx'} does not fit the base encoder: {wrong[:3]}")
    net.load_state_dict(recovered, strict=False)
    return net, sorted(k for k in own if k not in recovered)


@dataclass(frozen=True)
class FromStoreOptions:
    """How `train techniques --from-store` trains (the CLI's options)."""

    profile: str | None = None
    annotator: str | None = None
    also_ptc: Path | None = None
    holdout: float = HOLDOUT_SHARE
    epochs: int = EPOCHS
    max_steps: int | None = None
    seed: int = 13
    lr: float = LR
    batch_size: int = 16


def check_retrainable(shipped: Path) -> None:
    """E415 for the accurate profile: rebuilding torch weights needs its MPNet architecture
    (training/mpnet.py assembles it from registry parts), which a plain install lacks."""
    if profiles.folder_profile(shipped) == "accurate":
        raise UsageError(UsageError.E_FROM_STORE_PROFILE.format(name="accurate"))


def train_from_store(store: HumanLayerSource, out: Path, options: FromStoreOptions) -> dict[str, Any]:
    """Fine-tune the profile's shipped model on the store's human layers and write a model
    folder that `--model DIR` and $PROPSCOPE_TECHNIQUES_MODEL load.

    Args:
        store: anything with `human_layers(annotator)` (the `Store`).
        out: the new model folder.
        options: profile, annotator, PTC folder to add, held-out share, steps, seed.

    Returns:
        The report also written to `out/from_store.json`: documents, the held-out ids, and
        SI/TC figures of the shipped and the retrained model on the held-out documents.
    """
    began = time.time()
    shipped = profiles.model_dir(options.profile)  # E411/E412 before any reading
    check_retrainable(shipped)
    layers = store.human_layers(options.annotator)
    articles = reviewed_articles(layers, shipped / "tokenizer.json")
    if not any(a.tc for a in articles):
        who = f" by {options.annotator!r}" if options.annotator else ""
        raise AnnotationError(AnnotationError.E_TRAIN_EMPTY.format(annotator=who, layers=len(layers)))
    parts = split(articles, options.holdout, options.seed)
    before = score(TechniqueModel(shipped), parts.held_out)
    extra = tt.load_split(options.also_ptc, "train", None) if options.also_ptc else []
    net = _fine_tune(shipped, [*parts.train, *extra], options)
    out.mkdir(parents=True, exist_ok=True)
    config = _export(net, shipped, out, options)
    _write_json(out / "config.json", config)
    after = score(TechniqueModel(out), parts.held_out)
    report = _report(options, articles, parts, extra, before, after, time.time() - began)
    _write_json(out / "config.json", {**config, "from_store": report})
    _write_json(out / "from_store.json", report)
    return report


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _fine_tune(shipped: Path, articles: list[tt.Article], options: FromStoreOptions) -> tt.TechniqueNet:
    rng = tt._seed(options.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    net, _ = shipped_net(shipped)
    net.to(device)
    windows = [w for a in articles for w in tt.make_windows(a)]
    optimiser = torch.optim.AdamW(net.parameters(), lr=options.lr, weight_decay=0.01)
    per_epoch = -(-len(windows) // options.batch_size)
    total = min(options.epochs * per_epoch, options.max_steps or options.epochs * per_epoch)
    scheduler = tt._schedule(optimiser, total)
    args = {"device": device, "batch_size": options.batch_size, "tc_weight": 1.0,
            "max_steps": options.max_steps, "steps_done": 0}
    weights = tt.tc_class_weights(windows)
    for epoch in range(1, options.epochs + 1):
        tt.train_epoch(net, windows, optimiser, scheduler, weights, args, rng, epoch)
        if options.max_steps and args["steps_done"] >= options.max_steps:
            break
    return net.cpu().eval()


def _export(net: tt.TechniqueNet, shipped: Path, out: Path, options: FromStoreOptions) -> dict[str, Any]:
    """model.onnx (int8) + tc_head.npz + tokenizer, the shipped heads copied and marked, and
    the shipped config with this model's own version and profile."""
    tt.save_tc_head(net, out / "tc_head.npz")
    diff = tt.export_onnx(net, out / "model-fp32.onnx")
    tt.quantise(out / "model-fp32.onnx", out / "model.onnx")
    (out / "model-fp32.onnx").unlink()  # 90 MB; the int8 graph is what the analyser reads
    shutil.copy(shipped / "tokenizer.json", out / "tokenizer.json")
    stale = _copy_heads(shipped, out)
    config: dict[str, Any] = json.loads((shipped / "config.json").read_text("utf-8"))
    fitted_on = config["version"]
    config.update(
        version=f"{fitted_on}-ft{time.strftime('%Y%m%d%H%M%S', time.gmtime())}",
        profile=profiles.folder_profile(shipped) or options.profile or profiles.DEFAULT_PROFILE,
        fine_tuned_from=fitted_on,
        calibration=None,
        heads_refit_needed=stale,
        heads_fitted_on=config.get("heads_fitted_on", fitted_on),  # a retrained start keeps its origin
        training={"from_store": True, "epochs": options.epochs, "max_steps": options.max_steps,
                  "lr": options.lr, "seed": options.seed, "batch_size": options.batch_size,
                  "also_ptc": str(options.also_ptc) if options.also_ptc else None,
                  "onnx_max_abs_diff": diff, "init": f"dequantised {shipped / 'model.onnx'}"},
    )
    config.pop("dev", None)  # the shipped model's PTC dev figures are not this model's
    return config


def _copy_heads(shipped: Path, out: Path) -> list[str]:
    """Copy the other analysers' heads (fitted on the shipped encoder); return their names."""
    copied = []
    for path in sorted(shipped.iterdir()):
        if path.is_file() and path.name not in NOT_COPIED:
            shutil.copy(path, out / path.name)
            copied.append(path.name)
    return copied


def _report(
    options: FromStoreOptions, articles: list[tt.Article], parts: Split, extra: list[tt.Article],
    before: dict[str, Any], after: dict[str, Any], seconds: float,
) -> dict[str, Any]:
    return {
        "documents": len(articles),
        "train_documents": [a.id for a in parts.train],
        "held_out_documents": [a.id for a in parts.held_out],
        "held_out_share": options.holdout,
        "split": f"by document, seeded shuffle (seed {options.seed})",
        "annotator": options.annotator,
        "ptc_train_articles": len(extra),
        "before": before,
        "after": after,
        "seconds": round(seconds, 1),
    }


def format_report(report: dict[str, Any]) -> str:
    """The before/after lines `propscope train techniques --from-store` prints."""
    held = len(report["held_out_documents"])
    lines = [
        f"{report['documents']} reviewed documents: {len(report['train_documents'])} trained on, "
        f"{held} held out ({report['held_out_share']:.0%} share, {report['split']})",
    ]
    for name in ("before", "after"):
        r = report[name]
        tc = "-" if r["tc_micro_f1"] is None else f"{r['tc_micro_f1']:.3f}"
        lines.append(
            f"{name:<6} SI P {r['si']['precision']:.3f} R {r['si']['recall']:.3f} F1 {r['si']['f1']:.3f}"
            f"  TC micro-F1 {tc}  (held-out documents)"
        )
    return "\n".join(lines)
