"""Reading a head's weights (.npz) and settings (.json) from a model folder, the same way for
every head: a missing file is the analyser's E204 naming what is missing, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from propscope.errors import AnalyzerError


def read_head(
    folder: Path, weights: str, config: str, name: str, dtype: type[np.floating[Any]] = np.float32
) -> tuple[dict[str, Any], dict[str, np.ndarray[Any, Any]]]:
    """(settings, arrays) of the head `name` stored as `folder/weights` + `folder/config`."""
    if not (folder / weights).is_file() or not (folder / config).is_file():
        raise AnalyzerError(AnalyzerError.E_MODEL.format(name=name, path=folder / weights))
    with np.load(folder / weights) as npz:
        arrays = {key: np.asarray(npz[key], dtype=dtype) for key in npz.files}
    return json.loads((folder / config).read_text("utf-8")), arrays


def require_encoder(config: dict[str, Any], encoder: object, name: str, what: str, refit: str) -> None:
    """E203 unless the head's recorded `encoder` is this `encoder` version: a head fitted on
    another encoder (or other windows) would score without complaint and be wrong.

    `what` opens the reason ("the framing head was"), `refit` closes it (how to refit)."""
    fitted_on = config.get("encoder")
    if fitted_on != encoder:
        reason = f"{what} fitted on {fitted_on!r}, this encoder is {encoder!r}; {refit}"
        raise AnalyzerError(AnalyzerError.E_LOAD.format(name=name, reason=reason))
