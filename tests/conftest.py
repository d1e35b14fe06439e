"""Shared fixtures: `store` (a temporary SQLite store), `pg_url` and `pg_store` (PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, create_engine

from propscope.store import Store

PG_URL_ENV = "PROPSCOPE_TEST_PG_URL"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated SQLite store in a temporary file."""
    opened = Store.open(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The test PostgreSQL URL, or a skip saying how to get one."""
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.skip(
            f"{PG_URL_ENV} is not set: run `scripts/start-postgres.sh` and export the URL it "
            "prints to run the PostgreSQL tests"
        )
    return url


def reset_postgres(url: str) -> None:
    """Drop every table (ours and alembic_version), so the next open migrates from scratch."""
    engine = create_engine(url)
    try:
        metadata = MetaData()
        metadata.reflect(engine)
        metadata.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[Store]:
    """A fresh, migrated PostgreSQL store: the test database is emptied before each test."""
    reset_postgres(pg_url)
    opened = Store.open(pg_url)
    yield opened
    opened.close()
