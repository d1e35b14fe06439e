"""Shared fixtures: `store` (a temporary SQLite store), `pg_url` and `pg_store` (PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine

from propscope.store import Store

PG_URL_ENV = "PROPSCOPE_TEST_PG_URL"


@pytest.fixture
def accurate_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A models folder where only `fast` is installed, whether or not this checkout ships the
    accurate model: what asking for an uninstalled profile does (E412) is tested on it."""
    from propscope import profiles

    models = tmp_path / "models-fast-only"
    models.mkdir()
    (models / profiles.PROFILES["fast"].folder).symlink_to(profiles.PROFILES["fast"].model_dir)
    monkeypatch.setattr(profiles, "MODELS_DIR", models)
    return models


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


# --- ingestion fixtures (tests/test_ingest_*.py) ---------------------------------------------

INGEST_DATA = Path(__file__).parent / "data" / "ingest"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared"
SPECIMEN = SHARED_DATA / "examples" / "neo-kazakhstan-2022.txt"  # the real article, read by two fixtures
ARTICLE_HTML = (  # a news page the URL-ingestion tests serve: title and two paragraphs
    b"<html><head><title>Council Approves New Harbour Budget</title></head><body><article>"
    b"<p>The town council approved the harbour budget on Monday evening after a long debate "
    b"about the cost of repairing the sea wall before the autumn storms arrive.</p>"
    b"<p>Opposition members said the plan left too little money for the fishing fleet.</p>"
    b"</article></body></html>"
)
PUBLIC_IP = "93.184.215.14"  # any global address: MockTransport never connects to it


@pytest.fixture
def ingest_data() -> Path:
    """The folder of small, fictional ingestion fixtures."""
    return INGEST_DATA


@pytest.fixture
def specimen() -> Path:
    """The real specimen article from ../shared/examples, or a skip saying it is absent."""
    if not SPECIMEN.is_file():
        pytest.skip(f"specimen not found at {SPECIMEN.resolve()}: the shared/ examples are absent")
    return SPECIMEN


@pytest.fixture
def mock_fetcher() -> Iterator[Any]:
    """Factory: a Fetcher over httpx.MockTransport(handler) whose DNS answers a public address."""
    import httpx

    from propscope.config import IngestOptions
    from propscope.ingest.urls import Fetcher

    made: list[Fetcher] = []

    def make(handler: Any, options: Any = None, addresses: Any = (PUBLIC_IP,)) -> Fetcher:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        fetcher = Fetcher(options or IngestOptions(), client, resolve=lambda h, p: list(addresses))
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.client.close()


@pytest.fixture
def warc_bytes() -> Any:
    """Factory: a WARC archive (gzipped by default) of (uri, content type, body) responses."""
    import io

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    def make(responses: Any, gzip: bool = True) -> bytes:
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=gzip)
        for uri, content_type, body in responses:
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1"
            )
            # an explicit length keeps warcio from spooling (and leaking) a temporary file
            record = writer.create_warc_record(
                uri, "response", payload=io.BytesIO(body), length=len(body), http_headers=headers
            )
            writer.write_record(record)
        return buffer.getvalue()

    return make


# --- claims / entities / narratives fixtures (tests/test_claims.py, test_entities.py, ...) ----

@pytest.fixture(scope="session")
def specimen_text() -> str:
    """The NEO Kazakhstan article from shared/, or a skip saying where it is expected."""
    if not SPECIMEN.is_file():
        pytest.skip(f"specimen article not found at {SPECIMEN} (it lives in the shared/ folder)")
    return SPECIMEN.read_text(encoding="utf-8")


# --- the web workbench, in process (test_web_api, test_web_pages, test_web_hardening) ----------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Any]:
    """A workbench on a fresh SQLite file, analysing with stats + the fake analyser."""
    from _web import make_app

    made = make_app(tmp_path)
    yield made
    made.state.bench.close()


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Any]:
    """A workbench on a fresh SQLite file running only the worker probe (tests/_workers.py)."""
    from _workers import workbench

    made = workbench(tmp_path)
    yield made
    made.close()


@pytest.fixture
async def client(app: Any) -> AsyncIterator[Any]:
    """An httpx client talking to `app` in process (no socket)."""
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as made:
        yield made
