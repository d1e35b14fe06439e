"""Every command with hostile names and values: data is never Rich markup and never reaches the
terminal with raw control characters; nonsensical option values are usage errors (exit 2)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from propscope.cli import app
from propscope.document import Document
from propscope.store import Store

runner = CliRunner()
# Markup that Rich would choke on ([/]) or swallow ([b], [fe80::1] stays as it is written).
MARKUP = "[/] [b]bold[/b] [red]"
# Window title change (OSC 0 … BEL), screen clear (CSI 2J), an OSC-8 link, a carriage return.
ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\\r"
RAW_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hostile.db'}"


def _article(i: int) -> str:
    return " ".join(f"Harbour council meeting {i} argued about the budget for the pier." for _ in range(6))


def _hostile_jsonl(folder: Path) -> Path:
    """One good record, then one whose missing-field error names a key full of markup."""
    path = folder / "k.jsonl"
    records = [{"text": _article(0)}, {"body": "x", MARKUP: 1}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["analyze", "ingest", "batch"])
def test_markup_in_an_error_is_printed_not_parsed(command: str, tmp_path: Path, db: str) -> None:
    source = _hostile_jsonl(tmp_path)
    errors = tmp_path / "errors.jsonl"
    args = [command, str(source), "--db", db, "--errors-out", str(errors)]
    if command != "ingest":
        args += ["--analyzers", "stats"]
    if command == "batch":
        args += ["--workers", "0"]
    code, _, stderr = invoke(*args)
    assert code == 1
    assert MARKUP in stderr  # verbatim, opening and closing tags alike
    assert re.search(r"1 (done|analysed)", stderr)  # the summary line is not lost
    [failure] = [json.loads(line) for line in errors.read_text().splitlines()]
    assert MARKUP in failure["message"]


def test_url_with_brackets_keeps_them(db: str) -> None:
    code, _, stderr = invoke("analyze", "http://[fe80::1]/y", "--analyzers", "stats", "--no-store")
    assert code == 1
    assert "http://[fe80::1]/y" in stderr


def test_control_characters_in_file_names_are_shown_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(_article(1), encoding="utf-8")
    # No "/" in a file name; a newline is allowed, and must not fake a line of output.
    name = "evil\x1b]0;owned\x07\x1b[2J\x1b]8;;x\x1b\\link\r\n0 done, 0 failed [b][red].txt"
    (folder / name).write_text("", encoding="utf-8")  # empty: E010 names it
    code, _, stderr = invoke("analyze", str(folder), "--analyzers", "stats", "--no-store", "-f", "jsonl")
    assert code == 1
    assert not RAW_CONTROLS.search(stderr)
    assert "evil\\x1b]0;owned\\x07" in stderr and "[b][red]" in stderr
    assert "\\x0a0 done, 0 failed" in stderr
    assert "1 done, 1 failed" in stderr


def _store_hostile(db: str) -> str:
    """A stored document whose title, outlet and text carry markup and escapes (as the Python API
    or an older store may hold them: the renderer must not rely on ingest having cleaned them)."""
    doc = Document(
        text=f"Plain words. {MARKUP} then {ESCAPES} and more words.\n",
        title=f"Title {MARKUP} {ESCAPES}",
        outlet=f"Outlet {MARKUP}\x1b[31m",
        author="Au\x9bthor",
    )
    with Store.open(db) as store:
        store.save_documents([doc])
    return doc.id


@pytest.mark.parametrize("command", [("list",), ("show", "ID"), ("show", "ID", "--format", "text")])
def test_stored_hostile_documents_print_safely(command: tuple[str, ...], db: str) -> None:
    doc_id = _store_hostile(db)
    args = [doc_id[:10] if part == "ID" else part for part in command]
    code, stdout, stderr = invoke(*args, "--db", db)
    assert code == 0, stderr
    assert not RAW_CONTROLS.search(stdout + stderr)
    assert "[/]" in stdout and "[b]bold[/b]" in stdout
    assert "\\x1b" in stdout


@pytest.mark.parametrize("command", [("list", "--json"), ("show", "ID", "--format", "json")])
def test_json_output_escapes_c1_controls(command: tuple[str, ...], db: str) -> None:
    """json.dumps(ensure_ascii=False) leaves DEL and C1 (0x9b is CSI) raw: they are escaped, and
    the JSON still means the same."""
    doc_id = _store_hostile(db)
    args = [doc_id[:10] if part == "ID" else part for part in command]
    code, stdout, _ = invoke(*args, "--db", db)
    assert code == 0
    assert not RAW_CONTROLS.search(stdout.replace("\n", " "))
    data = json.loads(stdout.splitlines()[0] if command[0] == "list" else stdout)
    document = data if command[0] == "list" else data["document"]
    assert "\x1b]0;owned" in document["title"]
    if command[0] == "show":
        assert document["author"] == "Au\x9bthor"


def test_serve_prints_its_lines_verbatim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)
    code, _, stderr = invoke("serve", "--db", f"{MARKUP}{ESCAPES}", "--analyzers", "stats")
    assert code == 1
    assert f"error E300 cannot open the store at {MARKUP}" in stderr
    assert not RAW_CONTROLS.search(stderr.replace("\n", " "))
    code, _, stderr = invoke("serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--analyzers", "stats")
    assert code == 0, stderr
    assert "propscope serving sqlite:///" in stderr


def test_token_names_print_safely(db: str) -> None:
    code, _, _ = invoke("tokens", "create", "--name", f"ci {MARKUP}{ESCAPES}", "--db", db)
    assert code == 0
    code, stdout, _ = invoke("tokens", "list", "--db", db)
    assert code == 0
    assert not RAW_CONTROLS.search(stdout.replace("\t", " ").replace("\n", " "))
    assert MARKUP in stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("analyze", "SRC", "--batch-size", "0"), "E405"),
        (("analyze", "SRC", "--batch-size", "-3"), "E405"),
        (("analyze", "SRC", "--max-bytes", "0"), "E405"),
        (("analyze", "SRC", "--max-bytes", "-1"), "E405"),
        (("ingest", "SRC", "--max-bytes", "0"), "E405"),
        (("analyze", "SRC", "--glob", "/etc/*"), "E410"),
        (("ingest", "SRC", "--glob", "../*"), "E410"),
        (("analyze", "SRC", "--glob", ""), "E410"),
        (("analyze", "SRC", "--errors-out", "NOWHERE/e.jsonl"), "E406"),
        (("list", "--limit", "0"), "E405"),
        (("list", "--offset", "-1"), "E405"),
        (("export", "--out", "NOWHERE/x.jsonl"), "E406"),
        (("batch", "SRC", "--chunk", "0"), "E405"),
        (("batch", "SRC", "--workers", "-1"), "E405"),
        (("batch", "SRC", "--errors-out", "NOWHERE/e.jsonl"), "E406"),
        (("corpus", "reuse", "--threshold", "0"), "E405"),
        (("corpus", "reuse", "--threshold", "1.5"), "E405"),
        (("corpus", "reuse", "--threshold", "nan"), "E405"),
        (("corpus", "reuse", "--limit", "0"), "E405"),
        (("corpus", "coordination", "--min-outlets", "1"), "E405"),
        (("corpus", "coordination", "--threshold", "inf"), "E405"),
        (("corpus", "coordination", "--window", "0m"), "E401"),
        (("corpus", "coordination", "--window", "0.0000001s"), "E401"),
        (("corpus", "coordination", "--window", "99999999999999d"), "E401"),
        (("corpus", "coordination", "--graphml", "NOWHERE/g.graphml"), "E406"),
        (("narratives", "discover", "--min-cluster-size", "1"), "E405"),
        (("serve", "--port", "0"), "E405"),
        (("serve", "--port", "65536"), "E405"),
        (("tokens", "revoke", "0"), "E405"),
        (("train", "techniques", "--data", "d", "--out", "o", "--epochs", "0"), "E405"),
        (("train", "techniques", "--data", "d", "--out", "o", "--max-steps", "0"), "E405"),
        (("train", "techniques", "--data", "d", "--out", "o", "--seed", "-1"), "E405"),
    ],
)
def test_nonsensical_option_values_are_usage_errors(
    args: tuple[str, ...], code: str, tmp_path: Path, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)  # were `serve` to get that far
    source = tmp_path / "a.txt"
    source.write_text(_article(2), encoding="utf-8")
    real = [str(source) if a == "SRC" else a.replace("NOWHERE", str(tmp_path / "missing")) for a in args]
    exit_code, stdout, stderr = invoke(*real, *(["--db", db] if real[0] != "train" else []))
    assert exit_code == 2, stdout + stderr
    assert code in stderr
    with Store.open(db) as store:
        assert store.count() == 0  # refused before any work


@pytest.mark.parametrize("option", ["--errors-out", "--glob"])
def test_sane_values_still_work(option: str, tmp_path: Path, db: str) -> None:
    folder = tmp_path / "in"
    (folder / "2022").mkdir(parents=True)
    (folder / "2022" / "a.txt").write_text(_article(3), encoding="utf-8")
    value = str(tmp_path / "e.jsonl") if option == "--errors-out" else "2022/*.txt"
    code, _, stderr = invoke("analyze", str(folder), "--analyzers", "stats", "--db", db, option, value)
    assert code == 0, stderr
    assert "1 done, 0 failed" in stderr


def test_jsonl_syntax_errors_do_not_say_at_at(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    lines = [
        '{"text": "' + _article(4) + '\x01"}',
        '{"text": "unterminated',
        json.dumps({"text": _article(5)}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, _, stderr = invoke("analyze", str(path), "--analyzers", "stats", "--no-store", "-f", "jsonl")
    assert code == 1
    assert "E015" in stderr and "at column" in stderr
    assert not re.search(r"\b(\w+) \1\b", stderr)
