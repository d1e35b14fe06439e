"""The store on SQLite and, when PROPSCOPE_TEST_PG_URL is set, on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from propscope.document import (
    Annotations,
    Claim,
    Document,
    Entity,
    Evidence,
    Narrative,
    Result,
    Span,
    TechniqueSpan,
)
from propscope.errors import StoreError
from propscope.store import Store, _engine
from propscope.store import store as store_module
from propscope.store._engine import MIGRATIONS
from propscope.store.schema import Base, analyses, technique_spans

TEXT = "Alpha beta gamma. Officials said the West is to blame. Delta epsilon zeta."


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Store:
    """The same test on each backend: a fresh, migrated store."""
    name = "store" if request.param == "sqlite" else "pg_store"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def technique(text_: str, phrase: str, name: str, score: float = 0.9) -> TechniqueSpan:
    start = text_.index(phrase)
    return TechniqueSpan(start, start + len(phrase), phrase, name, score)


def make_result(body: str = TEXT, versions: dict[str, str] | None = None, **meta: Any) -> Result:
    """A result with every layer filled, as a default pipeline would produce it."""
    doc = Document(text=body, **meta)
    annotations = Annotations(
        techniques=(technique(body, body.split()[0], "Loaded_Language"),),
        claims=(Claim(0, 10, body[0:10], 0.7, quote=False),),
        stats={"words": len(body.split())},
    )
    if "the West" in body:
        annotations = annotations.merge(blame_layers(body))
    return Result(doc, annotations, versions or DEFAULT_VERSIONS)


DEFAULT_VERSIONS = {
    "stats": "stats-1",
    "techniques": "t1",
    "claims": "c1",
    "entities": "e1",
    "narratives": "n1",
}


def blame_layers(body: str) -> Annotations:
    start = body.index("the West")
    mention = Span.of(body, start, start + 8)
    evidence = Evidence(start, start + 8, mention.text, 0.8)
    return Annotations(
        entities=(Entity("the West", "ORG", (mention,), {"blamed": 1}, "blamed"),),
        narratives=(Narrative("west-blame", "The West is to blame", 0.8, (evidence,)),),
    )


def count_rows(db: Store, table: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# --- opening and migrations --------------------------------------------------------------------


@pytest.mark.parametrize("expected", [{"documents", "analyses", "technique_spans", "errors"}])
def test_fresh_database_migrates_to_head(db: Store, expected: set[str]) -> None:
    with db.engine.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        tables = set(db.engine.dialect.get_table_names(conn))
    assert revision == ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert expected <= tables


def test_migrations_match_schema(db: Store) -> None:
    """`alembic check`: autogenerate finds nothing between schema.py and the migrated database."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


@pytest.mark.parametrize("reopen", [1, 2])
def test_reopening_is_a_no_op(db: Store, reopen: int) -> None:
    db.save([make_result()])
    for _ in range(reopen):
        Store.open(str(db.engine.url.render_as_string(hide_password=False))).close()
    assert db.count() == 1


def test_sqlite_uses_wal_and_foreign_keys(store: Store) -> None:
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("not a url", "E300"),
        ("mysql://user@localhost/db", "E303"),
        ("postgresql+psycopg://user:s3cret@127.0.0.1:1/nowhere", "E300 cannot open"),
        ("sqlite:////nonexistent-dir/sub/propscope.db", "E300"),
    ],
)
def test_open_reports_bad_urls(url: str, match: str) -> None:
    with pytest.raises(StoreError, match=match) as caught:
        Store.open(url)
    assert "s3cret" not in str(caught.value)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    with Store.open(url) as opened, opened.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(StoreError, match=r"E308 .* '9999'"):
        Store.open(url)


# --- writing -----------------------------------------------------------------------------------


def test_round_trip(db: Store) -> None:
    original = make_result(
        title="T",
        author="A",
        outlet="O",
        url="https://o.example/1",
        published="2022-01-05T10:00:00+06:00",
        language="en",
        source="a.txt",
        meta={"k": [1, "two"]},
    )
    assert db.save([original]) == 1
    loaded = db.get(original.document.id)
    assert loaded.to_json() == original.to_json()


def test_save_is_idempotent(db: Store) -> None:
    result = make_result()
    for _ in range(3):
        db.save([result, result])
    assert db.count() == 1
    assert count_rows(db, analyses) == len(result.analyzers)
    assert count_rows(db, technique_spans) == 1


def test_upsert_fills_missing_metadata_but_never_blanks_it(db: Store) -> None:
    db.save_documents([Document(text=TEXT, title="First", outlet="Outlet")])
    db.save_documents([Document(text=TEXT, title=None, author="Later Author")])
    doc = db.get(Document(text=TEXT).id).document
    assert (doc.title, doc.outlet, doc.author) == ("First", "Outlet", "Later Author")


def test_newer_version_adds_and_same_version_replaces_only_itself(db: Store) -> None:
    old = make_result(versions={"techniques": "1"})
    new_anns = Annotations(techniques=(technique(TEXT, "Delta", "Doubt"),))
    new = Result(old.document, new_anns, {"techniques": "2"})
    db.save([old])
    db.save([new])
    assert count_rows(db, analyses) == 2
    assert [t.technique for t in db.get(old.document.id).techniques] == ["Doubt"]
    rerun = Result(
        old.document,
        Annotations(techniques=(technique(TEXT, "zeta", "Flag_Waving"),)),
        {"techniques": "1"},
    )
    db.save([rerun])
    with db.engine.connect() as conn:
        stored = dict(conn.execute(select(technique_spans.c.version, technique_spans.c.technique)).all())
    assert stored == {"1": "Flag_Waving", "2": "Doubt"}
    assert count_rows(db, analyses) == 2


def test_crash_mid_batch_leaves_nothing(db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    kept = make_result("An earlier article that must survive.", versions={"stats": "1"})
    db.save([kept])
    real = store_module._upsert_analyses

    def crash_after_writing(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)  # documents, analyses and spans of the batch are written...
        raise RuntimeError("simulated crash")  # ...and the process dies before COMMIT

    monkeypatch.setattr(store_module, "_upsert_analyses", crash_after_writing)
    batch = [make_result(f"Article number {i}. The West is to blame.") for i in range(3)]
    with pytest.raises(RuntimeError, match="simulated crash"):
        db.save(batch)
    assert [s.id for s in db.list()] == [kept.document.id]
    assert count_rows(db, analyses) == 1
    assert count_rows(db, technique_spans) == len(kept.techniques)


KILL_MID_SAVE = """
import os, sys
sys.path.insert(0, {tests!r})
from test_store import make_result
from propscope.store import Store, store as module
real = module._upsert_analyses
def die(*args, **kwargs):
    real(*args, **kwargs)
    os._exit(9)  # no rollback, no cleanup: as if the machine lost power
module._upsert_analyses = die
Store.open({url!r}).save([make_result(f"Killed batch {{i}}. The West is to blame.") for i in range(5)])
"""


def test_killed_process_mid_save_leaves_nothing(db: Store) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    code = KILL_MID_SAVE.format(tests=str(Path(__file__).parent), url=url)
    assert subprocess.run([sys.executable, "-c", code], check=False, timeout=120).returncode == 9
    with Store.open(url) as reopened:
        assert reopened.count() == 0
        assert count_rows(reopened, analyses) == count_rows(reopened, technique_spans) == 0


@pytest.mark.parametrize(
    "bad",
    [
        Result(Document(text="A bad one."), Annotations(stats={"x": object()}), {"stats": "1"}),
        Result(Document(text="Bad meta.", meta={"when": datetime(2022, 1, 5)}), Annotations(), {}),
    ],
)
def test_unstorable_json_is_refused_before_writing(db: Store, bad: Result) -> None:
    good = make_result("A good article. The West is to blame.")
    with pytest.raises(StoreError, match="E309 document"):
        db.save([good, bad])
    assert db.count() == 0


def test_driver_error_becomes_e306_and_rolls_back(db: Store) -> None:
    good = make_result("A good article. The West is to blame.")
    broken = Document(text="No text in the end.")
    object.__setattr__(broken, "text", None)  # violates NOT NULL in the database, on both backends
    with pytest.raises(StoreError, match="E306 cannot write"):
        db.save([good, Result(broken)])
    assert db.count() == 0


LF, CRLF = "Line one.\nLine two. The West is to blame.", "Line one.\r\nLine two. The West is to blame."


def test_changed_text_for_same_id_is_refused_once_analysed(db: Store) -> None:
    db.save([make_result(LF)])
    with pytest.raises(StoreError, match="E304"):
        db.save([make_result(CRLF)])
    db.save([Result(Document(text=CRLF))])  # plain ingest: the analysed text stays
    assert db.get(Document(text=LF).id).document.text == LF


def test_changed_text_is_adopted_while_nothing_points_into_it(db: Store) -> None:
    db.save_documents([Document(text=LF)])
    analysed = make_result(CRLF)
    db.save([analysed])
    assert db.get(analysed.document.id).to_json() == analysed.to_json()


def test_annotations_without_analyzer_are_refused(db: Store) -> None:
    orphan = Result(Document(text=TEXT), make_result().annotations, {})
    with pytest.raises(StoreError, match="E307"):
        db.save([orphan])
    assert db.count() == 0


@pytest.mark.parametrize(
    ("produced", "expected"),
    [
        (
            None,
            {
                "stats.v1": ["stats"],
                "mixed": ["claims", "entities", "narrative_labels", "narratives", "techniques"],
            },
        ),
        (
            {"mixed": ["techniques"], "stats.v1": ["stats", "claims"]},
            {
                "stats.v1": ["claims", "stats"],
                "mixed": ["entities", "narrative_labels", "narratives", "techniques"],
            },
        ),
    ],
)
def test_layers_are_filed_under_their_analyser(
    db: Store, produced: dict[str, list[str]] | None, expected: dict[str, list[str]]
) -> None:
    result = make_result(versions={"stats.v1": "1", "mixed": "1"})
    db.save([result], produced=produced)
    with db.engine.connect() as conn:
        rows = conn.execute(select(analyses.c.analyzer, analyses.c.payload)).all()
    assert {name: sorted(payload) for name, payload in rows} == expected
    assert db.get(result.document.id).to_json() == result.to_json()


# --- reading -----------------------------------------------------------------------------------


def test_prefix_lookup(db: Store) -> None:
    db.save_documents(
        [
            Document(text="one", id="abc123"),
            Document(text="two", id="abd456"),
            Document(text="three", id="abd789"),
        ]
    )
    assert db.get("abc").document.text == "one"
    assert db.resolve("abd4") == "abd456"
    with pytest.raises(StoreError, match="E302 id prefix 'abd' matches 2 documents"):
        db.get("abd")
    for missing in ("zzz", "", "a%", "ab_"):
        with pytest.raises(StoreError, match="E301"):
            db.get(missing)


def seed_corpus(db: Store) -> list[Result]:
    rows = [
        ("Story about ports and ships.", "Alpha News", "2022-01-05T10:00:00Z"),
        ("The WEST is to blame, they said.", "Beta Daily", "2022-01-06T03:00:00+06:00"),
        ("Weather report for the week.", "Alpha News", "2022-02-01"),
        ("Undated opinion piece.", "Beta Daily", "sometime last year"),
    ]
    results = [
        make_result(body, versions={"techniques": "1"}, outlet=outlet, published=when)
        for body, outlet, when in rows
    ]
    db.save(results)
    return results


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [2, 1, 0, 3]),
        ({"outlet": "Alpha News"}, [2, 0]),
        ({"since": "2022-01-05T12:00:00Z"}, [2, 1]),
        ({"until": "2022-01-05T22:00:00+01:00"}, [1, 0]),
        ({"since": datetime(2022, 1, 5, tzinfo=UTC), "until": "2022-01-31"}, [1, 0]),
        ({"query": "west"}, [1]),
        ({"query": "%"}, []),
        ({"technique": "Loaded_Language"}, [2, 1, 0, 3]),
        ({"technique": "Doubt"}, []),
        ({"outlet": "Beta Daily", "query": "PIECE"}, [3]),
    ],
)
def test_list_filters(db: Store, filters: dict[str, Any], expected: list[int]) -> None:
    results = seed_corpus(db)
    ids = [results[i].document.id for i in expected]
    assert [s.id for s in db.list(**filters)] == ids
    assert db.count(**filters) == len(ids)


def test_list_pages_and_summarises(db: Store) -> None:
    results = seed_corpus(db)
    first, second = db.list(limit=1), db.list(limit=1, offset=1)
    assert [first[0].id, second[0].id] == [results[2].document.id, results[1].document.id]
    summary = first[0].to_json()
    assert summary["chars"] == len(results[2].document.text)
    assert summary["published"] == "2022-02-01" and "text" not in summary


def test_bad_date_filter(db: Store) -> None:
    with pytest.raises(StoreError, match="E305 'next tuesday'"):
        db.list(since="next tuesday")


def test_analysed_ids(db: Store) -> None:
    results = seed_corpus(db)
    wanted = [r.document.id for r in results] + [f"missing{i}" for i in range(1200)]
    assert db.analysed_ids("techniques", "1", wanted) == {r.document.id for r in results}
    assert db.analysed_ids("techniques", "2", wanted) == set()


@dataclass(frozen=True)
class _Failure:
    source: str
    code: str
    message: str


def test_record_errors(db: Store) -> None:
    failures = [_Failure("empty.txt", "E010", "E010 empty.txt: the file is empty")]
    assert db.record_errors(failures, job="job-1") == 1
    db.record_errors([_Failure("bin.dat", "E012", "E012 bin.dat: binary")])
    assert [(e.source, e.code, e.job) for e in db.errors(job="job-1")] == [("empty.txt", "E010", "job-1")]
    assert len(db.errors()) == 2


def test_iter_results_pages_through_everything(db: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "EXPORT_PAGE", 2)
    results = seed_corpus(db)
    db.save_documents([Document(text="No analyses yet.")])
    exported = list(db.iter_results())
    assert [r.document.id for r in exported] == sorted(
        [r.document.id for r in results] + [Document(text="No analyses yet.").id]
    )
    by_id = {r.document.id: r for r in exported}
    assert all(by_id[r.document.id].to_json() == r.to_json() for r in results)


# --- both backends at once ---------------------------------------------------------------------


def snapshot(db: Store) -> dict[str, Any]:
    return {
        "list": [s.to_json() for s in db.list(limit=100)],
        "since": [s.id for s in db.list(since="2022-01-05T12:00:00Z")],
        "results": [r.to_json() for r in db.iter_results()],
        "count": db.count(),
    }


@pytest.mark.postgres
def test_same_rows_on_sqlite_and_postgresql(store: Store, pg_store: Store) -> None:
    for backend in (store, pg_store):
        seed_corpus(backend)
        backend.save([make_result()])
    assert snapshot(store) == snapshot(pg_store)


@pytest.mark.parametrize("writers", [3])
def test_concurrent_writers_share_one_sqlite_file(tmp_path: Path, writers: int) -> None:
    """Batch workers each open the store: BEGIN IMMEDIATE + busy_timeout make them queue, not fail."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    Store.open(url).close()

    def work(worker: int) -> int:
        with Store.open(url) as own:
            return sum(own.save([make_result(f"Worker {worker} article {i}.")]) for i in range(10))

    with ThreadPoolExecutor(writers) as pool:
        saved = sum(pool.map(work, range(writers)))
    with Store.open(url) as check:
        assert saved == check.count() == 10 * writers


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u:p@db.example/x", "postgresql+psycopg"),
        ("postgres://u:p@db.example/x", "postgresql+psycopg"),
        ("postgresql+psycopg://u:p@db.example/x", "postgresql+psycopg"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_urls_are_normalised_to_installed_drivers(url: str, driver: str) -> None:
    assert _engine._parse(url).drivername == driver
