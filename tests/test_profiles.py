"""Model profiles (issue 14): `--profile accurate|fast` on every command that analyses, one place
(`profiles.model_dir`) deciding which model folder every encoder-reading analyser gets, and the
profile recorded in every result's analyser versions.

Asking for a profile that is not installed is E412 (exit 2), never `fast`: tested on a models
folder where only `fast` is (the `accurate_absent` fixture), since this release ships both.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import propscope
from propscope import profiles, registry
from propscope.analyzers.techniques import VERSION, TechniqueAnalyzer
from propscope.cli import app
from propscope.document import Annotations, Document
from propscope.errors import UsageError
from propscope.pipeline import Pipeline
from propscope.profiles import MODEL_OVERRIDE_ENV, PROFILES

FAST = PROFILES["fast"].model_dir


@pytest.fixture(autouse=True)
def no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests start on the bundled models, whatever the shell exports."""
    monkeypatch.delenv(MODEL_OVERRIDE_ENV, raising=False)


@pytest.fixture
def retrained(tmp_path: Path) -> Path:
    """A model folder like `propscope train techniques` writes: the bundled files linked, its
    own config.json (another version, `profile: fast`)."""
    folder = tmp_path / "retrained"
    folder.mkdir()
    for path in FAST.iterdir():
        if path.name != "config.json":
            (folder / path.name).symlink_to(path)
    config = json.loads((FAST / "config.json").read_text("utf-8"))
    config.update(version="techniques-minilm-6-ft-test", profile="fast")
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.mark.parametrize("name", ["nope", "FAST"])
def test_unknown_profile_is_e411(name: str) -> None:
    with pytest.raises(UsageError, match=f"E411 unknown profile {name!r}: use one of fast, accurate"):
        profiles.model_dir(name)


@pytest.mark.parametrize("name", ["accurate"])
@pytest.mark.usefixtures("accurate_absent")
def test_accurate_is_not_installed_e412_never_fast(name: str) -> None:
    assert not PROFILES[name].installed
    with pytest.raises(UsageError, match=f"E412 profile {name!r} is not installed"):
        profiles.model_dir(name)
    with pytest.raises(UsageError, match="E412"):
        Pipeline.from_names(["stats"], profile=name)


@pytest.mark.parametrize("name", ["fast", None])
def test_fast_is_the_bundled_folder(name: str | None) -> None:
    assert profiles.model_dir(name) == FAST  # the corpus default: `batch` and `eval`


@pytest.mark.parametrize("name", ["fast"])
@pytest.mark.usefixtures("accurate_absent")
def test_without_accurate_the_interactive_default_is_fast(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profiles, "ACCURATE_BY_DEFAULT", True)
    assert profiles.interactive_default() == name


@pytest.mark.parametrize("name", ["fast"])
def test_installed_accurate_measured_no_better_is_not_the_default(name: str) -> None:
    """This release's MPNet model is installed but measured no better: opt-in only."""
    assert PROFILES["accurate"].installed and not profiles.ACCURATE_BY_DEFAULT
    assert profiles.interactive_default() == name


@pytest.mark.parametrize("name", ["accurate"])
def test_installed_accurate_is_used_and_becomes_the_interactive_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    folder = tmp_path / PROFILES[name].folder
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"")
    (tmp_path / "techniques").symlink_to(FAST)
    monkeypatch.setattr(profiles, "MODELS_DIR", tmp_path)
    monkeypatch.setattr(profiles, "ACCURATE_BY_DEFAULT", True)
    assert profiles.model_dir(name) == folder
    assert profiles.interactive_default() == name
    assert profiles.model_dir(None) == tmp_path / "techniques"  # the corpus default stays fast
    assert profiles.model_tag(folder) == name


@pytest.mark.parametrize("how", ["env", "argument"])
def test_an_override_replaces_the_profile_folder(
    retrained: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "env":
        monkeypatch.setenv(MODEL_OVERRIDE_ENV, str(retrained))
        assert profiles.model_dir() == retrained and profiles.model_dir("fast") == retrained
    else:
        assert profiles.model_dir("fast", retrained) == retrained
    assert profiles.model_tag(retrained).startswith("fast-techniques-minilm-6-ft-test-")


@pytest.mark.parametrize("name", ["accurate"])
def test_a_folder_trained_for_fast_does_not_pass_for_accurate_e413(
    retrained: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    with pytest.raises(UsageError, match=r"E413 .* was trained for profile 'fast', not 'accurate'"):
        profiles.model_dir(name, retrained)
    monkeypatch.setenv(MODEL_OVERRIDE_ENV, str(retrained))
    with pytest.raises(UsageError, match="E413"):
        profiles.model_dir(name)


@pytest.mark.parametrize("source", ["--model", "env"])
def test_a_folder_without_a_model_is_e414(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    if source == "env":
        monkeypatch.setenv(MODEL_OVERRIDE_ENV, str(tmp_path))
        missing = rf"E414 \${MODEL_OVERRIDE_ENV} .*model.onnx, config.json missing"
        with pytest.raises(UsageError, match=missing):
            profiles.model_dir()
    else:
        with pytest.raises(UsageError, match="E414 --model"):
            profiles.model_dir(None, tmp_path)


@pytest.mark.parametrize("name", ["techniques"])
def test_versions_name_the_profile_or_the_retrained_model(retrained: Path, name: str) -> None:
    assert TechniqueAnalyzer().version == f"{VERSION}+fast"
    assert TechniqueAnalyzer(retrained).version.startswith(f"{VERSION}+fast-techniques-minilm-6-ft-test-")
    bundled = Pipeline.from_names([name]).versions[name]
    other = Pipeline.from_names([name], model=retrained).versions[name]
    assert bundled == f"{VERSION}+fast" and other != bundled  # stored apart, never mixed


@pytest.mark.parametrize("names", [["stats", "techniques", "claims", "narrative_labels"]])
def test_one_place_gives_every_encoder_reader_the_same_folder(retrained: Path, names: list[str]) -> None:
    pipeline = Pipeline.from_names(names, model=retrained)
    assert pipeline.model_dir == retrained
    readers = [a for a in pipeline.analyzers if hasattr(a, "model_dir")]
    assert [a.name for a in readers] == names[1:]
    assert all(a.model_dir == retrained for a in readers)
    tag = profiles.model_tag(retrained)
    assert all(v.endswith(tag) for n, v in pipeline.versions.items() if n != "stats")
    assert pipeline.versions["stats"] == "stats-1"  # reads no encoder: no profile in its version


class _Plain:
    """An analyser factory that knows nothing of profiles (a plug-in)."""

    name, version, produces, requires = "plain", "plain-1", ("stats",), ()

    def analyze(self, docs: Any, prior: Any = None) -> list[Annotations]:
        return [Annotations() for _ in docs]


class _Reader(_Plain):
    name = "reader"

    def __init__(self, model_dir: Path | None = None) -> None:
        self.model_dir = model_dir


@pytest.mark.parametrize("names", [["plain", "reader"]])
def test_model_dir_goes_only_to_factories_that_take_it(retrained: Path, names: list[str]) -> None:
    registry.register("plain", _Plain)
    registry.register("reader", _Reader)
    try:
        plain, reader = Pipeline.from_names(names, model=retrained).analyzers
    finally:
        registry._registered.pop("plain"), registry._registered.pop("reader")
        registry._factories.cache_clear()
    assert isinstance(plain, _Plain) and not hasattr(plain, "model_dir")
    assert isinstance(reader, _Reader) and reader.model_dir == retrained


@pytest.mark.parametrize("text", ["The corrupt elites lied again and again. Shame on them."])
@pytest.mark.usefixtures("accurate_absent")
def test_python_api_profile(text: str) -> None:
    result = propscope.analyze(Document(text), ["techniques"], profile="fast")
    assert result.analyzers == {"techniques": f"{VERSION}+fast"}
    with pytest.raises(UsageError, match="E412"):
        propscope.analyze(Document(text), ["techniques"], profile="accurate")
    with pytest.raises(UsageError, match="E411"):
        propscope.analyze(Document(text), ["stats"], profile="medium")


@pytest.mark.parametrize("name", ["techniques"])
def test_python_api_model_folder(retrained: Path, name: str) -> None:
    result = propscope.analyze(Document("They lied and lied."), [name], model=retrained)
    assert result.analyzers[name] == f"{VERSION}+{profiles.model_tag(retrained)}"


def _commands(tmp_path: Path) -> dict[str, list[str]]:
    article = tmp_path / "a.txt"
    article.write_text("They lied.", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'p.db'}"
    labels = tmp_path / "labels.txt"
    return {
        "analyze": ["analyze", str(article), "--no-store"],
        "serve": ["serve", "--db", db, "--port", "8765"],
        "batch": ["batch", str(article), "--db", db, "--workers", "0"],
        "eval ptc": ["eval", "ptc", "--articles", str(tmp_path), "--si-labels", str(labels),
                     "--tc-labels", str(labels)],
        "eval checkworthy": ["eval", "checkworthy", "--tsv", str(labels)],
    }


@pytest.mark.parametrize("command", ["analyze", "serve", "batch", "eval ptc", "eval checkworthy"])
@pytest.mark.parametrize(("profile", "code"), [("accurate", "E412"), ("nope", "E411")])
@pytest.mark.usefixtures("accurate_absent")
def test_cli_refuses_a_profile_with_exit_2(tmp_path: Path, command: str, profile: str, code: str) -> None:
    args = [*_commands(tmp_path)[command], "--profile", profile]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert code in result.output
    assert not (tmp_path / "p.db").exists()  # refused before the store was opened


@pytest.mark.parametrize("command", ["analyze", "eval ptc", "eval checkworthy"])
def test_cli_refuses_a_model_folder_without_a_model(tmp_path: Path, command: str) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(app, [*_commands(tmp_path)[command], "--model", str(empty)])
    assert result.exit_code == 2 and "E414" in result.output


@pytest.mark.parametrize("fmt", ["json"])
def test_cli_analyze_fast_records_the_profile(tmp_path: Path, fmt: str) -> None:
    args = [*_commands(tmp_path)["analyze"], "--profile", "fast", "-f", fmt,
            "--analyzers", "stats,techniques"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["analyzers"]["techniques"] == f"{VERSION}+fast"


@pytest.mark.parametrize("analyzers", [["stats", "techniques"]])
def test_batch_profile_reaches_the_workers(tmp_path: Path, analyzers: list[str]) -> None:
    from propscope.batch import run_batch
    from propscope.store import Store

    article = tmp_path / "a.txt"
    article.write_text("The corrupt elites lied again and again.", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'b.db'}"
    report = run_batch([str(article)], "local", db=db, analyzers=analyzers, workers=0, profile="fast")
    assert report.analysed == 1 and not report.failures
    with Store.open(db) as store:
        (row,) = store.list()
        assert store.get(row.id).analyzers["techniques"] == f"{VERSION}+fast"


@pytest.mark.parametrize("names", [("techniques",)])
def test_served_workers_read_the_served_folder(retrained: Path, names: tuple[str, ...]) -> None:
    from propscope.web.workers import WorkerSpec

    (analyzer,) = WorkerSpec.of(names, "", model_dir=str(retrained)).pipeline().analyzers
    assert analyzer.model_dir == retrained  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["accurate"])
def test_the_bundled_accurate_profile_runs_every_default_analyser(specimen_text: str, profile: str) -> None:
    """One MPNet pass feeds techniques, claims, framing and Task 10 narratives: every default
    analyser runs on the specimen, each version says the profile, spans are well formed."""
    result = propscope.analyze(Document(specimen_text), profile=profile)
    assert set(result.analyzers) == set(registry.default_names())
    encoder_readers = {"techniques", "claims", "entities", "narrative_labels"}
    assert all(result.analyzers[name].endswith(f"+{profile}") for name in encoder_readers)
    result.annotations.check(specimen_text)  # every span inside the text, carrying its text (E101)
    spans = result.annotations.techniques
    assert spans and all(0 <= s.start < s.end <= len(specimen_text) for s in spans)
    assert all(0.0 <= s.score <= 1.0 for s in spans)


@pytest.mark.parametrize("profile", ["accurate"])
def test_the_accurate_profile_has_no_shared_projection_e203(profile: str) -> None:
    """Its sentence heads carry the claims head only: `narratives_shared` says so, coded."""
    from propscope.errors import AnalyzerError

    with pytest.raises(AnalyzerError, match=r"E203 .*no projection into MiniLM's space"):
        propscope.analyze(Document("They lied and lied again."), ["narratives_shared"], profile=profile)
