"""Model profiles, chosen in one place: which technique encoder (and the heads fitted on it)
an analysis reads.

Techniques, claims, narratives and framing all read one encoder pass per profile: the heads
of every analyser live in the profile's model folder, next to the encoder they were fitted on.
`fast` is the fine-tuned all-MiniLM-L6-v2 bundled in the package. `accurate` is the
all-mpnet-base-v2 profile of the technique issue; its folder is only present where such a
model was trained and installed (see models/techniques/MODEL_CARD.md), and asking for it
elsewhere is a clear error, never a silent fall back to `fast`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from propscope.errors import UsageError

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_PROFILE = "fast"
# A folder made by `propscope train techniques` that replaces the chosen profile's model.
MODEL_OVERRIDE_ENV = "PROPSCOPE_TECHNIQUES_MODEL"
MODEL_FILES = ("model.onnx", "config.json")  # without these a folder is no model at all


@dataclass(frozen=True)
class Profile:
    """A named encoder and its heads: `folder` under propscope/models/."""

    name: str
    folder: str
    encoder: str
    summary: str

    @property
    def model_dir(self) -> Path:
        return MODELS_DIR / self.folder

    @property
    def installed(self) -> bool:
        return (self.model_dir / "model.onnx").is_file()


PROFILES: dict[str, Profile] = {
    "fast": Profile("fast", "techniques", "all-MiniLM-L6-v2", "6 layers, 384 wide: the laptop default"),
    "accurate": Profile(
        "accurate", "techniques-mpnet", "all-mpnet-base-v2", "12 layers, 768 wide: slower, more accurate"
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile called `name` (the default when None), installed; E411/E412 otherwise."""
    key = name or DEFAULT_PROFILE
    if key not in PROFILES:
        raise UsageError(UsageError.E_PROFILE.format(name=key, profiles=", ".join(PROFILES)))
    chosen = PROFILES[key]
    if not chosen.installed:
        hint = f"Use --profile {DEFAULT_PROFILE}, or train and install it (models/techniques/MODEL_CARD.md)."
        raise UsageError(UsageError.E_PROFILE_MISSING.format(name=key, path=chosen.model_dir, hint=hint))
    return chosen


def model_dir(name: str | None = None, model: Path | None = None, default: str = DEFAULT_PROFILE) -> Path:
    """The technique model folder an analysis reads: the one place that decides.

    Args:
        name: the profile asked for; unknown is E411 even with an override.
        model: a folder made by `propscope train techniques` (`--model DIR`); else
            $PROPSCOPE_TECHNIQUES_MODEL; else the profile's bundled folder (E412 when that
            profile is not installed). A folder trained for another profile than the one asked
            for is E413: a retrained `fast` model must not pass for `accurate`.
        default: the profile when none is asked for (`fast`; `interactive_default()` for
            `analyze` and `serve`).

    Returns:
        The folder the techniques, claims, narratives and framing analysers load.
    """
    key = name or default
    if key not in PROFILES:
        raise UsageError(UsageError.E_PROFILE.format(name=key, profiles=", ".join(PROFILES)))
    override = model or (Path(env) if (env := os.environ.get(MODEL_OVERRIDE_ENV)) else None)
    if override is None:
        return get_profile(key).model_dir
    _check_folder(override, "--model" if model else f"${MODEL_OVERRIDE_ENV}")
    trained_for = folder_profile(override)
    if name is not None and trained_for is not None and trained_for != name:
        raise UsageError(UsageError.E_PROFILE_MODEL.format(path=override, trained=trained_for, name=name))
    return override


def _check_folder(folder: Path, source: str) -> None:
    """E414 for a folder that holds no model: said before any document is read."""
    missing = [name for name in MODEL_FILES if not (folder / name).is_file()]
    if missing:
        message = UsageError.E_MODEL_FOLDER.format(source=source, path=folder, missing=", ".join(missing))
        raise UsageError(message)


# Whether `analyze` and `serve` default to `accurate` where it is installed. Off in this release:
# the first MPNet model (techniques-mpnet-1, models/techniques-mpnet/MODEL_CARD.md) scores SI F1
# 0.382 / TC micro-F1 0.585 on PTC dev, read once and never tuned on, against fast's 0.432 /
# 0.572 on the sealed PTC test: no better, and about 5x slower. It is installed and opt-in
# (`--profile accurate`) until a model that measures better replaces it.
ACCURATE_BY_DEFAULT = False


def interactive_default() -> str:
    """The default profile of `analyze`, `serve` and `propscope.analyze`: one article at a
    time, where quality matters more than a second, so `accurate` where it is installed and
    measured better (ACCURATE_BY_DEFAULT), else `fast` (the profile a result was made with is
    in its analyser versions either way)."""
    return "accurate" if ACCURATE_BY_DEFAULT and PROFILES["accurate"].installed else DEFAULT_PROFILE


def folder_profile(folder: Path) -> str | None:
    """The profile a model folder belongs to: a bundled profile's own folder, else the
    `profile` its config.json records (retrained folders do), else None (an older run)."""
    bundled = _bundled(folder)
    if bundled:
        return bundled
    recorded = read_config(folder).get("profile")
    return str(recorded) if recorded else None


def model_tag(folder: Path) -> str:
    """What an analyser adds to its version for results made with `folder`: the profile name
    for a bundled profile (`fast`), else the folder's profile, model version and a digest of its
    config.json (`fast-techniques-minilm-6-ft-3f2a9c1d`), so results of a retrained model are
    stored apart from the bundled model's and never mix with them silently."""
    bundled = _bundled(folder)
    if bundled:
        return bundled
    config = read_config(folder)
    try:
        digest = hashlib.sha256((folder / "config.json").read_bytes()).hexdigest()[:8]
    except OSError:
        digest = hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()[:8]
    parts = [str(config.get("profile") or "custom"), str(config.get("version") or "model"), digest]
    return "-".join(parts)


def _bundled(folder: Path) -> str | None:
    """The name of the profile whose bundled folder `folder` is, else None."""
    resolved = folder.resolve()
    return next((p.name for p in PROFILES.values() if p.model_dir.resolve() == resolved), None)


def read_config(folder: Path) -> dict[str, object]:
    """A model folder's config.json ({} when it has none or it cannot be read)."""
    try:
        loaded = json.loads((folder / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}
