"""Sightings: every outlet, url and date a stored document was seen with (issue 5), on both backends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from conftest import reset_postgres
from sqlalchemy import func, select, text

from propscope.document import Document, Result
from propscope.store import Store, _engine, _rows
from propscope.store._engine import MIGRATIONS
from propscope.store.schema import documents, sightings

BODY = "Officials in Morrow said the northern alliance blamed the port authority for the new curfew."
A = {"outlet": "a.example", "url": "https://a.example/1", "published": "2024-03-01T08:00:00Z"}
B = {"outlet": "b.example", "url": "https://b.example/9", "published": "2024-03-01T09:30:00+01:00"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest) -> Store:
    """The same test on each backend: a fresh, migrated store."""
    name = "store" if request.param == "sqlite" else "pg_store"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def sighting_rows(db: Store) -> list[tuple[Any, ...]]:
    s = sightings.c
    query = select(s.document_id, s.outlet, s.url, s.published, s.published_at).order_by(s.id)
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


@pytest.mark.parametrize("how", ["save_documents", "save"])
def test_every_save_records_each_origin_once(db: Store, how: str) -> None:
    first, copy = Document(text=BODY, **A), Document(text=BODY, **B)
    for doc in (first, first, copy, copy):
        db.save_documents([doc]) if how == "save_documents" else db.save([Result(doc)])
    assert sighting_rows(db) == [
        (first.id, "a.example", A["url"], A["published"], datetime(2024, 3, 1, 8, 0)),
        (first.id, "b.example", B["url"], B["published"], datetime(2024, 3, 1, 8, 30)),
    ]
    assert db.count() == 1
    assert db.sighting_count() == 2  # what the web reuse view's cache key watches


def test_documents_keep_their_first_sighting(db: Store) -> None:
    """A later copy from another outlet neither overwrites the first's metadata nor is lost."""
    db.save_documents([Document(text=BODY, **A)])
    db.save_documents([Document(text=BODY, title="Late title", **B)])
    doc = db.get(Document(text=BODY).id).document
    assert (doc.outlet, doc.url, doc.published) == (A["outlet"], A["url"], A["published"])
    assert doc.title == "Late title"  # missing metadata is still filled in
    assert [s.outlet for s in db.sightings(doc.id)] == ["a.example", "b.example"]


@pytest.mark.parametrize("batch", [[A, B, A], [A, {"outlet": None, "url": None, "published": None}] * 2])
def test_one_batch_with_copies(db: Store, batch: list[dict[str, Any]]) -> None:
    db.save_documents([Document(text=BODY, **meta) for meta in batch])
    assert db.get(Document(text=BODY).id).document.outlet == "a.example"  # the first in the batch
    assert len(sighting_rows(db)) == len({tuple(m.values()) for m in batch})


def test_record_sightings_skips_documents_not_stored(db: Store) -> None:
    db.save_documents([Document(text=BODY, **A)])
    unknown = Document(text="An article whose first copy never reached the store.", **B)
    assert db.record_sightings([Document(text=BODY, **B), unknown, Document(text=BODY, **B)]) == 2
    assert [row[1] for row in sighting_rows(db)] == ["a.example", "b.example"]
    assert db.get(Document(text=BODY).id).document.outlet == "a.example"


def test_results_read_back_are_not_sightings(db: Store) -> None:
    """Batch workers re-save documents loaded from the store: nothing new was seen."""
    db.save_documents([Document(text=BODY, **A)])
    stored = db.get(Document(text=BODY).id)
    db.save([Result(stored.document.with_(url="https://elsewhere.example/"))], sighted=False)
    assert len(sighting_rows(db)) == 1


def test_sightings_are_deleted_with_their_document(db: Store) -> None:
    db.save_documents([Document(text=BODY, **A), Document(text=BODY, **B)])
    with db.engine.begin() as conn:
        conn.execute(documents.delete())
    assert sighting_rows(db) == []


# --- migration 0005 ----------------------------------------------------------------------------


def migrate(url: str, revision: str) -> None:
    """Migrate to `revision` the way `Store.open` migrates to head."""
    engine = _engine.connect(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with _engine.writer(engine).begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


OLD_DOCS = [
    Document(text=f"Stored before sightings existed, number {i}.", source=f"old-{i}.txt", **meta)
    for i, meta in enumerate([A, B, {}, {"outlet": "c.example", "published": "not a date"}])
]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def old_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """An empty database of either backend (nothing migrated yet)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    url: str = request.getfixturevalue("pg_url")
    reset_postgres(url)
    return url


def test_migration_backfills_one_sighting_per_document(old_url: str) -> None:
    migrate(old_url, "0004")
    engine = _engine.connect(old_url)
    with engine.begin() as conn:
        conn.execute(documents.insert(), [_rows.document_row(d, datetime(2024, 1, 2)) for d in OLD_DOCS])
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0004"
    engine.dispose()
    with Store.open(old_url) as upgraded:
        rows = {row[0]: row for row in sighting_rows(upgraded)}
        assert len(rows) == len(OLD_DOCS)
        for doc in OLD_DOCS:
            published_at = _rows.parse_moment(doc.published)
            assert rows[doc.id] == (doc.id, doc.outlet, doc.url, doc.published, published_at)
        seen = upgraded.sightings(OLD_DOCS[0].id)
        assert (seen[0].source, seen[0].seen_at) == ("old-0.txt", datetime(2024, 1, 2))
        upgraded.save_documents(OLD_DOCS)  # the backfilled key is the key `Store` computes
        with upgraded.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(sightings)).scalar_one() == len(OLD_DOCS)
