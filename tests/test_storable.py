"""What a Document may hold: NUL, lone surrogates and NaN are refused or mended before any store
or JSON writer sees them, the same on SQLite and PostgreSQL (issue 13: D3, D7, D18)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from typer.testing import CliRunner

from propscope import api, render
from propscope.cli import app as cli_app
from propscope.document import Annotations, Document, Result
from propscope.errors import IngestError, StoreError
from propscope.store import Store

ARTICLE = "NaN probe: the elites lie. Officials said the plan was ready."


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Store:
    """The same test on each backend: a fresh, migrated store."""
    name = "store" if request.param == "sqlite" else "pg_store"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def strict_json(data: str) -> Any:
    """json.loads that refuses NaN and Infinity, as every other JSON reader does."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(data, parse_constant=refuse)


def cycle() -> list[Any]:
    items: list[Any] = []
    items.append(items)
    return items


# --- Document construction (the Python API, and every reader through it) ----------------------


@pytest.mark.parametrize(
    ("fields", "code", "why"),
    [
        ({"text": "a\x00b"}, "E034", "the text has a NUL character (\\u0000) at character 1"),
        ({"text": "bad \ud800 text"}, "E035", "the text has a lone surrogate (\\ud800) at character 4"),
        ({"text": "ok", "title": "T\x00"}, "E034", "the title has a NUL"),
        ({"text": "ok", "url": "https://x.example/\udcff"}, "E035", "the url has a lone surrogate"),
        ({"text": "ok", "meta": {"n": float("nan")}}, "E036", "meta field 'n' is NaN, which JSON"),
        ({"text": "ok", "meta": {"xs": [1, {"y": float("-inf")}]}}, "E036", "meta field 'xs' is -Infinity"),
        ({"text": "ok", "meta": {"k\x00": 1}}, "E034", "meta key 'k\\x00' has a NUL"),
        ({"text": "ok", "meta": {"xs": ["fine", "x\udfff"]}}, "E035", "meta field 'xs' has a lone"),
        ({"text": "ok", "meta": {"d": {"in\x00ner": 1}}}, "E034", "meta field 'd' has a NUL"),
    ],
)
def test_document_refuses_what_no_store_can_hold(fields: dict[str, Any], code: str, why: str) -> None:
    with pytest.raises(IngestError, match=f"^{code} ") as caught:
        Document(**fields)
    assert why in str(caught.value) and caught.value.code == code
    str(caught.value).encode("utf-8")  # the message itself prints anywhere


def test_refusal_names_the_source_and_stays_printable() -> None:
    with pytest.raises(IngestError, match=r"^E034 in\.jsonl:3: the text") as caught:
        Document(text="a\x00", source="in.jsonl:3")
    assert caught.value.source == "in.jsonl:3"
    with pytest.raises(IngestError) as odd:
        Document(text="fine", source="caf\udce9.txt")  # an undecodable file name
    assert str(odd.value).startswith("E035 'caf\\udce9.txt': the source")
    str(odd.value).encode("utf-8")
    odd.value.source.encode("utf-8")


@pytest.mark.parametrize("change", [{"title": "x\x00"}, {"author": "\ud83d"}, {"meta": {"n": float("inf")}}])
def test_changed_copies_are_checked_too(change: dict[str, Any]) -> None:
    """`with_` is how the web API applies title/author overrides from a request body."""
    with pytest.raises(IngestError, match=r"^E03[456] "):
        Document(text="Fine text.").with_(**change)


def test_from_json_refuses_nan_meta() -> None:
    data = strict_json('{"text": "Fine.", "meta": {"n": 1}}')
    data["meta"]["n"] = float("nan")
    with pytest.raises(IngestError, match=r"^E036 "):
        Document.from_json(data)


@pytest.mark.parametrize(
    "meta",
    [{"ok": [1.5, "two", {"three": None}]}, {"deep": [[[[[[[[[[1]]]]]]]]]]}, {"loop": cycle()}],
)
def test_valid_or_merely_odd_meta_is_accepted(meta: dict[str, Any]) -> None:
    """A cycle is not walked forever (the store refuses it later, E309)."""
    assert Document(text="Fine.", meta=meta).meta.keys() == meta.keys()


def test_deeply_nested_meta_does_not_exhaust_the_stack() -> None:
    nested: list[Any] = ["end"]
    for _ in range(20_000):
        nested = [nested]
    Document(text="Fine.", meta={"deep": nested})


def test_stored_documents_are_read_as_saved() -> None:
    doc = Document.stored(text="legacy\x00row", meta={"n": 1})
    assert doc.text == "legacy\x00row"
    with pytest.raises(IngestError, match=r"^E034"):
        doc.with_(title="then changed")  # a changed copy is a new document: checked


# --- JSON writers never write NaN -----------------------------------------------------------


def test_render_refuses_to_write_nan() -> None:
    result = Result(Document(text="Fine."), Annotations(stats={"score": float("nan")}), {"stats": "1"})
    with pytest.raises(ValueError, match="not JSON compliant"):
        render.to_json(result)


def test_store_refuses_nan_in_analyses_on_every_backend(db: Store) -> None:
    bad = Result(Document(text="Bad stats."), Annotations(stats={"x": float("inf")}), {"stats": "1"})
    good = Result(Document(text="Good stats."), Annotations(stats={"x": 1.0}), {"stats": "1"})
    with pytest.raises(StoreError, match=r"^E309 document .*Out of range float"):
        db.save([good, bad])
    assert db.count() == 0


# --- whole runs: a corpus with odd records is stored the same on both backends ---------------

ODD_JSONL = "\n".join(
    [
        '{"text": "NaN probe: the elites lie.", "n": NaN, "kept": 2}',
        r'{"text": "Nul \u0000probe: the elites lie.", "no\u0000te": "x\u0000y"}',
        r'{"text": "Surrogate \ud800probe: the elites lie.", "s": "\udbff"}',
        '{"text": "Huge probe: the elites lie.", "big": ' + "9" * 5000 + "}",
        '{"text": "Plain probe: the elites lie."}',
    ]
)


def test_odd_records_are_stored_alike_on_every_backend(db: Store, tmp_path: Path) -> None:
    corpus = tmp_path / "odd.jsonl"
    corpus.write_text(ODD_JSONL + "\n")
    report = api.run([str(corpus)], None, db)
    assert report.failures == [] and report.stored == 5
    stored = {r.document.source.rsplit(":", 1)[1]: r.document for r in db.iter_results()}
    assert stored["1"].meta["kept"] == 2 and "n" not in stored["1"].meta
    assert stored["2"].text == "Nul probe: the elites lie." and stored["2"].meta["note"] == "xy"
    assert stored["3"].text == "Surrogate \ufffdprobe: the elites lie." and stored["3"].meta["s"] == "\ufffd"
    assert "big" not in stored["4"].meta
    codes = {n: [w.split(" ", 1)[0] for w in d.meta.get("ingest_warnings", [])] for n, d in stored.items()}
    want = {"1": ["E036"], "2": ["E039"] * 3, "3": ["E038"] * 2, "4": ["E036"], "5": []}
    assert codes == want
    for doc in stored.values():
        strict_json(render.to_json(Result(doc)))


def test_store_failure_message_does_not_contradict_the_summary(store: Store) -> None:
    """One document the driver refuses: the others are stored, and its message says only its save
    was rolled back (before: "nothing from this batch was saved", then "2 stored")."""
    broken = Document(text="Broken in the end.")
    object.__setattr__(broken, "text", None)  # NOT NULL refused by the database
    results = [Result(Document(text="First good one.")), Result(broken), Result(Document(text="Second."))]
    report = api.RunReport()
    api._store(store, results, None, report)
    assert report.stored == 2
    (failure,) = report.failures
    assert failure.code == "E306" and "nothing from this batch" not in failure.message
    assert "none of the documents it held were stored" in failure.message


def test_cli_json_output_of_a_nan_record_is_valid_json(tmp_path: Path) -> None:
    corpus = tmp_path / "n.jsonl"
    corpus.write_text('{"text":"NaN probe: the elites lie.","n":NaN}\n')
    db = f"sqlite:///{tmp_path / 'n.db'}"
    args = ["analyze", str(corpus), "--db", db, "--analyzers", "stats", "--format", "json"]
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    data = strict_json(result.stdout)
    assert "n" not in data["document"]["meta"]
    assert data["document"]["meta"]["ingest_warnings"][0].startswith("E036 ")


# --- stores written before these checks stay readable ----------------------------------------


def legacy_row(store: Store, doc_id: str, body: str, meta_json: str) -> None:
    """A documents row as an older propscope could leave it in SQLite (NaN and NUL included)."""
    row = {"id": doc_id, "text": body, "meta": meta_json}
    with store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO documents (id, text, meta, created_at, updated_at) "
                "VALUES (:id, :text, :meta, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            row,
        )


def test_legacy_sqlite_rows_with_nan_and_nul_read_back(store: Store) -> None:
    legacy_row(store, "legacy0000000000nan0", "Old NaN row.", '{"n": NaN, "m": Infinity, "k": 1}')
    legacy_row(store, "legacy0000000000nul0", "Old \x00 row.", "{}")
    nan = store.get("legacy0000000000nan0").document
    assert dict(nan.meta) == {"n": None, "m": None, "k": 1}
    assert store.get("legacy0000000000nul0").document.text == "Old \x00 row."
    lines = render.to_jsonl(store.iter_results()).splitlines()
    assert len(lines) == 2 and all(strict_json(line) for line in lines)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path", ["/api/documents/legacy0000000000nan0", "/documents/legacy0000000000nan0.json"]
)
async def test_legacy_nan_document_is_served(app: FastAPI, client: httpx.AsyncClient, path: str) -> None:
    """Before: 500 on every request, as the NaN read back could not be written as JSON."""
    legacy_row(app.state.bench.store, "legacy0000000000nan0", ARTICLE, '{"n": NaN}')
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert strict_json(response.text)["document"]["meta"] == {"n": None}
    export = await client.get("/api/export")
    assert export.status_code == 200 and strict_json(export.text.strip())["document"]["meta"] == {"n": None}
