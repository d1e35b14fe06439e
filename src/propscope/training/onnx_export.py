"""Export a MiniLM encoder (or a classifier fine-tuned from it) to int8 ONNX, and check it.

Traps this avoids (see shared/MODEL-NOTES.md): positional-argument export fails, so a wrapper
passes keywords; an unpadded example silently drops the attention mask, so the example batch is
padded, attention is eager and the TorchScript exporter (dynamo=False) is used. Quantisation is
dynamic int8, per channel, reduce_range=True (default settings lose ~3 cosine points).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from onnxruntime.quantization import QuantType, quantize_dynamic
from tokenizers import Tokenizer

EXAMPLE = ["A short one.", "A somewhat longer example sentence so that the batch is padded here."]


class _Keywords(torch.nn.Module):
    """Calls the wrapped model with keyword arguments and returns one tensor."""

    def __init__(self, model: torch.nn.Module, output: str) -> None:
        super().__init__()
        self.model = model
        self.output = output

    def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return getattr(out, self.output)


def _batch(tokenizer: Tokenizer, texts: list[str], max_len: int) -> dict[str, np.ndarray]:
    tokenizer.enable_truncation(max_len)
    tokenizer.enable_padding()
    enc = tokenizer.encode_batch(texts)
    return {
        "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
    }


def export(
    model: torch.nn.Module, output: str, tokenizer_json: Path, out_dir: Path, max_len: int = 128
) -> Path:
    """Export `model` (HF, eager attention) to out_dir/model.onnx as int8; returns its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer.from_file(str(tokenizer_json))
    feeds = _batch(tokenizer, EXAMPLE, max_len)
    args = tuple(torch.from_numpy(feeds[k]) for k in ("input_ids", "attention_mask", "token_type_ids"))
    fp32 = out_dir / "model.fp32.onnx"
    dyn = {0: "batch", 1: "seq"}
    torch.onnx.export(
        _Keywords(model.eval(), output),
        args,
        str(fp32),
        dynamo=False,
        opset_version=17,
        input_names=["input_ids", "attention_mask", "token_type_ids"],
        output_names=["output"],
        dynamic_axes={
            "input_ids": dyn,
            "attention_mask": dyn,
            "token_type_ids": dyn,
            "output": {0: "batch"} if output == "logits" else dyn,
        },
    )
    target = out_dir / "model.onnx"
    quantize_dynamic(str(fp32), str(target), per_channel=True, reduce_range=True, weight_type=QuantType.QInt8)
    fp32.unlink()
    shutil.copy(tokenizer_json, out_dir / "tokenizer.json")
    return target


def run_onnx(path: Path, tokenizer_json: Path, texts: list[str], max_len: int) -> np.ndarray:
    """The raw output of an exported model on `texts`, for comparison with torch."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = _batch(Tokenizer.from_file(str(tokenizer_json)), texts, max_len)
    return np.asarray(session.run(None, feeds)[0]), feeds["attention_mask"]


SHARD_BYTES = 90 * 1000 * 1000  # under the repository's 95 MB limit per committed file


def save_sharded(source: Path, target: Path, shard_bytes: int = SHARD_BYTES) -> list[Path]:
    """Save the ONNX model at `source` as `target` with its weights in `target.dataN` files of
    at most `shard_bytes` each (a tensor larger than that gets a file of its own).

    The accurate profile's int8 MPNet is 195 MB, over the 95 MB a committed file may weigh;
    ONNX Runtime reads external data from files next to the graph, so the split costs nothing
    at inference. Returns the files written, the graph first.
    """
    import onnx
    from onnx import external_data_helper as external

    model = onnx.load(str(source))
    tensors = [
        t for t in external._get_all_tensors(model) if t.HasField("raw_data") and len(t.raw_data) > 1024
    ]
    for stale in target.parent.glob(f"{target.name}.data*"):
        stale.unlink()
    shard, used = 0, 0
    for tensor in tensors:
        size = len(tensor.raw_data)
        if used and used + size > shard_bytes:
            shard, used = shard + 1, 0
        location = f"{target.name}.data{shard}"
        with open(target.parent / location, "ab") as f:  # appended: `used` is the file's length
            f.write(tensor.raw_data)
        external.set_external_data(tensor, location=location, offset=used, length=size)
        tensor.ClearField("raw_data")
        tensor.data_location = onnx.TensorProto.EXTERNAL
        used += size
    onnx.save_model(model, str(target))
    return [target, *sorted(target.parent.glob(f"{target.name}.data*"))]
