"""The `propscope` command as a user runs it: exit codes, formats, the store, error reports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from propscope.cli import app

EXAMPLE = Path(__file__).parents[1] / "examples" / "harbour-unrest.txt"
SPECIMEN = Path(__file__).parents[1].parent / "shared" / "examples" / "neo-kazakhstan-2022.txt"

runner = CliRunner()


def invoke(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def write_article(folder: Path, name: str, title: str) -> Path:
    path = folder / name
    body = " ".join(
        f"The council of {title} met on day {i} and argued about the harbour budget." for i in range(8)
    )
    path.write_text(f"{title}\n\n{body}\n", encoding="utf-8")
    return path


def test_specimen_json_has_clean_text_and_metadata(db: str) -> None:
    if not SPECIMEN.exists():
        pytest.skip(f"specimen not found at {SPECIMEN} (../shared is absent)")
    code, stdout, _ = invoke("analyze", str(SPECIMEN), "--format", "json", "--analyzers", "stats", "--db", db)
    assert code == 0
    data = json.loads(stdout)
    document = data["document"]
    assert data["schema"] == "propscope/1"
    assert document["title"] == "Kazakhstan’s Security was Undermined by Outside Forces"
    assert document["author"] == "Vladimir Platov"
    assert document["outlet"] == "New Eastern Outlook"
    assert document["language"] == "en"
    for boilerplate in ("Similar Posts", "Leave a Reply", "Your email address"):
        assert boilerplate not in document["text"]
    for key in ("techniques", "claims", "entities", "narratives", "stats"):
        assert key in data


def test_example_is_stored_and_shown(db: str) -> None:
    code, stdout, _ = invoke("analyze", str(EXAMPLE), "--format", "json", "--analyzers", "stats", "--db", db)
    assert code == 0
    doc_id = json.loads(stdout)["document"]["id"]
    code, listed, _ = invoke("list", "--db", db, "--json")
    assert code == 0
    assert [json.loads(line)["id"] for line in listed.splitlines()] == [doc_id]
    code, shown, _ = invoke("show", doc_id[:8], "--db", db, "--format", "json")
    assert code == 0
    assert json.loads(shown)["stats"]["words"] > 100


def test_directory_with_bad_files_exits_1_stores_good_and_names_bad(tmp_path: Path, db: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        write_article(folder, f"good{i}.txt", f"Town {i}")
    (folder / "empty.txt").write_text("")
    (folder / "blob.bin").write_bytes(bytes(range(256)) * 40)
    errors = tmp_path / "errors.jsonl"
    code, _, stderr = invoke(
        "analyze",
        str(folder),
        "--analyzers",
        "stats",
        "--db",
        db,
        "--format",
        "jsonl",
        "--errors-out",
        str(errors),
    )
    assert code == 1
    assert "empty.txt" in stderr and "blob.bin" in stderr
    failed = [json.loads(line)["source"] for line in errors.read_text().splitlines()]
    assert sorted(Path(s).name for s in failed) == ["blob.bin", "empty.txt"]
    code, listed, _ = invoke("list", "--db", db, "--json")
    assert len(listed.splitlines()) == 3


def test_jsonl_for_several_documents(tmp_path: Path) -> None:
    for i in range(2):
        write_article(tmp_path, f"a{i}.txt", f"Village {i}")
    code, stdout, _ = invoke(
        "analyze", str(tmp_path), "--format", "jsonl", "--analyzers", "stats", "--no-store"
    )
    assert code == 0
    assert len([json.loads(line) for line in stdout.splitlines()]) == 2


def test_stdin(db: str) -> None:
    code, stdout, _ = invoke(
        "analyze", "-", "--format", "json", "--analyzers", "stats", "--no-store", input=EXAMPLE.read_text()
    )
    assert code == 0
    assert json.loads(stdout)["document"]["author"] == "Marten Oskarsson"


def test_loopback_url_is_refused_by_default() -> None:
    code, _, stderr = invoke("analyze", "http://127.0.0.1:9/article", "--analyzers", "stats", "--no-store")
    assert code == 1
    assert "E021" in stderr


@pytest.mark.parametrize(
    "args",
    [
        ("analyze", "x.txt", "--format", "yaml"),
        ("analyze", "x.txt", "--analyzers", "no-such-analyzer", "--no-store"),
        ("export", "--format", "pdf"),
        ("frobnicate",),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], db: str) -> None:
    code, _, _ = invoke(*args)
    assert code == 2


def test_show_unknown_id_is_a_clear_error(db: str) -> None:
    code, _, stderr = invoke("show", "ffffffff", "--db", db)
    assert code == 1
    assert "E301" in stderr


@pytest.mark.parametrize("fmt", ["jsonl", "semeval", "csv"])
def test_export_formats(fmt: str, db: str) -> None:
    invoke("analyze", str(EXAMPLE), "--analyzers", "stats", "--db", db, "--format", "json")
    code, stdout, _ = invoke("export", "--format", fmt, "--db", db)
    assert code == 0
    if fmt == "jsonl":
        assert json.loads(stdout)["document"]["title"].startswith("Foreign Puppeteers")
    if fmt == "csv":
        assert stdout.startswith("id,title")


def test_text_format_shows_title_and_stats(db: str) -> None:
    code, stdout, _ = invoke("analyze", str(EXAMPLE), "--analyzers", "stats", "--no-store")
    assert code == 0
    assert "Foreign Puppeteers Behind the Unrest" in stdout
    assert "words" in stdout


def test_console_script_is_installed() -> None:
    exe = shutil.which("propscope")
    if exe is None:
        pytest.skip("the propscope console script is not on PATH (package not installed)")
    done = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "analyze" in done.stdout
    assert sys.executable


def test_duplicate_documents_are_skipped_not_failed(tmp_path: Path, db: str) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    first = write_article(folder, "a.txt", "Harbour")
    (folder / "copy.txt").write_text(first.read_text(encoding="utf-8"), encoding="utf-8")
    code, _, stderr = invoke("analyze", str(folder), "--analyzers", "stats", "--db", db, "--format", "jsonl")
    assert code == 0
    assert "1 duplicates skipped" in stderr
