"""Opening a database: URL checks, SQLite pragmas, PostgreSQL via psycopg 3, and migrations."""

from __future__ import annotations

import json
import re
from functools import partial
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from propscope.errors import StoreError

MIGRATIONS = Path(__file__).with_name("migrations")

SQLITE_BUSY_TIMEOUT_MS = 30_000  # a batch writer may hold the lock for a few seconds per batch
PG_CONNECT_TIMEOUT_S = 10  # fail fast with E300 rather than hang on an unreachable server
WRITE = "propscope_write"  # execution option: start SQLite transactions with BEGIN IMMEDIATE
# Any fixed 64-bit key: serialises concurrent migrations of one PostgreSQL database.
PG_MIGRATION_LOCK = 0x70726F7073636F70
# JSON columns: never write NaN or Infinity (invalid JSON); read those that SQLite stores written
# before this rule holds as null, so such a document can be read and served again.
JSON_OPTIONS = {
    "json_serializer": partial(json.dumps, allow_nan=False),
    "json_deserializer": partial(json.loads, parse_constant=lambda _name: None),
}


def redact(url: str) -> str:
    """The URL as it may appear in messages and logs: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", url)


def connect(url: str) -> Engine:
    """An engine for `url` whose connection has been tried once (StoreError E300/E303)."""
    parsed = _parse(url)
    try:
        engine = _sqlite(parsed) if parsed.get_backend_name() == "sqlite" else _postgres(parsed)
        with engine.connect():
            pass
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(StoreError.E_CONNECT.format(url=redact(url), reason=reason(exc))) from exc
    return engine


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(StoreError.E_CONNECT.format(url=redact(url), reason=exc)) from exc
    backend = parsed.get_backend_name()
    if backend == "postgres":  # the spelling Heroku and libpq use
        parsed = parsed.set(drivername="postgresql")
        backend = "postgresql"
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(StoreError.E_BACKEND.format(url=redact(url)))
    if backend == "postgresql" and "+" not in parsed.drivername:
        # psycopg 3 is what we install; SQLAlchemy 2.0's default would be psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def reason(exc: BaseException) -> str:
    """The first line of the driver's message, without SQLAlchemy's boilerplate."""
    original = getattr(exc, "orig", None) or exc
    return str(original).strip().splitlines()[0] if str(original).strip() else type(exc).__name__


def _postgres(url: URL) -> Engine:
    try:
        connect_args = {"connect_timeout": PG_CONNECT_TIMEOUT_S}
        return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **JSON_OPTIONS)
    except NoSuchModuleError as exc:
        raise StoreError(StoreError.E_BACKEND.format(url=redact(str(url)))) from exc


def _sqlite(url: URL) -> Engine:
    engine = create_engine(url, **JSON_OPTIONS)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN comes too late
    # and is always DEFERRED); WAL lets readers run while a batch writes.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    # A writer takes the lock up front: a DEFERRED transaction that later needs to write can fail
    # with "database is locked" without waiting for busy_timeout.
    immediate = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def writer(engine: Engine) -> Engine:
    """The same engine, with transactions that start as writers."""
    return engine.execution_options(**{WRITE: True})


def upgrade(engine: Engine) -> None:
    """Migrate to the newest schema; concurrent openers wait for the lock and then find it done."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    url = redact(str(engine.url))
    try:
        with writer(engine).begin() as connection:
            if connection.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                connection.execute(lock, {"key": PG_MIGRATION_LOCK})
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except CommandError as exc:
        revision = _current_revision(engine)
        raise StoreError(StoreError.E_NEWER.format(url=url, revision=revision)) from exc
    except SQLAlchemyError as exc:
        raise StoreError(StoreError.E_CONNECT.format(url=url, reason=reason(exc))) from exc


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
